// The gRPC server credentials of a stewardd: plaintext (loopback only) or
// TLS over the reloader's staged, validated certificate files.
#ifndef STEWARD_SERVER_DAEMON_TLS_CREDENTIALS_H_
#define STEWARD_SERVER_DAEMON_TLS_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "server/auth/tls_reloader.h"
#include "server/daemon/config.h"

namespace steward::server {

// `reloader` null: plaintext.
std::shared_ptr<grpc::ServerCredentials> Credentials(
    const ServeConfig& config, const TlsReloader* reloader);

// SIGHUP: checks the TLS files at once and logs whether (and when) new
// handshakes will use them.
void ReportTlsReload(const ServeConfig& config, TlsReloader* reloader);

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_TLS_CREDENTIALS_H_
