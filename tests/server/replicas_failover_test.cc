// Failures under load, with three real stewardd replicas (`serve --dev
// --store postgresql://... --audit-durability sync`) sharing one real
// PostgreSQL (tests/testing/postgres_cluster.h): client threads send
// Checks round-robin over the replicas while one replica is SIGKILLed,
// and then while PostgreSQL itself is killed and restarted (pg_ctl
// restart -m immediate). Whatever failed, every decision a client got an
// answer for must be in the shared trail afterwards, every chain must
// verify (hashes and each chain's signed checkpoints, as `stewardctl
// audit verify --public-key` checks them), and the replicas must serve
// again by themselves. The cluster is
// this binary's own: restarting it would disturb other tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/audit/signed_checkpoint.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/audit.grpc.pb.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::steward::v1::AuditService;
using ::steward::v1::AuthorizationService;

constexpr int kReplicas = 3;
constexpr int kClients = 3;

void WriteFileWithMode(const std::string& path, const std::string& text,
                       mode_t mode) {
  std::ofstream(path, std::ios::trunc) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

struct Replica {
  std::string name;
  std::string data;
  ServerProcess process;
  std::unique_ptr<AuditService::Stub> audit;
  std::unique_ptr<AuthorizationService::Stub> authz;
};

// What the clients saw while a load ran.
struct LoadResult {
  std::vector<std::string> answered;  // decision ids of OK answers
  std::map<grpc::StatusCode, int> errors;
  // Per replica, OK answers that began after `mark` was set.
  int answered_after_mark[kReplicas] = {};
};

class ReplicasFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
    ASSERT_THAT(cluster.status(), IsOk());
    cluster_ = *cluster;
    absl::StatusOr<std::string> url = cluster_->CreateDatabase();
    ASSERT_THAT(url.status(), IsOk());
    url_ = *url;
    // The replicas sign checkpoints of their chains with one key.
    absl::StatusOr<audit::CheckpointSigningKey> key =
        audit::CheckpointSigningKey::Generate();
    ASSERT_THAT(key.status(), IsOk());
    signing_key_ = absl::StrCat(dir_.path(), "/audit-signing.pem");
    ASSERT_NO_FATAL_FAILURE(
        WriteFileWithMode(signing_key_, key->PrivatePem(), 0600));
    ASSERT_NO_FATAL_FAILURE(
        WriteFileWithMode(PublicKey(), key->public_key().Pem(), 0644));
    for (int i = 0; i < kReplicas; ++i) {
      replicas_[i] = std::make_unique<Replica>();
      replicas_[i]->name = std::string(1, static_cast<char>('a' + i));
      replicas_[i]->data = absl::StrCat(dir_.path(), "/", replicas_[i]->name);
      // One after the other: the first creates the store and dev keys.
      ASSERT_NO_FATAL_FAILURE(Start(i));
    }
    client_key_ = ReadKey(replicas_[0]->data, "client");
    auditor_key_ = ReadKey(replicas_[0]->data, "auditor");
    ASSERT_FALSE(client_key_.empty());
  }

  void Start(int i, const std::string& durability = "sync") {
    Replica& replica = *replicas_[i];
    ASSERT_THAT(
        replica.process.Start(
            STEWARDD_PATH, replica.data,
            {"--dev", "--policy",
             std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy", "--store", url_,
             "--replica-name", replica.name, "--audit-durability", durability,
             "--store-poll-interval", "500ms", "--store-grace-period", "2s",
             "--audit-signing-key", signing_key_, "--audit-checkpoint-records",
             "50"}),
        IsOk());
    std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
        replica.process.address(), grpc::InsecureChannelCredentials());
    replica.audit = AuditService::NewStub(channel);
    replica.authz = AuthorizationService::NewStub(channel);
  }

  // Runs kClients threads of round-robin Checks until `until` returns
  // true (polled every 50 ms) or `limit` passes; `during` runs on this
  // thread once the load is going, then `mark` is set.
  LoadResult RunLoad(const std::function<void()>& during,
                     const std::function<bool(const LoadResult&)>& until,
                     absl::Duration limit) {
    LoadResult result;
    absl::Mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<bool> mark{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        for (int n = 0; !stop.load(); ++n) {
          const int replica = (n + c) % kReplicas;
          const bool after_mark = mark.load();
          v1::CheckRequest request;
          request.set_principal_id(absl::StrCat("load-", c, "-", n));
          request.set_action("read");
          request.mutable_resource()->set_kind("customer");
          request.mutable_resource()->set_id("customer-1");
          v1::CheckResponse response;
          std::unique_ptr<grpc::ClientContext> context = Context(client_key_);
          context->set_deadline(std::chrono::system_clock::now() +
                                std::chrono::seconds(3));
          grpc::Status status = replicas_[replica]->authz->Check(
              context.get(), request, &response);
          absl::MutexLock lock(&mu);
          if (status.ok()) {
            result.answered.push_back(response.decision_id());
            if (after_mark) ++result.answered_after_mark[replica];
          } else {
            ++result.errors[status.error_code()];
          }
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(500));
    during();
    mark = true;
    const absl::Time deadline = absl::Now() + limit;
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu);
        if (until(result)) break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    stop = true;
    for (std::thread& client : clients) client.join();
    return result;
  }

  // Every decision id in the shared trail, read straight from PostgreSQL.
  std::set<std::string> TrailDecisionIds() {
    std::set<std::string> ids;
    PGconn* conn = PQconnectdb(url_.c_str());
    EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* result = PQexec(
        conn,
        "SELECT decision_id FROM audit_records WHERE decision_id IS NOT NULL");
    EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(conn);
    for (int row = 0; row < PQntuples(result); ++row) {
      ids.insert(PQgetvalue(result, row, 0));
    }
    PQclear(result);
    PQfinish(conn);
    return ids;
  }

  void ExpectEveryAnswerRecorded(const LoadResult& load) {
    std::string errors;
    for (const auto& [code, count] : load.errors) {
      absl::StrAppend(&errors, " code ", code, " x", count);
    }
    std::printf("answered %zu, refused:%s\n", load.answered.size(),
                errors.empty() ? " none" : errors.c_str());
    const std::set<std::string> trail = TrailDecisionIds();
    int missing = 0;
    for (const std::string& id : load.answered) {
      if (trail.count(id) == 0 && ++missing <= 5) {
        ADD_FAILURE() << "answered decision " << id << " is not in the trail";
      }
    }
    EXPECT_EQ(missing, 0) << "of " << load.answered.size() << " answered";
  }

  std::string PublicKey() const { return signing_key_ + ".pub"; }

  // `stewardctl audit verify --public-key` through replica `through`.
  CommandResult VerifyWithPublicKey(int through) {
    return RunCommand({STEWARDCTL_PATH, "--server",
                       replicas_[through]->process.address(), "--api-key-file",
                       absl::StrCat(replicas_[0]->data, "/dev-auditor.key"),
                       "audit", "verify", "--public-key", PublicKey()});
  }

  // Every chain's records and signed checkpoints, as an auditor checks
  // them: through the RPC and through the CLI with the public key.
  void ExpectEveryChainVerifies(int through) {
    const CommandResult cli = VerifyWithPublicKey(through);
    EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
    EXPECT_THAT(cli.out, ::testing::HasSubstr("valid: "));
    for (int i = 0; i < kReplicas; ++i) {
      EXPECT_THAT(cli.out, ::testing::HasSubstr(
                               absl::StrCat("chain ", replicas_[i]->name)));
    }
    v1::VerifyChainResponse verified;
    std::unique_ptr<grpc::ClientContext> context = Context(auditor_key_);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(30));
    grpc::Status status = replicas_[through]->audit->VerifyChain(
        context.get(), v1::VerifyChainRequest(), &verified);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(verified.ok()) << verified.message();
  }

  std::string Health(int i) {
    return RunCommand({STEWARDCTL_PATH, "health", "--server",
                       replicas_[i]->process.address()})
        .out;
  }

  PostgresCluster* cluster_ = nullptr;
  TempDir dir_;
  std::string signing_key_;
  std::string url_;
  std::unique_ptr<Replica> replicas_[kReplicas];
  std::string client_key_;
  std::string auditor_key_;
};

