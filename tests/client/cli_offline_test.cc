// The real stewardctl binary run without a server: offline policy
// commands, usage errors (exit 2), help on every level, an unreachable
// server (exit 1 naming the address), completion and key-file hygiene.
#include <sys/stat.h>

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
using ::testing::Not;
using ::testing::StartsWith;

// Nothing listens on port 1: every RPC fails fast with connection refused.
constexpr char kUnreachable[] = "127.0.0.1:1";

std::string Testdata(const std::string& name) {
  return absl::StrCat(CLIENT_TESTDATA_DIR, "/", name);
}

CommandResult Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), STEWARDCTL_PATH);
  // A developer's own environment must not change what the tests see.
  return RunCommand(
      args,
      {"STEWARD_SERVER=", "STEWARD_API_KEY=", "STEWARD_OTP=", "NO_COLOR=1"});
}

TEST(PolicyValidateTest, GoodPolicyExitsZero) {
  CommandResult r = Ctl({"policy", "validate", Testdata("shop.policy")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("ok: "));
  EXPECT_THAT(r.out, HasSubstr("5 roles"));
  EXPECT_EQ(r.err, "");
}

TEST(PolicyValidateTest, ErrorsArePositionedWithCaret) {
  const std::string path = Testdata("broken.policy");
  CommandResult r = Ctl({"policy", "validate", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(path,
                                            ":8:17: error: undeclared resource "
                                            "kind 'customr'\n"
                                            "  allow read on customr\n"
                                            "                ^\n")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(path, ":12:9: error: ")));
  EXPECT_THAT(r.err, HasSubstr("\nerror: policy has 2 errors\n"));
}

TEST(PolicyValidateTest, JsonListsDiagnostics) {
  CommandResult r =
      Ctl({"-o", "json", "policy", "validate", Testdata("broken.policy")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("\"ok\": false"));
  EXPECT_THAT(r.out, HasSubstr("\"line\": 8"));
  EXPECT_THAT(r.out, HasSubstr("\"column\": 17"));
}

TEST(PolicyValidateTest, SeveralFilesShareOneNamespace) {
  TempDir dir;
  const std::string decls = dir.path() + "/decls.policy";
  const std::string roles = dir.path() + "/roles.policy";
  std::ofstream(decls) << "resource doc {\n  attributes { owner: string }\n"
                          "  actions { read }\n}\n";
  std::ofstream(roles) << "role reader {\n  allow read on doc\n}\n";
  CommandResult r = Ctl({"policy", "validate", decls, roles});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Ctl({"policy", "validate", roles});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(roles + ":2:17: error:"));
}

TEST(PolicyTestTest, PassingTestsPrintSummary) {
  CommandResult r = Ctl({"policy", "test", Testdata("shop.policy")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "6 passed, 0 failed\n");
}

TEST(PolicyTestTest, FailingExpectationIsNamedAndExitsOne) {
  const std::string path = Testdata("failing_tests.policy");
  CommandResult r = Ctl({"policy", "test", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, absl::StrCat(path,
                                ":14: expected allow, got deny "
                                "(NO_MATCHING_RULE)\n2 passed, 1 failed\n"));
  EXPECT_THAT(r.err, StartsWith("error: "));
}

TEST(PolicyTestTest, PolicyWithErrorsRunsNoTests) {
  CommandResult r = Ctl({"policy", "test", Testdata("broken.policy")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("tests not run"));
}

TEST(PolicyApplyTest, RefusesPolicyWithErrorsBeforeContactingServer) {
  CommandResult r = Ctl({"--server", kUnreachable, "policy", "apply",
                         Testdata("broken.policy"), "-m", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(":8:17: error:"));
  EXPECT_THAT(r.err, HasSubstr("not applied"));
  EXPECT_THAT(r.err, Not(HasSubstr("UNAVAILABLE")));
}

TEST(PolicyApplyTest, RefusesPolicyWithFailingTests) {
  CommandResult r = Ctl({"--server", kUnreachable, "policy", "apply",
                         Testdata("failing_tests.policy"), "-m", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(":14: expected allow, got deny"));
  EXPECT_THAT(r.err, HasSubstr("policy tests failed"));
}

struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string message;  // expected in the `error:` line
};

class UsageErrorTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageErrorTest, ExitsTwoWithOneErrorLine) {
  std::vector<std::string> args = {"--server", kUnreachable};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  CommandResult r = Ctl(args);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, StartsWith("error: "));
  EXPECT_THAT(r.err, HasSubstr(GetParam().message));
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Commands, UsageErrorTest,
    ::testing::Values(
        UsageCase{"NoCommand", {}, "subcommand is required"},
        UsageCase{"UnknownCommand", {"frobnicate"}, "frobnicate"},
        UsageCase{"ValidateWithoutFiles", {"policy", "validate"}, "FILE"},
        UsageCase{"ValidateMissingFile",
                  {"policy", "validate", "/nonexistent.policy"},
                  "/nonexistent.policy"},
        UsageCase{"ApplyWithoutMessage",
                  {"policy", "apply", CLIENT_TESTDATA_DIR "/shop.policy"},
                  "--message"},
        UsageCase{"ShowBadVersion", {"policy", "show", "latest"}, "latest"},
        UsageCase{"DiffOneArgument", {"policy", "diff", "1"}, "policy diff"},
        UsageCase{"GrantWithoutRole", {"grant", "u1"}, "ROLE"},
        UsageCase{"GrantBadExpiry",
                  {"grant", "u1", "viewer", "--expires", "3x"},
                  "--expires: invalid time \"3x\""},
        UsageCase{"GrantPastExpiry",
                  {"grant", "u1", "viewer", "--expires", "2001-01-01"},
                  "not in the future"},
        UsageCase{"CheckBadAttr",
                  {"check", "u1", "read", "customer", "--attr", "novalue"},
                  "KEY=VALUE"},
        UsageCase{"CheckBadResource",
                  {"check", "u1", "read", "/c1"},
                  "invalid resource"},
        UsageCase{"PrincipalAddBadAttr",
                  {"principal", "add", "u1", "--attr", "=1"},
                  "KEY=VALUE"},
        UsageCase{"BadOutputFormat", {"-o", "yaml", "health"}, "yaml"},
        UsageCase{"QueryBadSince",
                  {"audit", "query", "--since", "lately"},
                  "--since: invalid time"},
        UsageCase{
            "QueryBadEffect", {"audit", "query", "--effect", "maybe"}, "maybe"},
        UsageCase{"ExportWithoutFormat", {"audit", "export"}, "--format"},
        UsageCase{
            "ExportBadFormat", {"audit", "export", "--format", "xml"}, "xml"},
        UsageCase{"SubjectAccessWithoutId",
                  {"report", "subject-access", "customer"},
                  "KIND/ID"},
        UsageCase{"PermissionsNeitherSubject",
                  {"report", "permissions"},
                  "exactly one of --principal or --role"},
        UsageCase{"PermissionsBothSubjects",
                  {"report", "permissions", "--role", "a", "--principal", "b"},
                  "excludes"},
        UsageCase{"ExpiringBadWindow",
                  {"report", "expiring", "--within", "soon"},
                  "--within: invalid duration"},
        UsageCase{"KeyCreateBadRole",
                  {"key", "create", "k1", "--role", "root"},
                  "root"},
        UsageCase{"CompletionUnknownShell", {"completion", "tcsh"}, "tcsh"}),
    [](const ::testing::TestParamInfo<UsageCase>& info) {
      return info.param.name;
    });

class HelpTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HelpTest, EveryLevelHasHelpWithExample) {
  std::vector<std::string> args;
  std::string path = GetParam();
  for (size_t start = 0; start < path.size();) {
    size_t end = path.find(' ', start);
    if (end == std::string::npos) end = path.size();
    args.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  args.push_back("--help");
  CommandResult r = Ctl(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("example: stewardctl"));
  EXPECT_THAT(r.out, HasSubstr("Usage:"));
}

INSTANTIATE_TEST_SUITE_P(
    Commands, HelpTest,
    ::testing::Values("health", "policy", "policy validate", "policy test",
                      "policy apply", "policy list", "policy show",
                      "policy activate", "policy diff", "principal",
                      "principal add", "principal get", "principal list",
                      "principal disable", "principal enable",
                      "principal delete", "grant", "revoke", "bindings",
                      "check", "audit", "audit query", "audit verify",
                      "audit export", "report", "report subject-access",
                      "report who-can", "report permissions", "report unused",
                      "report sod", "report expiring", "report access", "key",
                      "key create", "key list", "key revoke", "completion"),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name;
      for (char c : info.param) {
        if (std::isalnum(static_cast<unsigned char>(c))) name.push_back(c);
      }
      return name;
    });

TEST(HelpTest, TopLevelHelp) {
  CommandResult r = Ctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("example: stewardctl"));
  EXPECT_THAT(r.out, HasSubstr("--api-key-file"));
}

TEST(UnreachableServerTest, NamesAddressAndSuggestsServerFlag) {
  CommandResult r = Ctl({"--server", kUnreachable, "principal", "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE: "));
  EXPECT_THAT(r.err, HasSubstr(kUnreachable));
  EXPECT_THAT(r.err, HasSubstr("--server"));
  // One line.
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1);
}

