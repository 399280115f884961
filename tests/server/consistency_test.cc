// The decision service under change and under load, on a real stewardd:
// admin changes made while checks stream in never fail a call, every answer
// matches the snapshot it names (policy version, store revision), and the
// change is visible as soon as the admin call returns; bad requests get
// INVALID_ARGUMENT naming the field; overload gets RESOURCE_EXHAUSTED and
// the server recovers.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/server/dev_server_test.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPolicyV1[] = R"(
resource doc {
  attributes { owner: string }
  actions { read, update }
}
role editor {
  allow read on doc
}
)";

constexpr char kPolicyV2[] = R"(
resource doc {
  attributes { owner: string }
  actions { read, update }
}
role editor {
  allow read, update on doc
}
)";

class ConsistencyTest : public DevServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartDevServer());
    ASSERT_EQ(Apply(kPolicyV1), 1);
    for (const char* id : {"alice", "bob"}) {
      v1::UpsertPrincipalRequest upsert;
      upsert.mutable_principal()->set_id(id);
      v1::UpsertPrincipalResponse upserted;
      ASSERT_TRUE(
          admin_->UpsertPrincipal(Context(admin_key_).get(), upsert, &upserted)
              .ok());
    }
    ASSERT_TRUE(Grant("alice").ok());
  }

  int64_t Apply(const char* text) {
    v1::ApplyPolicyRequest request;
    v1::PolicySource* source = request.add_sources();
    source->set_path("doc.policy");
    source->set_text(text);
    request.set_message("test");
    v1::ApplyPolicyResponse response;
    grpc::Status status =
        admin_->ApplyPolicy(Context(admin_key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.version().version();
  }

  grpc::Status Grant(const std::string& principal,
                     int64_t* revision = nullptr) {
    v1::GrantRequest grant;
    grant.set_principal_id(principal);
    grant.set_role("editor");
    v1::GrantResponse granted;
    grpc::Status status =
        admin_->Grant(Context(admin_key_).get(), grant, &granted);
    if (revision != nullptr) *revision = granted.store_revision();
    return status;
  }

  v1::CheckRequest Update(const std::string& principal) {
    v1::CheckRequest request;
    request.set_principal_id(principal);
    request.set_action("update");
    request.mutable_resource()->set_kind("doc");
    request.mutable_resource()->set_id("d1");
    return request;
  }

  grpc::Status Check(const v1::CheckRequest& request,
                     v1::CheckResponse* response) {
    return authz_->Check(Context(client_key_).get(), request, response);
  }
};

// min_store_revision on a single SQLite node: every change is in the
// snapshot before its admin call returns, so the revision it returned is
// served at once; a revision the store has not reached is UNAVAILABLE
// (after the bounded wait, 2 s by default) naming both revisions.
TEST_F(ConsistencyTest, MinStoreRevisionOnASingleNode) {
  int64_t revision = 0;
  ASSERT_TRUE(Grant("bob", &revision).ok());
  ASSERT_GT(revision, 0);
  v1::CheckRequest request = Update("bob");
  request.set_action("read");
  request.set_min_store_revision(revision);
  v1::CheckResponse response;
  grpc::Status status = Check(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.effect(), v1::ALLOW);

  request.set_min_store_revision(revision + 1);
  const absl::Time start = absl::Now();
  status = Check(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(
      status.error_message(),
      HasSubstr(absl::StrCat("store revision ", revision,
                             " is behind the requested ", revision + 1)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1900));

  v1::BatchCheckRequest batch;
  *batch.add_items() = request;
  batch.mutable_items(0)->set_min_store_revision(0);
  batch.set_min_store_revision(-1);
  v1::BatchCheckResponse answers;
  status = authz_->BatchCheck(Context(client_key_).get(), batch, &answers);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("min_store_revision"));
  batch.set_min_store_revision(revision);
  status = authz_->BatchCheck(Context(client_key_).get(), batch, &answers);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.items_size(), 1);
  EXPECT_EQ(answers.items(0).effect(), v1::ALLOW);
}