TEST_F(ReplicasFailoverTest, SigkillOfAReplicaUnderLoadLosesNoAnswer) {
  LoadResult load = RunLoad([&] { replicas_[2]->process.Kill(); },
                            [](const LoadResult& r) {
                              return r.answered_after_mark[0] >= 50 &&
                                     r.answered_after_mark[1] >= 50;
                            },
                            absl::Seconds(20));
  // The survivors went on answering; only calls to the dead one failed.
  EXPECT_GE(load.answered_after_mark[0], 50);
  EXPECT_GE(load.answered_after_mark[1], 50);
  EXPECT_EQ(load.answered_after_mark[2], 0);
  EXPECT_GT(load.answered.size(), 100u);
  for (const auto& [code, count] : load.errors) {
    EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE) << count << " errors";
  }
  ExpectEveryAnswerRecorded(load);
  ASSERT_NO_FATAL_FAILURE(ExpectEveryChainVerifies(0));
  // Restarted on its data dir, c continues its chain after recording
  // the unclean stop, and every chain still verifies.
  replicas_[2]->process.Stop();
  ASSERT_NO_FATAL_FAILURE(Start(2));
  EXPECT_THAT(replicas_[2]->process.Log(),
              ::testing::HasSubstr("did not stop cleanly"));
  ASSERT_NO_FATAL_FAILURE(ExpectEveryChainVerifies(2));
}

