// Checks the TLS files stewardd serves with, so that a bad certificate,
// a key that does not match it, or an unreadable client CA is a clear
// message at startup and on SIGHUP instead of failed handshakes later.
#ifndef STEWARD_SERVER_TLS_FILES_H_
#define STEWARD_SERVER_TLS_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace steward::server {

// Parses the PEM certificate chain, the private key and (when not empty)
// the client CA bundle; the key must belong to the first certificate.
// Returns a one-line description ("subject CN=…, expires …") or
// INVALID_ARGUMENT naming the flag and what is wrong. Never includes key
// material.
absl::StatusOr<std::string> InspectTlsFiles(const std::string& cert_file,
                                            const std::string& key_file,
                                            const std::string& client_ca_file);

}  // namespace steward::server

#endif  // STEWARD_SERVER_TLS_FILES_H_
