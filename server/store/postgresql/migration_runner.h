// Applies the embedded PostgreSQL schema migrations
// (migrations/postgresql/*.sql) to a database.
//
// Part of the PostgreSQL engine: PgStore::Open runs it before anything
// else. The guarantees are the SQLite runner's (sqlite/migration_runner.h),
// through the same check (migration_check.h): each pending migration runs
// in its own transaction with its schema_migrations row (PostgreSQL DDL is
// transactional), a schema newer than this binary or an edited migration
// is refused with kFailedPrecondition, and a database holding tables but
// no schema_migrations is not touched. Concurrent runners (several
// stewardd starting at once) take a transaction-scoped advisory lock, so
// one applies and the others find the work done.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_MIGRATION_RUNNER_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_MIGRATION_RUNNER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "migrations/migrations.h"
#include "server/store/postgresql/connection.h"

namespace steward::store::postgresql {

struct MigrationResult {
  int version_before = 0;  // 0 = empty database
  int version_after = 0;
  int applied = 0;  // number of migrations applied now
};

// Brings the database to the latest of `migrations` (normally
// migrations::AllPostgresql(); tests pass their own lists). Without
// `create`, an empty database is kNotFound (not initialized) and nothing
// is written. kFailedPrecondition: newer schema, edited/unknown migration,
// or tables that are not Steward's. Other codes: pg_status.h.
// REQUIRES: `migrations` sorted by ascending version, versions from 1.
absl::StatusOr<MigrationResult> RunMigrations(
    Connection& connection, absl::Span<const migrations::Migration> migrations,
    absl::Time now, bool create);

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_MIGRATION_RUNNER_H_
