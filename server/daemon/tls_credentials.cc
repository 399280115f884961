#include "server/daemon/tls_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include <string>

namespace steward::server {

// gRPC watches the reloader's staged copy of the certificate files, which
// only ever holds a validated pair (tls_reloader.h): a renewed certificate
// is picked up by new handshakes without a restart and without dropping
// connections, and a broken renewal cannot take the listener down.
std::shared_ptr<grpc::ServerCredentials> Credentials(
    const ServeConfig& config, const TlsReloader* reloader) {
  if (reloader == nullptr) return grpc::InsecureServerCredentials();
  const auto refresh = static_cast<unsigned int>(config.tls_reload_seconds);
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (config.tls_client_ca.empty()) {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            reloader->staged_key(), reloader->staged_cert(), refresh);
  } else {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            reloader->staged_key(), reloader->staged_cert(),
            reloader->staged_client_ca(), refresh);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.tls_client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// SIGHUP checks the files at once (rather than at the next poll) so the
// operator learns whether the renewal will take, and when.
void ReportTlsReload(const ServeConfig& config, TlsReloader* reloader) {
  if (reloader == nullptr) {
    spdlog::info("SIGHUP: TLS is off; nothing to reload");
    return;
  }
  absl::StatusOr<std::string> files = reloader->CheckNow();
  if (!files.ok()) {
    spdlog::error("SIGHUP: {}; new handshakes keep the last good certificate",
                  std::string(files.status().message()));
    return;
  }
  spdlog::info(
      "SIGHUP: TLS files are valid ({}); new handshakes use them within {} s, "
      "open connections stay up",
      *files, config.tls_reload_seconds);
}

}  // namespace steward::server