// Calls waiting for a revision are parked, not blocking server threads:
// while many of them wait, an ordinary Check is answered at once.
TEST_F(ConsistencyTest, WaitingForARevisionHoldsNoServerThread) {
  int64_t revision = 0;
  ASSERT_TRUE(Grant("bob", &revision).ok());
  v1::CheckRequest ahead = Update("bob");
  ahead.set_min_store_revision(revision + 1000);
  constexpr int kWaiting = 64;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::CheckResponse> responses(kWaiting);
  std::vector<std::promise<grpc::Status>> done(kWaiting);
  for (int i = 0; i < kWaiting; ++i) {
    contexts.push_back(Context(client_key_));
    authz_->async()->Check(contexts.back().get(), &ahead, &responses[i],
                           [&done, i](grpc::Status status) {
                             done[i].set_value(std::move(status));
                           });
  }
  // Let them all arrive and park.
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  v1::CheckResponse response;
  grpc::Status status = Check(Update("bob"), &response);
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(took, absl::Milliseconds(500));
  for (int i = 0; i < kWaiting; ++i) {
    grpc::Status waited = done[i].get_future().get();
    EXPECT_EQ(waited.error_code(), grpc::StatusCode::UNAVAILABLE) << i;
  }
}

TEST_F(ConsistencyTest, PolicyApplyAndGrantUnderLoad) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, inconsistent{0}, checks{0};
  absl::Mutex mu;
  // bob's answers as (policy version, store revision, allowed): judged
  // after the fact, once the grant's revision is known.
  std::vector<std::tuple<int64_t, int64_t, bool>> bob;
  auto load = [&] {
    auto stub = v1::AuthorizationService::NewStub(channel_);
    while (!stop.load()) {
      for (const char* who : {"alice", "bob"}) {
        v1::CheckResponse response;
        grpc::Status status =
            stub->Check(Context(client_key_).get(), Update(who), &response);
        ++checks;
        if (!status.ok()) {
          ++failures;
          continue;
        }
        bool allowed = response.effect() == v1::ALLOW;
        if (std::string(who) == "bob") {
          absl::MutexLock lock(&mu);
          bob.emplace_back(response.policy_version(), response.store_revision(),
                           allowed);
          continue;
        }
        // alice holds editor throughout: update is allowed exactly from
        // policy version 2 on.
        if (allowed != (response.policy_version() >= 2)) ++inconsistent;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(load);
  // The changes below must land while checks stream in.
  WaitUntil([&] { return checks.load() >= 20; }, absl::Seconds(30),
            "20 checks under load before the policy change");

  ASSERT_EQ(Apply(kPolicyV2), 2);
  v1::CheckResponse after_apply;
  ASSERT_TRUE(Check(Update("alice"), &after_apply).ok());
  EXPECT_EQ(after_apply.effect(), v1::ALLOW);
  EXPECT_EQ(after_apply.policy_version(), 2);

  int64_t revision = 0;
  ASSERT_TRUE(Grant("bob", &revision).ok());
  v1::CheckResponse after_grant;
  ASSERT_TRUE(Check(Update("bob"), &after_grant).ok());
  EXPECT_EQ(after_grant.effect(), v1::ALLOW);
  EXPECT_GE(after_grant.store_revision(), revision);

  // Keep the load going until the threads themselves have seen the grant,
  // so answers from after both changes are judged too.
  const int checks_at_grant = checks.load();
  WaitUntil(
      [&] {
        if (checks.load() < checks_at_grant + 20) return false;
        absl::MutexLock lock(&mu);
        return std::any_of(bob.begin(), bob.end(), [](const auto& answer) {
          return std::get<2>(answer);
        });
      },
      absl::Seconds(30),
      "20 more checks under load, bob's update allowed among them");
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_GT(checks.load(), 20);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0);
  absl::MutexLock lock(&mu);
  int bob_allowed = 0;
  for (const auto& [version, store_revision, allowed] : bob) {
    EXPECT_EQ(allowed, version >= 2 && store_revision >= revision)
        << "version " << version << " revision " << store_revision;
    bob_allowed += allowed;
  }
  EXPECT_GT(bob_allowed, 0);
}

TEST_F(ConsistencyTest, RollbackToAnOlderVersionIsImmediate) {
  ASSERT_EQ(Apply(kPolicyV2), 2);
  v1::ActivatePolicyVersionRequest activate;
  activate.set_version(1);
  v1::ActivatePolicyVersionResponse activated;
  ASSERT_TRUE(admin_
                  ->ActivatePolicyVersion(Context(admin_key_).get(), activate,
                                          &activated)
                  .ok());
  v1::CheckResponse response;
  ASSERT_TRUE(Check(Update("alice"), &response).ok());
  EXPECT_EQ(response.effect(), v1::DENY);
  EXPECT_EQ(response.policy_version(), 1);
}

TEST_F(ConsistencyTest, InvalidRequestsNameTheField) {
  v1::CheckRequest no_principal = Update("alice");
  no_principal.clear_principal_id();
  v1::CheckResponse response;
  grpc::Status status = Check(no_principal, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("principal_id"));

  v1::CheckRequest long_id = Update(std::string(300, 'a'));
  status = Check(long_id, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("principal_id"));

  v1::BatchCheckRequest too_many;
  for (int i = 0; i < 1001; ++i) *too_many.add_items() = Update("alice");
  v1::BatchCheckResponse batch;
  status = authz_->BatchCheck(Context(client_key_).get(), too_many, &batch);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("items"));

  v1::CheckRequest oversized = Update("alice");
  (*oversized.mutable_resource()->mutable_attributes())["owner"]
      .set_string_value(std::string(100 * 1024, 'x'));
  status = Check(oversized, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request"));

  v1::CheckRequest nested = Update("alice");
  (*nested.mutable_resource()->mutable_attributes())["owner"]
      .mutable_list_value()
      ->add_values()
      ->mutable_list_value();
  status = Check(nested, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("resource.attributes[owner]"));

  v1::BatchCheckRequest bad_item;
  *bad_item.add_items() = Update("alice");
  *bad_item.add_items() = no_principal;
  status = authz_->BatchCheck(Context(client_key_).get(), bad_item, &batch);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("items[1].principal_id"));

  // After all that, the server keeps serving.
  ASSERT_TRUE(Check(Update("alice"), &response).ok());
  EXPECT_EQ(response.effect(), v1::DENY);
}

