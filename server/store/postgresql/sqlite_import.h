// Copying a SQLite role store into a PostgreSQL database: the store half
// of `stewardd migrate-store` (server/daemon/migrate_command.h); the audit
// trail half is server/audit/postgresql/pg_import.h.
//
// Public to the daemon. The copy is row for row, below the repositories:
// policy versions (their source as applied, its SHA-256, author, message,
// time and which one is active), principals (attributes as the exact JSON
// text stored, disabled state, times), role bindings (scope, expiry,
// grantor, reason), API keys (id, name, role, key hash, TOTP secret and
// last accepted step, revocation) and the store revision. Both engines
// store the same values in the same encodings (migrations/0001_initial.sql
// and migrations/postgresql/0001_initial.sql): times as unix microseconds,
// key hashes as 32 raw bytes, TOTP secrets as the base32 text the admin's
// authenticator app holds (neither engine encrypts them with a data-dir
// key, so they move as they are and every key keeps working). Going
// through the repositories instead would mint new times, versions and
// revisions. The caller owns both transactions, so the whole copy commits
// or nothing does.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_SQLITE_IMPORT_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_SQLITE_IMPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/postgresql/connection.h"
#include "server/store/sqlite/connection.h"

namespace steward::store::postgresql {

// What ImportSqliteStore copied (and, read back from the target before
// commit, what it holds).
struct StoreImportCounts {
  int64_t policy_versions = 0;
  int64_t active_version = 0;  // 0: no version active
  int64_t principals = 0;
  int64_t disabled_principals = 0;
  int64_t bindings = 0;
  int64_t api_keys = 0;
  int64_t revoked_api_keys = 0;
  int64_t revision = 0;  // the store revision the target ends at
};

// OK when `source` is a Steward SQLite store whose schema is exactly this
// binary's latest: every migration this binary embeds applied, none
// edited, none newer. kFailedPrecondition otherwise, saying what to do (an
// older store is upgraded by starting this stewardd on it once).
absl::Status CheckSqliteSourceSchema(sqlite::Connection& source);

// Connects to the PostgreSQL database `conninfo` and brings its schema to
// this binary's latest, as `stewardd init --store` does (an empty database
// gets the tables). Codes as Connection::Open and RunMigrations
// (kFailedPrecondition: a newer schema, or tables that are not Steward's).
absl::StatusOr<std::unique_ptr<Connection>> OpenImportTarget(
    const std::string& conninfo, absl::Time now);

// What the role store of `target` holds, one phrase per non-empty table
// ("2 policy versions", "1 API key"); empty when it holds nothing. Run it
// inside the copy's transaction after LockStoreForImport, so nothing
// appears between the check and the copy.
absl::StatusOr<std::vector<std::string>> DescribeStoreContents(
    Connection& target);

// Locks the target's store_meta row (as every admin change does), so no
// stewardd sharing the database changes the store until the copy commits
// or rolls back. REQUIRES: inside a Transaction::Mode::kWrite transaction.
absl::Status LockStoreForImport(Connection& target);

// Copies every row of the SQLite role store into the target's empty
// tables and sets the target's revision to at least the source's (so the
// min_store_revision values clients hold stay meaningful) and its
// initialized_at to the source's. Returns the counts of what the target
// then holds, read back in the same transaction; kDataLoss when they
// differ from what was read from the source. Other codes: the engines'
// (a row PostgreSQL's CHECKs refuse is kInvalidArgument, the message
// naming the row: "principal \"u1\": ...").
// REQUIRES: `target` inside a kWrite transaction after LockStoreForImport
// with DescribeStoreContents empty; `source` inside a read transaction
// (sqlite::Transaction::BeginRead) and its schema checked by
// CheckSqliteSourceSchema.
absl::StatusOr<StoreImportCounts> ImportSqliteStore(sqlite::Connection& source,
                                                    Connection& target);

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_SQLITE_IMPORT_H_
