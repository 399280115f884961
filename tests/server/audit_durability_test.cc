// Audit durability end to end, against a real stewardd:
// - sync, under bounded loopback load, killed with SIGKILL: every decision
//   id a client received an answer for is in the trail afterwards, the
//   chain verifies, and a restarted stewardd continues the chain;
// - sync, trail unwritable: the Check fails instead of being answered;
// - async: SIGTERM flushes every answered record; a full queue refuses
//   Checks with RESOURCE_EXHAUSTED and nothing answered is lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/audit/reader.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::steward::v1::AuthorizationService;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kClientThreads = 6;
constexpr int kPrincipals = 5;
// Decisions answered under load before the interrupt: enough that the
// interrupt lands mid-load with a real backlog behind it.
constexpr int kAnsweredBeforeInterrupt = 300;

std::vector<std::string> ServerArgs(const std::string& durability) {
  return {"--dev", "--policy",
          std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
          "--audit-durability", durability};
}

// Starts stewardd on `data` with `durability` and loads the first
// kPrincipals workload principals.
void StartWithPrincipals(ServerProcess& server, const std::string& data,
                         const std::string& durability) {
  ASSERT_THAT(server.Start(STEWARDD_PATH, data, ServerArgs(durability)),
              IsOk());
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto admin = AdminService::NewStub(channel);
  grpc::Status loaded = LoadWorkloadPrincipals(*admin, ReadKey(data, "admin"),
                                               STEWARD_WORKLOAD_DIR,
                                               kPrincipals, "durability test");
  ASSERT_TRUE(loaded.ok()) << loaded.error_message();
}

// Opens the database and holds its write lock (ROLLBACK and close to let
// go), so that the audit writer cannot commit meanwhile.
void TakeWriteLock(const std::string& db_path, sqlite3** db) {
  ASSERT_EQ(sqlite3_open(db_path.c_str(), db), SQLITE_OK);
  sqlite3_busy_timeout(*db, 5000);
  ASSERT_EQ(sqlite3_exec(*db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(*db);
}

// A client of `server` with the dev client key and the workload requests.
struct Client {
  std::string key;
  std::vector<WorkloadRequest> requests;
  std::unique_ptr<AuthorizationService::Stub> stub;
};

Client ConnectClient(const ServerProcess& server, const std::string& data) {
  return Client{ReadKey(data, "client"),
                LoadWorkloadRequests(STEWARD_WORKLOAD_DIR),
                AuthorizationService::NewStub(grpc::CreateChannel(
                    server.address(), grpc::InsecureChannelCredentials()))};
}

// How many decision records the trail at `db_path` holds (-1 on error).
int64_t DecisionRecords(const std::string& db_path) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  sqlite3_stmt* count = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(
          db, "SELECT count(*) FROM audit_log WHERE kind = 'decision'", -1,
          &count, nullptr) == SQLITE_OK &&
      sqlite3_step(count) == SQLITE_ROW) {
    n = sqlite3_column_int64(count, 0);
  }
  sqlite3_finalize(count);
  sqlite3_close(db);
  return n;
}

// Answers received by client threads that issue Checks back to back, each
// on its own connection, until `interrupt` has run; `interrupt` runs once
// `answered_before_interrupt` Checks have been answered, while the clients
// are still calling.
struct LoadResult {
  std::vector<std::string> answered;  // decision ids
  int failed_before_interrupt = 0;
};

LoadResult RunLoadAndInterrupt(const std::string& address,
                               const std::string& client_key,
                               const std::vector<WorkloadRequest>& requests,
                               int answered_before_interrupt,
                               const std::function<void()>& interrupt) {
  std::atomic<bool> stop{false};
  std::atomic<bool> interrupted{false};
  std::atomic<int> failed_before_interrupt{0};
  std::atomic<int> answered{0};
  absl::Mutex mu;
  LoadResult result;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&, t] {
      // Channel arguments differ per thread so gRPC does not share one
      // subchannel (connection) between them.
      grpc::ChannelArguments args;
      args.SetInt("steward.test.client", t);
      auto channel = grpc::CreateCustomChannel(
          address, grpc::InsecureChannelCredentials(), args);
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
          ++answered;
        } else if (!interrupted.load()) {
          ++failed_before_interrupt;
        }
      }
      absl::MutexLock lock(&mu);
      result.answered.insert(result.answered.end(), mine.begin(), mine.end());
    });
  }
  // On timeout the test has failed; interrupt anyway so the clients stop.
  WaitUntil([&] { return answered.load() >= answered_before_interrupt; },
            absl::Seconds(60),
            absl::StrCat(answered_before_interrupt,
                         " decisions answered under load"));
  interrupted.store(true);
  interrupt();
  stop.store(true);
  for (std::thread& c : clients) c.join();
  result.failed_before_interrupt = failed_before_interrupt.load();
  return result;
}

