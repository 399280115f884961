// The second-factor lockout across real stewardd replicas: two non-dev
// replicas (`stewardd init --store postgresql://...` once, then `serve
// --store ... --replica-name a|b`) on one PostgreSQL database
// (tests/testing/postgres_cluster.h) share one failure count per admin key,
// so ten wrong TOTP codes spread over both lock the key on both, and the
// lockout ends for both. With the count in each process's memory, five
// failures per replica locked neither. While PostgreSQL is down an admin
// mutation is refused UNAVAILABLE (never let through uncounted). The tests
// share the replicas and run in file order; the outage test comes last.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/auth/totp.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::testing::HasSubstr;

constexpr int kReplicas = 2;
// Short, so that the test sees the lockout end; the window stays at its
// one-minute default, far longer than the test's ten failures take.
constexpr char kLockout[] = "3s";

struct Replica {
  std::string name;
  std::string data;
  ServerProcess process;
  std::unique_ptr<AdminService::Stub> admin;
};

class ReplicaLockoutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
    ASSERT_THAT(cluster.status(), IsOk());
    cluster_ = *cluster;
    absl::StatusOr<std::string> url = cluster_->CreateDatabase();
    ASSERT_THAT(url.status(), IsOk());
    dir_ = new TempDir();
    const std::string key_file = dir_->path() + "/admin.key";
    const std::string totp_file = dir_->path() + "/admin.totp";
    CommandResult init = RunCommand(
        {STEWARDD_PATH, "init", "--data-dir", dir_->path() + "/a", "--store",
         *url, "--policy", std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
         "--admin-key-out", key_file, "--totp-secret-out", totp_file});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    admin_key_ =
        new std::string(absl::StripAsciiWhitespace(ReadFile(key_file)));
    const std::string uri = ReadFile(totp_file);
    const size_t start = uri.find("secret=");
    ASSERT_NE(start, std::string::npos) << uri;
    absl::StatusOr<std::string> secret = server::DecodeBase32(
        uri.substr(start + 7, uri.find('&', start) - start - 7));
    ASSERT_THAT(secret.status(), IsOk());
    secret_ = new std::string(*secret);
    for (int i = 0; i < kReplicas; ++i) {
      auto replica = std::make_unique<Replica>();
      replica->name = std::string(1, static_cast<char>('a' + i));
      replica->data = absl::StrCat(dir_->path(), "/", replica->name);
      ASSERT_THAT(
          replica->process.Start(STEWARDD_PATH, replica->data,
                                 {"--store", *url, "--replica-name",
                                  replica->name, "--store-grace-period", "2s",
                                  "--second-factor-lockout", kLockout}),
          IsOk());
      replica->admin = AdminService::NewStub(grpc::CreateChannel(
          replica->process.address(), grpc::InsecureChannelCredentials()));
      replicas_[i] = replica.release();
    }
  }

  static void TearDownTestSuite() {
    for (Replica*& replica : replicas_) {
      delete replica;
      replica = nullptr;
    }
    delete dir_;
    delete admin_key_;
    delete secret_;
  }

  // An admin mutation through `replica` with TOTP code `otp`.
  static grpc::Status Upsert(int replica, const std::string& otp,
                             const std::string& id) {
    auto context = Context(*admin_key_);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(10));
    context->AddMetadata("x-steward-otp", otp);
    v1::UpsertPrincipalRequest request;
    request.mutable_principal()->set_id(id);
    v1::UpsertPrincipalResponse response;
    return replicas_[replica]->admin->UpsertPrincipal(context.get(), request,
                                                      &response);
  }

  static std::string RightCode() {
    return server::TotpCode(*secret_, server::TotpStep(absl::Now()));
  }

  // A code that is not the current one (nor, but for a 1 in 10^6 chance,
  // a neighbouring step's).
  static std::string WrongCode() {
    std::string wrong = RightCode();
    wrong[5] = wrong[5] == '9' ? '0' : wrong[5] + 1;
    return wrong;
  }

  static PostgresCluster* cluster_;
  static TempDir* dir_;
  static Replica* replicas_[kReplicas];
  static std::string* admin_key_;
  static std::string* secret_;
};

PostgresCluster* ReplicaLockoutTest::cluster_ = nullptr;
TempDir* ReplicaLockoutTest::dir_ = nullptr;
Replica* ReplicaLockoutTest::replicas_[kReplicas] = {};
std::string* ReplicaLockoutTest::admin_key_ = nullptr;
std::string* ReplicaLockoutTest::secret_ = nullptr;

TEST_F(ReplicaLockoutTest, TenFailuresAcrossReplicasLockTheKeyOnEveryReplica) {
  // Five failures on each replica: below the limit on either alone.
  for (int i = 0; i < 10; ++i) {
    grpc::Status status = Upsert(i % kReplicas, WrongCode(), "u1");
    ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << "attempt " << i + 1 << " on replica " << i % kReplicas << ": "
        << status.error_message();
  }
  // The 11th attempt, with the right code, is refused on either replica.
  for (int i = 0; i < kReplicas; ++i) {
    grpc::Status locked = Upsert(i, RightCode(), "u1");
    EXPECT_EQ(locked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "replica " << i << ": " << locked.error_message();
    EXPECT_THAT(locked.error_message(), HasSubstr("too many failed"));
  }
  // Once the lockout has passed, the right code works again. Attempts
  // while it lasts are refused without being counted or burning the code.
  grpc::Status last;
  EXPECT_TRUE(WaitUntil(
      [&] {
        last = Upsert(1, RightCode(), "u1");
        return last.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED;
      },
      absl::Seconds(30), "the lockout to end"));
  EXPECT_TRUE(last.ok()) << last.error_code() << ": " << last.error_message();
}

TEST_F(ReplicaLockoutTest, PostgresqlOutageRefusesSecondFactorsUnavailable) {
  ASSERT_THAT(cluster_->Pause(), IsOk());
  // Neither a wrong code (which could not be counted) nor a right one
  // (whose lockout could not be read) gets through.
  grpc::Status wrong = Upsert(0, WrongCode(), "u2");
  grpc::Status right = Upsert(1, RightCode(), "u2");
  ASSERT_THAT(cluster_->Resume(), IsOk());
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAVAILABLE)
      << wrong.error_message();
  EXPECT_THAT(wrong.error_message(), HasSubstr("second factor cannot be"));
  EXPECT_EQ(right.error_code(), grpc::StatusCode::UNAVAILABLE)
      << right.error_message();
  EXPECT_THAT(replicas_[0]->process.Log(),
              HasSubstr("lockout state unavailable"));
}

}  // namespace
}  // namespace steward::testing
