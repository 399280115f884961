// The one table that turns PostgreSQL errors (SQLSTATE codes) into
// absl::Status.
//
// Part of the PostgreSQL layer (server/store/postgresql); only code inside
// server/store calls it, since only it sees libpq results. Every failed
// libpq call goes through PgStatus() so the mapping (STYLE.md "Errors")
// lives in exactly one place, mirroring sqlite/sqlite_status.h: constraint
// errors map to the codes the SQLite engine gives the same violations, so
// the repositories behave alike on both engines.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_PG_STATUS_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_PG_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace steward::store::postgresql {

// The absl code for a five-character SQLSTATE (exact codes first, then
// their two-character class):
//   23505 unique_violation                      -> kAlreadyExists
//   23502 not_null, 23514 check, class 22 (data) -> kInvalidArgument
//   other class 23 (foreign key, exclusion)     -> kFailedPrecondition
//   40001 serialization_failure, 40P01 deadlock -> kAborted (retryable:
//         database.h retries the whole change)
//   55P03 lock_not_available (lock_timeout), class 08 (connection),
//   57P01..57P03 (shutdown, cannot connect now) -> kUnavailable
//   class 53 (insufficient resources)           -> kResourceExhausted
//   XX001 data_corrupted, XX002 index_corrupted -> kDataLoss
//   42501 insufficient_privilege, class 28 (authorization),
//   25006 read_only_sql_transaction             -> kPermissionDenied
//   3D000 invalid_catalog_name (no database)    -> kNotFound
//   57014 query_canceled                        -> kCancelled
//   anything else (syntax, undefined table...)  -> kInternal
absl::StatusCode SqlStateToStatusCode(absl::string_view sqlstate);

// A status for a failed statement: the mapped code, `context` (what we
// were doing), PostgreSQL's primary message and the SQLSTATE. The primary
// message names tables, columns and constraints; the DETAIL field, which
// may quote the offending values, is deliberately left out.
absl::Status PgStatus(absl::string_view sqlstate,
                      absl::string_view primary_message,
                      absl::string_view context);

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_PG_STATUS_H_
