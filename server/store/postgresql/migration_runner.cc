// See migration_runner.h.
#include "server/store/postgresql/migration_runner.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/migration_check.h"

namespace steward::store::postgresql {
namespace {

// pg_advisory_xact_lock key of the migration runner ("STWD").
constexpr int64_t kMigrationLock = 0x53545744;

absl::StatusOr<std::vector<internal::AppliedMigration>> ReadApplied(
    Connection& connection) {
  std::vector<internal::AppliedMigration> applied;
  absl::StatusOr<Result> has =
      connection.Exec("migrations: find schema_migrations",
                      "SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!has.ok()) return has.status();
  if (!has->Bool(0, 0)) return applied;
  absl::StatusOr<Result> rows = connection.Exec(
      "migrations: read schema_migrations",
      "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  if (!rows.ok()) return rows.status();
  for (int i = 0; i < rows->rows(); ++i) {
    applied.push_back({static_cast<int>(rows->Int(i, 0)),
                       std::string(rows->Text(i, 1)),
                       std::string(rows->Text(i, 2))});
  }
  return applied;
}

absl::StatusOr<int64_t> CountTables(Connection& connection) {
  absl::StatusOr<Result> count =
      connection.Exec("migrations: count tables",
                      "SELECT count(*) FROM pg_catalog.pg_tables "
                      "WHERE schemaname = current_schema()");
  if (!count.ok()) return count.status();
  return count->Int(0, 0);
}

}  // namespace

absl::StatusOr<MigrationResult> RunMigrations(
    Connection& connection, absl::Span<const migrations::Migration> known,
    absl::Time now, bool create) {
  MigrationResult result;
  {
    absl::StatusOr<std::vector<internal::AppliedMigration>> applied =
        ReadApplied(connection);
    if (!applied.ok()) return applied.status();
    if (applied->empty()) {
      // An empty database is a new store; one with tables but no record of
      // migrations belongs to something else and must not be modified.
      absl::StatusOr<int64_t> tables = CountTables(connection);
      if (!tables.ok()) return tables.status();
      if (*tables != 0) {
        return absl::FailedPreconditionError(
            "not a Steward database: it has tables but no schema_migrations");
      }
      if (!create) {
        return absl::NotFoundError(
            "the PostgreSQL database holds no Steward store; run `stewardd "
            "init --store URL` first");
      }
    }
    if (absl::Status s = internal::CheckAppliedMigrations(*applied, known);
        !s.ok()) {
      return s;
    }
    result.version_before = applied->empty() ? 0 : applied->back().version;
  }
  result.version_after = result.version_before;

  for (const migrations::Migration& m : known) {
    if (m.version <= result.version_after) continue;
    absl::StatusOr<Transaction> txn =
        Transaction::Begin(connection, Transaction::Mode::kWrite);
    if (!txn.ok()) return txn.status();
    absl::StatusOr<Result> locked =
        connection.Exec("migrations: lock", "SELECT pg_advisory_xact_lock($1)",
                        Params().Int(kMigrationLock));
    if (!locked.ok()) return locked.status();
    // Another process may have migrated between our check and the lock.
    absl::StatusOr<std::vector<internal::AppliedMigration>> applied =
        ReadApplied(connection);
    if (!applied.ok()) return applied.status();
    if (absl::Status s = internal::CheckAppliedMigrations(*applied, known);
        !s.ok()) {
      return s;
    }
    if (!applied->empty() && applied->back().version >= m.version) {
      result.version_after = applied->back().version;
      continue;
    }
    // The migration text is embedded constant SQL, never user data.
    if (absl::Status s = connection.ExecScript(
            absl::StrCat("migration ", m.name), std::string(m.sql));
        !s.ok()) {
      return s;
    }
    absl::StatusOr<Result> recorded = connection.Exec(
        "migrations: record",
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
        "VALUES ($1, $2, $3, $4)",
        Params().Int(m.version).Text(m.name).Text(m.sha256).Time(now));
    if (!recorded.ok()) return recorded.status();
    if (absl::Status s = txn->Commit(); !s.ok()) return s;
    result.version_after = m.version;
    ++result.applied;
  }
  return result;
}

}  // namespace steward::store::postgresql
