// See validation.h.
#include "proto/steward/v1/validation.h"

#include "absl/strings/str_cat.h"

namespace steward::v1 {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

}  // namespace

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
         c == ':' || c == '-';
}

absl::Status ValidateId(absl::string_view field, absl::string_view id,
                        size_t max_bytes) {
  if (id.empty()) return Invalid(field, "is required");
  if (id.size() > max_bytes) {
    return Invalid(field, absl::StrCat("is ", id.size(), " bytes; at most ",
                                       max_bytes, " allowed"));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsIdChar(id[i])) {
      // The byte itself is not echoed: it may be a control character or
      // markup, and this message reaches logs and terminals.
      return Invalid(field, absl::StrCat("byte ", i + 1,
                                         " is not allowed; ids are letters, "
                                         "digits and _ . @ : - only"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStoredId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return Invalid(field, "is required");
  if (id.size() > kMaxIdBytes) {
    return Invalid(field, absl::StrCat("is ", id.size(), " bytes; at most ",
                                       kMaxIdBytes, " allowed"));
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) {
      return Invalid(field, "contains control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTimestamp(absl::string_view field, int64_t seconds,
                               int32_t nanos) {
  if (nanos < 0 || nanos > 999999999) {
    return Invalid(field,
                   absl::StrCat("nanos ", nanos, " is outside 0..999999999"));
  }
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds) {
    return Invalid(field, absl::StrCat("seconds ", seconds,
                                       " is outside 0001-01-01T00:00:00Z.."
                                       "9999-12-31T23:59:59Z"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> TimeFromTimestamp(absl::string_view field,
                                             int64_t seconds, int32_t nanos) {
  if (absl::Status s = ValidateTimestamp(field, seconds, nanos); !s.ok()) {
    return s;
  }
  return absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
}

absl::Status ValidateTime(absl::string_view field, absl::Time time) {
  if (time < absl::FromUnixSeconds(kMinTimestampSeconds) ||
      time >= absl::FromUnixSeconds(kMaxTimestampSeconds + 1)) {
    return Invalid(field,
                   "is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z");
  }
  return absl::OkStatus();
}

}  // namespace steward::v1
