#include "server/daemon/init_command.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/audit/signed_checkpoint.h"
#include "server/auth/secret_file.h"
#include "server/auth/totp.h"
#include "server/store/clock.h"
#include "server/store/store.h"

namespace steward::server {
namespace {

constexpr char kFirstAdminKeyName[] = "admin";

int Fail(const std::string& message) {
  std::fprintf(stderr, "stewardd: error: %s\n", message.c_str());
  return 1;
}

// Creates the Ed25519 key that signs audit checkpoints, never replacing an
// existing file (a lost signing key cannot be recovered, and a replaced one
// would orphan the checkpoints it signed). The public half is printed and
// written next to it, for the auditors who verify with it.
int CreateSigningKey(const std::string& path) {
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    return Fail(absl::StrCat(path, " already exists; not overwritten"));
  }
  absl::StatusOr<audit::CheckpointSigningKey> key =
      audit::CheckpointSigningKey::Generate();
  if (!key.ok()) return Fail(std::string(key.status().message()));
  std::string pem = key->PrivatePem();
  absl::Cleanup wipe = [&pem] { OPENSSL_cleanse(pem.data(), pem.size()); };
  while (!pem.empty() && pem.back() == '\n') pem.pop_back();
  if (absl::Status s = WriteSecretFile(path, pem); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  const std::string public_pem = key->public_key().Pem();
  const std::string public_path = absl::StrCat(path, ".pub");
  {
    std::ofstream out(public_path, std::ios::trunc);
    out << public_pem;
    if (!out) return Fail(absl::StrCat("cannot write ", public_path));
  }
  std::printf(
      "audit signing key written to %s (mode 0600); key id %s\n"
      "public key (also in %s; give it to auditors for `stewardctl audit "
      "verify --public-key`):\n%s",
      path.c_str(), key->key_id().c_str(), public_path.c_str(),
      public_pem.c_str());
  return 0;
}

}  // namespace

int RunInit(const InitConfig& config) {
  if (!config.data_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(config.data_dir, error);
    if (error) {
      return Fail(absl::StrCat("cannot create ", config.data_dir, ": ",
                               error.message()));
    }
    ::chmod(config.data_dir.c_str(), 0700);
  }
  if (!config.create_audit_signing_key.empty()) {
    if (int rc = CreateSigningKey(config.create_audit_signing_key); rc != 0) {
      return rc;
    }
  }
  store::RealClock clock;
  bool created = false;
  const std::string location =
      config.store.empty() ? absl::StrCat(config.data_dir, "/steward.db")
                           : config.store;
  // What we print: never a password.
  const std::string shown = config.store.empty()
                                ? config.data_dir
                                : store::RedactStoreLocation(config.store);
  absl::StatusOr<std::unique_ptr<store::Store>> store =
      store::InitializeStore(location, clock, {}, &created);
  if (!store.ok()) {
    return Fail(absl::StrCat("store ", shown, ": ", store.status().ToString()));
  }

  absl::StatusOr<bool> has_admin = (*store)->keys().HasAnyAdminKey();
  if (!has_admin.ok()) return Fail(has_admin.status().ToString());
  if (!created || *has_admin) {
    std::printf(
        "store in %s already exists and has an admin key; nothing changed\n",
        shown.c_str());
    return 0;
  }

  if (!config.policy_file.empty()) {
    std::ifstream in(config.policy_file);
    if (!in) return Fail(absl::StrCat("cannot read ", config.policy_file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<store::ApplyPolicyResult> applied =
        (*store)->policies().ApplyPolicy(
            {policy::SourceFile{config.policy_file, text.str()}},
            "stewardd init", "initial policy");
    if (!applied.ok()) return Fail(std::string(applied.status().message()));
    std::printf("policy %s applied as version %lld\n",
                config.policy_file.c_str(),
                static_cast<long long>(applied->version.version));
  }

  absl::StatusOr<store::NewApiKey> key = (*store)->keys().CreateApiKey(
      kFirstAdminKeyName, store::ServiceRole::kAdmin, "stewardd init");
  if (!key.ok()) return Fail(key.status().ToString());
  std::string uri = TotpUri(key->info.name, key->totp_secret);

  if (!config.admin_key_out.empty()) {
    if (absl::Status s = WriteSecretFile(config.admin_key_out, key->key);
        !s.ok()) {
      return Fail(std::string(s.message()));
    }
    std::printf("admin key written to %s (mode 0600)\n",
                config.admin_key_out.c_str());
  } else {
    std::printf("admin API key (shown once, store it now): %s\n",
                key->key.c_str());
  }
  if (!config.totp_secret_out.empty()) {
    if (absl::Status s = WriteSecretFile(config.totp_secret_out, uri);
        !s.ok()) {
      return Fail(std::string(s.message()));
    }
    std::printf("TOTP secret written to %s (mode 0600)\n",
                config.totp_secret_out.c_str());
  } else {
    std::printf(
        "admin TOTP secret (shown once, add it to an authenticator "
        "app): %s\n",
        uri.c_str());
  }
  std::printf("store created in %s\n", shown.c_str());
  return 0;
}

}  // namespace steward::server
