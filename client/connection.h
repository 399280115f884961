// How stewardctl reaches a server: address, transport security and the
// credentials every call carries (API key, TOTP code). The key is read from a
// file or the environment and never echoed.
#ifndef STEWARD_CLIENT_CONNECTION_H_
#define STEWARD_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace steward::client {

// Largest response stewardctl accepts (gRPC's default is 4 MiB).
inline constexpr int kMaxResponseBytes = 256 << 20;

// Global options shared by every command that talks to a server.
struct ConnectionOptions {
  std::string server = "127.0.0.1:7070";  // --server / STEWARD_SERVER
  std::string api_key_file;               // --api-key-file
  std::string otp;                        // --otp / STEWARD_OTP
  std::string tls_ca;                     // --tls-ca: use TLS, trust this CA
  std::chrono::seconds timeout{30};
};

// A channel plus the credentials to attach to each call. Thread-compatible.
class Connection {
 public:
  // Resolves the API key (file, else env STEWARD_API_KEY holding either the
  // key itself or, when it names a readable file, the file) and creates the
  // channel. InvalidArgument when a file cannot be read. A key file readable
  // by group or others triggers a warning on stderr.
  static absl::StatusOr<Connection> Open(const ConnectionOptions& options);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const std::string& server() const { return server_; }

  // Prepares a context with deadline, `authorization` and, when set,
  // `x-steward-otp` metadata.
  void Prepare(grpc::ClientContext* context) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string server_;
  std::string api_key_;
  std::string otp_;
  std::chrono::seconds timeout_{30};
};

}  // namespace steward::client

#endif  // STEWARD_CLIENT_CONNECTION_H_
