// The service's own security, end to end on real stewardd processes: which
// service role may call which RPC (every cell of the table), the TOTP second
// factor on admin mutations (missing, wrong, stale, replayed), `stewardd
// init`, TLS and mTLS handshakes with certificates made by openssl here,
// and failed authentications landing in the audit trail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/auth/tls_files.h"
#include "server/auth/tls_reloader.h"
#include "server/auth/totp.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using server::InspectTls;
using server::ReadTlsFiles;
using server::TlsPem;
using server::TlsReloader;
using ::testing::HasSubstr;
using ::testing::Not;
using v1::AdminService;
using v1::AuditService;
using v1::AuthorizationService;

enum class Needs { kClient, kAudit, kAdmin };

// One RPC, called with a (mostly empty) request: authorization is decided
// before the request is looked at, so an empty request suffices to tell
// "refused for who you are" from "let in".
struct Rpc {
  std::string name;
  Needs needs;
  std::function<grpc::Status(grpc::Channel&, const std::string& key)> call;
};

template <typename Stub, typename Request, typename Response>
std::function<grpc::Status(grpc::Channel&, const std::string&)> Call(
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*),
    std::unique_ptr<Stub> (*new_stub)(
        const std::shared_ptr<grpc::ChannelInterface>&,
        const grpc::StubOptions&)) {
  return [method, new_stub](grpc::Channel& channel, const std::string& key) {
    std::shared_ptr<grpc::ChannelInterface> shared(
        &channel, [](grpc::ChannelInterface*) {});
    auto stub = new_stub(shared, grpc::StubOptions());
    Request request;
    Response response;
    return ((*stub).*method)(Context(key).get(), request, &response);
  };
}

