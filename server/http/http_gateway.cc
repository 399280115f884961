#include "server/http/http_gateway.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <httplib.h>
#include <openssl/ssl.h>

#include <chrono>
#include <initializer_list>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/auth/authenticator.h"
#include "server/http/http_status.h"
#include "steward/v1/authorization.pb.h"

namespace steward::server {

// One POST endpoint: the gRPC method behind it and its message types.
struct HttpGateway::Route {
  const char* path;
  const char* method;  // "/steward.v1.AuthorizationService/Check"
  // Type URLs ("type.googleapis.com/steward.v1.CheckRequest") for
  // protobuf's JSON <-> binary conversion.
  const char* request_type;
  const char* response_type;
  bool batch;  // the larger body limit applies
};

namespace {

constexpr char kJson[] = "application/json";
constexpr char kHealthMethod[] = "/grpc.health.v1.Health/Check";
constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

const HttpGateway::Route* Routes() {
  static constexpr HttpGateway::Route kRoutes[] = {
      {"/v1/check", "/steward.v1.AuthorizationService/Check",
       "type.googleapis.com/steward.v1.CheckRequest",
       "type.googleapis.com/steward.v1.CheckResponse", false},
      {"/v1/batch-check", "/steward.v1.AuthorizationService/BatchCheck",
       "type.googleapis.com/steward.v1.BatchCheckRequest",
       "type.googleapis.com/steward.v1.BatchCheckResponse", true},
      {"/v1/plan-resources", "/steward.v1.AuthorizationService/PlanResources",
       "type.googleapis.com/steward.v1.PlanResourcesRequest",
       "type.googleapis.com/steward.v1.PlanResourcesResponse", false},
      {nullptr, nullptr, nullptr, nullptr, false},
  };
  return kRoutes;
}

// "steward.v1.CheckRequest" of its type URL.
absl::string_view TypeName(absl::string_view type_url) {
  return type_url.substr(type_url.rfind('/') + 1);
}

void SendError(httplib::Response& response, grpc::StatusCode code,
               absl::string_view message) {
  response.status = HttpStatusOf(code);
  if (code == grpc::StatusCode::UNAUTHENTICATED) {
    response.set_header("WWW-Authenticate", "Bearer");
  }
  response.set_content(JsonError(code, message), kJson);
}

// "application/json", optionally with parameters ("; charset=utf-8").
bool IsJson(const std::string& content_type) {
  absl::string_view type = content_type;
  type = type.substr(0, type.find(';'));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type), kJson);
}

// The HTTP client as gRPC would name it ("ipv4:127.0.0.1:51234"), so the
// audit trail's per-peer aggregation reads it the same way.
std::string PeerOf(const httplib::Request& request) {
  if (request.remote_addr.find(':') != std::string::npos) {
    return absl::StrCat("ipv6:[", request.remote_addr,
                        "]:", request.remote_port);
  }
  return absl::StrCat("ipv4:", request.remote_addr, ":", request.remote_port);
}