TEST(UnreachableServerTest, CheckIsAFailureNotADeny) {
  CommandResult r = Ctl({"--server", kUnreachable, "check", "u1", "read",
                         "customer/c1", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE: "));
}

TEST(UnreachableServerTest, GlobalOptionsAfterTheSubcommand) {
  CommandResult r = Ctl({"bindings", "--server", kUnreachable});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(kUnreachable));
}

TEST(KeyFileTest, WarnsAboutGroupReadableKeyAndNeverEchoesIt) {
  TempDir dir;
  const std::string key_file = dir.path() + "/admin.key";
  const std::string secret = "stw_secret_value_never_shown_1234";
  std::ofstream(key_file) << secret << "\n";
  ASSERT_EQ(::chmod(key_file.c_str(), 0644), 0);
  CommandResult r = Ctl({"--server", kUnreachable, "--api-key-file", key_file,
                         "principal", "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("warning: API key file " + key_file));
  EXPECT_THAT(r.err + r.out, Not(HasSubstr(secret)));
}

TEST(KeyFileTest, MissingKeyFileIsAnError) {
  CommandResult r = Ctl({"--server", kUnreachable, "--api-key-file",
                         "/nonexistent/key", "principal", "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: cannot read API key file"));
}

TEST(CompletionTest, BashScriptIsValidAndCoversCommands) {
  CommandResult r = Ctl({"completion", "bash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("complete -F _stewardctl stewardctl"));
  EXPECT_THAT(r.out, HasSubstr("\" policy\") commands=\"validate test apply "
                               "list show activate diff\""));
  EXPECT_THAT(r.out, HasSubstr("--fail-on-new-access"));
  TempDir dir;
  const std::string script = dir.path() + "/stewardctl.bash";
  std::ofstream(script) << r.out;
  CommandResult syntax = RunCommand({"/bin/bash", "-n", script});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;
  // Completing `stewardctl policy v` offers `validate`.
  CommandResult completed = RunCommand(
      {"/bin/bash", "-c",
       absl::StrCat("source ", script,
                    "; COMP_WORDS=(stewardctl policy v); COMP_CWORD=2; "
                    "_stewardctl; echo \"${COMPREPLY[@]}\"")});
  EXPECT_EQ(completed.out, "validate\n") << completed.err;
}

}  // namespace
}  // namespace steward::client
