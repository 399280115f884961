// Reading the audit trail's key files (the field encryption key, the
// checkpoint signing key and public keys) from disk, with the checks a
// secret deserves. Internal to server/audit.
#ifndef STEWARD_SERVER_AUDIT_KEY_FILE_H_
#define STEWARD_SERVER_AUDIT_KEY_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::audit::internal {

// The contents of the regular file at `path`, read through one descriptor
// (the mode checked is the mode of the file read, even if the path is
// swapped meanwhile). `what` names the file in messages ("audit key
// file"). With `owner_only`, a file group or others can access is refused.
// Errors: kNotFound when absent; kPermissionDenied when not a regular file
// or too open; kInvalidArgument when longer than `max_bytes`; kInternal
// when it cannot be read. Buffers that held the bytes are cleansed on
// every error path; the caller cleanses what it is given.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path,
                                        absl::string_view what, bool owner_only,
                                        size_t max_bytes);

}  // namespace steward::audit::internal

#endif  // STEWARD_SERVER_AUDIT_KEY_FILE_H_