// gRPC refuses metadata values outside printable ASCII; such a header
// could only be a garbled key.
bool IsPrintableAscii(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  bytes.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// Protobuf's JSON conversion (3.21) asks its TypeResolver for the
// google.protobuf.Type of every message and enum it meets, on every call,
// and the descriptor-pool resolver builds each one from its descriptor
// anew: type URLs, JSON names, options, dozens of allocations per message
// and a large share of a small request's conversion time. The served
// messages cannot change while the process runs, so their Types (and
// those of every message and enum they reach) are built once here; after
// construction the maps are only read, so pool threads share them without
// a lock. Anything else goes to the underlying resolver.
class CachedTypeResolver final : public google::protobuf::util::TypeResolver {
 public:
  CachedTypeResolver(
      std::unique_ptr<google::protobuf::util::TypeResolver> base,
      std::initializer_list<const google::protobuf::Descriptor*> roots)
      : base_(std::move(base)) {
    std::vector<const google::protobuf::Descriptor*> pending(roots);
    while (!pending.empty()) {
      const google::protobuf::Descriptor* message = pending.back();
      pending.pop_back();
      std::string url = UrlOf(message->full_name());
      if (messages_.contains(url)) continue;
      google::protobuf::Type& type = messages_[url];
      // Types the base cannot resolve stay out of the cache, so asking
      // again reports the base's error as before.
      if (!base_->ResolveMessageType(url, &type).ok()) {
        messages_.erase(url);
        continue;
      }
      for (int i = 0; i < message->field_count(); ++i) {
        const google::protobuf::FieldDescriptor* field = message->field(i);
        if (field->message_type() != nullptr) {
          pending.push_back(field->message_type());
        }
        if (const google::protobuf::EnumDescriptor* value = field->enum_type();
            value != nullptr) {
          std::string enum_url = UrlOf(value->full_name());
          google::protobuf::Enum resolved;
          if (!enums_.contains(enum_url) &&
              base_->ResolveEnumType(enum_url, &resolved).ok()) {
            enums_.emplace(std::move(enum_url), std::move(resolved));
          }
        }
      }
    }
  }

  google::protobuf::util::Status ResolveMessageType(
      const std::string& type_url, google::protobuf::Type* type) override {
    if (auto found = messages_.find(type_url); found != messages_.end()) {
      *type = found->second;
      return google::protobuf::util::OkStatus();
    }
    return base_->ResolveMessageType(type_url, type);
  }

  google::protobuf::util::Status ResolveEnumType(
      const std::string& type_url, google::protobuf::Enum* type) override {
    if (auto found = enums_.find(type_url); found != enums_.end()) {
      *type = found->second;
      return google::protobuf::util::OkStatus();
    }
    return base_->ResolveEnumType(type_url, type);
  }

 private:
  static std::string UrlOf(absl::string_view full_name) {
    return absl::StrCat(kTypeUrlPrefix, "/", full_name);
  }

  std::unique_ptr<google::protobuf::util::TypeResolver> base_;
  absl::flat_hash_map<std::string, google::protobuf::Type> messages_;
  absl::flat_hash_map<std::string, google::protobuf::Enum> enums_;
};

// Each TLS handshake takes the certificate and key from the staged files
// (tls_reloader.h keeps a validated pair there and swaps it as a whole),
// so renewals reach HTTPS without a restart, as they reach gRPC. A
// handshake that catches the swap half done reads a mismatched pair;
// reading again gets the new one.
}  // namespace

struct HttpGateway::TlsPair {
  std::string cert;
  std::string key;
};

namespace {

int UseStagedPair(SSL* ssl, void* arg) {
  const auto* pair = static_cast<const HttpGateway::TlsPair*>(arg);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (SSL_use_certificate_chain_file(ssl, pair->cert.c_str()) == 1 &&
        SSL_use_PrivateKey_file(ssl, pair->key.c_str(), SSL_FILETYPE_PEM) ==
            1 &&
        SSL_check_private_key(ssl) == 1) {
      return 1;
    }
  }
  return 0;
}

