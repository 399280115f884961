// See migration_runner.h.
#include "server/store/sqlite/migration_runner.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace steward::store::sqlite {
namespace {

struct AppliedMigration {
  int version;
  std::string name;
  std::string checksum;
};

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

absl::StatusOr<std::vector<AppliedMigration>> ReadApplied(
    Connection& connection) {
  std::vector<AppliedMigration> applied;
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

// Compares what the database recorded with what this binary embeds.
absl::Status CheckApplied(absl::Span<const AppliedMigration> applied,
                          absl::Span<const migrations::Migration> known) {
  const int latest_known = known.empty() ? 0 : known.back().version;
  for (const AppliedMigration& a : applied) {
    if (a.version > latest_known) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database schema version ", applied.back().version,
          " is newer than this stewardd (knows up to ", latest_known,
          "); upgrade stewardd or restore a backup"));
    }
  }
  // A migration that sorts below one already applied but was never applied
  // itself was inserted out of order; applying it now would run it after
  // its successors, which its author never tested.
  if (!applied.empty()) {
    for (const migrations::Migration& m : known) {
      if (m.version >= applied.back().version) break;
      bool recorded = false;
      for (const AppliedMigration& a : applied) {
        recorded = recorded || a.version == m.version;
      }
      if (!recorded) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", m.name, " sorts before the already applied ",
            applied.back().name,
            " but was never applied: new migrations must be appended with a "
            "higher number"));
      }
    }
  }
  for (const AppliedMigration& a : applied) {
    const migrations::Migration* match = nullptr;
    for (const migrations::Migration& m : known) {
      if (m.version == a.version) match = &m;
    }
    if (match == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("database records migration ", a.name, " (version ",
                       a.version, ") which this stewardd does not have"));
    }
    if (match->name != a.name || match->sha256 != a.checksum) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration ", match->name, " differs from the one applied to this ",
          "database as ", a.name, " (recorded checksum ", a.checksum,
          ", this stewardd has ", match->sha256,
          "): a migration must never be edited after it is applied"));
    }
  }
  return absl::OkStatus();
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
    absl::StatusOr<std::vector<AppliedMigration>> applied =
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
    if (absl::Status s = CheckApplied(*applied, known); !s.ok()) return s;
    result.version_before = applied->empty() ? 0 : applied->back().version;
  }
  result.version_after = result.version_before;

  for (const migrations::Migration& m : known) {
    if (m.version <= result.version_after) continue;
    absl::StatusOr<Transaction> txn = Transaction::Begin(connection);
    if (!txn.ok()) return txn.status();
    // Another process may have migrated between our check and taking the
    // write lock; re-read under the lock.
    absl::StatusOr<std::vector<AppliedMigration>> applied =
        ReadApplied(connection);
    if (!applied.ok()) return applied.status();
    if (absl::Status s = CheckApplied(*applied, known); !s.ok()) return s;
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
