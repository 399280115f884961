// See migration_runner.h.
#include "server/store/sqlite/migration_runner.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/migration_check.h"

namespace steward::store::sqlite {
namespace {

absl::StatusOr<bool> HasTable(Connection& connection, absl::string_view name) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, name);
  return stmt->Step();
}

absl::StatusOr<int64_t> CountSchemaObjects(Connection& connection) {
  absl::StatusOr<Statement> stmt =
      connection.Prepare("SELECT count(*) FROM sqlite_schema");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return stmt->Int(0);
}

absl::StatusOr<int64_t> ApplicationId(Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare("PRAGMA application_id");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->Int(0) : 0;
}

absl::StatusOr<std::vector<internal::AppliedMigration>> ReadApplied(
    Connection& connection) {
  std::vector<internal::AppliedMigration> applied;
  absl::StatusOr<bool> has = HasTable(connection, "schema_migrations");
  if (!has.ok()) return has.status();
  if (!*has) return applied;
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s =
          ForEachRow(*stmt,
                     [&](const Statement& row) {
                       applied.push_back({static_cast<int>(row.Int(0)),
                                          std::string(row.Text(1)),
                                          std::string(row.Text(2))});
                       return absl::OkStatus();
                     });
      !s.ok()) {
    return s;
  }
  return applied;
}

}  // namespace

absl::StatusOr<MigrationResult> RunMigrations(
    Connection& connection, absl::Span<const migrations::Migration> known,
    absl::Time now) {
  MigrationResult result;
  absl::StatusOr<int64_t> app_id = ApplicationId(connection);
  if (!app_id.ok()) return app_id.status();
  if (*app_id != 0 && *app_id != kApplicationId) {
    return absl::FailedPreconditionError(
        absl::StrCat("not a Steward database (application_id ", *app_id, ")"));
  }
  {
    absl::StatusOr<std::vector<internal::AppliedMigration>> applied =
        ReadApplied(connection);
    if (!applied.ok()) return applied.status();
    if (applied->empty()) {
      // An empty file is a new store; a file with tables but no record of
      // migrations belongs to something else and must not be modified.
      absl::StatusOr<int64_t> objects = CountSchemaObjects(connection);
      if (!objects.ok()) return objects.status();
      if (*objects != 0) {
        return absl::FailedPreconditionError(
            "not a Steward database: it has tables but no schema_migrations");
      }
    }
    if (absl::Status s = internal::CheckAppliedMigrations(*applied, known);
        !s.ok())
      return s;
    result.version_before = applied->empty() ? 0 : applied->back().version;
  }
  result.version_after = result.version_before;

  for (const migrations::Migration& m : known) {
    if (m.version <= result.version_after) continue;
    absl::StatusOr<Transaction> txn = Transaction::Begin(connection);
    if (!txn.ok()) return txn.status();
    // Another process may have migrated between our check and taking the
    // write lock; re-read under the lock.
    absl::StatusOr<std::vector<internal::AppliedMigration>> applied =
        ReadApplied(connection);
    if (!applied.ok()) return applied.status();
    if (absl::Status s = internal::CheckAppliedMigrations(*applied, known);
        !s.ok())
      return s;
    if (!applied->empty() && applied->back().version >= m.version) {
      result.version_after = applied->back().version;
      continue;
    }
    // The migration text is embedded constant SQL, never user data.
    const std::string sql(m.sql);
    if (absl::Status s = connection.Exec(sql.c_str()); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("migration ", m.name,
                                                 " failed: ", s.message()));
    }
    absl::StatusOr<Statement> record = connection.Prepare(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
        "VALUES (?, ?, ?, ?)");
    if (!record.ok()) return record.status();
    record->BindInt(1, m.version);
    record->BindText(2, m.name);
    record->BindText(3, m.sha256);
    record->BindTime(4, now);
    if (absl::Status s = record->Run(); !s.ok()) return s;
    if (absl::Status s = connection.Exec("PRAGMA application_id = 1398036292");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = txn->Commit(); !s.ok()) return s;
    result.version_after = m.version;
    ++result.applied;
  }
  return result;
}

}  // namespace steward::store::sqlite
