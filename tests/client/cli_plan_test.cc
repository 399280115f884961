// `stewardctl plan`, the real binary: usage errors (exit 2), plans read
// from --plan-file printed as text and rendered as SQL, rendering failures
// (exit 1 naming what is wrong), an unreachable server, and the Python
// example of docs/query-plans.md printing exactly what the CLI prints.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace steward::client {
namespace {

using ::steward::testing::CommandResult;
using ::steward::testing::RunCommand;
using ::steward::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Testdata(const std::string& name) {
  return absl::StrCat(CLIENT_TESTDATA_DIR, "/", name);
}

CommandResult Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), STEWARDCTL_PATH);
  return RunCommand(
      args,
      {"STEWARD_SERVER=", "STEWARD_API_KEY=", "STEWARD_OTP=", "NO_COLOR=1"});
}

// The mapping for testdata/plan_sample.json.
std::vector<std::string> SampleColumns() {
  return {"--column",    "owner=owner", "--column",       "region=region",
          "--column",    "teams=teams", "--column",       "total_cents=total",
          "--column",    "name=c.name", "--column",       "locked=locked",
          "--column",    "vip=vip",     "--scope-column", "scope",
          "--id-column", "id"};
}

CommandResult RenderSample(const std::string& dialect,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "plan", "--plan-file", Testdata("plan_sample.json"), "--sql", dialect};
  for (const std::string& a : SampleColumns()) args.push_back(a);
  for (const std::string& a : extra) args.push_back(a);
  return Ctl(args);
}

TEST(PlanCommandTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::string file = Testdata("plan_sample.json");
  const std::vector<Case> cases = {
      {{"plan"}, "error: plan needs PRINCIPAL ACTION KIND"},
      {{"plan", "u1", "read"}, "error: plan needs PRINCIPAL ACTION KIND"},
      {{"plan", "u1", "read", "customer", "--plan-file", file},
       "error: --plan-file renders a saved plan"},
      {{"plan", "--plan-file", file, "--scope", "acme"},
       "error: --plan-file renders a saved plan"},
      {{"plan", "--plan-file", file, "--scope", ""},
       "error: --plan-file renders a saved plan"},
      {{"plan", "u1", "read", "customer", "--column", "owner=o"},
       "error: --column, --id-column, --scope-column and --null-unmapped "
       "describe the table for --sql"},
      {{"plan", "u1", "read", "customer", "--sql", "mysql"},
       "error: --sql: unknown SQL dialect \"mysql\" (sqlite or postgres)"},
      {{"plan", "u1", "read", "customer", "--sql", "sqlite", "--column",
        "owner"},
       "error: --column \"owner\" is not ATTRIBUTE=COLUMN"},
      {{"plan", "u1", "read", "customer", "--sql", "sqlite", "--column", "=c"},
       "error: --column \"=c\" is not ATTRIBUTE=COLUMN"},
      {{"plan", "u1", "read", "customer", "--sql", "sqlite", "--column",
        "owner=a", "--column", "owner=b"},
       "error: --column maps attribute \"owner\" twice"},
      {{"plan", "u 1", "read", "customer"}, "error: PRINCIPAL"},
      {{"plan", "u1", "read", "customer", "--context", "=x"}, "error: "},
  };
  for (const Case& c : cases) {
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args.back() << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith(c.error)) << c.args.back();
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(PlanCommandTest, PrintsASavedPlanAsText) {
  CommandResult r = Ctl({"plan", "--plan-file", Testdata("plan_sample.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("kind            CONDITIONAL\n"
                                "reason          ALLOWED_BY_RULE\n"
                                "condition       (resource.owner = \"u'1\" OR "
                                "(in_scope(resource.scope, \"acme/eu_1%\") "
                                "AND resource.region IN [\"emea\", "
                                "\"apac\"]) OR \"sales\\\\eu\" IN "
                                "resource.teams) AND resource.total_cents < "
                                "-9223372036854775808 AND resource.name >= "
                                "\"Zoë\" AND NOT (has(resource.locked) OR "
                                "resource.vip = true)\n"
                                "field email     ALWAYS_DENIED\n"
                                "field name      resource.id != \"c-1\"\n"
                                "policy_version  3\n"));
  EXPECT_EQ(r.err, "");
}

TEST(PlanCommandTest, RendersSqlite) {
  CommandResult r = RenderSample("sqlite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "(\"owner\" = 'u''1' OR ((\"scope\" = 'acme/eu_1%' OR "
            "substr(\"scope\", 1, 11) = 'acme/eu_1%/') AND \"region\" IN "
            "('emea', 'apac')) OR CASE WHEN \"teams\" IS NULL THEN NULL ELSE "
            "'sales\\eu' IN (SELECT value FROM json_each(\"teams\") WHERE "
            "type = 'text') END) AND \"total\" < (-9223372036854775807 - 1) "
            "AND \"c\".\"name\" >= 'Zoë' AND NOT (\"locked\" IS NOT NULL OR "
            "\"vip\" = 1)\n");
}

TEST(PlanCommandTest, RendersPostgres) {
  CommandResult r = RenderSample("postgres");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "(\"owner\" = 'u''1' OR ((\"scope\" = 'acme/eu_1%' OR "
            "starts_with(\"scope\", 'acme/eu_1%/')) AND \"region\" IN "
            "('emea', 'apac')) OR CASE WHEN \"teams\" IS NULL THEN NULL ELSE "
            "E'sales\\\\eu' = ANY(\"teams\") END) AND \"total\" < "
            "(-9223372036854775807 - 1) AND \"c\".\"name\" COLLATE \"C\" >= "
            "'Zoë' AND NOT (\"locked\" IS NOT NULL OR \"vip\" = TRUE)\n");
}

TEST(PlanCommandTest, JsonCarriesFieldConditionsAndThePlan) {
  CommandResult r = RenderSample("sqlite");
  std::vector<std::string> args = {
      "-o",    "json",  "plan", "--plan-file", Testdata("plan_sample.json"),
      "--sql", "sqlite"};
  for (const std::string& a : SampleColumns()) args.push_back(a);
  CommandResult json = Ctl(args);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"field\": \"email\",\n      \"where\": "
                                  "\"0\""));
  EXPECT_THAT(json.out, HasSubstr("\"field\": \"name\",\n      \"where\": "
                                  "\"\\\"id\\\" <> 'c-1'\""));
  EXPECT_THAT(json.out, HasSubstr("\"plan_id\": \"p-1\""));
}