// One unary call, waited for on the calling thread: a completion queue of
// its own that this thread polls, as gRPC's generated blocking stubs do,
// rather than a callback on one of gRPC's threads that wakes this one.
grpc::Status CallUnary(grpc::GenericStub& stub, grpc::ClientContext& context,
                       const std::string& method, const grpc::ByteBuffer& in,
                       grpc::ByteBuffer* out) {
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, method, in, &queue);
  call->StartCall();
  grpc::Status status;
  call->Finish(out, &status, &queue);
  void* tag = nullptr;
  bool ok = false;
  if (!queue.Next(&tag, &ok) || !ok) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(
    const HttpGatewayOptions& options, grpc::Server* server) {
  const size_t colon = options.listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http-listen: expected HOST:PORT, got \"", options.listen, "\""));
  }
  std::string host = options.listen.substr(0, colon);
  std::string bind_host = host;
  if (absl::StartsWith(bind_host, "[") && absl::EndsWith(bind_host, "]")) {
    bind_host = bind_host.substr(1, bind_host.size() - 2);
  }

  // The routes' type URLs name these messages: their descriptors must be
  // in the generated pool the resolver reads (referenced here, they are
  // linked in whatever else the binary uses).
  for (const google::protobuf::Descriptor* descriptor :
       {v1::CheckRequest::descriptor(), v1::CheckResponse::descriptor(),
        v1::BatchCheckRequest::descriptor(),
        v1::BatchCheckResponse::descriptor(),
        v1::PlanResourcesRequest::descriptor(),
        v1::PlanResourcesResponse::descriptor()}) {
    (void)descriptor;
  }

  grpc::ChannelArguments arguments;
  // BatchCheck answers may be large; the server bounds what it sends.
  arguments.SetMaxReceiveMessageSize(-1);
  std::unique_ptr<HttpGateway> gateway(
      new HttpGateway(options, server->InProcessChannel(arguments)));

  if (options.tls_cert.empty()) {
    gateway->http_ = std::make_unique<httplib::Server>();
  } else {
    gateway->tls_pair_ =
        std::make_unique<TlsPair>(TlsPair{options.tls_cert, options.tls_key});
    TlsPair* pair = gateway->tls_pair_.get();
    std::string client_ca = options.tls_client_ca;
    auto tls = std::make_unique<httplib::SSLServer>(
        [pair, client_ca](SSL_CTX& context) {
          SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION);
          SSL_CTX_set_cert_cb(&context, UseStagedPair, pair);
          if (!client_ca.empty()) {
            if (SSL_CTX_load_verify_locations(&context, client_ca.c_str(),
                                              nullptr) != 1) {
              return false;
            }
            SSL_CTX_set_verify(
                &context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                nullptr);
          }
          return true;
        });
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          "--http-listen: OpenSSL refused the TLS setup (client CA file?)");
    }
    gateway->http_ = std::move(tls);
  }
  gateway->Install();

  bool bound = false;
  if (port == 0) {
    const int chosen = gateway->http_->bind_to_any_port(bind_host);
    bound = chosen > 0;
    port = static_cast<uint32_t>(chosen);
  } else {
    bound = gateway->http_->bind_to_port(bind_host, static_cast<int>(port));
  }
  if (!bound) {
    return absl::UnavailableError(
        absl::StrCat("--http-listen: cannot listen on ", options.listen));
  }
  gateway->address_ = absl::StrCat(host, ":", port);
  gateway->thread_ =
      std::thread([http = gateway->http_.get()] { http->listen_after_bind(); });
  // stop() is a no-op until the loop runs: wait for it, so a Stop() right
  // after Start() cannot leave the thread listening forever.
  while (!gateway->http_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return gateway;
}

HttpGateway::HttpGateway(const HttpGatewayOptions& options,
                         std::shared_ptr<grpc::Channel> channel)
    : options_(options),
      channel_(std::move(channel)),
      stub_(std::make_unique<grpc::GenericStub>(channel_)),
      resolver_(std::make_unique<CachedTypeResolver>(
          absl::WrapUnique(
              google::protobuf::util::NewTypeResolverForDescriptorPool(
                  kTypeUrlPrefix,
                  google::protobuf::DescriptorPool::generated_pool())),
          std::initializer_list<const google::protobuf::Descriptor*>{
              v1::CheckRequest::descriptor(), v1::CheckResponse::descriptor(),
              v1::BatchCheckRequest::descriptor(),
              v1::BatchCheckResponse::descriptor(),
              v1::PlanResourcesRequest::descriptor(),
              v1::PlanResourcesResponse::descriptor()})) {}

HttpGateway::~HttpGateway() { Stop(); }

void HttpGateway::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