// Every id in `answered` is a decision in the trail, and the chain verifies.
void ExpectAllInVerifiedTrail(const std::string& db_path,
                              const std::vector<std::string>& answered) {
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

TEST(AuditDurabilityTest, AnsweredDecisionsSurviveSigkillOfStewardd) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = std::make_unique<ServerProcess>();
  ASSERT_NO_FATAL_FAILURE(StartWithPrincipals(*server, data, "sync"));
  const std::string client_key = ReadKey(data, "client");
  const std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  ASSERT_FALSE(requests.empty());

  // SIGKILL mid-load: no flush, no shutdown path.
  LoadResult load =
      RunLoadAndInterrupt(server->address(), client_key, requests,
                          kAnsweredBeforeInterrupt, [&] { server->Kill(); });
  const std::vector<std::string>& answered = load.answered;

  RecordProperty("answered_before_kill", static_cast<int>(answered.size()));
  EXPECT_EQ(load.failed_before_interrupt, 0);
  // The load was real: many decisions were answered before the kill.
  ASSERT_GE(answered.size(), 100u);

  // Every answered decision is in the trail, and the chain verifies.
  const std::string db_path = data + "/steward.db";
  ASSERT_NO_FATAL_FAILURE(ExpectAllInVerifiedTrail(db_path, answered));

  // A restarted stewardd continues the chain after the crash.
  server = std::make_unique<ServerProcess>();
  ASSERT_THAT(server->Start(STEWARDD_PATH, data, ServerArgs("sync")), IsOk());
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

// --audit-durability async answers before the commit, so it is SIGTERM's
// flush that must get every answered decision into the trail. The test
// holds the database's write lock during the load, so answered records
// pile up in the writer's queue, sends SIGTERM, then lets go of the lock:
// stewardd must exit 0 only after writing all of them.
TEST(AuditDurabilityTest, AsyncAnsweredDecisionsAreFlushedOnSigterm) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(StartWithPrincipals(server, data, "async"));
  const std::string client_key = ReadKey(data, "client");
  const std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  ASSERT_FALSE(requests.empty());

  const std::string db_path = data + "/steward.db";
  sqlite3* blocker = nullptr;
  ASSERT_NO_FATAL_FAILURE(TakeWriteLock(db_path, &blocker));

  LoadResult load = RunLoadAndInterrupt(
      server.address(), client_key, requests, kAnsweredBeforeInterrupt, [&] {
        ::kill(server.pid(), SIGTERM);
        // Let go of the lock only once stewardd is on its shutdown path,
        // so the flush is what writes the backlog. Well inside the
        // writer's 5 s busy timeout.
        WaitUntil(
            [&] {
              return server.Log().find("shutting down") != std::string::npos;
            },
            absl::Seconds(4), "stewardd to log that it is shutting down");
        sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr);
      });
  sqlite3_close(blocker);
  // A second SIGTERM to a stopping stewardd is ignored; Stop reaps it.
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
  EXPECT_EQ(load.failed_before_interrupt, 0);
  ASSERT_GE(load.answered.size(), 100u);
  RecordProperty("answered_before_sigterm",
                 static_cast<int>(load.answered.size()));
  ASSERT_NO_FATAL_FAILURE(ExpectAllInVerifiedTrail(db_path, load.answered));
}

// What a crash of an async stewardd may lose is not silent: the next start
// records the unclean stop in the trail (with the bound on what may be
// missing), and `audit verify` reports it. A clean stop records nothing.
TEST(AuditDurabilityTest, AsyncCrashLeavesAPossibleGapThatVerifyReports) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto verify = [&](const ServerProcess& server) {
    return RunCommand(
        {STEWARDCTL_PATH, "--server", server.address(), "--api-key-file",
         data + "/dev-auditor.key", "audit", "verify"},
        {"STEWARD_SERVER=", "STEWARD_API_KEY=", "NO_COLOR=1"});
  };
  {
    ServerProcess server;
    ASSERT_NO_FATAL_FAILURE(StartWithPrincipals(server, data, "async"));
    EXPECT_EQ(server.Stop(SIGTERM), 0);
  }
  {
    ServerProcess server;
    ASSERT_THAT(server.Start(STEWARDD_PATH, data, ServerArgs("async")), IsOk());
    EXPECT_THAT(server.Log(), Not(HasSubstr("did not stop cleanly")));
    CommandResult clean = verify(server);
    EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
    EXPECT_THAT(clean.out, Not(HasSubstr("unclean stop")));
    server.Kill();
  }
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, data, ServerArgs("sync")), IsOk());
  EXPECT_THAT(server.Log(),
              HasSubstr("did not stop cleanly; recorded as audit record"));
  EXPECT_THAT(server.Log(), HasSubstr("answered decisions may be missing"));
  CommandResult after_crash = verify(server);
  EXPECT_EQ(after_crash.exit_code, 0) << after_crash.out << after_crash.err;
  EXPECT_THAT(
      after_crash.out,
      HasSubstr("possible_gaps    1 unclean stop(s) of an async run: answered "
                "decisions may be missing before record(s)"));
  EXPECT_EQ(server.Stop(SIGTERM), 0);
  // Stopped cleanly: the next start records nothing more.
  ServerProcess again;
  ASSERT_THAT(again.Start(STEWARDD_PATH, data, ServerArgs("sync")), IsOk());
  EXPECT_THAT(again.Log(), Not(HasSubstr("did not stop cleanly")));
}

