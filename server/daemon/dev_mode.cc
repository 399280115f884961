#include "server/daemon/dev_mode.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/auth/secret_file.h"

namespace steward::server {
namespace {

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// created_by of the keys --dev makes.
constexpr char kDevCreator[] = "stewardd --dev";

}  // namespace

// --dev keys (dev_mode.h).
absl::Status EnsureDevKeys(store::KeyRepository& store,
                           const std::string& data_dir, bool shared_store) {
  absl::StatusOr<std::vector<store::ApiKeyInfo>> existing = store.ListApiKeys();
  if (!existing.ok()) return existing.status();
  for (store::ServiceRole role :
       {store::ServiceRole::kAdmin, store::ServiceRole::kAuditor,
        store::ServiceRole::kClient}) {
    std::string role_name(store::ServiceRoleName(role));
    std::string path = absl::StrCat(data_dir, "/dev-", role_name, ".key");
    if (absl::StatusOr<std::string> key = ReadSecretFile(path); key.ok()) {
      absl::StatusOr<store::AuthenticatedKey> found =
          store.AuthenticateApiKey(*key);
      if (found.ok() && !found->revoked && found->role == role) continue;
    }
    std::string name = absl::StrCat("dev-", role_name);
    if (shared_store) {
      auto made_by_dev = [&](const store::ApiKeyInfo& k) {
        return k.role == role && !k.revoked_at.has_value() &&
               k.created_by == kDevCreator;
      };
      auto found =
          std::find_if(existing->begin(), existing->end(), made_by_dev);
      if (found != existing->end()) {
        spdlog::warn(
            "--dev: {} key \"{}\" already exists in the shared store; "
            "another replica created it and only that replica's data dir "
            "holds its secret (this one cannot show it)",
            role_name, found->name);
        continue;
      }
    }
    for (int n = 2; std::any_of(existing->begin(), existing->end(),
                                [&](const auto& k) { return k.name == name; });
         ++n) {
      name = absl::StrCat("dev-", role_name, "-", n);
    }
    absl::StatusOr<store::NewApiKey> created =
        store.CreateApiKey(name, role, kDevCreator);
    if (shared_store &&
        created.status().code() == absl::StatusCode::kAlreadyExists) {
      // Another replica starting at the same time created it first.
      spdlog::warn(
          "--dev: {} key \"{}\" was just created by another replica; only "
          "that replica's data dir holds its secret",
          role_name, name);
      continue;
    }
    if (!created.ok()) return created.status();
    if (absl::Status s = WriteSecretFile(path, created->key); !s.ok()) {
      return s;
    }
    existing->push_back(created->info);
    spdlog::warn("--dev: {} key \"{}\" written to {}", role_name, name, path);
  }
  return absl::OkStatus();
}

// Applies `file` unless a policy is already active; `*build_time` is how
// long the store took to apply it and build the new snapshot.
absl::Status ApplyDevPolicy(store::PolicyRepository& store,
                            const store::SnapshotPublisher& snapshots,
                            const std::string& file,
                            std::optional<absl::Duration>* build_time) {
  if (snapshots.snapshot()->program() != nullptr) {
    spdlog::info(
        "--dev: a policy is already active (version {}); {} not "
        "applied",
        snapshots.snapshot()->policy_version(), file);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> text = ReadTextFile(file);
  if (!text.ok()) return text.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<store::ApplyPolicyResult> applied = store.ApplyPolicy(
      {policy::SourceFile{file, *text}}, "stewardd --dev", "--dev --policy");
  if (!applied.ok()) return applied.status();
  *build_time = absl::Now() - start;
  spdlog::info("--dev: applied {} as policy version {}", file,
               applied->version.version);
  return absl::OkStatus();
}

}  // namespace steward::server
