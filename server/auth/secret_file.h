// Files that hold secrets (API keys, TOTP URIs): created owner-only (0600)
// before any byte is written, so a secret is never readable by others even
// for an instant.
#ifndef STEWARD_SERVER_AUTH_SECRET_FILE_H_
#define STEWARD_SERVER_AUTH_SECRET_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace steward::server {

// Writes `contents` plus a newline to `path` with mode 0600 (replacing it).
absl::Status WriteSecretFile(const std::string& path,
                             const std::string& contents);

// The file's contents without surrounding whitespace; kNotFound if absent.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace steward::server

#endif  // STEWARD_SERVER_AUTH_SECRET_FILE_H_