void HttpGateway::Install() {
  httplib::Server& http = *http_;
  const int threads = options_.threads;
  http.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  const int64_t read_us = absl::ToInt64Microseconds(options_.read_timeout);
  const int64_t write_us = absl::ToInt64Microseconds(options_.write_timeout);
  http.set_read_timeout(read_us / 1000000, read_us % 1000000);
  http.set_write_timeout(write_us / 1000000, write_us % 1000000);
  http.set_keep_alive_timeout(
      absl::ToInt64Seconds(options_.keep_alive_timeout));
  // httplib closes a connection after this many requests (5 by default);
  // clients that keep one open for their lifetime should not pay a new
  // handshake every few calls.
  http.set_keep_alive_max_count(100000);
  // httplib writes headers and body separately: with Nagle's algorithm
  // the body waits for the client's delayed ACK (40 ms a request).
  http.set_tcp_nodelay(true);
  // httplib reads the body before a handler runs: this bounds it for all
  // routes, and each route checks its own smaller limit.
  http.set_payload_max_length(
      std::max(options_.max_body_bytes, options_.max_batch_body_bytes));

  // Unknown paths and wrong methods are answered before a body is read.
  http.set_pre_routing_handler(
      [](const httplib::Request& request, httplib::Response& response) {
        std::string allowed;
        if (request.path == "/healthz") {
          allowed = "GET";
        } else {
          for (const Route* route = Routes(); route->path != nullptr; ++route) {
            if (request.path == route->path) allowed = "POST";
          }
        }
        if (allowed.empty()) {
          SendError(response, grpc::StatusCode::NOT_FOUND,
                    absl::StrCat("no such endpoint: ", request.path,
                                 "; this server serves POST /v1/check, "
                                 "/v1/batch-check, /v1/plan-resources and GET "
                                 "/healthz"));
          return httplib::Server::HandlerResponse::Handled;
        }
        if (request.method != allowed &&
            !(allowed == "GET" && request.method == "HEAD")) {
          response.set_header("Allow", allowed);
          SendError(response, grpc::StatusCode::UNIMPLEMENTED,
                    absl::StrCat(request.method, " ", request.path,
                                 ": method not allowed; use ", allowed));
          response.status = 405;
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });

  for (const Route* route = Routes(); route->path != nullptr; ++route) {
    http.Post(route->path, [this, route](const httplib::Request& request,
                                         httplib::Response& response) {
      Serve(*route, request, response);
    });
  }
  http.Get("/healthz",
           [this](const httplib::Request&, httplib::Response& response) {
             ServeHealth(response);
           });

  // What httplib answers on its own (413 past the payload limit, 400 for
  // a malformed request line) gets a JSON body like every other error.
  http.set_error_handler([](const httplib::Request&,
                            httplib::Response& response) {
    if (!response.body.empty()) return;
    const grpc::StatusCode code =
        response.status == 413   ? grpc::StatusCode::RESOURCE_EXHAUSTED
        : response.status == 404 ? grpc::StatusCode::NOT_FOUND
                                 : grpc::StatusCode::INVALID_ARGUMENT;
    const int status = response.status;
    response.set_content(
        JsonError(code, status == 413
                            ? "request body too large"
                            : absl::StrCat("malformed HTTP request (status ",
                                           status, ")")),
        kJson);
  });
}

void HttpGateway::Serve(const Route& route, const httplib::Request& request,
                        httplib::Response& response) {
  if (!IsJson(request.get_header_value("Content-Type"))) {
    SendError(response, grpc::StatusCode::INVALID_ARGUMENT,
              absl::StrCat("Content-Type must be application/json, got \"",
                           request.get_header_value("Content-Type"), "\""));
    response.status = 415;
    return;
  }
  const size_t limit =
      route.batch ? options_.max_batch_body_bytes : options_.max_body_bytes;
  if (request.body.size() > limit) {
    SendError(
        response, grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("request body: ", request.body.size(), " bytes; at most ",
                     limit, " allowed on ", route.path));
    response.status = 413;
    return;
  }
  // Straight to the wire form, which is what the RPC takes: what
  // JsonStringToMessage does, without parsing the result into a message
  // only to serialize it again.
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  std::string wire;
  if (auto parsed = google::protobuf::util::JsonToBinaryString(
          resolver_.get(), route.request_type, request.body, &wire, parse);
      !parsed.ok()) {
    // Protobuf's parser draws a caret under the input on lines of their
    // own; one line reads better in a JSON error.
    std::string detail = absl::StrReplaceAll(
        absl::StripAsciiWhitespace(std::string(parsed.message())),
        {{"\n\n^", ""}, {"\n", " "}});
    SendError(response, grpc::StatusCode::INVALID_ARGUMENT,
              absl::StrCat("request body is not a valid ",
                           TypeName(route.request_type), " in JSON: ", detail));
    return;
  }
  if (wire.size() > options_.max_message_bytes) {
    SendError(response, grpc::StatusCode::RESOURCE_EXHAUSTED,
              absl::StrCat("request: ", wire.size(),
                           " bytes as a protobuf message; at most ",
                           options_.max_message_bytes, " allowed"));
    response.status = 413;
    return;
  }
  const std::string authorization = request.get_header_value("Authorization");
  if (!IsPrintableAscii(authorization)) {
    SendError(response, grpc::StatusCode::INVALID_ARGUMENT,
              "Authorization header: only printable ASCII is allowed");
    return;
  }

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.call_timeout));
  if (!authorization.empty()) {
    context.AddMetadata("authorization", authorization);
  }
  if (!options_.forwarded_peer_token.empty()) {
    context.AddMetadata(
        kForwardedPeerMetadata,
        absl::StrCat(options_.forwarded_peer_token, " ", PeerOf(request)));
  }
  grpc::Slice slice(std::move(wire));
  grpc::ByteBuffer in(&slice, 1), out;
  const grpc::Status status =
      CallUnary(*stub_, context, route.method, in, &out);
  if (!status.ok()) {
    // gRPC's own refusals (an RPC this server lacks) come without one.
    SendError(response, status.error_code(),
              status.error_message().empty()
                  ? absl::StrCat(route.method, ": ",
                                 GrpcCodeName(status.error_code()))
                  : status.error_message());
    return;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  // Every field, defaults included: JSON clients see one stable shape
  // ("ruleId": "", "allowedFields": []) instead of having to know
  // proto3's rule that default values are left out.
  print.always_print_primitive_fields = true;
  print.preserve_proto_field_names = false;
  if (!google::protobuf::util::BinaryToJsonString(
           resolver_.get(), route.response_type, Flatten(out), &json, print)
           .ok()) {
    SendError(response, grpc::StatusCode::INTERNAL, "internal error");
    return;
  }
  response.status = 200;
  // set_content would copy the body.
  response.body = std::move(json);
  response.set_header("Content-Type", kJson);
}

