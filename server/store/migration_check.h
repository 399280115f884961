// The rule every store engine's migration runner applies before it
// touches a schema: what the database records as applied must be a prefix
// of what this binary embeds, byte for byte.
//
// Internal to server/store (the SQLite runner in sqlite/migration_runner.h
// and the PostgreSQL one in postgresql/migration_runner.h). Each engine
// reads its own schema_migrations table; keeping the comparison here means
// a newer schema, an edited migration or one inserted out of order is
// refused with the same kFailedPrecondition message by every engine.
#ifndef STEWARD_SERVER_STORE_MIGRATION_CHECK_H_
#define STEWARD_SERVER_STORE_MIGRATION_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "migrations/migrations.h"

namespace steward::store::internal {

// One row of an engine's schema_migrations table.
struct AppliedMigration {
  int version;
  std::string name;
  std::string checksum;
};

// OK when every recorded migration is one this binary embeds with the same
// name and checksum, none is newer than the latest embedded one, and no
// embedded migration sorting below the latest recorded one was skipped.
// Otherwise kFailedPrecondition saying which and what to do.
// REQUIRES: both lists sorted by ascending version.
absl::Status CheckAppliedMigrations(
    absl::Span<const AppliedMigration> applied,
    absl::Span<const migrations::Migration> known);

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_MIGRATION_CHECK_H_
