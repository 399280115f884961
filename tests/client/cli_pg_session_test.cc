// End to end on a PostgreSQL trail: a real `stewardd serve --dev --store
// postgresql://…` (tests/testing/postgres_cluster.h) and the real
// stewardctl. The auditor's subject access and access reports answer from
// the trail in PostgreSQL (every replica's chain), as they do from a
// SQLite trail (cli_auditor_session_test.cc); and --audit-retention drops
// the expired monthly partitions, leaving every chain verifying.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/postgresql/pg_trail_writer.h"
#include "server/audit/postgresql/pg_verify.h"
#include "server/store/postgresql/connection.h"
#include "tests/client/cli_session.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/wait.h"

namespace steward::client {
namespace {

using ::steward::testing::CommandResult;
using ::steward::testing::PostgresCluster;
using ::steward::testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class PgAuditorSessionTest : public CliSessionTest {
 protected:
  void SetUp() override {
    absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    ASSERT_NO_FATAL_FAILURE(Start({}));
    for (std::vector<std::string> args :
         {std::vector<std::string>{"principal", "add", "u7", "--attr",
                                   "region=eu"},
          std::vector<std::string>{"principal", "add", "u8", "--attr",
                                   "region=us"},
          std::vector<std::string>{"grant", "u7", "support_agent", "--scope",
                                   "acme", "--expires", "10d"},
          std::vector<std::string>{"grant", "u8", "finance_approver"}}) {
      CommandResult r = Ctl(As::kAdmin, args);
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
    }
    // Two allows and one deny about customer c1, one allow about a refund.
    Check(0, {"u7", "read", "customer/c1", "--scope", "acme", "--purpose",
              "support_case", "--fields", "phone"});
    Check(0, {"u7", "read", "customer/c1", "--scope", "acme/eu"});
    Check(3, {"u7", "update", "customer/c1", "--scope", "acme"});
    Check(0, {"u8", "approve", "refund/r2", "--attr", "created_by=u7", "--attr",
              "amount=50"});
  }

  void Start(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {
        "--policy", Testdata("shop.policy"), "--store", url_, "--replica-name",
        "r1",       "--audit-durability",    "sync"};
    args.insert(args.end(), extra.begin(), extra.end());
    StartServer(args);
  }

  std::string url_;
};

TEST_F(PgAuditorSessionTest, SubjectAccessAndReportsAnswerFromPostgresql) {
  EXPECT_THAT(server_.Log(), HasSubstr("(PostgreSQL, chain \"r1\""));
  // The reports' aggregate is built at start, in the background.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return server_.Log().find("usage index for reports built") !=
               std::string::npos;
      },
      absl::Seconds(10), "the usage aggregate to be built"))
      << server_.Log();
  CommandResult r =
      Ctl(As::kAuditor, {"report", "subject-access", "customer/c1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 4u) << r.out;  // a header and three decisions
  EXPECT_THAT(r.out, HasSubstr("support_case"));
  EXPECT_THAT(r.out, HasSubstr("DENY"));

  r = Ctl(As::kAuditor,
          {"report", "who-can", "read", "customer", "--scope", "acme/eu"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("u7"));
  EXPECT_THAT(r.out, HasSubstr("support_agent"));
  EXPECT_THAT(r.out, Not(HasSubstr("u8")));

  r = Ctl(As::kAuditor, {"report", "unused", "--days", "30"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("PRINCIPAL_ID"));
  // Both grants were exercised by an ALLOW.
  EXPECT_THAT(r.out, Not(HasSubstr("support_agent")));
  EXPECT_THAT(r.out, Not(HasSubstr("finance_approver")));
  // A grant nobody used is listed.
  ASSERT_EQ(Ctl(As::kAdmin, {"principal", "add", "u9"}).exit_code, 0);
  ASSERT_EQ(Ctl(As::kAdmin, {"grant", "u9", "finance_approver"}).exit_code, 0);
  r = Ctl(As::kAuditor, {"report", "unused", "--days", "30"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("u9"));

  r = Ctl(As::kAuditor, {"report", "decisions", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  nlohmann::json summary =
      nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(summary.is_discarded()) << r.out;
  EXPECT_EQ(summary["total_allow"], "3") << summary.dump();
  EXPECT_EQ(summary["total_deny"], "1") << summary.dump();
  ASSERT_EQ(summary["top_denied"].size(), 1u) << summary.dump();
  EXPECT_EQ(summary["top_denied"][0]["principal_id"], "u7");

  r = Ctl(As::kAuditor, {"report", "expiring", "--within", "14d"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("u7"));
  r = Ctl(As::kAuditor, {"report", "sod"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Ctl(As::kAuditor, {"report", "permissions", "--principal", "u7"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("acme"));
}

TEST_F(PgAuditorSessionTest, AuditRetentionDropsExpiredPartitions) {
  // Another replica's chain from a year ago, in a partition of its month.
  {
    auto c = store::postgresql::Connection::Open(url_, {});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Exec("test",
                           "SELECT steward_audit_ensure_partitions((extract("
                           "epoch FROM now() - interval '400 days') * "
                           "1000000)::bigint, 2)")
                    .ok());
    audit::PgWriterOptions options;
    options.conninfo = url_;
    options.chain = "ghost";
    auto ghost = audit::PgTrailWriter::Open(options);
    ASSERT_TRUE(ghost.ok()) << ghost.status();
    for (int i = 0; i < 3; ++i) {
      audit::AuditRecord record;
      record.time = absl::Now() - absl::Hours(24 * 395) + absl::Minutes(i);
      record.kind = audit::RecordKind::kDecision;
      record.decision_id = absl::StrCat("ghost-", i);
      record.caller = "crm";
      record.principal = "ghost-user";
      record.action = "read";
      record.resource_kind = "customer";
      record.resource_id = "c1";
      record.effect = audit::RecordEffect::kDeny;
      record.reason = "NO_MATCHING_RULE";
      ASSERT_TRUE((*ghost)->SubmitAndWait(record).ok());
    }
  }
  CommandResult r = Ctl(As::kAuditor, {"audit", "query", "--principal",
                                       "ghost-user", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ghost-2"));

  // Restarted with a 50-day retention, the job purges at start.
  server_.Stop();
  ASSERT_NO_FATAL_FAILURE(Start({"--audit-retention", "50d"}));
  WaitUntil(
      [&] {
        r = Ctl(As::kAuditor, {"audit", "query", "-o", "json"});
        return r.exit_code != 0 ||
               r.out.find("retention_purge") != std::string::npos;
      },
      absl::Seconds(30), "the retention purge record");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("retention_purge")) << server_.Log();
  EXPECT_THAT(r.out, Not(HasSubstr("ghost-")));
  EXPECT_THAT(server_.Log(), HasSubstr("partitions dropped"));
  // r1's decisions are recent and stay.
  r = Ctl(As::kAuditor, {"report", "subject-access", "customer/c1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("ghost-user")));
  EXPECT_EQ(
      std::vector<std::string>(absl::StrSplit(r.out, '\n', absl::SkipEmpty()))
          .size(),
      4u)
      << r.out;
  // Both chains verify, the ghost's from its checkpoint.
  r = Ctl(As::kAuditor, {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("ok +yes"));
  absl::StatusOr<audit::PgVerifyResult> chains = audit::VerifyPgChains(url_);
  ASSERT_TRUE(chains.ok()) << chains.status();
  EXPECT_TRUE(chains->ok) << chains->message;
  ASSERT_EQ(chains->chains.size(), 2u);
  EXPECT_EQ(chains->chains[0].chain, "ghost");
  EXPECT_EQ(chains->chains[0].result.first_seq, 4);  // all 3 purged
  EXPECT_EQ(chains->chains[0].result.records_checked, 0);
}

}  // namespace
}  // namespace steward::client