TEST_F(ConsistencyTest, InvalidUtf8IsRefusedNamingTheField) {
  v1::CheckRequest request = Update("alice");
  (*request.mutable_resource()->mutable_attributes())["owner"].set_string_value(
      "@@@@");
  grpc::Status status =
      SendRaw(channel_, client_key_, "/steward.v1.AuthorizationService/Check",
              WithInvalidUtf8(request));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("resource.attributes[owner]: not valid UTF-8"));

  v1::BatchCheckRequest batch;
  *batch.add_items() = Update("alice");
  v1::CheckRequest bad = Update("@@@@");
  *batch.add_items() = bad;
  status = SendRaw(channel_, client_key_,
                   "/steward.v1.AuthorizationService/BatchCheck",
                   WithInvalidUtf8(batch));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("items[1].principal_id: not valid UTF-8"));

  status = SendRaw(channel_, client_key_,
                   "/steward.v1.AuthorizationService/Check", "\x0a\xff\xff");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request: not a valid"));

  // A well-formed request through the same raw path still works, and so
  // does the server.
  status =
      SendRaw(channel_, client_key_, "/steward.v1.AuthorizationService/Check",
              Update("alice").SerializeAsString());
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::CheckResponse response;
  ASSERT_TRUE(Check(Update("alice"), &response).ok());
  EXPECT_EQ(response.effect(), v1::DENY);
}

