// The audit trail of real stewardd replicas (`serve --dev --store
// postgresql://... --audit-durability sync`) in the PostgreSQL database
// they share (tests/testing/postgres_cluster.h): decisions made on either
// replica are queried, newest first, through the other; VerifyChain
// verifies every replica's chain; SubjectAccess and the reports read every
// chain; and a decision a
// replica answered in sync mode is in the shared trail even after that
// replica is SIGKILLed. The tests share the replicas and run in file
// order; the SIGKILL test comes last.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/audit/postgresql/pg_reader.h"
#include "steward/v1/audit.grpc.pb.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::steward::v1::AuditService;
using ::steward::v1::AuthorizationService;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kReplicas = 2;

struct TrailReplica {
  std::string name;
  std::string data;
  ServerProcess process;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<AuditService::Stub> audit;
  std::unique_ptr<AuthorizationService::Stub> authz;
};

class ReplicasTrailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
    ASSERT_THAT(cluster.status(), IsOk());
    absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
    ASSERT_THAT(url.status(), IsOk());
    url_ = new std::string(*url);
    dir_ = new TempDir();
    for (int i = 0; i < kReplicas; ++i) {
      replicas_[i] = new TrailReplica();
      replicas_[i]->name = std::string(1, static_cast<char>('a' + i));
      replicas_[i]->data = absl::StrCat(dir_->path(), "/", replicas_[i]->name);
      // One after the other: the first creates the store and dev keys.
      ASSERT_NO_FATAL_FAILURE(Start(i));
    }
    auditor_key_ = new std::string(ReadKey(replicas_[0]->data, "auditor"));
    client_key_ = new std::string(ReadKey(replicas_[0]->data, "client"));
    ASSERT_FALSE(auditor_key_->empty());
  }

  static void Start(int i) {
    TrailReplica& replica = *replicas_[i];
    ASSERT_THAT(replica.process.Start(
                    STEWARDD_PATH, replica.data,
                    {"--dev", "--policy",
                     std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
                     "--store", *url_, "--replica-name", replica.name,
                     "--audit-durability", "sync", "--store-poll-interval",
                     "500ms", "--store-grace-period", "2s"}),
                IsOk());
    replica.channel = grpc::CreateChannel(replica.process.address(),
                                          grpc::InsecureChannelCredentials());
    replica.audit = AuditService::NewStub(replica.channel);
    replica.authz = AuthorizationService::NewStub(replica.channel);
  }

  static void TearDownTestSuite() {
    for (TrailReplica*& replica : replicas_) {
      delete replica;
      replica = nullptr;
    }
    delete dir_;
    delete url_;
    delete auditor_key_;
    delete client_key_;
  }

  // Checks a read of customer-1 by `principal` on replica `i`; returns the
  // decision id ("" after an RPC error, which fails the test).
  static std::string Check(int i, const std::string& principal) {
    v1::CheckRequest request;
    request.set_principal_id(principal);
    request.set_action("read");
    request.mutable_resource()->set_kind("customer");
    request.mutable_resource()->set_id("customer-1");
    v1::CheckResponse response;
    grpc::Status status = replicas_[i]->authz->Check(
        Context(*client_key_).get(), request, &response);
    EXPECT_TRUE(status.ok())
        << "replica " << i << ": " << status.error_message();
    EXPECT_FALSE(response.decision_id().empty());
    return response.decision_id();
  }

  // The principals of every decision about customer-1, newest first, as
  // replica `i` answers QueryDecisions.
  static std::vector<std::string> QueriedPrincipals(int i) {
    v1::QueryDecisionsRequest request;
    request.mutable_filter()->set_resource_kind("customer");
    request.mutable_filter()->set_resource_id("customer-1");
    v1::QueryDecisionsResponse response;
    grpc::Status status = replicas_[i]->audit->QueryDecisions(
        Context(*auditor_key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> principals;
    for (const v1::AuditRecord& record : response.records()) {
      principals.push_back(record.principal_id());
    }
    return principals;
  }

  static std::string Health(int i) {
    return RunCommand({STEWARDCTL_PATH, "health", "--server",
                       replicas_[i]->process.address()})
        .out;
  }

  static bool WaitFor(const std::function<bool()>& condition,
                      absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (absl::Now() < deadline) {
      if (condition()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return condition();
  }

  static std::string* url_;
  static TempDir* dir_;
  static TrailReplica* replicas_[kReplicas];
  static std::string* auditor_key_;
  static std::string* client_key_;
};

std::string* ReplicasTrailTest::url_ = nullptr;
TempDir* ReplicasTrailTest::dir_ = nullptr;
TrailReplica* ReplicasTrailTest::replicas_[kReplicas] = {};
std::string* ReplicasTrailTest::auditor_key_ = nullptr;
std::string* ReplicasTrailTest::client_key_ = nullptr;

TEST_F(ReplicasTrailTest, EachReplicaWritesItsOwnChainInPostgresql) {
  for (int i = 0; i < kReplicas; ++i) {
    const std::string log = replicas_[i]->process.Log();
    EXPECT_THAT(log, HasSubstr(absl::StrCat("(PostgreSQL, chain \"",
                                            replicas_[i]->name, "\"")));
    EXPECT_THAT(log, Not(HasSubstr("interim")));
  }
}

TEST_F(ReplicasTrailTest, QueryDecisionsThroughEitherReplicaSeesBoth) {
  const std::string first_a = Check(0, "trail-a-1");
  const std::string first_b = Check(1, "trail-b-1");
  const std::string second_a = Check(0, "trail-a-2");
  const std::string second_b = Check(1, "trail-b-2");
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_THAT(QueriedPrincipals(i),
                ElementsAre("trail-b-2", "trail-a-2", "trail-b-1", "trail-a-1"))
        << "through replica " << i;
  }
  // The records are those of the answered decisions.
  v1::QueryDecisionsRequest request;
  request.mutable_filter()->set_resource_id("customer-1");
  v1::QueryDecisionsResponse response;
  grpc::Status status = replicas_[0]->audit->QueryDecisions(
      Context(*auditor_key_).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> ids;
  for (const v1::AuditRecord& record : response.records()) {
    ids.push_back(record.decision_id());
  }
  EXPECT_THAT(ids, ElementsAre(second_b, second_a, first_b, first_a));
}

TEST_F(ReplicasTrailTest, VerifyChainVerifiesEveryReplicasChain) {
  for (int i = 0; i < kReplicas; ++i) {
    v1::VerifyChainResponse response;
    grpc::Status status = replicas_[i]->audit->VerifyChain(
        Context(*auditor_key_).get(), v1::VerifyChainRequest(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.ok()) << response.message();
    EXPECT_THAT(response.message(), HasSubstr("2 chains verified"));
    EXPECT_GE(response.records_checked(), 4);
    EXPECT_EQ(response.first_bad_seq(), 0);
  }
}

TEST_F(ReplicasTrailTest, SubjectAccessAndReportsReadEveryChain) {
  // The decisions about customer-1 of the test above, made on both
  // replicas, newest first through either.
  for (int i = 0; i < kReplicas; ++i) {
    v1::SubjectAccessRequest subject;
    subject.set_resource_kind("customer");
    subject.set_resource_id("customer-1");
    subject.set_page_size(3);
    std::vector<std::string> principals;
    std::string token;
    do {
      subject.set_page_token(token);
      v1::SubjectAccessResponse response;
      grpc::Status status = replicas_[i]->audit->SubjectAccess(
          Context(*auditor_key_).get(), subject, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (const v1::AuditRecord& record : response.records()) {
        principals.push_back(record.principal_id());
      }
      token = response.next_page_token();
    } while (!token.empty());
    EXPECT_THAT(principals,
                ElementsAre("trail-b-2", "trail-a-2", "trail-b-1", "trail-a-1"))
        << "through replica " << i;
  }
  // The decisions of both chains are counted once each.
  v1::DecisionSummaryResponse summary;
  grpc::Status status = replicas_[1]->audit->DecisionSummary(
      Context(*auditor_key_).get(), v1::DecisionSummaryRequest(), &summary);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(summary.total_allow() + summary.total_deny(), 4);
  EXPECT_EQ(summary.total_deny(), 4);  // the trail-* principals hold no role
  EXPECT_EQ(summary.denied_principals(), 4);
  v1::UnusedGrantsResponse unused;
  status = replicas_[1]->audit->UnusedGrants(
      Context(*auditor_key_).get(), v1::UnusedGrantsRequest(), &unused);
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::WhoCanRequest who;
  who.set_action("read");
  who.set_resource_kind("customer");
  v1::WhoCanResponse who_response;
  status = replicas_[0]->audit->WhoCan(Context(*auditor_key_).get(), who,
                                       &who_response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Raw SQL beside the replicas (what an insider does); a test failure on
// error.
void Sql(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()),
                                                  PQfinish);
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexec(conn.get(), sql.c_str()), PQclear);
  EXPECT_EQ(PQresultStatus(result.get()), PGRES_COMMAND_OK)
      << sql << ": " << PQerrorMessage(conn.get());
  EXPECT_STREQ(PQcmdTuples(result.get()), "1") << sql;
}

TEST_F(ReplicasTrailTest, VerifyChainNamesTheChainAndSeqOfAnEditedRecord) {
  Sql(*url_,
      "UPDATE audit_records SET principal = principal || 'x' "
      "WHERE chain = 'b' AND seq = 2");
  v1::VerifyChainResponse response;
  grpc::Status status = replicas_[0]->audit->VerifyChain(
      Context(*auditor_key_).get(), v1::VerifyChainRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.ok());
  EXPECT_EQ(response.first_bad_seq(), 2);
  EXPECT_THAT(response.message(), HasSubstr("chain b: record 2"));
  // Put back, so that b's chain verifies again for the next test.
  Sql(*url_,
      "UPDATE audit_records SET principal = left(principal, -1) "
      "WHERE chain = 'b' AND seq = 2");
  status = replicas_[0]->audit->VerifyChain(
      Context(*auditor_key_).get(), v1::VerifyChainRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.ok()) << response.message();
}

// Two processes under one replica name would interleave one chain: the
// second is refused at start, naming the name, and the first goes on.
TEST_F(ReplicasTrailTest, SecondReplicaWithTheSameNameIsRefused) {
  const CommandResult second =
      RunCommand({STEWARDD_PATH, "serve", "--dev", "--data-dir",
                  absl::StrCat(dir_->path(), "/a-again"), "--listen",
                  "127.0.0.1:0", "--store", *url_, "--replica-name", "a"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.err, HasSubstr("\"a\""));
  EXPECT_THAT(second.err, HasSubstr("another"));
  EXPECT_FALSE(Check(0, "after-duplicate").empty());
}

// Health follows the trail, not only the store: while a replica's
// commits fail (here: another session holds audit_records locked, so its
// inserts time out), every sync Check there is refused, so it reports
// NOT_SERVING and the balancer sends calls to the other; once drained
// for the grace period it reports SERVING again and, the lock gone,
// answers.
TEST_F(ReplicasTrailTest, FailingTrailCommitsTurnHealthNotServing) {
  PGconn* locker = PQconnectdb(url_->c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK) << PQerrorMessage(locker);
  PGresult* locked = PQexec(
      locker, "BEGIN; LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQresultStatus(locked), PGRES_COMMAND_OK) << PQerrorMessage(locker);
  PQclear(locked);

  v1::CheckRequest request;
  request.set_principal_id("while-locked");
  request.set_action("read");
  request.mutable_resource()->set_kind("customer");
  request.mutable_resource()->set_id("customer-1");
  v1::CheckResponse response;
  auto context = Context(*client_key_);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(20));
  grpc::Status status =
      replicas_[0]->authz->Check(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_TRUE(
      WaitFor([] { return Health(0) == "NOT_SERVING\n"; }, absl::Seconds(5)));
  EXPECT_EQ(Health(1), "SERVING\n");  // it has made no call meanwhile
  EXPECT_THAT(replicas_[0]->process.Log(),
              HasSubstr("NOT_SERVING (audit trail commits failing)"));

  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);
  EXPECT_TRUE(
      WaitFor([] { return Health(0) == "SERVING\n"; }, absl::Seconds(10)));
  EXPECT_FALSE(Check(0, "after-unlock").empty());
}

// Last: kills replica b.
TEST_F(ReplicasTrailTest, SyncDecisionsSurviveSigkillOfTheAnsweringReplica) {
  std::vector<std::string> answered;
  for (int n = 0; n < 20; ++n) {
    answered.push_back(Check(1, absl::StrCat("killed-", n)));
  }
  replicas_[1]->process.Kill();
  absl::StatusOr<std::unique_ptr<audit::PgAuditReader>> reader =
      audit::PgAuditReader::Open(*url_);
  ASSERT_THAT(reader.status(), IsOk());
  for (const std::string& decision_id : answered) {
    absl::StatusOr<audit::ChainRecord> found =
        (*reader)->FindDecision(decision_id);
    ASSERT_THAT(found.status(), IsOk()) << decision_id;
    EXPECT_EQ(found->chain, "b");
    EXPECT_EQ(found->record.decision_id, decision_id);
  }
  // Restarted on its data dir, b records the unclean stop in its chain,
  // which still verifies.
  delete replicas_[1];
  replicas_[1] = new TrailReplica();
  replicas_[1]->name = "b";
  replicas_[1]->data = absl::StrCat(dir_->path(), "/b");
  ASSERT_NO_FATAL_FAILURE(Start(1));
  EXPECT_THAT(replicas_[1]->process.Log(), HasSubstr("did not stop cleanly"));
  v1::VerifyChainResponse verified;
  grpc::Status status = replicas_[0]->audit->VerifyChain(
      Context(*auditor_key_).get(), v1::VerifyChainRequest(), &verified);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(verified.ok()) << verified.message();
}

}  // namespace
}  // namespace steward::testing
