// The HTTP/JSON API (`stewardd serve --http-listen`, server/http/) end to
// end: a real stewardd on loopback ephemeral ports, driven with
// cpp-httplib's client. The shared workload through /v1/check and
// /v1/batch-check, every class of bad request, /healthz, the audit trail
// of HTTP calls (with the HTTP client's address on authentication
// failures), the loopback rule for plaintext and HTTPS.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  return json;
}

httplib::Headers Bearer(const std::string& key) {
  if (key.empty()) return {};
  return {{"Authorization", "Bearer " + key}};
}

// "HOST:PORT" -> a client with generous timeouts (the workload runs on a
// Debug build beside other jobs).
std::unique_ptr<httplib::Client> HttpClient(const std::string& address) {
  auto client = std::make_unique<httplib::Client>("http://" + address);
  client->set_read_timeout(30, 0);
  client->set_keep_alive(true);
  // httplib sends headers and body in two writes: without this each
  // request waits for the server's delayed ACK.
  client->set_tcp_nodelay(true);
  return client;
}

class HttpApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess();
    data_ = new std::string(dir_->path() + "/data");
    ASSERT_THAT(
        server_->Start(STEWARDD_PATH, *data_,
                       {"--dev", "--http-listen", "127.0.0.1:0", "--policy",
                        std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"}),
        IsOk());
    http_address_ = new std::string(
        absl::StripAsciiWhitespace(ReadFile(*data_ + "/stewardd.http-addr")));
    ASSERT_FALSE(http_address_->empty());
    admin_key_ = new std::string(ReadKey(*data_, "admin"));
    client_key_ = new std::string(ReadKey(*data_, "client"));
    auditor_key_ = new std::string(ReadKey(*data_, "auditor"));
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
    auto admin = v1::AdminService::NewStub(*channel_);
    grpc::Status loaded =
        LoadWorkloadPrincipals(*admin, *admin_key_, STEWARD_WORKLOAD_DIR);
    ASSERT_TRUE(loaded.ok()) << loaded.error_message();
    requests_ = new std::vector<WorkloadRequest>(
        LoadWorkloadRequests(STEWARD_WORKLOAD_DIR));
    ASSERT_EQ(requests_->size(), 10000u);
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete server_;
    delete dir_;
    delete data_;
    delete http_address_;
    delete admin_key_;
    delete client_key_;
    delete auditor_key_;
    delete requests_;
  }

  static httplib::Result Post(
      const std::string& path, const std::string& key, const std::string& body,
      const std::string& content_type = "application/json") {
    return HttpClient(*http_address_)
        ->Post(path.c_str(), Bearer(key), body, content_type.c_str());
  }

  // The audit records of `kind` (newest first).
  static std::vector<v1::AuditRecord> Records(v1::RecordKind kind) {
    auto audit = v1::AuditService::NewStub(*channel_);
    v1::QueryDecisionsRequest request;
    request.mutable_filter()->set_kind(kind);
    request.set_page_size(100);
    v1::QueryDecisionsResponse response;
    grpc::Status status =
        audit->QueryDecisions(Context(*auditor_key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.records().begin(), response.records().end()};
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string* data_;
  static std::string* http_address_;
  static std::string* admin_key_;
  static std::string* client_key_;
  static std::string* auditor_key_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::vector<WorkloadRequest>* requests_;
};

TempDir* HttpApiTest::dir_ = nullptr;
ServerProcess* HttpApiTest::server_ = nullptr;
std::string* HttpApiTest::data_ = nullptr;
std::string* HttpApiTest::http_address_ = nullptr;
std::string* HttpApiTest::admin_key_ = nullptr;
std::string* HttpApiTest::client_key_ = nullptr;
std::string* HttpApiTest::auditor_key_ = nullptr;
std::shared_ptr<grpc::Channel>* HttpApiTest::channel_ = nullptr;
std::vector<WorkloadRequest>* HttpApiTest::requests_ = nullptr;

TEST_F(HttpApiTest, EveryWorkloadCheckMatchesExpected) {
  constexpr int kThreads = 4;
  std::atomic<int> mismatches{0}, allows{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // One keep-alive connection per thread.
      std::unique_ptr<httplib::Client> client = HttpClient(*http_address_);
      for (size_t i = t; i < requests_->size(); i += kThreads) {
        const WorkloadRequest& item = (*requests_)[i];
        httplib::Result result =
            client->Post("/v1/check", Bearer(*client_key_),
                         ToJson(item.request), "application/json");
        v1::CheckResponse response;
        if (!result || result->status != 200 ||
            !google::protobuf::util::JsonStringToMessage(result->body,
                                                         &response)
                 .ok() ||
            response.decision_id().empty()) {
          if (failures++ < 5) {
            ADD_FAILURE() << "request " << i << ": "
                          << (result ? result->body
                                     : httplib::to_string(result.error()));
          }
          continue;
        }
        const bool allowed = response.effect() == v1::ALLOW;
        allows += allowed;
        if (allowed != item.expect_allow && mismatches++ < 5) {
          ADD_FAILURE() << "request " << i << " "
                        << item.request.ShortDebugString() << " got "
                        << result->body;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(allows.load(), 4164);
}

TEST_F(HttpApiTest, EveryWorkloadBatchItemMatchesExpectedInOrder) {
  constexpr size_t kChunk = 1000;
  std::unique_ptr<httplib::Client> client = HttpClient(*http_address_);
  int mismatches = 0, allows = 0;
  for (size_t start = 0; start < requests_->size(); start += kChunk) {
    v1::BatchCheckRequest batch;
    for (size_t i = start; i < std::min(start + kChunk, requests_->size());
         ++i) {
      *batch.add_items() = (*requests_)[i].request;
    }
    httplib::Result result =
        client->Post("/v1/batch-check", Bearer(*client_key_), ToJson(batch),
                     "application/json");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    ASSERT_EQ(result->status, 200) << result->body;
    v1::BatchCheckResponse response;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(result->body, &response)
            .ok());
    ASSERT_EQ(response.items_size(), batch.items_size());
    for (int j = 0; j < response.items_size(); ++j) {
      const bool allowed = response.items(j).effect() == v1::ALLOW;
      allows += allowed;
      if (allowed != (*requests_)[start + j].expect_allow) ++mismatches;
      EXPECT_EQ(response.items(j).request_id(),
                (*requests_)[start + j].request.request_id());
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(allows, 4164);
}

TEST_F(HttpApiTest, ResponsesUseLowerCamelCaseAndPrintEveryField) {
  v1::CheckRequest request = (*requests_)[0].request;
  request.set_request_id("camel-1");
  // snake_case names are accepted on input too (protobuf's JSON mapping).
  std::string body = ToJson(request);
  body.replace(body.find("\"principalId\""), 13, "\"principal_id\"");
  httplib::Result result = Post("/v1/check", *client_key_, body);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  nlohmann::json json = nlohmann::json::parse(result->body);
  for (const char* field : {"effect", "reason", "ruleId", "allowedFields",
                            "deniedFields", "policyVersion", "storeRevision",
                            "decisionId", "explanation", "requestId"}) {
    EXPECT_TRUE(json.contains(field)) << field << " in " << result->body;
  }
  EXPECT_EQ(json["requestId"], "camel-1");
}

// One bad request: what it is, and what the answer must say.
struct BadRequest {
  const char* name;
  const char* method;
  const char* path;
  std::string key_role;  // "client", "auditor", "admin", "none", "bogus"
  std::string content_type;
  std::string body;
  int status;
  const char* code;
  const char* message;
};

class HttpBadRequestTest : public HttpApiTest,
                           public ::testing::WithParamInterface<BadRequest> {};

TEST_P(HttpBadRequestTest, GetsAJsonErrorNamingTheProblem) {
  const BadRequest& bad = GetParam();
  std::string key = bad.key_role == "none"    ? ""
                    : bad.key_role == "bogus" ? std::string(64, 'a')
                                              : ReadKey(*data_, bad.key_role);
  std::unique_ptr<httplib::Client> client = HttpClient(*http_address_);
  httplib::Result result = std::string(bad.method) == "GET"
                               ? client->Get(bad.path, Bearer(key))
                               : client->Post(bad.path, Bearer(key), bad.body,
                                              bad.content_type.c_str());
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, bad.status) << result->body;
  EXPECT_THAT(result->get_header_value("Content-Type"),
              HasSubstr("application/json"));
  nlohmann::json json = nlohmann::json::parse(result->body, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << result->body;
  EXPECT_EQ(json.value("code", ""), bad.code) << result->body;
  EXPECT_THAT(json.value("message", ""), HasSubstr(bad.message));
  if (bad.status == 405) {
    EXPECT_EQ(result->get_header_value("Allow"), "POST");
  }
  if (bad.status == 401) {
    EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Bearer");
  }
}

constexpr char kJson[] = "application/json";
const char kValidCheck[] =
    R"({"principalId":"u0001","action":"read","resource":{"kind":"customer","id":"c1"}})";

std::string Batch(int items) {
  std::string body = R"({"items":[)";
  for (int i = 0; i < items; ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", kValidCheck);
  }
  return body + "]}";
}

INSTANTIATE_TEST_SUITE_P(
    EveryClass, HttpBadRequestTest,
    ::testing::Values(
        BadRequest{"BadJson", "POST", "/v1/check", "client", kJson,
                   R"({"principalId": )", 400, "INVALID_ARGUMENT",
                   "not a valid steward.v1.CheckRequest in JSON"},
        BadRequest{"WrongType", "POST", "/v1/check", "client", kJson,
                   R"({"principalId": 5})", 400, "INVALID_ARGUMENT",
                   "principal_id"},
        BadRequest{"UnknownField", "POST", "/v1/check", "client", kJson,
                   R"({"principalId":"u0001","colour":"red"})", 400,
                   "INVALID_ARGUMENT", "colour"},
        BadRequest{
            "UnknownNestedField", "POST", "/v1/check", "client", kJson,
            R"({"principalId":"u0001","resource":{"kind":"c","size":1}})", 400,
            "INVALID_ARGUMENT", "size"},
        BadRequest{
            "ServiceValidation", "POST", "/v1/check", "client", kJson,
            R"({"principalId":"u0001","action":"read","resource":{"kind":"customer","id":")" +
                std::string(300, 'x') + R"("}})",
            400, "INVALID_ARGUMENT", "resource.id"},
        BadRequest{"OversizedBody", "POST", "/v1/check", "client", kJson,
                   R"({"principalId":"u0001","justification":")" +
                       std::string(300 * 1024, 'x') + R"("})",
                   413, "RESOURCE_EXHAUSTED", "at most"},
        BadRequest{"TooManyBatchItems", "POST", "/v1/batch-check", "client",
                   kJson, Batch(1001), 400, "INVALID_ARGUMENT", "at most 1000"},
        BadRequest{"WrongContentType", "POST", "/v1/check", "client",
                   "text/plain", kValidCheck, 415, "INVALID_ARGUMENT",
                   "Content-Type must be application/json"},
        BadRequest{"MissingKey", "POST", "/v1/check", "none", kJson,
                   kValidCheck, 401, "UNAUTHENTICATED", "missing API key"},
        BadRequest{"UnknownKey", "POST", "/v1/check", "bogus", kJson,
                   kValidCheck, 401, "UNAUTHENTICATED", "unknown API key"},
        BadRequest{"AuditorKeyOnCheck", "POST", "/v1/check", "auditor", kJson,
                   kValidCheck, 403, "PERMISSION_DENIED", "client"},
        BadRequest{"AdminKeyOnBatchCheck", "POST", "/v1/batch-check", "admin",
                   kJson, Batch(1), 403, "PERMISSION_DENIED", "client"},
        BadRequest{"GetOnCheck", "GET", "/v1/check", "client", "", "", 405,
                   "UNIMPLEMENTED", "method not allowed"},
        BadRequest{"AdminPath", "POST", "/v1/admin/principals", "admin", kJson,
                   "{}", 404, "NOT_FOUND", "no such endpoint"},
        BadRequest{"GrpcAdminMethodPath", "POST",
                   "/steward.v1.AdminService/ListPrincipals", "admin", kJson,
                   "{}", 404, "NOT_FOUND", "no such endpoint"},
        BadRequest{"GrpcCheckMethodPath", "POST",
                   "/steward.v1.AuthorizationService/Check", "client", kJson,
                   kValidCheck, 404, "NOT_FOUND", "no such endpoint"}),
    [](const ::testing::TestParamInfo<BadRequest>& info) {
      return std::string(info.param.name);
    });

