// See policy_repository.h.
#include "server/store/postgresql/policy_repository.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/repository_support.h"
#include "server/store/secrets.h"

namespace steward::store::postgresql {
namespace {

PolicyVersionInfo ReadVersionInfo(const Result& r, int row) {
  PolicyVersionInfo info;
  info.version = r.Int(row, 0);
  info.sha256 = std::string(r.Text(row, 1));
  info.author = std::string(r.Text(row, 2));
  info.message = std::string(r.Text(row, 3));
  info.created_at = r.Time(row, 4);
  info.active = r.Bool(row, 5);
  return info;
}

}  // namespace

policy::CompileResult PgPolicyRepository::ValidatePolicy(
    absl::Span<const policy::SourceFile> sources) const {
  return policy::Compile(sources, db_->options.compile_options);
}

absl::StatusOr<ApplyPolicyResult> PgPolicyRepository::ApplyPolicy(
    std::vector<policy::SourceFile> sources, absl::string_view author,
    absl::string_view message) {
  if (absl::Status s = internal::ValidateApplyPolicy(sources, author, message);
      !s.ok()) {
    return s;
  }
  ApplyPolicyResult result;
  // Compiling and testing are pure and may be slow: no lock needed.
  absl::StatusOr<std::shared_ptr<const policy::Program>> program =
      internal::CompileAndTest(sources, db_->options.compile_options,
                               db_->clock.Now(), &result.warnings,
                               &result.tests_passed);
  if (!program.ok()) return program.status();
  const std::string source_json = internal::SourcesToJson(sources);

  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  const absl::Time now = db_->clock.Now();
  result.version.sha256 = internal::Sha256Hex(source_json);
  result.version.author = std::string(author);
  result.version.message = std::string(message);
  result.version.created_at = now;
  result.version.active = true;
  absl::StatusOr<int64_t> revision = CommitChange(c, [&]() -> absl::Status {
    absl::StatusOr<Result> deactivated =
        c.Exec("apply policy: deactivate",
               "UPDATE policy_versions SET active = false WHERE active");
    if (!deactivated.ok()) return deactivated.status();
    // The version number is taken under the revision lock, so concurrent
    // stewardd processes cannot pick the same one.
    absl::StatusOr<Result> inserted =
        c.Exec("apply policy: insert version",
               "INSERT INTO policy_versions "
               "(version, source, sha256, author, message, created_at, active) "
               "SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4, $5, true "
               "FROM policy_versions RETURNING version",
               Params()
                   .Text(source_json)
                   .Text(result.version.sha256)
                   .Text(author)
                   .Text(message)
                   .Time(now));
    if (!inserted.ok()) return inserted.status();
    result.version.version = inserted->Int(0, 0);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  // Role ids and attribute slots belong to the Program: a new Program
  // means every entry is rebuilt.
  // Another replica's change committed in between: catch up with all of
  // it (the key index too), not only with ours.
  if (absl::Status s = publisher_->IsNextRevisionLocked(result.store_revision)
                           ? publisher_->RebuildLocked(*std::move(program),
                                                       result.version.version)
                           : publisher_->CatchUpLocked();
      !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("policy version ", result.version.version,
                                     " committed but the snapshot could not ",
                                     "be rebuilt: ", s.message()));
  }
  return result;
}

absl::StatusOr<std::vector<PolicyVersionInfo>>
PgPolicyRepository::ListPolicyVersions() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "list policy versions",
      "SELECT version, sha256, author, message, created_at, active "
      "FROM policy_versions ORDER BY version DESC");
  if (!rows.ok()) return rows.status();
  std::vector<PolicyVersionInfo> versions;
  for (int i = 0; i < rows->rows(); ++i) {
    versions.push_back(ReadVersionInfo(*rows, i));
  }
  return versions;
}

absl::StatusOr<PolicyVersion> PgPolicyRepository::GetPolicy(
    std::optional<int64_t> version) {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows =
      version.has_value()
          ? db_->connection->Exec(
                "get policy version",
                "SELECT version, sha256, author, message, created_at, active, "
                "source FROM policy_versions WHERE version = $1",
                Params().Int(*version))
          : db_->connection->Exec(
                "get active policy",
                "SELECT version, sha256, author, message, created_at, active, "
                "source FROM policy_versions WHERE active");
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) {
    return absl::NotFoundError(
        version.has_value() ? absl::StrCat("no policy version ", *version)
                            : std::string("no policy version is active"));
  }
  PolicyVersion result;
  result.info = ReadVersionInfo(*rows, 0);
  absl::StatusOr<std::vector<policy::SourceFile>> sources =
      internal::SourcesFromJson(rows->Text(0, 6));
  if (!sources.ok()) return sources.status();
  result.sources = *std::move(sources);
  return result;
}

absl::StatusOr<int64_t> PgPolicyRepository::ActivatePolicyVersion(
    int64_t version) {
  absl::StatusOr<PolicyVersion> stored = GetPolicy(version);
  if (!stored.ok()) return stored.status();
  if (stored->info.active) return publisher_->revision();
  absl::StatusOr<std::shared_ptr<const policy::Program>> program =
      internal::CompileAndTest(stored->sources, db_->options.compile_options,
                               db_->clock.Now(), nullptr, nullptr);
  if (!program.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("policy version ", version,
                     " cannot be activated: ", program.status().message()));
  }

  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision = CommitChange(c, [&]() -> absl::Status {
    absl::StatusOr<Result> changed =
        c.Exec("activate policy: deactivate",
               "UPDATE policy_versions SET active = false WHERE active");
    if (!changed.ok()) return changed.status();
    changed = c.Exec("activate policy",
                     "UPDATE policy_versions SET active = true "
                     "WHERE version = $1",
                     Params().Int(version));
    if (!changed.ok()) return changed.status();
    if (changed->affected() != 1) {
      return absl::NotFoundError(absl::StrCat("no policy version ", version));
    }
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  if (absl::Status s =
          publisher_->IsNextRevisionLocked(*revision)
              ? publisher_->RebuildLocked(*std::move(program), version)
              : publisher_->CatchUpLocked();
      !s.ok()) {
    return s;
  }
  return revision;
}

absl::StatusOr<PgPolicyRepository::Active>
PgPolicyRepository::CompileActiveLocked() {
  Active active;
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "read active policy",
      "SELECT version, source FROM policy_versions WHERE active");
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return active;
  active.version = rows->Int(0, 0);
  absl::StatusOr<std::shared_ptr<const policy::Program>> program =
      internal::CompileStoredPolicy(active.version, rows->Text(0, 1),
                                    db_->options.compile_options);
  if (!program.ok()) return program.status();
  active.program = *std::move(program);
  return active;
}

}  // namespace steward::store::postgresql
