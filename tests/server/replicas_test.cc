// Three real stewardd replicas (`serve --dev --store postgresql://...`) on
// one PostgreSQL database (tests/testing/postgres_cluster.h), each with its
// own data dir and ephemeral port: the shared workload spread round-robin
// over them, a change made through one replica served by the others within
// a second (and at once with min_store_revision), key revocation reaching
// every replica, and what a PostgreSQL outage does. The tests share the
// replicas and run in file order; the outage test comes last.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::steward::v1::AuthorizationService;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kReplicas = 3;
// In every replica's store URL; the test cluster trusts local connections,
// so the server never asks for it, but it must never be logged.
constexpr char kPassword[] = "replica-secret-not-logged";
constexpr char kGracePeriod[] = "2s";

struct Replica {
  std::string name;
  std::string data;
  ServerProcess process;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<AdminService::Stub> admin;
  std::unique_ptr<AuthorizationService::Stub> authz;
};

class ReplicasTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
    ASSERT_THAT(cluster.status(), IsOk());
    cluster_ = *cluster;
    absl::StatusOr<std::string> plain_url = cluster_->CreateDatabase();
    ASSERT_THAT(plain_url.status(), IsOk());
    const std::string prefix = "postgresql://steward@";
    ASSERT_EQ(plain_url->substr(0, prefix.size()), prefix);
    const absl::StatusOr<std::string> url =
        absl::StrCat("postgresql://steward:", kPassword, "@",
                     plain_url->substr(prefix.size()));
    dir_ = new TempDir();
    for (int i = 0; i < kReplicas; ++i) {
      auto replica = std::make_unique<Replica>();
      replica->name = std::string(1, static_cast<char>('a' + i));
      replica->data = absl::StrCat(dir_->path(), "/", replica->name);
      // The first replica creates the store, the policy and the dev keys;
      // the others find them. Started one after the other so that the
      // first has finished creating when the next looks.
      ASSERT_THAT(replica->process.Start(
                      STEWARDD_PATH, replica->data,
                      {"--dev", "--policy",
                       std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
                       "--store", *url, "--replica-name", replica->name,
                       "--store-poll-interval", "500ms", "--store-grace-period",
                       kGracePeriod, "--min-revision-wait", "500ms"}),
                  IsOk());
      replica->channel = grpc::CreateChannel(
          replica->process.address(), grpc::InsecureChannelCredentials());
      replica->admin = AdminService::NewStub(replica->channel);
      replica->authz = AuthorizationService::NewStub(replica->channel);
      replicas_[i] = replica.release();
    }
    admin_key_ = new std::string(ReadKey(replicas_[0]->data, "admin"));
    client_key_ = new std::string(ReadKey(replicas_[0]->data, "client"));
  }

  static void TearDownTestSuite() {
    for (Replica*& replica : replicas_) {
      delete replica;
      replica = nullptr;
    }
    delete dir_;
    delete admin_key_;
    delete client_key_;
  }

  // A principal with the support_agent role (reads any customer), made
  // through replica `via`; returns the Grant's store revision.
  static int64_t GrantSupportAgent(int via, const std::string& principal) {
    v1::UpsertPrincipalRequest upsert;
    upsert.mutable_principal()->set_id(principal);
    v1::UpsertPrincipalResponse upserted;
    grpc::Status status = replicas_[via]->admin->UpsertPrincipal(
        Context(*admin_key_).get(), upsert, &upserted);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::GrantRequest grant;
    grant.set_principal_id(principal);
    grant.set_role("support_agent");
    v1::GrantResponse granted;
    status = replicas_[via]->admin->Grant(Context(*admin_key_).get(), grant,
                                          &granted);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return granted.store_revision();
  }

  static v1::CheckRequest ReadCustomer(const std::string& principal) {
    v1::CheckRequest request;
    request.set_principal_id(principal);
    request.set_action("read");
    v1::Resource* resource = request.mutable_resource();
    resource->set_kind("customer");
    resource->set_id("customer-1");
    (*resource->mutable_attributes())["owner"].set_string_value("u0001");
    (*resource->mutable_attributes())["region"].set_string_value("emea");
    (*resource->mutable_attributes())["tier"].set_string_value("free");
    return request;
  }

  // The replica's answer to `request` with the client key; an RPC error
  // fails the test and reads as DENY.
  static bool Allowed(int replica, const v1::CheckRequest& request,
                      const std::string& key = "") {
    v1::CheckResponse response;
    grpc::Status status = replicas_[replica]->authz->Check(
        Context(key.empty() ? *client_key_ : key).get(), request, &response);
    EXPECT_TRUE(status.ok())
        << "replica " << replica << ": " << status.error_message();
    return status.ok() && response.effect() == v1::ALLOW;
  }

  static std::string Health(int replica) {
    return RunCommand({STEWARDCTL_PATH, "health", "--server",
                       replicas_[replica]->process.address()})
        .out;
  }

  static PostgresCluster* cluster_;
  static TempDir* dir_;
  static Replica* replicas_[kReplicas];
  static std::string* admin_key_;
  static std::string* client_key_;
};