TEST_F(HttpApiTest, HealthzSaysServing) {
  httplib::Result result = HttpClient(*http_address_)->Get("/healthz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(nlohmann::json::parse(result->body),
            nlohmann::json({{"status", "SERVING"}}));
}

TEST_F(HttpApiTest, DecisionsAreInTheAuditTrail) {
  v1::CheckRequest request = (*requests_)[1].request;
  request.set_request_id("http-audit-1");
  httplib::Result result = Post("/v1/check", *client_key_, ToJson(request));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  v1::CheckResponse response;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(result->body, &response)
          .ok());
  // Sync durability: the record was committed before the answer.
  bool found = false;
  for (const v1::AuditRecord& record : Records(v1::DECISION)) {
    if (record.decision_id() != response.decision_id()) continue;
    found = true;
    EXPECT_EQ(record.request_id(), "http-audit-1");
    EXPECT_EQ(record.caller(), "dev-client");
    EXPECT_EQ(record.principal_id(), request.principal_id());
    EXPECT_EQ(record.effect(), response.effect());
  }
  EXPECT_TRUE(found) << "no DECISION record " << response.decision_id();
}

TEST_F(HttpApiTest, AuthFailuresRecordTheHttpClientsAddress) {
  // From 127.0.0.2, so the record cannot show it by chance: a gRPC client
  // here is 127.0.0.1, and the gateway's own in-process peer "unknown".
  // The client's attempt to name another peer itself is not forwarded.
  httplib::Client client("http://" + *http_address_);
  client.set_interface("127.0.0.2");
  httplib::Headers headers = {
      {"Authorization", "Bearer " + std::string(64, 'b')},
      {"X-Steward-Forwarded-Peer", "forged ipv4:6.6.6.6:1"}};
  httplib::Result result =
      client.Post("/v1/check", headers, kValidCheck, kJson);
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  ASSERT_EQ(result->status, 401) << result->body;

  // A network gRPC caller cannot forge the forwarded peer either.
  auto stub = v1::AuthorizationService::NewStub(*channel_);
  auto context = Context(std::string(64, 'c'));
  context->AddMetadata("x-steward-forwarded-peer", "forged ipv4:6.6.6.6:1");
  v1::CheckResponse ignored;
  v1::CheckRequest check;
  check.set_principal_id("u0001");
  EXPECT_EQ(stub->Check(context.get(), check, &ignored).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  std::vector<std::string> peers;
  WaitUntil(
      [&] {
        peers.clear();
        for (const v1::AuditRecord& record : Records(v1::AUTH_FAILURE)) {
          nlohmann::json details =
              nlohmann::json::parse(record.details_json(), nullptr, false);
          if (details.is_object()) peers.push_back(details.value("peer", ""));
        }
        return std::count(peers.begin(), peers.end(), "ipv4:127.0.0.2") == 1 &&
               std::count(peers.begin(), peers.end(), "ipv4:127.0.0.1") >= 1;
      },
      absl::Seconds(10), "the HTTP and gRPC auth failure records");
  EXPECT_THAT(peers, ::testing::Contains("ipv4:127.0.0.2"));
  EXPECT_THAT(peers, ::testing::Not(::testing::Contains(HasSubstr("6.6.6.6"))));
  EXPECT_THAT(peers, ::testing::Not(::testing::Contains("unknown")));
}

TEST_F(HttpApiTest, PlanResourcesAnswersAsTheRpcDoes) {
  for (const char* principal : {"u0001", "u0019", "u0084"}) {
    v1::PlanResourcesRequest request;
    request.set_principal_id(principal);
    request.set_action("update");
    request.set_resource_kind("customer");
    httplib::Result result =
        Post("/v1/plan-resources", *client_key_, ToJson(request));
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
    v1::PlanResourcesResponse over_http;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(result->body, &over_http)
            .ok())
        << result->body;
    EXPECT_NE(over_http.kind(), v1::PLAN_KIND_UNSPECIFIED);

    auto stub = v1::AuthorizationService::NewStub(*channel_);
    v1::PlanResourcesResponse over_grpc;
    grpc::Status status =
        stub->PlanResources(Context(*client_key_).get(), request, &over_grpc);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(over_http.kind(), over_grpc.kind()) << principal;
    EXPECT_EQ(over_http.reason(), over_grpc.reason()) << principal;
    EXPECT_EQ(over_http.condition().SerializeAsString(),
              over_grpc.condition().SerializeAsString())
        << principal << ": " << result->body;
    EXPECT_EQ(over_http.policy_version(), over_grpc.policy_version());
  }
  // The RPC's own validation and roles, as over gRPC.
  httplib::Result unknown = Post("/v1/plan-resources", *client_key_,
                                 R"({"principalId":"u0001","x":1})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  httplib::Result auditor = Post(
      "/v1/plan-resources", *auditor_key_,
      R"({"principalId":"u0001","action":"read","resourceKind":"customer"})");
  ASSERT_TRUE(auditor);
  EXPECT_EQ(auditor->status, 403) << auditor->body;
}

