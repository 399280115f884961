// Checks the TLS files stewardd serves with, so that a bad certificate,
// a key that does not match it, an expired certificate or an unreadable
// client CA is a clear message at startup, on SIGHUP and when a renewal
// lands, instead of failed handshakes (or a gRPC abort) later.
#ifndef STEWARD_SERVER_AUTH_TLS_FILES_H_
#define STEWARD_SERVER_AUTH_TLS_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward::server {

// The PEM texts of one certificate/key pair and, optionally, a client CA
// bundle, with the file names that messages should cite.
struct TlsPem {
  std::string cert_file, cert;
  std::string key_file, key;
  std::string client_ca_file, client_ca;  // both "" = no client CA
};

// Reads the three files (client_ca_file may be ""). INVALID_ARGUMENT naming
// the flag and file when one cannot be read.
absl::StatusOr<TlsPem> ReadTlsFiles(const std::string& cert_file,
                                    const std::string& key_file,
                                    const std::string& client_ca_file);

// Everything gRPC would otherwise find out during a handshake, or by
// aborting: the certificate chain parses and is not empty, the private key
// parses and belongs to the first certificate, that certificate is valid
// at `now` (not expired, not before its start), and the client CA bundle
// (when given) holds a certificate. Returns a one-line description
// ("subject CN=…, expires …") or INVALID_ARGUMENT naming the flag, the
// file and what is wrong. Never includes key material.
absl::StatusOr<std::string> InspectTls(const TlsPem& pem, absl::Time now);

// ReadTlsFiles + InspectTls at the current time.
absl::StatusOr<std::string> InspectTlsFiles(const std::string& cert_file,
                                            const std::string& key_file,
                                            const std::string& client_ca_file);

}  // namespace steward::server

#endif  // STEWARD_SERVER_AUTH_TLS_FILES_H_
