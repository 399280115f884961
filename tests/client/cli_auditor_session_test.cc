// End to end: an auditor's session through the real stewardctl against a
// real stewardd (--dev --policy): decisions made by a client key are
// queried, exported as JSON Lines and RFC 4180 CSV, the chain verified, and
// the access reports read; a client key cannot read the trail.

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_session.h"
#include "tests/testing/wait.h"

namespace steward::client {
namespace {

using ::steward::testing::CommandResult;
using ::steward::testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class AuditorSessionTest : public CliSessionTest {
 protected:
  void SetUp() override {
    StartServer({"--policy", Testdata("shop.policy")});
    if (HasFatalFailure()) return;
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
              "support_case", "--fields", "phone", "--justification",
              "case, \"991\""});
    Check(0, {"u7", "read", "customer/c1", "--scope", "acme/eu"});
    Check(3, {"u7", "update", "customer/c1", "--scope", "acme"});
    Check(0, {"u8", "approve", "refund/r2", "--attr", "created_by=u7", "--attr",
              "amount=50"});
  }
};

TEST_F(AuditorSessionTest, QueryFiltersDecisions) {
  CommandResult r = Ctl(As::kAuditor, {"audit", "query", "--principal", "u7",
                                       "--record-kind", "decision"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("SEQ"));
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 4u) << r.out;  // header + 3 decisions of u7
  EXPECT_THAT(r.out, HasSubstr("customer/c1"));
  EXPECT_THAT(r.out, Not(HasSubstr("refund")));

  r = Ctl(As::kAuditor,
          {"audit", "query", "--effect", "deny", "--kind", "customer"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[1], HasSubstr("update"));
  EXPECT_THAT(lines[1], HasSubstr("DENY"));

  r = Ctl(As::kAuditor,
          {"audit", "query", "--record-kind", "decision", "--limit", "1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(r.err, HasSubstr("raise --limit"));

  r = Ctl(As::kAuditor, {"-o", "json", "audit", "query", "--principal", "u8",
                         "--record-kind", "decision", "--since", "1h"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  nlohmann::json json = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << r.out;
  ASSERT_EQ(json["records"].size(), 1u) << r.out;
  EXPECT_EQ(json["records"][0]["rule_id"], "four-eyes");
  EXPECT_EQ(json["records"][0]["effect"], "ALLOW");
}

TEST_F(AuditorSessionTest, ExportJsonLinesHasOneRecordPerLine) {
  CommandResult r = Ctl(As::kAuditor, {"audit", "export", "--format", "jsonl",
                                       "--record-kind", "decision"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // Not a terminal: no progress output.
  EXPECT_EQ(r.err, "");
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << r.out;
  for (const std::string& line : lines) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(record.is_discarded()) << line;
    EXPECT_EQ(record["kind"], "DECISION");
    EXPECT_FALSE(record["decision_id"].get<std::string>().empty());
    EXPECT_FALSE(record["hash"].get<std::string>().empty());
  }
}

TEST_F(AuditorSessionTest, ExportCsvQuotesPerRfc4180) {
  CommandResult r =
      Ctl(As::kAuditor, {"audit", "export", "--format", "csv", "--principal",
                         "u7", "--purpose", "support_case"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("seq,time,kind,decision_id,caller,"
                                "principal_id,action,resource_kind,"));
  std::vector<std::string> rows =
      absl::StrSplit(r.out, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_THAT(rows[1], HasSubstr(",u7,read,customer,c1,acme,ALLOW,"));
  // The justification holds a comma and quotes.
  EXPECT_THAT(rows[1], HasSubstr(",\"case, \"\"991\"\"\","));
}

TEST_F(AuditorSessionTest, VerifyChainIsIntact) {
  CommandResult r = Ctl(As::kAuditor, {"audit", "verify"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("ok               yes\n"));
  EXPECT_THAT(r.out, HasSubstr("records_checked"));
}

TEST_F(AuditorSessionTest, VerifyNamesTheFirstTamperedRecord) {
  CommandResult r =
      Ctl(As::kAuditor, {"-o", "json", "audit", "query", "--effect", "deny",
                         "--record-kind", "decision"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  nlohmann::json json = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << r.out;
  ASSERT_EQ(json["records"].size(), 1u) << r.out;
  // int64 fields are strings in proto3 JSON.
  const std::string seq = json["records"][0]["seq"].get<std::string>();

  // Rewrite history behind the server's back: the denied update becomes an
  // allow.
  // SIGTERM flushes the audit queue before the edit below.
  ASSERT_EQ(server_.Stop(), 0) << server_.Log();
  CommandResult edit = steward::testing::RunCommand(
      {"/usr/bin/sqlite3", data_dir_ + "/steward.db",
       "UPDATE audit_log SET effect = 'ALLOW' WHERE seq = " + seq + ";"});
  ASSERT_EQ(edit.exit_code, 0) << Describe(edit);
  absl::Status started = server_.Start(STEWARDD_PATH, data_dir_, server_args_);
  ASSERT_TRUE(started.ok()) << started;

  r = Ctl(As::kAuditor, {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("ok               no\n"));
  EXPECT_THAT(r.out, HasSubstr("first_bad_seq    " + seq + "\n"));
  EXPECT_THAT(r.err, StartsWith("error: audit chain broken at seq " + seq));
}

TEST_F(AuditorSessionTest, ClientKeyCannotReadTheTrail) {
  CommandResult r = Ctl(As::kClient, {"audit", "query"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED: "));
}

TEST_F(AuditorSessionTest, SubjectAccessShowsWhoWhyAndOutcome) {
  CommandResult r =
      Ctl(As::kAuditor, {"report", "subject-access", "customer/c1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("support_case"));
  EXPECT_THAT(r.out, HasSubstr("case, \"991\""));
  EXPECT_THAT(r.out, HasSubstr("DENY"));
}

TEST_F(AuditorSessionTest, WhoCanAndPermissions) {
  CommandResult r = Ctl(As::kAuditor, {"report", "who-can", "read", "customer",
                                       "--scope", "acme/eu"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("u7"));
  EXPECT_THAT(r.out, HasSubstr("support_agent"));
  EXPECT_THAT(r.out, Not(HasSubstr("u8")));

  r = Ctl(As::kAuditor, {"report", "permissions", "--role", "account_manager"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("sales_rep"));  // inherited
  EXPECT_THAT(r.out, HasSubstr("update"));

  r = Ctl(As::kAuditor, {"report", "permissions", "--principal", "u7"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("phone"));
  EXPECT_THAT(r.out, HasSubstr("acme"));
}

TEST_F(AuditorSessionTest, UnusedExpiringAndSeparationReports) {
  CommandResult r =
      Ctl(As::kAuditor, {"report", "expiring", "--within", "14d"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("u7"));  // expires in 10 days

  r = Ctl(As::kAuditor, {"report", "unused", "--days", "30"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("PRINCIPAL_ID"));
  // Both grants were exercised by an ALLOW.
  EXPECT_THAT(r.out, Not(HasSubstr("support_agent")));

  r = Ctl(As::kAuditor, {"report", "sod"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("PRINCIPAL"));
}

TEST_F(AuditorSessionTest, HtmlAccessReportIsSelfContained) {
  const std::string html_path = dir_.path() + "/access.html";
  CommandResult r =
      Ctl(As::kAuditor, {"report", "access", "--html", html_path});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("wrote " + html_path));
  std::ifstream in(html_path);
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_THAT(html.str(), StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(html.str(), HasSubstr("support_agent"));
  EXPECT_THAT(html.str(), HasSubstr("<td>u7</td>"));  // a denied principal
  EXPECT_THAT(html.str(), Not(HasSubstr("http")));
}

// `report decisions`: the server's DecisionSummary as JSON and as tables.
TEST_F(AuditorSessionTest, DecisionsPerDayAndTopDenied) {
  // 3 allows and u7's one deny; the trail may lag the replies a little.
  nlohmann::json summary;
  CommandResult json_run;
  WaitUntil(
      [&] {
        json_run = Ctl(As::kAuditor, {"report", "decisions", "-o", "json"});
        if (json_run.exit_code != 0) return true;
        summary = nlohmann::json::parse(json_run.out, nullptr,
                                        /*allow_exceptions=*/false);
        return summary.is_discarded() ||
               (summary["total_allow"] == "3" && summary["total_deny"] == "1");
      },
      absl::Seconds(30), "the trail to hold the 4 decisions");
  ASSERT_EQ(json_run.exit_code, 0) << Describe(json_run);
  ASSERT_FALSE(summary.is_discarded()) << json_run.out;
  EXPECT_EQ(summary["total_allow"], "3") << summary.dump();
  EXPECT_EQ(summary["total_deny"], "1") << summary.dump();
  EXPECT_EQ(summary["denied_principals"], "1");
  ASSERT_EQ(summary["top_denied"].size(), 1u) << summary.dump();
  EXPECT_EQ(summary["top_denied"][0]["principal_id"], "u7");
  EXPECT_EQ(summary["top_denied"][0]["denies"], "1");
  int64_t allow = 0, deny = 0;
  for (const nlohmann::json& day : summary["days"]) {
    allow += std::stoll(day["allow"].get<std::string>());
    deny += std::stoll(day["deny"].get<std::string>());
  }
  EXPECT_EQ(allow, 3);
  EXPECT_EQ(deny, 1);

  CommandResult r =
      Ctl(As::kAuditor, {"report", "decisions", "--since", "1h", "--top", "5"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("DAY"));
  EXPECT_THAT(r.out, HasSubstr("total"));
  EXPECT_THAT(r.out, HasSubstr("u7"));
  // A window in the future holds nothing.
  r = Ctl(As::kAuditor, {"report", "decisions", "--since",
                         "2999-01-01T00:00:00Z", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  nlohmann::json future =
      nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(future["total_allow"], "0") << r.out;
  EXPECT_EQ(future["days"].size(), 0u) << r.out;

  r = Ctl(As::kAuditor, {"report", "decisions", "--top", "0"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  r = Ctl(As::kClient, {"report", "decisions"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED: "));
}

}  // namespace
}  // namespace steward::client