TEST(HttpListenTest, PlaintextOnANonLoopbackAddressIsRefused) {
  TempDir dir;
  CommandResult result = RunCommand(
      {STEWARDD_PATH, "serve", "--dev", "--data-dir", dir.path() + "/data",
       "--listen", "127.0.0.1:0", "--http-listen", "0.0.0.0:0"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err,
              HasSubstr("stewardd: error: --http-listen 0.0.0.0:0 is not a "
                        "loopback address"));
}

TEST(HttpListenTest, HealthzIsNotServingWithoutAnActivePolicy) {
  TempDir dir;
  ServerProcess server;
  const std::string data = dir.path() + "/data";
  ASSERT_THAT(server.Start(STEWARDD_PATH, data,
                           {"--dev", "--http-listen", "127.0.0.1:0"}),
              IsOk());
  httplib::Client client("http://" +
                         std::string(absl::StripAsciiWhitespace(
                             ReadFile(data + "/stewardd.http-addr"))));
  int status = 0;
  std::string body;
  WaitUntil(
      [&] {
        httplib::Result result = client.Get("/healthz");
        if (!result) return false;
        status = result->status;
        body = result->body;
        return status == 503;
      },
      absl::Seconds(10), "/healthz to say NOT_SERVING");
  EXPECT_EQ(status, 503);
  EXPECT_EQ(nlohmann::json::parse(body, nullptr, false),
            nlohmann::json({{"status", "NOT_SERVING"}}));
}

// HTTPS under the same flags as gRPC, with certificates made by the
// openssl CLI for this test only.
class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // httplib's TLS client writes with plain send(2): a server that hangs
    // up on a refused handshake must not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    d_ = dir_.path();
    ASSERT_NO_FATAL_FAILURE(MakeCa("ca"));
    ASSERT_NO_FATAL_FAILURE(MakeCa("other-ca"));
    ASSERT_NO_FATAL_FAILURE(
        MakeCert("server", "ca", "subjectAltName=IP:127.0.0.1"));
    CommandResult init = RunCommand(
        {STEWARDD_PATH, "init", "--data-dir", d_ + "/data", "--policy",
         std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy", "--admin-key-out",
         d_ + "/admin.key", "--totp-secret-out", d_ + "/admin.totp"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  void Openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result = RunCommand(argv);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  void MakeCa(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=" + name, "-keyout", d_ + "/" + name + ".key",
             "-out", d_ + "/" + name + ".pem"});
  }
  void MakeCert(const std::string& name, const std::string& ca,
                const std::string& extension) {
    Openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
             "-keyout", d_ + "/" + name + ".key", "-out",
             d_ + "/" + name + ".csr"});
    { std::ofstream(d_ + "/" + name + ".ext") << extension << "\n"; }
    Openssl({"x509", "-req", "-in", d_ + "/" + name + ".csr", "-CA",
             d_ + "/" + ca + ".pem", "-CAkey", d_ + "/" + ca + ".key",
             "-CAcreateserial", "-days", "2", "-extfile",
             d_ + "/" + name + ".ext", "-out", d_ + "/" + name + ".pem"});
  }

  // Starts stewardd with TLS on `cert`/`key` and --http-listen; returns
  // the HTTP address.
  std::string Start(ServerProcess& server, const std::string& cert,
                    const std::string& key,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--tls-cert", cert, "--tls-key", key, "--http-listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_THAT(server.Start(STEWARDD_PATH, d_ + "/data", args), IsOk());
    return std::string(
        absl::StripAsciiWhitespace(ReadFile(d_ + "/data/stewardd.http-addr")));
  }

  // GET /healthz over HTTPS trusting `ca`, with a client certificate when
  // `client` is not empty: the status, or -1 when no answer came.
  int Health(const std::string& address, const std::string& ca,
             const std::string& client = "") {
    const size_t colon = address.rfind(':');
    std::unique_ptr<httplib::SSLClient> tls;
    if (client.empty()) {
      tls = std::make_unique<httplib::SSLClient>(
          address.substr(0, colon), std::stoi(address.substr(colon + 1)));
    } else {
      tls = std::make_unique<httplib::SSLClient>(
          address.substr(0, colon), std::stoi(address.substr(colon + 1)),
          d_ + "/" + client + ".pem", d_ + "/" + client + ".key");
    }
    tls->set_ca_cert_path((d_ + "/" + ca + ".pem").c_str());
    tls->enable_server_certificate_verification(true);
    tls->set_connection_timeout(5, 0);
    tls->set_read_timeout(5, 0);
    httplib::Result result = tls->Get("/healthz");
    return result ? result->status : -1;
  }

  TempDir dir_;
  std::string d_;
};

