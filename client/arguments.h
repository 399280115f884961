// Parsing of the values users type on the stewardctl command line:
// `KEY=VALUE` attributes, durations (`30d`), points in time (`24h` ago,
// RFC 3339) and `KIND/ID` resource references. Pure functions, no I/O; a
// malformed value is InvalidArgument with a message fit for `error: …`,
// which commands report as a usage error (exit 2).
#ifndef STEWARD_CLIENT_ARGUMENTS_H_
#define STEWARD_CLIENT_ARGUMENTS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"

namespace steward::client {

// `amount=50` -> {"amount", 50}: the value is parsed as JSON when it is valid
// JSON (numbers, true/false, null, "quoted", [lists], {objects}), else taken
// verbatim as a string, so `owner=u7` needs no quoting. InvalidArgument when
// there is no `=` or the key is empty.
absl::StatusOr<std::pair<std::string, google::protobuf::Value>> ParseKeyValue(
    absl::string_view argument);

// Parses every `KEY=VALUE` of `arguments` into `out`. A repeated key keeps
// the last value. InvalidArgument names the bad argument.
absl::Status ParseKeyValues(
    const std::vector<std::string>& arguments,
    google::protobuf::Map<std::string, google::protobuf::Value>* out);

// `30d`, `24h`, `90m`, `45s`, `2w`, or a sequence such as `1d12h`. A bare
// number is refused (the unit is not obvious). InvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// RFC 3339 (`2026-12-31T23:00:00Z`, fractional seconds and offsets allowed)
// or a bare date (`2026-12-31`, midnight UTC). Like every time below, it
// must lie in google.protobuf.Timestamp's range, 0001-01-01..9999-12-31
// (v1::ValidateTime).
absl::StatusOr<absl::Time> ParseTimestamp(absl::string_view text);

// A point in the past: a duration means that long before `now` (`--since
// 24h`), anything else must be a timestamp.
absl::StatusOr<absl::Time> ParsePastTime(absl::string_view text,
                                         absl::Time now);

// A point in the future: a duration means that long after `now`
// (`--expires 30d`), anything else must be a timestamp. Times not after
// `now` are refused: a grant that is already expired is a typing mistake.
absl::StatusOr<absl::Time> ParseFutureTime(absl::string_view text,
                                           absl::Time now);

// A principal id typed on the command line (`what` names the argument:
// "PRINCIPAL", "--principal"), held to the contract's rule
// (v1::ValidateId: 1..256 bytes of [A-Za-z0-9_.@:-]) so a bad one is
// refused before any call. InvalidArgument otherwise.
absl::Status CheckPrincipalId(absl::string_view what, absl::string_view id);
// The same for an optional filter such as `--principal`: empty is OK.
absl::Status CheckPrincipalFilter(absl::string_view what, absl::string_view id);
// The weaker rule for naming a principal that may have been stored before
// ids were restricted (v1::ValidateStoredId): `principal get` and
// `principal delete` must still reach it.
absl::Status CheckStoredPrincipalId(absl::string_view what,
                                    absl::string_view id);

// `customer/c-1042` -> {"customer", "c-1042"}; `customer` -> {"customer",
// ""} unless `require_id`. The kind ends at the first `/` (ids may contain
// more slashes).
absl::StatusOr<std::pair<std::string, std::string>> ParseResourceRef(
    absl::string_view text, bool require_id);

// RFC 3339 in UTC with seconds (`2026-11-30T02:15:00Z`); "" for
// absl::InfinitePast() (an unset timestamp).
std::string FormatUtcTime(absl::Time time);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_ARGUMENTS_H_