PostgresCluster* ReplicasTest::cluster_ = nullptr;
TempDir* ReplicasTest::dir_ = nullptr;
Replica* ReplicasTest::replicas_[kReplicas] = {};
std::string* ReplicasTest::admin_key_ = nullptr;
std::string* ReplicasTest::client_key_ = nullptr;

TEST_F(ReplicasTest,
       OnlyTheFirstReplicaCreatedTheDevKeysAndNoPasswordIsLogged) {
  EXPECT_FALSE(admin_key_->empty());
  for (int i = 1; i < kReplicas; ++i) {
    EXPECT_TRUE(ReadKey(replicas_[i]->data, "admin").empty()) << i;
    EXPECT_THAT(replicas_[i]->process.Log(),
                HasSubstr("another replica created it"));
  }
  v1::ListApiKeysResponse keys;
  grpc::Status status = replicas_[2]->admin->ListApiKeys(
      Context(*admin_key_).get(), v1::ListApiKeysRequest(), &keys);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(keys.keys_size(), 3);  // one per role, not one per replica
  EXPECT_THAT(replicas_[0]->process.Log(),
              HasSubstr("(PostgreSQL, chain \"a\""));
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_THAT(replicas_[i]->process.Log(),
                HasSubstr("postgresql://steward:REDACTED@127.0.0.1:"));
    EXPECT_THAT(replicas_[i]->process.Log(), Not(HasSubstr(kPassword)));
  }
}