TEST_F(HttpsTest, ServesTlsOnTheHttpListenerAndRefusesPlaintext) {
  ServerProcess server;
  const std::string address =
      Start(server, d_ + "/server.pem", d_ + "/server.key");
  EXPECT_EQ(Health(address, "ca"), 200);
  // Not trusted by a client of another CA.
  EXPECT_EQ(Health(address, "other-ca"), -1);

  const size_t colon = address.rfind(':');
  httplib::SSLClient tls(address.substr(0, colon),
                         std::stoi(address.substr(colon + 1)));
  tls.set_ca_cert_path((d_ + "/ca.pem").c_str());
  tls.enable_server_certificate_verification(true);
  // The admin key is no client key: the answer comes from the service.
  const std::string admin_key =
      std::string(absl::StripAsciiWhitespace(ReadFile(d_ + "/admin.key")));
  httplib::Result check =
      tls.Post("/v1/check", Bearer(admin_key), kValidCheck, kJson);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->status, 403) << check->body;

  httplib::Client plain("http://" + address);
  plain.set_read_timeout(5, 0);
  httplib::Result refused = plain.Get("/healthz");
  EXPECT_FALSE(refused && refused->status == 200);
}

TEST_F(HttpsTest, MutualTlsNeedsAClientCertificateFromTheConfiguredCa) {
  ASSERT_NO_FATAL_FAILURE(
      MakeCert("client", "ca", "extendedKeyUsage=clientAuth"));
  ASSERT_NO_FATAL_FAILURE(
      MakeCert("intruder", "other-ca", "extendedKeyUsage=clientAuth"));
  ServerProcess server;
  const std::string address =
      Start(server, d_ + "/server.pem", d_ + "/server.key",
            {"--tls-client-ca", d_ + "/ca.pem"});
  EXPECT_EQ(Health(address, "ca", "client"), 200);
  EXPECT_EQ(Health(address, "ca"), -1);
  EXPECT_EQ(Health(address, "ca", "intruder"), -1);
}

TEST_F(HttpsTest, RenewedCertificateFilesAreServedWithoutRestart) {
  ASSERT_NO_FATAL_FAILURE(
      MakeCert("renewed", "other-ca", "subjectAltName=IP:127.0.0.1"));
  const std::string cert = d_ + "/live.pem", key = d_ + "/live.key";
  std::filesystem::copy_file(d_ + "/server.pem", cert);
  std::filesystem::copy_file(d_ + "/server.key", key);
  ServerProcess server;
  const std::string address =
      Start(server, cert, key, {"--tls-reload-interval", "1"});
  ASSERT_EQ(Health(address, "ca"), 200);
  // Swap in a certificate from another CA, as a renewal would.
  std::filesystem::copy_file(d_ + "/renewed.key", key,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(d_ + "/renewed.pem", cert,
                             std::filesystem::copy_options::overwrite_existing);
  WaitUntil([&] { return Health(address, "other-ca") == 200; },
            absl::Seconds(20), "HTTPS to serve the renewed certificate");
}

}  // namespace
}  // namespace steward::testing