TEST_F(ReplicasFailoverTest, ImmediateRestartOfPostgresqlUnderLoad) {
  absl::Time restarted;
  LoadResult load = RunLoad(
      [&] {
        ASSERT_THAT(cluster_->RestartImmediate(), IsOk());
        restarted = absl::Now();
      },
      [](const LoadResult& r) {
        for (int i = 0; i < kReplicas; ++i) {
          if (r.answered_after_mark[i] < 20) return false;
        }
        return true;
      },
      absl::Seconds(30));
  // Every replica serves again by itself, without a restart.
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_GE(load.answered_after_mark[i], 20) << "replica " << i;
  }
  // A call that could not be recorded was refused, never answered: the
  // refusals are UNAVAILABLE (or the client's deadline while a commit
  // hung on the dying server), nothing else.
  for (const auto& [code, count] : load.errors) {
    EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
                code == grpc::StatusCode::DEADLINE_EXCEEDED)
        << "code " << code << ": " << count << " errors";
  }
  ExpectEveryAnswerRecorded(load);
  ASSERT_NO_FATAL_FAILURE(ExpectEveryChainVerifies(1));
  // Health is re-evaluated every second: the failed commits of the
  // restart kept it NOT_SERVING until a tick saw commits succeed.
  for (int i = 0; i < kReplicas; ++i) {
    std::string health;
    for (int attempt = 0; attempt < 50; ++attempt) {
      health = Health(i);
      if (health == "SERVING\n") break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_EQ(health, "SERVING\n") << i;
  }
  // And admin changes are made and reach every replica again.
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      replicas_[0]->process.address(), grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::AdminService::Stub> admin =
      v1::AdminService::NewStub(channel);
  const std::string admin_key = ReadKey(replicas_[0]->data, "admin");
  v1::UpsertPrincipalRequest upsert;
  upsert.mutable_principal()->set_id("after-restart");
  v1::UpsertPrincipalResponse upserted;
  grpc::Status status =
      admin->UpsertPrincipal(Context(admin_key).get(), upsert, &upserted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::GrantRequest grant;
  grant.set_principal_id("after-restart");
  grant.set_role("support_agent");
  v1::GrantResponse granted;
  status = admin->Grant(Context(admin_key).get(), grant, &granted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::CheckRequest request;
  request.set_principal_id("after-restart");
  request.set_action("read");
  request.mutable_resource()->set_kind("customer");
  request.mutable_resource()->set_id("customer-1");
  v1::Resource* resource = request.mutable_resource();
  (*resource->mutable_attributes())["owner"].set_string_value("u0001");
  (*resource->mutable_attributes())["region"].set_string_value("emea");
  (*resource->mutable_attributes())["tier"].set_string_value("free");
  request.set_min_store_revision(granted.store_revision());
  for (int i = 0; i < kReplicas; ++i) {
    v1::CheckResponse response;
    status = replicas_[i]->authz->Check(Context(client_key_).get(), request,
                                        &response);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
    EXPECT_EQ(response.effect(), v1::ALLOW) << i;
  }
}

// A checkpoint of one replica's chain altered in the database: the
// hashes still verify, the signature does not, and the auditor is told
// which chain.
TEST_F(ReplicasFailoverTest, ForgedCheckpointNamesItsChain) {
  LoadResult load = RunLoad([] {},
                            [](const LoadResult& r) {
                              for (int i = 0; i < kReplicas; ++i) {
                                if (r.answered_after_mark[i] < 60) return false;
                              }
                              return true;
                            },
                            absl::Seconds(20));
  ASSERT_NO_FATAL_FAILURE(ExpectEveryAnswerRecorded(load));
  ASSERT_NO_FATAL_FAILURE(ExpectEveryChainVerifies(0));
  PGconn* conn = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* forged = PQexec(
      conn,
      "UPDATE audit_signed_checkpoints "
      "SET signature = set_byte(signature, 0, get_byte(signature, 0) # 1) "
      "WHERE chain = 'b' AND seq = (SELECT max(seq) FROM "
      "audit_signed_checkpoints WHERE chain = 'b')");
  EXPECT_EQ(PQresultStatus(forged), PGRES_COMMAND_OK) << PQerrorMessage(conn);
  EXPECT_STREQ(PQcmdTuples(forged), "1");
  PQclear(forged);
  PQfinish(conn);
  const CommandResult cli = VerifyWithPublicKey(2);
  EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
  EXPECT_THAT(cli.err, ::testing::HasSubstr("chain b: the checkpoint at"));
  EXPECT_THAT(cli.err, ::testing::HasSubstr("invalid signature"));
}

// A replica with a signing key checks its own chain's tail before it
// appends: a record after the newest signed checkpoint edited while the
// replica was down makes it refuse to start (appending would bless the
// edit with fresh signatures) unless told to begin a new segment, which
// it then records.
TEST_F(ReplicasFailoverTest, RestartRefusesAChainEditedAfterItsCheckpoint) {
  LoadResult load = RunLoad(
      [] {}, [](const LoadResult& r) { return r.answered_after_mark[1] >= 30; },
      absl::Seconds(20));
  ASSERT_NO_FATAL_FAILURE(ExpectEveryAnswerRecorded(load));
  // A clean stop signs the head of b's chain; then the record there is
  // edited.
  ASSERT_EQ(replicas_[1]->process.Stop(), 0);
  PGconn* conn = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* edited = PQexec(
      conn,
      "UPDATE audit_records SET principal = 'mallory' WHERE chain = 'b' AND "
      "seq = (SELECT last_seq FROM audit_chains WHERE chain = 'b')");
  EXPECT_EQ(PQresultStatus(edited), PGRES_COMMAND_OK) << PQerrorMessage(conn);
  EXPECT_STREQ(PQcmdTuples(edited), "1");
  PQclear(edited);
  PQfinish(conn);

  Replica& b = *replicas_[1];
  absl::Status started =
      b.process.Start(STEWARDD_PATH, b.data,
                      {"--dev", "--store", url_, "--replica-name", "b",
                       "--audit-signing-key", signing_key_});
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(std::string(started.message()),
              ::testing::HasSubstr("the audit trail does not verify: chain b"));
  EXPECT_THAT(std::string(started.message()),
              ::testing::HasSubstr("Refusing to append"));
  // The others were not disturbed.
  EXPECT_EQ(Health(0), "SERVING\n");

  ASSERT_THAT(b.process.Start(STEWARDD_PATH, b.data,
                              {"--dev", "--store", url_, "--replica-name", "b",
                               "--audit-signing-key", signing_key_,
                               "--audit-start-new-segment"}),
              IsOk());
  EXPECT_THAT(b.process.Log(),
              ::testing::HasSubstr("new audit segment of chain \"b\""));
  // The edit is still reported by a full verification.
  const CommandResult cli = VerifyWithPublicKey(0);
  EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
  EXPECT_THAT(cli.err, ::testing::HasSubstr("chain b"));
}

// An async replica killed with SIGKILL may have answered decisions it
// never wrote: as on a single node, `audit verify` says so, for that
// replica's chain, without calling the chain broken.
TEST_F(ReplicasFailoverTest, KilledAsyncReplicaIsAPossibleGapInItsChain) {
  ASSERT_EQ(replicas_[2]->process.Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(Start(2, "async"));
  LoadResult load = RunLoad(
      [] {}, [](const LoadResult& r) { return r.answered_after_mark[2] >= 30; },
      absl::Seconds(20));
  replicas_[2]->process.Kill();
  ASSERT_NO_FATAL_FAILURE(Start(2));
  EXPECT_THAT(replicas_[2]->process.Log(),
              ::testing::HasSubstr("did not stop cleanly"));

  v1::VerifyChainResponse verified;
  grpc::Status status = replicas_[0]->audit->VerifyChain(
      Context(auditor_key_).get(), v1::VerifyChainRequest(), &verified);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(verified.ok()) << verified.message();
  ASSERT_EQ(verified.chains_size(), kReplicas);
  for (const v1::ChainVerification& chain : verified.chains()) {
    EXPECT_EQ(chain.possible_gap_seqs_size(), chain.chain() == "c" ? 1 : 0)
        << chain.chain();
  }
  const CommandResult cli = VerifyWithPublicKey(1);
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_THAT(cli.out, ::testing::ContainsRegex(
                           "chain c.*possible gaps: 1 unclean stop"));
}

}  // namespace
}  // namespace steward::testing