// Protobuf logs each bad string it parses; those lines must reach the
// structured log, rate-limited, never raw on stderr once per request.
TEST_F(ConsistencyTest, ProtobufLogLinesAreStructuredAndRateLimited) {
  v1::CheckRequest request = Update("alice");
  (*request.mutable_resource()->mutable_attributes())["owner"].set_string_value(
      "@@@@");
  const std::string wire = WithInvalidUtf8(request);
  constexpr int kBadRequests = 40;
  for (int i = 0; i < kBadRequests; ++i) {
    ASSERT_EQ(SendRaw(channel_, client_key_,
                      "/steward.v1.AuthorizationService/Check", wire)
                  .error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  const std::string log = server_.Log();
  EXPECT_THAT(log, Not(HasSubstr("[libprotobuf")));
  int lines = 0;
  for (size_t at = log.find(" stewardd protobuf: "); at != std::string::npos;
       at = log.find(" stewardd protobuf: ", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1) << log;
  EXPECT_LE(lines, 10) << log;
}

TEST_F(ConsistencyTest, UnknownEnumValuesAreRefusedNamingTheField) {
  auto audit = v1::AuditService::NewStub(channel_);
  const std::string auditor_key = ReadKey(data_, "auditor");
  v1::QueryDecisionsRequest query;
  query.mutable_filter()->set_effect(static_cast<v1::Effect>(7));
  v1::QueryDecisionsResponse records;
  grpc::Status status =
      audit->QueryDecisions(Context(auditor_key).get(), query, &records);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("filter.effect"));

  query.mutable_filter()->set_effect(v1::ALLOW);
  query.mutable_filter()->set_kind(static_cast<v1::RecordKind>(99));
  status = audit->QueryDecisions(Context(auditor_key).get(), query, &records);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("filter.kind"));

  v1::CreateApiKeyRequest create;
  create.set_name("odd-role");
  create.set_role(static_cast<v1::ServiceRole>(42));
  v1::CreateApiKeyResponse created;
  status = admin_->CreateApiKey(Context(admin_key_).get(), create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("role"));
  EXPECT_TRUE(created.secret().empty());

  // Nothing was created and the server keeps serving.
  v1::ListApiKeysResponse keys;
  ASSERT_TRUE(admin_
                  ->ListApiKeys(Context(admin_key_).get(),
                                v1::ListApiKeysRequest(), &keys)
                  .ok());
  for (const v1::ApiKey& key : keys.keys()) EXPECT_NE(key.name(), "odd-role");
  v1::CheckResponse response;
  EXPECT_TRUE(Check(Update("alice"), &response).ok());
}

TEST_F(ConsistencyTest, UnknownNamesAreDenialsWithTheirReason) {
  v1::CheckResponse response;
  v1::CheckRequest request = Update("nobody");
  ASSERT_TRUE(Check(request, &response).ok());
  EXPECT_EQ(response.reason(), v1::UNKNOWN_PRINCIPAL);
  request = Update("alice");
  request.mutable_resource()->set_kind("invoice");
  ASSERT_TRUE(Check(request, &response).ok());
  EXPECT_EQ(response.effect(), v1::DENY);
  EXPECT_EQ(response.reason(), v1::UNKNOWN_RESOURCE_KIND);
  request = Update("alice");
  request.set_action("delete");
  ASSERT_TRUE(Check(request, &response).ok());
  EXPECT_EQ(response.reason(), v1::UNKNOWN_ACTION);
}

TEST(OverloadTest, RefusesWithResourceExhaustedAndRecovers) {
  TempDir dir;
  ServerProcess server;
  std::string data = dir.path() + "/data";
  ASSERT_THAT(server.Start(STEWARDD_PATH, data,
                           {"--dev", "--max-in-flight", "1", "--policy",
                            std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"}),
              IsOk());
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::AuthorizationService::NewStub(channel);
  std::string key = ReadKey(data, "client");
  v1::CheckRequest request;
  request.set_principal_id("u1");
  request.set_action("read");
  request.mutable_resource()->set_kind("customer");
  // Many calls at once against a limit of one in flight (each waits for its
  // audit commit): some must be refused, none may fail otherwise.
  grpc::CompletionQueue queue;
  constexpr int kCalls = 200;
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    v1::CheckResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::CheckResponse>> rpc;
  };
  std::vector<Call> calls(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    calls[i].context = Context(key);
    calls[i].rpc = stub->AsyncCheck(calls[i].context.get(), request, &queue);
    calls[i].rpc->Finish(&calls[i].response, &calls[i].status, &calls[i]);
  }
  int exhausted = 0, ok = 0;
  for (int i = 0; i < kCalls; ++i) {
    void* tag;
    bool done;
    ASSERT_TRUE(queue.Next(&tag, &done));
    Call* call = static_cast<Call*>(tag);
    if (call->status.ok()) {
      ++ok;
    } else {
      ASSERT_EQ(call->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << call->status.error_message();
      ++exhausted;
    }
  }
  EXPECT_GT(exhausted, 0);
  EXPECT_GT(ok, 0);
  v1::CheckResponse response;
  EXPECT_TRUE(stub->Check(Context(key).get(), request, &response).ok());
  queue.Shutdown();
}

}  // namespace
}  // namespace steward::testing