// Asks gRPC's own health service, so /healthz says exactly what
// grpc.health.v1.Health says (NOT_SERVING without an active policy, and
// from the start of a shutdown).
void HttpGateway::ServeHealth(httplib::Response& response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  // An empty HealthCheckRequest (the server as a whole): one empty slice,
  // since gRPC refuses a ByteBuffer that holds nothing at all.
  grpc::Slice empty;
  grpc::ByteBuffer in(&empty, 1), out;
  const grpc::Status status =
      CallUnary(*stub_, context, kHealthMethod, in, &out);
  // HealthCheckResponse is one field, `ServingStatus status = 1`, SERVING
  // being 1; read through protobuf's field set (gRPC ships no C++ class
  // for it).
  bool serving = false;
  google::protobuf::UnknownFieldSet fields;
  if (status.ok() && fields.ParseFromString(Flatten(out))) {
    for (int i = 0; i < fields.field_count(); ++i) {
      const google::protobuf::UnknownField& field = fields.field(i);
      if (field.number() == 1 &&
          field.type() == google::protobuf::UnknownField::TYPE_VARINT) {
        serving = field.varint() == 1;
      }
    }
  }
  response.status = serving ? 200 : 503;
  response.set_content(
      serving ? R"({"status":"SERVING"})" : R"({"status":"NOT_SERVING"})",
      kJson);
}

}  // namespace steward::server
