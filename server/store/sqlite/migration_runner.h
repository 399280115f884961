// Applies the embedded schema migrations (migrations/*.sql) to a database.
//
// Part of the SQLite engine: OpenStore runs it before anything else, and
// tests and benchmarks that build a trail on a bare connection run it too.
// Each
// pending migration runs in its own transaction together with its row in
// schema_migrations (version, name, checksum, applied_at), so a crash leaves
// the database at a clean version boundary. A database that records a
// version this binary does not know (written by a newer stewardd) or whose
// recorded checksum differs from the embedded file (a migration edited after
// it landed) is refused with kFailedPrecondition and a message saying so.
#ifndef STEWARD_SERVER_STORE_SQLITE_MIGRATION_RUNNER_H_
#define STEWARD_SERVER_STORE_SQLITE_MIGRATION_RUNNER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "migrations/migrations.h"
#include "server/store/sqlite/connection.h"

namespace steward::store::sqlite {

// The `PRAGMA application_id` of a Steward database ("STWD"), set by the
// first migration run; any other non-zero id is refused as not ours.
inline constexpr int kApplicationId = 0x53545744;

struct MigrationResult {
  int version_before = 0;  // 0 = empty database
  int version_after = 0;
  int applied = 0;  // number of migrations applied now
};

// Brings the database behind `connection` to the latest of `migrations`
// (normally migrations::All(); tests pass their own lists).
// OK: the schema is at the latest embedded version.
// kFailedPrecondition: newer schema, edited/unknown migration, or a
// database that is not Steward's. Other codes: SQLite failures.
// REQUIRES: `migrations` sorted by ascending version, versions from 1.
absl::StatusOr<MigrationResult> RunMigrations(
    Connection& connection, absl::Span<const migrations::Migration> migrations,
    absl::Time now);

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_MIGRATION_RUNNER_H_
