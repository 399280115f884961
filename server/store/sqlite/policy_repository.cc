// See policy_repository.h.
#include "server/store/sqlite/policy_repository.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/limits.h"
#include "server/store/repository_support.h"
#include "server/store/secrets.h"

namespace steward::store::sqlite {
namespace {

PolicyVersionInfo ReadVersionInfo(const Statement& stmt) {
  // Columns: version, sha256, author, message, created_at, active.
  PolicyVersionInfo info;
  info.version = stmt.Int(0);
  info.sha256 = std::string(stmt.Text(1));
  info.author = std::string(stmt.Text(2));
  info.message = std::string(stmt.Text(3));
  info.created_at = stmt.Time(4);
  info.active = stmt.Int(5) != 0;
  return info;
}

}  // namespace

// ---- Policy versions.
// --------------------------------------------------------

policy::CompileResult SqlitePolicyRepository::ValidatePolicy(
    absl::Span<const policy::SourceFile> sources) const {
  return policy::Compile(sources, db_->options.compile_options);
}

absl::StatusOr<ApplyPolicyResult> SqlitePolicyRepository::ApplyPolicy(
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
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    int64_t version = 0;
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions");
      if (!stmt.ok()) return stmt.status();
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      version = stmt->Int(0);
    }
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("UPDATE policy_versions SET active = 0 WHERE active = 1");
      if (!stmt.ok()) return stmt.status();
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    result.version.version = version;
    result.version.sha256 = internal::Sha256Hex(source_json);
    result.version.author = std::string(author);
    result.version.message = std::string(message);
    result.version.created_at = now;
    result.version.active = true;
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO policy_versions "
          "(version, source, sha256, author, message, created_at, active) "
          "VALUES (?, ?, ?, ?, ?, ?, 1)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindInt(1, version);
      stmt->BindText(2, source_json);
      stmt->BindText(3, result.version.sha256);
      stmt->BindText(4, author);
      stmt->BindText(5, message);
      stmt->BindTime(6, now);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  // Role ids and attribute slots belong to the Program: a new Program
  // means every entry is rebuilt.
  if (absl::Status s = publisher_->RebuildLocked(*std::move(program),
                                                 result.version.version);
      !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("policy version ", result.version.version,
                                     " committed but the snapshot could not ",
                                     "be rebuilt: ", s.message()));
  }
  return result;
}

absl::StatusOr<std::vector<PolicyVersionInfo>>
SqlitePolicyRepository::ListPolicyVersions() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT version, sha256, author, message, created_at, active "
      "FROM policy_versions ORDER BY version DESC");
  if (!stmt.ok()) return stmt.status();
  std::vector<PolicyVersionInfo> versions;
  if (absl::Status s = ForEachRow(*stmt,
                                  [&](const Statement& row) {
                                    versions.push_back(ReadVersionInfo(row));
                                    return absl::OkStatus();
                                  });
      !s.ok()) {
    return s;
  }
  return versions;
}

absl::StatusOr<PolicyVersion> SqlitePolicyRepository::GetPolicy(
    std::optional<int64_t> version) {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt =
      version.has_value()
          ? db_->connection->Prepare(
                "SELECT version, sha256, author, message, created_at, active, "
                "source FROM policy_versions WHERE version = ?")
          : db_->connection->Prepare(
                "SELECT version, sha256, author, message, created_at, active, "
                "source FROM policy_versions WHERE active = 1");
  if (!stmt.ok()) return stmt.status();
  if (version.has_value()) stmt->BindInt(1, *version);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(
        version.has_value() ? absl::StrCat("no policy version ", *version)
                            : std::string("no policy version is active"));
  }
  PolicyVersion result;
  result.info = ReadVersionInfo(*stmt);
  absl::StatusOr<std::vector<policy::SourceFile>> sources =
      internal::SourcesFromJson(stmt->Text(6));
  if (!sources.ok()) return sources.status();
  result.sources = *std::move(sources);
  return result;
}

absl::StatusOr<int64_t> SqlitePolicyRepository::ActivatePolicyVersion(
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
    absl::StatusOr<int64_t> changed =
        RunWrite(c, "UPDATE policy_versions SET active = 0 WHERE active = 1",
                 [](Statement&) {});
    if (!changed.ok()) return changed.status();
    changed =
        RunWrite(c, "UPDATE policy_versions SET active = 1 WHERE version = ?",
                 [&](Statement& stmt) { stmt.BindInt(1, version); });
    if (!changed.ok()) return changed.status();
    if (*changed != 1) {
      return absl::NotFoundError(absl::StrCat("no policy version ", version));
    }
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  if (absl::Status s = publisher_->RebuildLocked(*std::move(program), version);
      !s.ok()) {
    return s;
  }
  return revision;
}

absl::StatusOr<SqlitePolicyRepository::Active>
SqlitePolicyRepository::CompileActiveLocked() {
  Active active;
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT version, source FROM policy_versions WHERE active = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return active;
  active.version = stmt->Int(0);
  absl::StatusOr<std::shared_ptr<const policy::Program>> program =
      internal::CompileStoredPolicy(active.version, stmt->Text(1),
                                    db_->options.compile_options);
  if (!program.ok()) return program.status();
  active.program = *std::move(program);
  return active;
}

}  // namespace steward::store::sqlite
