// The HTTP/JSON API (`stewardd serve --http-listen`): POST /v1/check,
// /v1/batch-check and /v1/plan-resources with the protobuf JSON mapping of
// AuthorizationService's messages, and GET /healthz.
//
// A gateway, not a second implementation. Each request's JSON body becomes
// the RPC's request in its wire form (protobuf's JSON mapping, unknown
// fields refused) and is sent to the very same gRPC method over the server's
// in-process channel with the caller's `Authorization` header as
// `authorization` metadata. Authentication and service roles, validation,
// evaluation, audit and its durability, back-pressure and metrics are therefore
// the gRPC service's by construction; the gateway only checks what is HTTP's
// (method, path, Content-Type, body size, JSON syntax) and maps the gRPC
// status to an HTTP status and a JSON error (http_status.h). The HTTP
// client's address travels as kForwardedPeerMetadata with a token only
// this process knows, so authentication failures are audited with the
// real peer and no network caller can forge one.
//
// Served by cpp-httplib (Debian's libcpp-httplib, built with OpenSSL):
// one pool thread per open connection, keep-alive on. Used by the daemon
// wiring only; sits between server/grpc/ and server/daemon/.
#ifndef STEWARD_SERVER_HTTP_HTTP_GATEWAY_H_
#define STEWARD_SERVER_HTTP_HTTP_GATEWAY_H_

#include <google/protobuf/util/type_resolver.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace steward::server {

struct HttpGatewayOptions {
  // "HOST:PORT" (IPv4, [IPv6] or a name; port 0 picks one).
  std::string listen;
  // Pool threads; each serves one connection at a time, so this is the
  // number of connections served concurrently (others wait to be picked
  // up). 64 concurrent checks that each wait for their audit commit need
  // 64.
  int threads = 64;
  // TLS: all empty for plaintext (the daemon allows that on loopback
  // only). Each handshake reads the certificate and key from these paths,
  // so a pair the TlsReloader stages there is used without a restart.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // "": no client certificates asked for
  // Largest JSON body of /v1/check and /v1/plan-resources, and of
  // /v1/batch-check; larger ones get 413. JSON takes more bytes than the
  // wire form, so these are a multiple of the message limits below.
  size_t max_body_bytes = 256 * 1024;
  size_t max_batch_body_bytes = 16 * 1024 * 1024;
  // The gRPC server's largest request message: a body whose message is
  // larger gets 413 here instead of a transport error from gRPC.
  size_t max_message_bytes = 4 * 1024 * 1024;
  // Authenticator::Options::forwarded_peer_token: proves to the
  // Authenticator that the HTTP peer this gateway forwards is its own.
  std::string forwarded_peer_token;
  // Deadline of the in-process call behind one request (504 past it).
  absl::Duration call_timeout = absl::Seconds(30);
  // How long one read or write of the connection may wait, and how long
  // an idle keep-alive connection holds its thread.
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(5);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
};

// Owns the listening socket, the pool and the in-process channel. Not
// copyable. Stop() (or the destructor) stops accepting, lets requests in
// progress finish and joins; it must run before the gRPC server shuts down.
class HttpGateway {
 public:
  // Binds options.listen and serves the RPCs of `server` (which must
  // outlive this object and have AuthorizationService and the health
  // service registered). INVALID_ARGUMENT for a malformed address or TLS
  // files OpenSSL refuses; UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(
      const HttpGatewayOptions& options, grpc::Server* server);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // The bound "HOST:PORT".
  const std::string& address() const { return address_; }
  void Stop();

  struct Route;    // one served path (http_gateway.cc)
  struct TlsPair;  // the staged files each handshake reads

 private:
  HttpGateway(const HttpGatewayOptions& options,
              std::shared_ptr<grpc::Channel> channel);
  // Routes and handlers onto http_.
  void Install();
  // One POST: JSON -> request message -> in-process RPC -> JSON.
  void Serve(const Route& route, const httplib::Request& request,
             httplib::Response& response);
  void ServeHealth(httplib::Response& response);

  const HttpGatewayOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  // Thread-safe: the served messages' Types are built once at construction
  // (http_gateway.cc), anything else is read from the generated pool.
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  // Read by OpenSSL during handshakes: declared before http_, which owns
  // the SSL_CTX, so it outlives it.
  std::unique_ptr<TlsPair> tls_pair_;
  std::unique_ptr<httplib::Server> http_;
  std::string address_;
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_HTTP_HTTP_GATEWAY_H_
