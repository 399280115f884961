// See pg_status.h.
#include "server/store/postgresql/pg_status.h"

#include "absl/strings/str_cat.h"

namespace steward::store::postgresql {
namespace {

struct CodeMapping {
  absl::string_view sqlstate;  // five characters, or a two-character class
  absl::StatusCode status_code;
};

// Exact codes are looked up first, then the class (first two characters).
constexpr CodeMapping kExactMappings[] = {
    {"23505", absl::StatusCode::kAlreadyExists},
    {"23502", absl::StatusCode::kInvalidArgument},
    {"23514", absl::StatusCode::kInvalidArgument},
    {"40001", absl::StatusCode::kAborted},
    {"40P01", absl::StatusCode::kAborted},
    {"55P03", absl::StatusCode::kUnavailable},
    {"57P01", absl::StatusCode::kUnavailable},
    {"57P02", absl::StatusCode::kUnavailable},
    {"57P03", absl::StatusCode::kUnavailable},
    {"57014", absl::StatusCode::kCancelled},
    {"XX001", absl::StatusCode::kDataLoss},
    {"XX002", absl::StatusCode::kDataLoss},
    {"42501", absl::StatusCode::kPermissionDenied},
    {"25006", absl::StatusCode::kPermissionDenied},
    {"3D000", absl::StatusCode::kNotFound},
};

constexpr CodeMapping kClassMappings[] = {
    {"22", absl::StatusCode::kInvalidArgument},
    {"23", absl::StatusCode::kFailedPrecondition},
    {"08", absl::StatusCode::kUnavailable},
    {"53", absl::StatusCode::kResourceExhausted},
    {"28", absl::StatusCode::kPermissionDenied},
};

}  // namespace

absl::StatusCode SqlStateToStatusCode(absl::string_view sqlstate) {
  for (const CodeMapping& m : kExactMappings) {
    if (m.sqlstate == sqlstate) return m.status_code;
  }
  for (const CodeMapping& m : kClassMappings) {
    if (sqlstate.substr(0, 2) == m.sqlstate) return m.status_code;
  }
  return absl::StatusCode::kInternal;
}

absl::Status PgStatus(absl::string_view sqlstate,
                      absl::string_view primary_message,
                      absl::string_view context) {
  return absl::Status(
      SqlStateToStatusCode(sqlstate),
      absl::StrCat("postgresql: ", context, ": ", primary_message,
                   " (SQLSTATE ", sqlstate, ")"));
}

}  // namespace steward::store::postgresql