TEST_F(ReplicasTest, ServeRefusesAMissingStoreOrReplicaNameClearly) {
  absl::StatusOr<std::string> empty = cluster_->CreateDatabase();
  ASSERT_THAT(empty.status(), IsOk());
  const std::string prefix = "postgresql://steward@";
  const std::string url = absl::StrCat("postgresql://steward:", kPassword, "@",
                                       empty->substr(prefix.size()));
  const std::string data = dir_->path() + "/uninitialized";
  CommandResult no_name =
      RunCommand({STEWARDD_PATH, "serve", "--data-dir", data, "--store", url});
  EXPECT_EQ(no_name.exit_code, 2);
  EXPECT_THAT(no_name.err, HasSubstr("stewardd: error: --replica-name is "
                                     "required"));
  CommandResult not_initialized =
      RunCommand({STEWARDD_PATH, "serve", "--data-dir", data, "--store", url,
                  "--replica-name", "x", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(not_initialized.exit_code, 1);
  EXPECT_THAT(not_initialized.err,
              HasSubstr("run `stewardd init --data-dir " + data +
                        " --store postgresql://steward:REDACTED@"));
  EXPECT_THAT(not_initialized.out + not_initialized.err,
              Not(HasSubstr(kPassword)));
}

TEST_F(ReplicasTest, WorkloadRoundRobinOverAllReplicasMatchesExpected) {
  grpc::Status loaded = LoadWorkloadPrincipals(
      *replicas_[0]->admin, *admin_key_, STEWARD_WORKLOAD_DIR);
  ASSERT_TRUE(loaded.ok()) << loaded.error_message();
  // The revision after the load: the first request to each replica waits
  // for it, so none answers from before the load.
  const int64_t loaded_revision = GrantSupportAgent(0, "workload-marker");
  ASSERT_GT(loaded_revision, 0);
  std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  ASSERT_EQ(requests.size(), 10000u);
  int mismatches = 0;
  int allows = 0;
  int answered[kReplicas] = {};
  for (size_t i = 0; i < requests.size(); ++i) {
    const int replica = static_cast<int>(i % kReplicas);
    v1::CheckRequest request = requests[i].request;
    if (i < kReplicas) request.set_min_store_revision(loaded_revision);
    v1::CheckResponse response;
    grpc::Status status = replicas_[replica]->authz->Check(
        Context(*client_key_).get(), request, &response);
    ASSERT_TRUE(status.ok()) << "request " << i << " on replica " << replica
                             << ": " << status.error_message();
    ++answered[replica];
    const bool allowed = response.effect() == v1::ALLOW;
    allows += allowed;
    if (allowed != requests[i].expect_allow && ++mismatches <= 5) {
      ADD_FAILURE() << "request " << i << " on replica " << replica << ": "
                    << request.ShortDebugString() << " got "
                    << response.ShortDebugString();
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(allows, 4164);
  for (int count : answered) EXPECT_GT(count, 3000);
}

TEST_F(ReplicasTest, GrantThroughAIsServedByBAndCWithinOneSecond) {
  const v1::CheckRequest request = ReadCustomer("propagation-probe");
  for (int i = 0; i < kReplicas; ++i) EXPECT_FALSE(Allowed(i, request)) << i;

  const int64_t revision = GrantSupportAgent(0, "propagation-probe");
  const absl::Time granted = absl::Now();
  // The replica that made the change serves it before the call returned.
  EXPECT_TRUE(Allowed(0, request));
  for (int i = 1; i < kReplicas; ++i) {
    absl::Time served = absl::InfiniteFuture();
    EXPECT_TRUE(WaitUntil(
        [&] {
          if (!Allowed(i, request)) return false;
          served = absl::Now();
          return true;
        },
        absl::Seconds(5), "the grant served by another replica"));
    EXPECT_LT(served - granted, absl::Seconds(1))
        << "replica " << replicas_[i]->name << " served revision " << revision
        << " after " << absl::FormatDuration(served - granted);
  }
}

TEST_F(ReplicasTest, MinStoreRevisionServesAGrantAtOnceEverywhere) {
  v1::CheckRequest request = ReadCustomer("fresh-probe");
  const int64_t revision = GrantSupportAgent(0, "fresh-probe");
  request.set_min_store_revision(revision);
  // No retry: the first answer of every replica must already see it.
  for (int i = 0; i < kReplicas; ++i) EXPECT_TRUE(Allowed(i, request)) << i;

  v1::BatchCheckRequest batch;
  *batch.add_items() = ReadCustomer("fresh-probe");
  batch.set_min_store_revision(revision);
  v1::BatchCheckResponse answers;
  grpc::Status status = replicas_[2]->authz->BatchCheck(
      Context(*client_key_).get(), batch, &answers);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.items_size(), 1);
  EXPECT_EQ(answers.items(0).effect(), v1::ALLOW);
}

TEST_F(ReplicasTest, MinStoreRevisionAheadOfTheStoreIsUnavailable) {
  v1::CheckRequest request = ReadCustomer("fresh-probe");
  request.set_min_store_revision(1'000'000);
  v1::CheckResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = replicas_[1]->authz->Check(Context(*client_key_).get(),
                                                   request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              HasSubstr("is behind the requested 1000000"));
  // It waited (--min-revision-wait 500ms), but no longer than that bound.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(450));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  request.set_min_store_revision(-1);
  status = replicas_[1]->authz->Check(Context(*client_key_).get(), request,
                                      &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("min_store_revision"));

  // stewardctl passes it through.
  CommandResult cli = RunCommand(
      {STEWARDCTL_PATH, "--server", replicas_[2]->process.address(),
       "--api-key-file", replicas_[0]->data + "/dev-client.key", "check",
       "--min-revision", "1000000", "fresh-probe", "read", "customer/c1"});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_THAT(cli.err, HasSubstr("is behind the requested 1000000"));
}

TEST_F(ReplicasTest, RevokedKeyAndDisabledPrincipalReachEveryReplica) {
  v1::CreateApiKeyRequest create;
  create.set_name("replicated-client");
  create.set_role(v1::CLIENT);
  v1::CreateApiKeyResponse created;
  grpc::Status status = replicas_[1]->admin->CreateApiKey(
      Context(*admin_key_).get(), create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string key = created.secret();
  const v1::CheckRequest request = ReadCustomer("propagation-probe");
  auto answers = [&](int replica) {
    v1::CheckResponse response;
    return replicas_[replica]
        ->authz->Check(Context(key).get(), request, &response)
        .error_code();
  };
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitUntil([&] { return answers(i) == grpc::StatusCode::OK; },
                          absl::Seconds(5), "the new key works"))
        << i;
  }
  v1::RevokeApiKeyRequest revoke;
  revoke.set_name("replicated-client");
  v1::RevokeApiKeyResponse revoked;
  status = replicas_[1]->admin->RevokeApiKey(Context(*admin_key_).get(), revoke,
                                             &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(answers(1), grpc::StatusCode::UNAUTHENTICATED);
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] { return answers(i) == grpc::StatusCode::UNAUTHENTICATED; },
        absl::Seconds(1), "the revoked key refused"))
        << i;
  }

  v1::SetPrincipalDisabledRequest disable;
  disable.set_id("propagation-probe");
  disable.set_disabled(true);
  v1::SetPrincipalDisabledResponse disabled;
  status = replicas_[2]->admin->SetPrincipalDisabled(Context(*admin_key_).get(),
                                                     disable, &disabled);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitUntil([&] { return !Allowed(i, request); },
                          absl::Seconds(1), "the disabled principal denied"))
        << i;
  }
}