TEST(PlanCommandTest, RenderingFailuresExitOneNamingTheCause) {
  // No column for resource.vip.
  CommandResult r =
      Ctl({"plan", "--plan-file", Testdata("plan_sample.json"), "--sql",
           "sqlite", "--column", "owner=owner", "--scope-column", "scope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: condition.operation.operands[0]."));
  EXPECT_THAT(r.err, HasSubstr("resource.region but attribute \"region\" has "
                               "no column"));
  EXPECT_EQ(r.out, "");
  // --null-unmapped: the table stores none of them.
  r = Ctl({"plan", "--plan-file", Testdata("plan_sample.json"), "--sql",
           "postgres", "--null-unmapped", "--scope-column", "scope",
           "--id-column", "id"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("CAST(NULL AS text) = 'u''1'"));
}

TEST(PlanCommandTest, BadPlanFilesAreFailures) {
  TempDir dir;
  CommandResult r = Ctl({"plan", "--plan-file", dir.path() + "/missing.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: cannot read "));
  const std::string bad = dir.path() + "/bad.json";
  std::ofstream(bad) << "{\"kind\": \"CONDITIONAL\", \"colour\": 1}";
  r = Ctl({"plan", "--plan-file", bad, "--sql", "sqlite"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("error: ", bad,
                                             ": not a PlanResourcesResponse")));
  const std::string empty = dir.path() + "/empty-condition.json";
  std::ofstream(empty) << "{\"kind\": \"CONDITIONAL\"}";
  r = Ctl({"plan", "--plan-file", empty, "--sql", "sqlite"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: condition: a CONDITIONAL plan has no condition\n");
  const std::string denied = dir.path() + "/denied.json";
  std::ofstream(denied) << "{\"kind\": \"ALWAYS_DENIED\", \"reason\": "
                           "\"NO_MATCHING_RULE\"}";
  r = Ctl({"plan", "--plan-file", denied, "--sql", "postgres"});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // a denied plan is an answer
  EXPECT_EQ(r.out, "FALSE\n");
}

TEST(PlanCommandTest, UnreachableServerIsAFailure) {
  CommandResult r = Ctl({"--server", "127.0.0.1:1", "plan", "u1", "read",
                         "customer", "--sql", "sqlite", "--column", "owner=o"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE: "));
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
}

// docs/examples/plan_to_sql.py, the doc's stdlib-only renderer, prints
// what the C++ renderer prints, for both dialects and both JSON spellings
// (proto names in plan_sample.json, lowerCamelCase in plan_edge.json).
TEST(PlanCommandTest, PythonExampleMatchesTheCli) {
  if (std::string(PYTHON3_PATH).empty()) GTEST_SKIP() << "no python3";
  struct Case {
    std::string file;
    std::vector<std::string> columns;
  };
  const std::vector<Case> cases = {
      {"plan_sample.json", SampleColumns()},
      {"plan_edge.json",
       {"--column", "owner=owner", "--column", "teams=teams", "--column",
        "total=total", "--column", "vip=vip", "--scope-column", "scope",
        "--id-column", "id"}},
  };
  for (const Case& c : cases) {
    for (const std::string dialect : {"sqlite", "postgres"}) {
      std::vector<std::string> cli = {"plan", "--plan-file", Testdata(c.file),
                                      "--sql", dialect};
      std::vector<std::string> py = {
          PYTHON3_PATH,
          absl::StrCat(STEWARD_SOURCE_DIR, "/docs/examples/plan_to_sql.py"),
          Testdata(c.file), "--dialect", dialect};
      for (const std::string& a : c.columns) {
        cli.push_back(a);
        py.push_back(a);
      }
      CommandResult expected = Ctl(cli);
      CommandResult actual = RunCommand(py);
      ASSERT_EQ(expected.exit_code, 0) << expected.err;
      EXPECT_EQ(actual.exit_code, 0) << actual.err;
      EXPECT_EQ(actual.out, expected.out) << c.file << " " << dialect;
    }
  }
}

}  // namespace
}  // namespace steward::client
