// The one table that turns SQLite result codes into absl::Status.
//
// Part of the SQLite layer (server/store/sqlite); only code inside
// server/store calls it, since only it sees sqlite3 result codes. Every
// sqlite3_* call whose result is not SQLITE_OK/ROW/DONE goes through
// SqliteStatus() so the mapping (STYLE.md "Errors") lives in exactly one
// place and is tested code by code.
#ifndef STEWARD_SERVER_STORE_SQLITE_SQLITE_STATUS_H_
#define STEWARD_SERVER_STORE_SQLITE_SQLITE_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

struct sqlite3;

namespace steward::store::sqlite {

// The absl code for an SQLite (extended) result code:
//   BUSY, LOCKED, IOERR, CANTOPEN, PROTOCOL -> kUnavailable (retryable)
//   FULL, NOMEM                             -> kResourceExhausted
//   CORRUPT, NOTADB                         -> kDataLoss
//   CONSTRAINT_UNIQUE / _PRIMARYKEY         -> kAlreadyExists
//   CONSTRAINT_CHECK / _NOTNULL / TOOBIG / MISMATCH -> kInvalidArgument
//   other CONSTRAINT (FOREIGNKEY, TRIGGER)  -> kFailedPrecondition
//   READONLY, PERM, AUTH                    -> kPermissionDenied
//   INTERRUPT -> kCancelled, ABORT -> kAborted, anything else -> kInternal.
// REQUIRES: code is not SQLITE_OK, SQLITE_ROW or SQLITE_DONE.
absl::StatusCode SqliteCodeToStatusCode(int extended_code);

// A status for a failed call: the mapped code, `context` (what we were
// doing, e.g. "prepare", "grant: insert binding"), SQLite's message for `db`
// (may be null) and the code name. SQLite's messages name tables, columns
// and constraints, never bound values, so they are safe to log.
absl::Status SqliteStatus(int extended_code, sqlite3* db,
                          absl::string_view context);

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_SQLITE_STATUS_H_