// Async back-pressure: with the writer unable to commit (the test holds
// the write lock), the queue fills and further Checks are refused with
// RESOURCE_EXHAUSTED naming the audit queue, never answered without a
// record. Once the lock is released the service recovers, and the trail
// holds exactly the answered decisions.
TEST(AuditDurabilityTest, AsyncFullQueueRefusesChecksAndDropsNothing) {
  constexpr int kCapacity = 40;
  constexpr int kCalls = 150;
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  std::vector<std::string> args = ServerArgs("async");
  args.push_back("--audit-queue-capacity");
  args.push_back(std::to_string(kCapacity));
  ASSERT_THAT(server.Start(STEWARDD_PATH, data, args), IsOk());
  Client client = ConnectClient(server, data);
  ASSERT_FALSE(client.requests.empty());
  const std::string& client_key = client.key;
  const std::vector<WorkloadRequest>& requests = client.requests;
  std::unique_ptr<AuthorizationService::Stub>& stub = client.stub;
  auto check = [&](int i, std::string* decision_id) {
    v1::CheckResponse response;
    grpc::Status status =
        stub->Check(Context(client_key).get(),
                    requests[i % requests.size()].request, &response);
    if (status.ok()) *decision_id = response.decision_id();
    return status;
  };

  const std::string db_path = data + "/steward.db";
  sqlite3* blocker = nullptr;
  ASSERT_NO_FATAL_FAILURE(TakeWriteLock(db_path, &blocker));
  std::vector<std::string> answered;
  int refused = 0;
  for (int i = 0; i < kCalls; ++i) {
    std::string id;
    grpc::Status status = check(i, &id);
    if (status.ok()) {
      answered.push_back(id);
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_THAT(status.error_message(), ::testing::HasSubstr("audit queue"));
      ++refused;
    }
  }
  sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(blocker);
  // The queue holds kCapacity records, plus the batch the writer took
  // before it found the database locked.
  EXPECT_GE(answered.size(), static_cast<size_t>(kCapacity));
  EXPECT_GT(refused, 0);

  // Recovered: the writer drains the queue and Checks are answered again.
  int attempt = 0;
  WaitUntil(
      [&] {
        std::string id;
        if (!check(attempt++, &id).ok()) return false;
        answered.push_back(id);
        return true;
      },
      absl::Seconds(30), "a Check to be answered after the lock is released");
  // An idle client channel notices the server's GOAWAY only at gRPC's
  // 5 s backup poll, which would hold up the drain that long.
  stub.reset();
  ASSERT_EQ(server.Stop(SIGTERM), 0) << server.Log();

  ASSERT_NO_FATAL_FAILURE(ExpectAllInVerifiedTrail(db_path, answered));
  // Refused Checks left no record: the trail holds the answered ones only.
  EXPECT_EQ(DecisionRecords(db_path), static_cast<int64_t>(answered.size()));
}

// Sync durability never answers without a record: while the trail cannot
// be written (the test holds the write lock beyond the writer's 5 s busy
// timeout), a Check fails UNAVAILABLE instead of returning its decision,
// and nothing of it is stored. Once the lock is gone Checks are answered
// and recorded again.
TEST(AuditDurabilityTest, SyncCheckFailsWhenItsRecordCannotBeCommitted) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, data, ServerArgs("sync")), IsOk());
  Client client = ConnectClient(server, data);
  ASSERT_FALSE(client.requests.empty());
  const std::string& client_key = client.key;
  const std::vector<WorkloadRequest>& requests = client.requests;
  std::unique_ptr<AuthorizationService::Stub>& stub = client.stub;
  auto check = [&](v1::CheckResponse* response) {
    auto context = Context(client_key);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(20));
    return stub->Check(context.get(), requests[0].request, response);
  };

  const std::string db_path = data + "/steward.db";
  sqlite3* blocker = nullptr;
  ASSERT_NO_FATAL_FAILURE(TakeWriteLock(db_path, &blocker));
  v1::CheckResponse refused;
  grpc::Status status = check(&refused);
  sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(blocker);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("could not be recorded"));
  EXPECT_TRUE(refused.decision_id().empty());

  v1::CheckResponse answered;
  status = check(&answered);
  ASSERT_TRUE(status.ok()) << status.error_message();
  stub.reset();  // see AsyncFullQueueRefusesChecksAndDropsNothing
  ASSERT_EQ(server.Stop(SIGTERM), 0) << server.Log();
  ASSERT_NO_FATAL_FAILURE(
      ExpectAllInVerifiedTrail(db_path, {answered.decision_id()}));
  EXPECT_EQ(DecisionRecords(db_path), 1);
}

}  // namespace
}  // namespace steward::testing
