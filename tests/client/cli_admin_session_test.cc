// End to end: an administrator's session through the real stewardctl
// against a real stewardd (--dev): apply a policy, add principals, grant
// with scope and expiry, check allow (exit 0) and deny (exit 3), revoke,
// diff and roll back a policy version, manage API keys, and the documented
// error paths (unknown principal, bad policy, wrong key).
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_session.h"

namespace steward::client {
namespace {

using ::steward::testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The policy version number a `policy apply|activate` table prints.
int VersionOf(const std::string& out) {
  std::smatch match;
  if (!std::regex_search(out, match, std::regex(R"(^version\s+(\d+))"))) {
    return -1;
  }
  return std::stoi(match[1]);
}

class AdminSessionTest : public CliSessionTest {
 protected:
  void SetUp() override { StartServer(); }

  // Applies shop.policy and adds u7 (support, scoped, expiring) and u8
  // (finance approver). Returns the applied version.
  int ApplyAndPopulate() {
    CommandResult r =
        Ctl(As::kAdmin, {"policy", "apply", Testdata("shop.policy"), "-m",
                         "initial shop policy"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    const int version = VersionOf(r.out);
    r = Ctl(As::kAdmin, {"principal", "add", "u7", "--name", "Ana Lima",
                         "--attr", "region=eu"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    r = Ctl(As::kAdmin, {"principal", "add", "u8", "--attr", "region=\"us\""});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    r = Ctl(As::kAdmin, {"grant", "u7", "support_agent", "--scope", "acme",
                         "--expires", "30d", "--reason", "T-1"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    r = Ctl(As::kAdmin, {"grant", "u8", "finance_approver"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return version;
  }
};

TEST_F(AdminSessionTest, ApplyPrintsNewActiveVersion) {
  CommandResult r = Ctl(As::kAdmin, {"policy", "apply", Testdata("shop.policy"),
                                     "-m", "initial shop policy"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_GT(VersionOf(r.out), 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("active          yes"));
  EXPECT_THAT(r.out, HasSubstr("initial shop policy"));
  EXPECT_THAT(r.out, HasSubstr("6 passed, 0 failed"));

  r = Ctl(As::kAdmin, {"policy", "list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("VERSION"));
  EXPECT_THAT(r.out, HasSubstr("initial shop policy"));
}

TEST_F(AdminSessionTest, PrincipalsAndScopedExpiringGrants) {
  ApplyAndPopulate();
  CommandResult r = Ctl(As::kAdmin, {"principal", "get", "u7"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Ana Lima"));
  EXPECT_THAT(r.out, HasSubstr("{\"region\":\"eu\"}"));
  EXPECT_THAT(r.out, HasSubstr("support_agent"));

  // Re-adding changes what is given and keeps the rest.
  r = Ctl(As::kAdmin, {"principal", "add", "u7", "--attr", "region=us"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Ana Lima"));
  EXPECT_THAT(r.out, HasSubstr("{\"region\":\"us\"}"));
  EXPECT_THAT(r.out, HasSubstr("created         no (updated)"));

  r = Ctl(As::kAdmin, {"-o", "csv", "bindings", "--principal", "u7"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("principal_id,role,scope,expires_at,"));
  EXPECT_THAT(r.out, HasSubstr("\r\nu7,support_agent,acme,20"));
  EXPECT_THAT(r.out, HasSubstr(",T-1\r\n"));

  r = Ctl(As::kAdmin, {"principal", "list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("u7"));
  EXPECT_THAT(r.out, HasSubstr("u8"));

  r = Ctl(As::kAdmin, {"-o", "json", "principal", "list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\"display_name\": \"Ana Lima\""));
}

TEST_F(AdminSessionTest, CheckAllowExitsZeroAndDenyExitsThree) {
  ApplyAndPopulate();
  CommandResult r =
      Ctl(As::kClient, {"check", "u7", "read", "customer/c1", "--scope",
                        "acme/eu", "--fields", "name"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("effect          ALLOW"));
  EXPECT_THAT(r.out, HasSubstr("ALLOWED_BY_RULE"));
  EXPECT_THAT(r.out, HasSubstr("support_agent/1"));
  EXPECT_THAT(r.out, Not(HasSubstr("\033[")));  // no colour when piped
  std::smatch id;
  EXPECT_TRUE(std::regex_search(r.out, id, std::regex(R"(decision_id\s+\S+)")))
      << r.out;

  // Outside the binding's scope: deny by default.
  r = Ctl(As::kClient,
          {"check", "u7", "read", "customer/c1", "--scope", "other"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("effect          DENY"));
  EXPECT_THAT(r.out, HasSubstr("NO_MATCHING_RULE"));
  EXPECT_EQ(r.err, "");

  // PII only with the purpose.
  r = Ctl(As::kClient, {"check", "u7", "read", "customer/c1", "--scope", "acme",
                        "--fields", "phone"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("FIELDS_DENIED"));
  r = Ctl(As::kClient, {"check", "u7", "read", "customer/c1", "--scope", "acme",
                        "--fields", "phone", "--purpose", "support_case",
                        "--justification", "case 991"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);

  // Attributes typed from KEY=VALUE: amount is an int, created_by a string.
  r = Ctl(As::kClient, {"check", "u8", "approve", "refund/r1", "--attr",
                        "created_by=u8", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  r = Ctl(As::kClient, {"check", "u8", "approve", "refund/r2", "--attr",
                        "created_by=u7", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("four-eyes"));

  r = Ctl(As::kClient, {"-o", "json", "check", "u8", "approve", "refund/r2",
                        "--attr", "created_by=u7", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\"effect\": \"ALLOW\""));
  EXPECT_THAT(r.out, HasSubstr("\"rule_id\": \"four-eyes\""));

  r = Ctl(As::kClient, {"check", "u8", "approve", "refund/r2", "--attr",
                        "created_by=u7", "--attr", "amount=50", "--explain"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\nexplanation:\n"));
  EXPECT_THAT(r.out, HasSubstr("four-eyes"));
}

TEST_F(AdminSessionTest, UnknownPrincipalIsADenyNotAnError) {
  ApplyAndPopulate();
  CommandResult r =
      Ctl(As::kClient, {"check", "nobody", "read", "customer/c1"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("UNKNOWN_PRINCIPAL"));
  r = Ctl(As::kAdmin, {"principal", "get", "nobody"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
  r = Ctl(As::kAdmin, {"grant", "nobody", "support_agent"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: "));
}

TEST_F(AdminSessionTest, RevokeDisableAndDelete) {
  ApplyAndPopulate();
  CommandResult r =
      Ctl(As::kAdmin, {"revoke", "u7", "support_agent", "--scope", "acme"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = Ctl(As::kClient,
          {"check", "u7", "read", "customer/c1", "--scope", "acme"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);

  r = Ctl(As::kAdmin, {"principal", "disable", "u8"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("disabled        yes"));
  r = Ctl(As::kClient, {"check", "u8", "approve", "refund/r2", "--attr",
                        "created_by=u7", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("PRINCIPAL_DISABLED"));
  r = Ctl(As::kAdmin, {"principal", "enable", "u8"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = Ctl(As::kClient, {"check", "u8", "approve", "refund/r2", "--attr",
                        "created_by=u7", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);

  r = Ctl(As::kAdmin, {"principal", "delete", "u8"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("bindings_removed  1"));
  r = Ctl(As::kAdmin, {"principal", "get", "u8"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
}

TEST_F(AdminSessionTest, SeparationOfDutiesRefusesConflictingGrant) {
  ApplyAndPopulate();
  CommandResult r = Ctl(As::kAdmin, {"grant", "u8", "finance_clerk"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: "));
  EXPECT_THAT(r.err, HasSubstr("finance_"));
}

TEST_F(AdminSessionTest, DiffAndRollBackPolicyVersion) {
  const int v1 = ApplyAndPopulate();
  ASSERT_GT(v1, 0);
  // v2 drops support's purpose-bound phone access.
  std::ifstream in(Testdata("shop.policy"));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const std::string rule =
      "  allow read on customer fields { phone } for support_case\n";
  const size_t at = text.find(rule);
  ASSERT_NE(at, std::string::npos);
  text.erase(at, rule.size());
  const std::string test_line =
      "  expect allow read on customer \"c1\" scope \"acme\" fields { phone } "
      "for support_case\n";
  const size_t test_at = text.find(test_line);
  ASSERT_NE(test_at, std::string::npos);
  text.erase(test_at, test_line.size());
  const std::string v2_path = dir_.path() + "/shop-v2.policy";
  std::ofstream(v2_path) << text;

  // The CI gate on a candidate file: removing access is not new access.
  CommandResult r = Ctl(As::kAdmin, {"policy", "diff", "active", v2_path,
                                     "--fail-on-new-access"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("- removed"));
  EXPECT_THAT(r.out, HasSubstr("support_agent"));
  EXPECT_THAT(r.out, HasSubstr("support_case"));
  EXPECT_THAT(r.out, HasSubstr("phone (pii)"));
  EXPECT_THAT(r.out, HasSubstr("new access: no"));

  r = Ctl(As::kAdmin, {"policy", "apply", v2_path, "-m", "drop phone"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const int v2 = VersionOf(r.out);
  EXPECT_GT(v2, v1);
  r = Ctl(As::kClient, {"check", "u7", "read", "customer/c1", "--scope", "acme",
                        "--fields", "phone", "--purpose", "support_case"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);

  // Going back from v2 to v1 gains access: the gate fails.
  r = Ctl(As::kAdmin, {"policy", "diff", std::to_string(v2), std::to_string(v1),
                       "--fail-on-new-access"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("+ added"));
  EXPECT_THAT(r.err, StartsWith("error: "));

  r = Ctl(As::kAdmin, {"policy", "activate", std::to_string(v1)});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(VersionOf(r.out), v1);
  EXPECT_THAT(r.out, HasSubstr("active          yes"));
  r = Ctl(As::kClient, {"check", "u7", "read", "customer/c1", "--scope", "acme",
                        "--fields", "phone", "--purpose", "support_case"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);

  r = Ctl(As::kAdmin, {"policy", "show", std::to_string(v1)});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("(active)"));
  EXPECT_THAT(r.out, HasSubstr(rule));
}

TEST_F(AdminSessionTest, ServerRefusesPolicyErrorsToo) {
  ApplyAndPopulate();
  // Diff against a candidate that does not compile: the server says why.
  CommandResult r =
      Ctl(As::kAdmin, {"policy", "diff", "active", Testdata("broken.policy")});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: INVALID_ARGUMENT: "));
  r = Ctl(As::kAdmin, {"policy", "activate", "999"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
}

TEST_F(AdminSessionTest, ApiKeysCreateUseAndRevoke) {
  ApplyAndPopulate();
  const std::string secret_file = dir_.path() + "/ci.key";
  CommandResult r = Ctl(As::kAdmin, {"key", "create", "ci-backend", "--role",
                                     "client", "--secret-out", secret_file});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("written to " + secret_file));
  struct stat info;
  ASSERT_EQ(::stat(secret_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);

  r = CtlWithKey(secret_file, {"check", "u8", "approve", "refund/r2", "--attr",
                               "created_by=u7", "--attr", "amount=50"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);

  r = Ctl(As::kAdmin, {"key", "list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ci-backend"));
  EXPECT_THAT(r.out, HasSubstr("client"));

  // Printed once on stdout when no file is asked for.
  r = Ctl(As::kAdmin, {"key", "create", "ops", "--role", "admin"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("secret"));
  EXPECT_THAT(r.out, HasSubstr("otpauth://totp/"));
  EXPECT_THAT(r.err, HasSubstr("cannot be shown again"));

  r = Ctl(As::kAdmin, {"key", "revoke", "ci-backend"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = CtlWithKey(secret_file, {"check", "u8", "approve", "refund/r2"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED: "));
}

TEST_F(AdminSessionTest, AdminKeyQrCodeGetsTheUriOnStdinNotArgv) {
  // A stand-in qrencode that records how it was called.
  const std::string bin = dir_.path() + "/bin";
  ASSERT_EQ(::mkdir(bin.c_str(), 0700), 0);
  const std::string qrencode = bin + "/qrencode";
  std::ofstream(qrencode) << "#!/bin/sh\n"
                          << "echo \"$@\" > " << dir_.path() << "/qr.args\n"
                          << "cat > " << dir_.path() << "/qr.stdin\n"
                          << "echo '[QR CODE]'\n";
  ASSERT_EQ(::chmod(qrencode.c_str(), 0700), 0);
  const char* path = std::getenv("PATH");
  CommandResult r =
      Ctl(As::kAdmin, {"key", "create", "ops", "--role", "admin"},
          {"PATH=" + bin + ":" + (path ? path : "/usr/bin:/bin")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("[QR CODE]"));
  std::smatch uri;
  ASSERT_TRUE(std::regex_search(r.out, uri,
                                std::regex(R"(totp_uri\s+(otpauth://\S+))")))
      << r.out;
  std::ifstream stdin_file(dir_.path() + "/qr.stdin");
  std::string fed((std::istreambuf_iterator<char>(stdin_file)),
                  std::istreambuf_iterator<char>());
  EXPECT_EQ(fed, uri[1].str());
  std::ifstream args_file(dir_.path() + "/qr.args");
  std::string args((std::istreambuf_iterator<char>(args_file)),
                   std::istreambuf_iterator<char>());
  EXPECT_EQ(args, "-t ANSIUTF8\n");
}

TEST_F(AdminSessionTest, WrongKeyIsUnauthenticated) {
  const std::string bogus = dir_.path() + "/bogus.key";
  std::ofstream(bogus) << "stw_this_is_not_a_key\n";
  ASSERT_EQ(::chmod(bogus.c_str(), 0600), 0);
  CommandResult r = CtlWithKey(bogus, {"principal", "list"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED: "));
  EXPECT_EQ(r.out, "");
}

TEST_F(AdminSessionTest, AuditorKeyCannotAdminister) {
  CommandResult r = Ctl(As::kAuditor, {"grant", "u7", "support_agent"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED: "));
}

TEST_F(AdminSessionTest, ClientKeyCannotAdminister) {
  CommandResult r = Ctl(As::kClient, {"principal", "add", "u9"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED: "));
}

// Principal ids outside [A-Za-z0-9_.@:-]{1,256} are refused locally, as
// usage errors, by every command that takes one.
TEST_F(AdminSessionTest, PrincipalIdsOutsideTheCharsetAreUsageErrors) {
  ApplyAndPopulate();
  for (const std::string id : {"a b/c", "\xc3\xa9", "<script>", "*"}) {
    SCOPED_TRACE(id);
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{
             {"principal", "add", id},
             {"principal", "disable", id},
             {"grant", id, "support_agent"},
             {"revoke", id, "support_agent"},
             {"bindings", "--principal", id},
             {"audit", "query", "--principal", id},
             {"report", "permissions", "--principal", id}}) {
      CommandResult r = Ctl(As::kAdmin, args);
      EXPECT_EQ(r.exit_code, 2) << args[0] << "\n" << Describe(r);
      EXPECT_THAT(r.err, StartsWith("error: ")) << args[0];
      EXPECT_THAT(r.err, HasSubstr("ids are letters, digits and _ . @ : -"));
      EXPECT_EQ(r.out, "");
    }
    CommandResult r = Ctl(As::kClient, {"check", id, "read", "customer/c1"});
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_THAT(r.err, StartsWith("error: PRINCIPAL: "));
  }
  CommandResult r = Ctl(As::kAdmin, {"-o", "csv", "principal", "list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("a b/c")));
  EXPECT_THAT(r.out, Not(HasSubstr("script")));
}

// Times a google.protobuf.Timestamp cannot carry are refused before the
// call; they used to be clamped into a grant expiring in 2262 or a query
// from 1677.
TEST_F(AdminSessionTest, OutOfRangeTimesAreUsageErrors) {
  ApplyAndPopulate();
  CommandResult r = Ctl(
      As::kAdmin, {"grant", "u8", "support_agent", "--expires", "99999999w"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: --expires: "));
  EXPECT_THAT(r.err, HasSubstr("outside 0001-01-01..9999-12-31"));
  r = Ctl(As::kAdmin, {"audit", "query", "--since", "99999999w"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: "));
  r = Ctl(As::kAdmin, {"-o", "csv", "bindings", "--principal", "u8"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("support_agent")));
}

// Runs `sql` on the server's store, as an older stewardd or a repair would
// have written it.
void ExecSql(const std::string& data_dir, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data_dir + "/steward.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error == nullptr ? "" : error;
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// A binding whose expiry an older stewardd saturated to year 294247: JSON
// cannot carry it. `bindings -o json` used to print {"error": …} on stdout
// and exit 0; it must fail.
TEST_F(AdminSessionTest, BindingsJsonWithAnUnprintableTimeFailsLoudly) {
  ApplyAndPopulate();
  ASSERT_NO_FATAL_FAILURE(
      ExecSql(data_dir_,
              "UPDATE role_bindings SET expires_at = 9223372036854775807 "
              "WHERE principal = 'u8'"));
  CommandResult r = Ctl(As::kAdmin, {"-o", "json", "bindings"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("error: "));
  EXPECT_THAT(r.err, HasSubstr("cannot be printed as JSON"));
  r = Ctl(As::kAdmin, {"-o", "json", "principal", "get", "u8"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out, "");
  // Tables still show every binding, the broken time as such.
  r = Ctl(As::kAdmin, {"bindings"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("(invalid)"));
  EXPECT_THAT(r.out, HasSubstr("u7"));
}

// Principals stored before the id rule stay readable and deletable from
// the CLI (reads must not break).
TEST_F(AdminSessionTest, PrincipalsStoredBeforeTheIdRuleCanBeReadAndDeleted) {
  ApplyAndPopulate();
  ASSERT_NO_FATAL_FAILURE(
      ExecSql(data_dir_,
              "INSERT INTO principals (id, created_at, updated_at) "
              "VALUES ('a b/c', 1, 1)"));
  CommandResult r = Ctl(As::kAdmin, {"principal", "get", "a b/c"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("a b/c"));
  r = Ctl(As::kAdmin, {"principal", "delete", "a b/c"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Ctl(As::kAdmin, {"principal", "get", "a b/c"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
}

}  // namespace
}  // namespace steward::client