#define STEWARD_RPC(Service, Method, needs) \
  Rpc { #Method, needs, Call(&Service::Stub::Method, &Service::NewStub) }

std::vector<Rpc> AllRpcs() {
  return {
      STEWARD_RPC(AuthorizationService, Check, Needs::kClient),
      STEWARD_RPC(AuthorizationService, BatchCheck, Needs::kClient),
      STEWARD_RPC(AdminService, ValidatePolicy, Needs::kAdmin),
      STEWARD_RPC(AdminService, ApplyPolicy, Needs::kAdmin),
      STEWARD_RPC(AdminService, ListPolicyVersions, Needs::kAdmin),
      STEWARD_RPC(AdminService, GetPolicy, Needs::kAdmin),
      STEWARD_RPC(AdminService, ActivatePolicyVersion, Needs::kAdmin),
      STEWARD_RPC(AdminService, DiffPolicyVersions, Needs::kAdmin),
      STEWARD_RPC(AdminService, UpsertPrincipal, Needs::kAdmin),
      STEWARD_RPC(AdminService, GetPrincipal, Needs::kAdmin),
      STEWARD_RPC(AdminService, ListPrincipals, Needs::kAdmin),
      STEWARD_RPC(AdminService, SetPrincipalDisabled, Needs::kAdmin),
      STEWARD_RPC(AdminService, DeletePrincipal, Needs::kAdmin),
      STEWARD_RPC(AdminService, Grant, Needs::kAdmin),
      STEWARD_RPC(AdminService, Revoke, Needs::kAdmin),
      STEWARD_RPC(AdminService, ListBindings, Needs::kAdmin),
      STEWARD_RPC(AdminService, CreateApiKey, Needs::kAdmin),
      STEWARD_RPC(AdminService, ListApiKeys, Needs::kAdmin),
      STEWARD_RPC(AdminService, RevokeApiKey, Needs::kAdmin),
      STEWARD_RPC(AuditService, QueryDecisions, Needs::kAudit),
      STEWARD_RPC(AuditService, VerifyChain, Needs::kAudit),
      STEWARD_RPC(AuditService, SubjectAccess, Needs::kAudit),
      STEWARD_RPC(AuditService, WhoCan, Needs::kAudit),
      STEWARD_RPC(AuditService, EffectivePermissions, Needs::kAudit),
      STEWARD_RPC(AuditService, UnusedGrants, Needs::kAudit),
      STEWARD_RPC(AuditService, SeparationViolations, Needs::kAudit),
      STEWARD_RPC(AuditService, ExpiringGrants, Needs::kAudit),
      STEWARD_RPC(AuditService, DecisionSummary, Needs::kAudit),
  };
}
#undef STEWARD_RPC

bool Allowed(Needs needs, const std::string& role) {
  switch (needs) {
    case Needs::kClient:
      return role == "client";
    case Needs::kAudit:
      return role == "auditor" || role == "admin";
    case Needs::kAdmin:
      return role == "admin";
  }
  return false;
}

TEST(SecurityTest, EachServiceRoleCallsExactlyItsRpcs) {
  TempDir dir;
  ServerProcess server;
  std::string data = dir.path() + "/data";
  ASSERT_THAT(server.Start(STEWARDD_PATH, data,
                           {"--dev", "--policy",
                            std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"}),
              IsOk());
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  std::map<std::string, std::string> keys = {
      {"client", ReadKey(data, "client")},
      {"auditor", ReadKey(data, "auditor")},
      {"admin", ReadKey(data, "admin")}};
  int cells = 0;
  for (const Rpc& rpc : AllRpcs()) {
    for (const auto& [role, key] : keys) {
      grpc::Status status = rpc.call(*channel, key);
      ++cells;
      if (Allowed(rpc.needs, role)) {
        EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << rpc.name << " as " << role << ": " << status.error_message();
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << rpc.name << " as " << role << ": " << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << rpc.name << " as " << role;
        EXPECT_THAT(status.error_message(), HasSubstr("service role"))
            << rpc.name << " as " << role;
      }
    }
    grpc::Status anonymous = rpc.call(*channel, "");
    EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << rpc.name;
    grpc::Status forged = rpc.call(*channel, "stw_forged");
    EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << rpc.name;
  }
  EXPECT_EQ(cells, 28 * 3);
}

TEST(SecurityTest, FailedAuthenticationsAreAudited) {
  TempDir dir;
  ServerProcess server;
  std::string data = dir.path() + "/data";
  ASSERT_THAT(server.Start(STEWARDD_PATH, data, {"--dev"}), IsOk());
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto authz = AuthorizationService::NewStub(channel);
  v1::CheckRequest check;
  v1::CheckResponse checked;
  EXPECT_EQ(
      authz->Check(Context("stw_nope").get(), check, &checked).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  auto audit = AuditService::NewStub(channel);
  v1::QueryDecisionsRequest query;
  query.mutable_filter()->set_kind(v1::AUTH_FAILURE);
  v1::QueryDecisionsResponse found;
  // The failure record is queued asynchronously: wait for the writer.
  grpc::Status queried;
  WaitUntil(
      [&] {
        found.Clear();
        queried = audit->QueryDecisions(Context(ReadKey(data, "auditor")).get(),
                                        query, &found);
        return !queried.ok() || found.records_size() > 0;
      },
      absl::Seconds(30), "the AUTH_FAILURE record in the trail");
  ASSERT_TRUE(queried.ok()) << queried.error_message();
  ASSERT_GE(found.records_size(), 1);
  EXPECT_EQ(found.records(0).kind(), v1::AUTH_FAILURE);
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr("stw_nope")));
}

// A non-dev server bootstrapped with `stewardd init`.
class TotpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    key_file_ = dir_.path() + "/admin.key";
    totp_file_ = dir_.path() + "/admin.totp";
    CommandResult init = RunCommand(
        {STEWARDD_PATH, "init", "--data-dir", data_, "--policy",
         std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy", "--admin-key-out",
         key_file_, "--totp-secret-out", totp_file_});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ASSERT_THAT(server_.Start(STEWARDD_PATH, data_, {}), IsOk());
    channel_ = grpc::CreateChannel(server_.address(),
                                   grpc::InsecureChannelCredentials());
    key_ = std::string(absl::StripAsciiWhitespace(ReadFile(key_file_)));
    std::string uri = ReadFile(totp_file_);
    size_t start = uri.find("secret=") + 7;
    absl::StatusOr<std::string> secret =
        server::DecodeBase32(uri.substr(start, uri.find('&', start) - start));
    ASSERT_TRUE(secret.ok());
    secret_ = *secret;
  }

  grpc::Status Upsert(const std::string& otp, const std::string& id) {
    auto stub = AdminService::NewStub(channel_);
    auto context = Context(key_);
    if (!otp.empty()) context->AddMetadata("x-steward-otp", otp);
    v1::UpsertPrincipalRequest request;
    request.mutable_principal()->set_id(id);
    v1::UpsertPrincipalResponse response;
    return stub->UpsertPrincipal(context.get(), request, &response);
  }

  TempDir dir_;
  ServerProcess server_;
  std::string data_, key_file_, totp_file_, key_, secret_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(TotpTest, InitWritesOwnerOnlySecretsAndIsIdempotent) {
  struct stat info;
  ASSERT_EQ(::stat(key_file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(totp_file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_THAT(ReadFile(totp_file_), HasSubstr("otpauth://totp/Steward:"));
  CommandResult again =
      RunCommand({STEWARDD_PATH, "init", "--data-dir", data_});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("nothing changed"));
}

TEST_F(TotpTest, MutationWithoutCodeIsRefused) {
  grpc::Status status = Upsert("", "u1");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("x-steward-otp"));
}

TEST_F(TotpTest, WrongAndStaleCodesAreRefused) {
  int64_t step = server::TotpStep(absl::Now());
  std::string right = server::TotpCode(secret_, step);
  std::string wrong = right;
  wrong[5] = wrong[5] == '9' ? '0' : wrong[5] + 1;
  EXPECT_EQ(Upsert(wrong, "u1").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Upsert(server::TotpCode(secret_, step - 5), "u1").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TotpTest, ValidCodeWorksOnceThenReplayIsRefused) {
  std::string code = server::TotpCode(secret_, server::TotpStep(absl::Now()));
  grpc::Status first = Upsert(code, "u1");
  ASSERT_TRUE(first.ok()) << first.error_message();
  grpc::Status replay = Upsert(code, "u2");
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(replay.error_message(), HasSubstr("already used"));
}

TEST_F(TotpTest, RepeatedWrongCodesLockTheKeyOut) {
  int64_t step = server::TotpStep(absl::Now());
  std::string right = server::TotpCode(secret_, step);
  std::string wrong = right;
  wrong[5] = wrong[5] == '9' ? '0' : wrong[5] + 1;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Upsert(wrong, "u1").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  grpc::Status locked = Upsert(right, "u1");
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(locked.error_message(), HasSubstr("too many failed"));
}

// The count is kept in the store (SQLite here), so restarting stewardd
// does not lift a lockout.
TEST_F(TotpTest, LockoutSurvivesARestart) {
  int64_t step = server::TotpStep(absl::Now());
  std::string right = server::TotpCode(secret_, step);
  std::string wrong = right;
  wrong[5] = wrong[5] == '9' ? '0' : wrong[5] + 1;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Upsert(wrong, "u1").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_THAT(server_.Start(STEWARDD_PATH, data_, {}), IsOk());
  channel_ = grpc::CreateChannel(server_.address(),
                                 grpc::InsecureChannelCredentials());
  grpc::Status locked = Upsert(right, "u1");
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << locked.error_message();
  EXPECT_THAT(locked.error_message(), HasSubstr("too many failed"));
}

TEST_F(TotpTest, ReadsNeedNoCode) {
  auto stub = AdminService::NewStub(channel_);
  v1::ListPrincipalsRequest request;
  v1::ListPrincipalsResponse response;
  grpc::Status status =
      stub->ListPrincipals(Context(key_).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Certificates made with the openssl CLI for this test only.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = dir_.path();
    MakeCa("ca");
    MakeCa("other-ca");
    MakeCert("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    MakeCert("client", "ca", "extendedKeyUsage=clientAuth");
    MakeCert("intruder", "other-ca", "extendedKeyUsage=clientAuth");
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

  grpc::Status ListKeys(std::shared_ptr<grpc::ChannelCredentials> creds,
                        const std::string& address) {
    grpc::ChannelArguments args;
    // A connection of its own, so every call is a fresh TLS handshake.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(address, creds, args);
    auto stub = AdminService::NewStub(channel);
    auto context = Context(
        std::string(absl::StripAsciiWhitespace(ReadFile(d_ + "/admin.key"))));
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(5));
    v1::ListApiKeysRequest request;
    v1::ListApiKeysResponse response;
    return stub->ListApiKeys(context.get(), request, &response);
  }

  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(d_ + "/ca.pem");
    if (!client.empty()) {
      options.pem_private_key = ReadFile(d_ + "/" + client + ".key");
      options.pem_cert_chain = ReadFile(d_ + "/" + client + ".pem");
    }
    return grpc::SslCredentials(options);
  }

  // Serves copies of the server pair at `cert`/`key`, re-read every second,
  // and checks a first TLS call works.
  void StartOnLiveCopy(ServerProcess& server, const std::string& cert,
                       const std::string& key) {
    std::filesystem::copy_file(d_ + "/server.pem", cert);
    std::filesystem::copy_file(d_ + "/server.key", key);
    ASSERT_THAT(server.Start(STEWARDD_PATH, d_ + "/data",
                             {"--tls-cert", cert, "--tls-key", key,
                              "--tls-reload-interval", "1"}),
                IsOk());
    ASSERT_TRUE(ListKeys(Tls(""), server.address()).ok());
  }

  TempDir dir_;
  std::string d_;
};

TEST_F(TlsTest, TlsClientConnectsAndPlaintextClientFails) {
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, d_ + "/data",
                           {"--tls-cert", d_ + "/server.pem", "--tls-key",
                            d_ + "/server.key"}),
              IsOk());
  grpc::Status tls = ListKeys(Tls(""), server.address());
  EXPECT_TRUE(tls.ok()) << tls.error_message();
  grpc::Status plain =
      ListKeys(grpc::InsecureChannelCredentials(), server.address());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(server.Log(), HasSubstr("TLS"));
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheConfiguredCa) {
  ServerProcess server;
  ASSERT_THAT(
      server.Start(STEWARDD_PATH, d_ + "/data",
                   {"--tls-cert", d_ + "/server.pem", "--tls-key",
                    d_ + "/server.key", "--tls-client-ca", d_ + "/ca.pem"}),
      IsOk());
  grpc::Status good = ListKeys(Tls("client"), server.address());
  EXPECT_TRUE(good.ok()) << good.error_message();
  EXPECT_EQ(ListKeys(Tls(""), server.address()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListKeys(Tls("intruder"), server.address()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, RenewedCertificateFilesAreServedWithoutRestart) {
  MakeCert("renewed", "other-ca", "subjectAltName=IP:127.0.0.1");
  std::string live_cert = d_ + "/live.pem", live_key = d_ + "/live.key";
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(StartOnLiveCopy(server, live_cert, live_key));
  // Swap in a certificate from another CA, as a renewal would.
  std::filesystem::copy_file(d_ + "/renewed.key", live_key,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(d_ + "/renewed.pem", live_cert,
                             std::filesystem::copy_options::overwrite_existing);
  grpc::SslCredentialsOptions other;
  other.pem_root_certs = ReadFile(d_ + "/other-ca.pem");
  grpc::Status renewed;
  WaitUntil(
      [&] {
        renewed = ListKeys(grpc::SslCredentials(other), server.address());
        return renewed.ok();
      },
      absl::Seconds(30), "stewardd to serve the renewed certificate");
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
}

TEST_F(TlsTest, AKeyThatDoesNotMatchTheCertificateIsAStartupError) {
  CommandResult result =
      RunCommand({STEWARDD_PATH, "serve", "--data-dir", d_ + "/data",
                  "--listen", "127.0.0.1:0", "--tls-cert", d_ + "/server.pem",
                  "--tls-key", d_ + "/client.key"});
  EXPECT_EQ(result.exit_code, 2);
  // One `stewardd: error:` line, as every configuration error.
  EXPECT_EQ(result.err.rfind("stewardd: error: ", 0), 0u) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  EXPECT_THAT(result.err, HasSubstr("--tls-key"));
  EXPECT_THAT(result.err, HasSubstr("does not match the certificate"));
  // Key material never reaches the log.
  EXPECT_THAT(result.err, Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(TlsTest, SighupChecksTheFilesAndSaysWhenTheyApply) {
  std::string live_cert = d_ + "/live.pem", live_key = d_ + "/live.key";
  std::filesystem::copy_file(d_ + "/server.pem", live_cert);
  std::filesystem::copy_file(d_ + "/server.key", live_key);
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, d_ + "/data",
                           {"--tls-cert", live_cert, "--tls-key", live_key}),
              IsOk());
  auto wait_for_log = [&server](const std::string& text) {
    WaitUntil([&] { return server.Log().find(text) != std::string::npos; },
              absl::Seconds(10),
              absl::StrCat("\"", text, "\" in stewardd's log"));
    return server.Log();
  };
  // A half-done renewal (new key, old certificate) is reported, not served.
  std::filesystem::copy_file(d_ + "/client.key", live_key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_THAT(wait_for_log("SIGHUP: --tls-key"),
              HasSubstr("does not match the certificate"));
  EXPECT_TRUE(ListKeys(Tls(""), server.address()).ok());
  // The completed renewal is valid and announced with its subject.
  std::filesystem::copy_file(d_ + "/client.pem", live_cert,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_THAT(wait_for_log("SIGHUP: TLS files are valid"),
              HasSubstr("CN=client"));
  EXPECT_EQ(server.Stop(), 0);
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

TlsPem PemOf(const std::string& d, const std::string& cert,
             const std::string& key) {
  absl::StatusOr<TlsPem> pem =
      ReadTlsFiles(d + "/" + cert + ".pem", d + "/" + key + ".key", "");
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.ok() ? *pem : TlsPem{};
}

TEST_F(TlsTest, InspectTlsNamesEachProblemOfAPair) {
  const absl::Time now = absl::Now();
  TlsPem good = PemOf(d_, "server", "server");
  EXPECT_THAT(InspectTls(good, now), IsOk());
  struct Case {
    std::string name;
    std::function<void(TlsPem&)> spoil;
    absl::Time at;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"EmptyCertificate", [](TlsPem& p) { p.cert.clear(); }, now,
       "--tls-cert: " + d_ + "/server.pem: no PEM certificate in it"},
      {"EmptyKey", [](TlsPem& p) { p.key.clear(); }, now,
       "--tls-key: " + d_ + "/server.key: no unencrypted PEM private key"},
      {"Garbage", [](TlsPem& p) { p.cert = "not a certificate\n"; }, now,
       "no PEM certificate in it"},
      {"TruncatedPem", [](TlsPem& p) { p.cert.resize(p.cert.size() / 2); }, now,
       "no PEM certificate in it"},
      {"AnotherKeysCertificate",
       [this](TlsPem& p) { p.cert = ReadFile(d_ + "/client.pem"); }, now,
       "does not match the certificate"},
      {"Expired", [](TlsPem&) {}, now + absl::Hours(24 * 3),
       "the certificate has expired"},
      {"NotValidYet", [](TlsPem&) {}, now - absl::Hours(24),
       "the certificate is not valid yet"},
  };
  for (const Case& c : cases) {
    TlsPem pem = good;
    c.spoil(pem);
    absl::StatusOr<std::string> result = InspectTls(pem, c.at);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.message))
        << c.name;
    EXPECT_THAT(std::string(result.status().message()),
                Not(HasSubstr("PRIVATE KEY")))
        << c.name;
  }
}

TEST_F(TlsTest, ReloaderStagesOnlyValidatedPairs) {
  MakeCert("renewed", "ca", "subjectAltName=IP:127.0.0.1");
  const std::string live_cert = d_ + "/live.pem", live_key = d_ + "/live.key";
  std::filesystem::copy_file(d_ + "/server.pem", live_cert);
  std::filesystem::copy_file(d_ + "/server.key", live_key);
  TlsReloader::Options options;
  options.cert_file = live_cert;
  options.key_file = live_key;
  options.staging_dir = d_ + "/staging";
  options.poll_interval = absl::Hours(1);  // polls come from CheckNow only
  absl::StatusOr<std::unique_ptr<TlsReloader>> reloader =
      TlsReloader::Start(options);
  ASSERT_THAT(reloader, IsOk());
  TlsReloader& r = **reloader;
  EXPECT_EQ(ReadFile(r.staged_cert()), ReadFile(d_ + "/server.pem"));
  EXPECT_EQ(ReadFile(r.staged_key()), ReadFile(d_ + "/server.key"));
  EXPECT_EQ(
      std::filesystem::status(r.staged_key()).permissions() &
          std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_THAT(r.description(), HasSubstr("CN=server"));

  // A renewal script that truncates before writing: refused, old pair kept.
  { std::ofstream truncate(live_cert, std::ios::trunc); }
  EXPECT_EQ(r.CheckNow().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFile(r.staged_cert()), ReadFile(d_ + "/server.pem"));
  // Half done: the new key is there, the certificate is still the old one.
  std::filesystem::copy_file(d_ + "/server.pem", live_cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(d_ + "/renewed.key", live_key,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(std::string(r.CheckNow().status().message()),
              HasSubstr("does not match the certificate"));
  EXPECT_EQ(ReadFile(r.staged_key()), ReadFile(d_ + "/server.key"));
  // Done: both files staged together.
  std::filesystem::copy_file(d_ + "/renewed.pem", live_cert,
                             std::filesystem::copy_options::overwrite_existing);
  absl::StatusOr<std::string> renewed = r.CheckNow();
  ASSERT_THAT(renewed, IsOk());
  EXPECT_THAT(*renewed, HasSubstr("CN=renewed"));
  EXPECT_EQ(ReadFile(r.staged_cert()), ReadFile(d_ + "/renewed.pem"));
  EXPECT_EQ(ReadFile(r.staged_key()), ReadFile(d_ + "/renewed.key"));
}

// The defect this guards against: gRPC aborted on an emptied certificate
// file and failed every new handshake after a garbage or mismatched one.
// Each broken version stays in place for more than two reload intervals,
// the time gRPC takes to read a file again: that wait is the test.
TEST_F(TlsTest, BrokenRenewalsNeverTakeTheListenerDown) {
  const std::string live_cert = d_ + "/live.pem", live_key = d_ + "/live.key";
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(StartOnLiveCopy(server, live_cert, live_key));
  const std::string good_cert = ReadFile(d_ + "/server.pem");
  const std::string good_key = ReadFile(d_ + "/server.key");
  struct Broken {
    std::string name, cert, key;
  };
  const std::vector<Broken> broken = {
      {"EmptyCertificate", "", good_key},
      {"EmptyKey", good_cert, ""},
      {"Garbage", "garbage\n", good_key},
      {"TruncatedPem", good_cert.substr(0, good_cert.size() / 2), good_key},
      {"AnotherKeysCertificate", ReadFile(d_ + "/client.pem"), good_key},
  };
  for (const Broken& b : broken) {
    { std::ofstream(live_cert, std::ios::trunc) << b.cert; }
    { std::ofstream(live_key, std::ios::trunc) << b.key; }
    absl::SleepFor(absl::Milliseconds(2500));
    ASSERT_EQ(kill(server.pid(), 0), 0) << b.name << ": stewardd died";
    grpc::Status status = ListKeys(Tls(""), server.address());
    EXPECT_TRUE(status.ok()) << b.name << ": " << status.error_message();
  }
  // A problem is logged when it changes, not once per interval: the three
  // unreadable certificates in a row give the same message (logged for the
  // first, and again after the empty key's message).
  const std::string log = server.Log();
  EXPECT_EQ(CountOccurrences(log, "no PEM certificate in it"), 2) << log;
  EXPECT_EQ(CountOccurrences(log, "does not match the certificate"), 1) << log;
  EXPECT_THAT(log, HasSubstr("the last good certificate (subject CN=server"));
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace steward::testing
