// Audit durability end to end (issue 6): a real stewardd in sync audit mode
// under bounded loopback load is killed with SIGKILL. Every decision id a
// client received an answer for must be in the trail afterwards, the chain
// must verify, and a restarted stewardd must continue the chain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/audit/reader.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::steward::v1::AuthorizationService;

constexpr int kClientThreads = 6;
constexpr int kPrincipals = 5;
constexpr absl::Duration kLoadBeforeKill = absl::Milliseconds(1000);

std::vector<std::string> ServerArgs() {
  return {"--dev", "--policy",
          std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
          "--audit-durability", "sync"};
}

// Loads the first `count` workload principals with their roles.
void LoadSomePrincipals(AdminService::Stub& admin, const std::string& key,
                        int count) {
  std::vector<nlohmann::json> lines =
      ReadJsonLines(std::string(STEWARD_WORKLOAD_DIR) + "/principals.jsonl");
  ASSERT_GE(lines.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const nlohmann::json& json = lines[i];
    v1::UpsertPrincipalRequest upsert;
    upsert.mutable_principal()->set_id(json["id"].get<std::string>());
    for (const auto& [name, value] : json["attributes"].items()) {
      (*upsert.mutable_principal()->mutable_attributes())[name] =
          ToValue(value);
    }
    v1::UpsertPrincipalResponse upserted;
    grpc::Status status =
        admin.UpsertPrincipal(Context(key).get(), upsert, &upserted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const auto& role : json["roles"]) {
      v1::GrantRequest grant;
      grant.set_principal_id(json["id"].get<std::string>());
      grant.set_role(role.get<std::string>());
      grant.set_reason("durability test");
      v1::GrantResponse granted;
      status = admin.Grant(Context(key).get(), grant, &granted);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }
}

TEST(AuditDurabilityTest, AnsweredDecisionsSurviveSigkillOfStewardd) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = std::make_unique<ServerProcess>();
  ASSERT_THAT(server->Start(STEWARDD_PATH, data, ServerArgs()), IsOk());
  const std::string admin_key = ReadKey(data, "admin");
  const std::string client_key = ReadKey(data, "client");
  {
    auto channel = grpc::CreateChannel(server->address(),
                                       grpc::InsecureChannelCredentials());
    auto admin = AdminService::NewStub(channel);
    ASSERT_NO_FATAL_FAILURE(LoadSomePrincipals(*admin, admin_key, kPrincipals));
  }
  const std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  ASSERT_FALSE(requests.empty());

  // Client threads, each on its own channel (own connection), issue Checks
  // back to back and keep the decision id of every answered call.
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  std::vector<std::string> answered;  // guarded by mu
  std::atomic<int> failed_before_kill{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&, t] {
      // Channel arguments differ per thread so gRPC does not share one
      // subchannel (connection) between them.
      grpc::ChannelArguments args;
      args.SetInt("steward.test.client", t);
      auto channel = grpc::CreateCustomChannel(
          server->address(), grpc::InsecureChannelCredentials(), args);
      auto stub = AuthorizationService::NewStub(channel);
      std::vector<std::string> mine;
      for (size_t i = t; !stop.load(); i += kClientThreads) {
        const WorkloadRequest& item = requests[i % requests.size()];
        v1::CheckResponse response;
        auto context = Context(client_key);
        context->set_deadline(std::chrono::system_clock::now() +
                              std::chrono::seconds(5));
        grpc::Status status =
            stub->Check(context.get(), item.request, &response);
        if (status.ok()) {
          mine.push_back(response.decision_id());
        } else if (!killed.load()) {
          ++failed_before_kill;
        }
      }
      absl::MutexLock lock(&mu);
      answered.insert(answered.end(), mine.begin(), mine.end());
    });
  }
  absl::SleepFor(kLoadBeforeKill);
  killed.store(true);
  server->Kill();  // SIGKILL mid-load: no flush, no shutdown path
  stop.store(true);
  for (std::thread& c : clients) c.join();

  RecordProperty("answered_before_kill", static_cast<int>(answered.size()));
  EXPECT_EQ(failed_before_kill.load(), 0);
  // The load was real: many decisions were answered before the kill.
  ASSERT_GE(answered.size(), 100u);

  // Every answered decision is in the trail, and the chain verifies.
  const std::string db_path = data + "/steward.db";
  {
    auto reader = audit::AuditReader::Open(db_path);
    ASSERT_THAT(reader, IsOk());
    int missing = 0;
    std::string first_missing;
    for (const std::string& id : answered) {
      if (!(*reader)->FindDecision(id).ok() && missing++ == 0) {
        first_missing = id;
      }
    }
    EXPECT_EQ(missing, 0) << "of " << answered.size()
                          << " answered decisions; first missing "
                          << first_missing;
    auto verified = (*reader)->VerifyChain();
    ASSERT_THAT(verified, IsOk());
    EXPECT_TRUE(verified->ok) << verified->message;
    EXPECT_GE(verified->records_checked, static_cast<int64_t>(answered.size()));
  }

  // A restarted stewardd continues the chain after the crash.
  server = std::make_unique<ServerProcess>();
  ASSERT_THAT(server->Start(STEWARDD_PATH, data, ServerArgs()), IsOk());
  {
    auto channel = grpc::CreateChannel(server->address(),
                                       grpc::InsecureChannelCredentials());
    auto stub = AuthorizationService::NewStub(channel);
    v1::CheckResponse response;
    grpc::Status status =
        stub->Check(Context(client_key).get(), requests[0].request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(server->Stop(), 0) << server->Log();
    auto reader = audit::AuditReader::Open(db_path);
    ASSERT_THAT(reader, IsOk());
    EXPECT_THAT((*reader)->FindDecision(response.decision_id()), IsOk());
    auto verified = (*reader)->VerifyChain();
    ASSERT_THAT(verified, IsOk());
    EXPECT_TRUE(verified->ok) << verified->message;
  }
}

}  // namespace
}  // namespace steward::testing