// Last: stops PostgreSQL under the replicas and starts it again.
TEST_F(ReplicasTest, PostgresqlOutageRefusesChecksAndAdminCallsAndRecovers) {
  for (int i = 0; i < kReplicas; ++i) EXPECT_EQ(Health(i), "SERVING\n") << i;
  ASSERT_THAT(cluster_->Pause(), IsOk());

  v1::GrantRequest grant;
  grant.set_principal_id("outage-probe");
  grant.set_role("support_agent");
  v1::GrantResponse granted;
  auto context = Context(*admin_key_);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  grpc::Status status =
      replicas_[0]->admin->Grant(context.get(), grant, &granted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  // With the trail in PostgreSQL and sync durability, a decision that
  // cannot be recorded is not answered.
  {
    v1::CheckResponse response;
    auto check_context = Context(*client_key_);
    check_context->set_deadline(std::chrono::system_clock::now() +
                                std::chrono::seconds(10));
    grpc::Status check = replicas_[1]->authz->Check(
        check_context.get(), ReadCustomer("fresh-probe"), &response);
    EXPECT_EQ(check.error_code(), grpc::StatusCode::UNAVAILABLE)
        << check.error_message();
    EXPECT_THAT(check.error_message(), HasSubstr("audit"));
  }
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitUntil([&] { return Health(i) == "NOT_SERVING\n"; },
                          absl::Seconds(6), "health NOT_SERVING"))
        << i;
  }
  EXPECT_THAT(replicas_[1]->process.Log(),
              HasSubstr("PostgreSQL store unreachable"));

  ASSERT_THAT(cluster_->Resume(), IsOk());
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitUntil([&] { return Health(i) == "SERVING\n"; },
                          absl::Seconds(10), "health SERVING again"))
        << i;
  }
  // Decisions are answered (and recorded) again without a restart, and
  // admin calls work again, their changes reaching the others.
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          v1::CheckResponse response;
          return replicas_[i]
              ->authz
              ->Check(Context(*client_key_).get(), ReadCustomer("fresh-probe"),
                      &response)
              .ok();
        },
        absl::Seconds(10), "decisions answered again"))
        << i;
  }
  const int64_t revision = GrantSupportAgent(0, "outage-probe");
  ASSERT_GT(revision, 0);
  v1::CheckRequest request = ReadCustomer("outage-probe");
  request.set_min_store_revision(revision);
  for (int i = 0; i < kReplicas; ++i) EXPECT_TRUE(Allowed(i, request)) << i;
  // libpq's connection errors name host and port, never the password.
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_THAT(replicas_[i]->process.Log(), Not(HasSubstr(kPassword)));
  }
}

}  // namespace
}  // namespace steward::testing
