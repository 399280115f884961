// The value rules of the v1 contract that the .proto comments state in
// words: which principal ids exist, and which google.protobuf.Timestamps are
// times at all. Defined once, here beside the protos, because both sides
// of the wire apply them: stewardd answers INVALID_ARGUMENT naming the
// field, the role store refuses to write what breaks them, and stewardctl
// refuses an argument before it calls. Plain Abseil, no protobuf or gRPC:
// the store includes it too (scripts/check-layering lets every component
// but policy/ do so).
#ifndef STEWARD_PROTO_STEWARD_V1_VALIDATION_H_
#define STEWARD_PROTO_STEWARD_V1_VALIDATION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward::v1 {

// Principal ids: 1..kMaxIdBytes bytes of [A-Za-z0-9_.@:-] (admin.proto,
// Principal.id). Nothing that needs quoting in a log line, a CSV cell, an
// HTML report or a shell.
inline constexpr size_t kMaxIdBytes = 256;

// True for the bytes an id may hold: ASCII letters, digits and _ . @ : -.
bool IsIdChar(char c);

// OK when `id` is 1..max_bytes bytes of IsIdChar. kInvalidArgument
// otherwise, as "FIELD: MESSAGE" naming the first offending byte by
// position, never echoing it. Every principal id that enters the system
// (UpsertPrincipal, Grant, Revoke, Check, audit filters, stewardctl
// arguments) is held to this rule; API key names use it with their own
// length limit.
absl::Status ValidateId(absl::string_view field, absl::string_view id,
                        size_t max_bytes = kMaxIdBytes);

// The older, weaker rule (1..kMaxIdBytes bytes, no control characters)
// that stores written before ValidateId was enforced may hold ids to. Only
// for naming such data so it can still be read and deleted (GetPrincipal,
// DeletePrincipal); anything that creates or evaluates an id uses
// ValidateId. kInvalidArgument as "FIELD: MESSAGE".
absl::Status ValidateStoredId(absl::string_view field, absl::string_view id);

// google.protobuf.Timestamp's own range, as google::protobuf::util::TimeUtil
// states it: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z, nanos
// in [0, 999999999].
inline constexpr int64_t kMinTimestampSeconds = -62135596800;
inline constexpr int64_t kMaxTimestampSeconds = 253402300799;

// OK when (seconds, nanos) is a valid Timestamp (the range above).
// kInvalidArgument as "FIELD: MESSAGE" otherwise. Every request Timestamp
// is checked with it before it becomes an absl::Time: absl saturates out
// of range values instead of refusing them.
absl::Status ValidateTimestamp(absl::string_view field, int64_t seconds,
                               int32_t nanos);

// The time a valid Timestamp denotes; ValidateTimestamp's errors otherwise.
absl::StatusOr<absl::Time> TimeFromTimestamp(absl::string_view field,
                                             int64_t seconds, int32_t nanos);

// OK when `time` can be sent as a Timestamp (inside the range above);
// kInvalidArgument as "FIELD: MESSAGE" otherwise (infinite times too).
absl::Status ValidateTime(absl::string_view field, absl::Time time);

}  // namespace steward::v1

#endif  // STEWARD_PROTO_STEWARD_V1_VALIDATION_H_
