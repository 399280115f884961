// See sqlite_status.h.
#include "server/store/sqlite/sqlite_status.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace steward::store::sqlite {
namespace {

struct CodeMapping {
  int sqlite_code;  // primary or extended
  absl::StatusCode status_code;
};

// Extended codes are looked up first, then the primary code (low byte).
constexpr CodeMapping kExtendedMappings[] = {
    {SQLITE_CONSTRAINT_UNIQUE, absl::StatusCode::kAlreadyExists},
    {SQLITE_CONSTRAINT_PRIMARYKEY, absl::StatusCode::kAlreadyExists},
    {SQLITE_CONSTRAINT_CHECK, absl::StatusCode::kInvalidArgument},
    {SQLITE_CONSTRAINT_NOTNULL, absl::StatusCode::kInvalidArgument},
    {SQLITE_CONSTRAINT_DATATYPE, absl::StatusCode::kInvalidArgument},
    {SQLITE_IOERR_NOMEM, absl::StatusCode::kResourceExhausted},
};

constexpr CodeMapping kPrimaryMappings[] = {
    {SQLITE_BUSY, absl::StatusCode::kUnavailable},
    {SQLITE_LOCKED, absl::StatusCode::kUnavailable},
    {SQLITE_IOERR, absl::StatusCode::kUnavailable},
    {SQLITE_CANTOPEN, absl::StatusCode::kUnavailable},
    {SQLITE_PROTOCOL, absl::StatusCode::kUnavailable},
    {SQLITE_FULL, absl::StatusCode::kResourceExhausted},
    {SQLITE_NOMEM, absl::StatusCode::kResourceExhausted},
    {SQLITE_CORRUPT, absl::StatusCode::kDataLoss},
    {SQLITE_NOTADB, absl::StatusCode::kDataLoss},
    {SQLITE_CONSTRAINT, absl::StatusCode::kFailedPrecondition},
    {SQLITE_TOOBIG, absl::StatusCode::kInvalidArgument},
    {SQLITE_MISMATCH, absl::StatusCode::kInvalidArgument},
    {SQLITE_READONLY, absl::StatusCode::kPermissionDenied},
    {SQLITE_PERM, absl::StatusCode::kPermissionDenied},
    {SQLITE_AUTH, absl::StatusCode::kPermissionDenied},
    {SQLITE_INTERRUPT, absl::StatusCode::kCancelled},
    {SQLITE_ABORT, absl::StatusCode::kAborted},
};

}  // namespace

absl::StatusCode SqliteCodeToStatusCode(int extended_code) {
  for (const CodeMapping& m : kExtendedMappings) {
    if (m.sqlite_code == extended_code) return m.status_code;
  }
  const int primary = extended_code & 0xff;
  for (const CodeMapping& m : kPrimaryMappings) {
    if (m.sqlite_code == primary) return m.status_code;
  }
  return absl::StatusCode::kInternal;
}

absl::Status SqliteStatus(int extended_code, sqlite3* db,
                          absl::string_view context) {
  // sqlite3_errmsg describes the most recent failure on `db`; when the code
  // did not come from `db` (e.g. sqlite3_open_v2 without a handle) fall back
  // to the generic text for the code.
  const char* detail =
      db != nullptr && sqlite3_extended_errcode(db) == extended_code
          ? sqlite3_errmsg(db)
          : sqlite3_errstr(extended_code);
  return absl::Status(SqliteCodeToStatusCode(extended_code),
                      absl::StrCat("sqlite: ", context, ": ", detail, " (",
                                   sqlite3_errstr(extended_code), ", code ",
                                   extended_code, ")"));
}

}  // namespace steward::store::sqlite
