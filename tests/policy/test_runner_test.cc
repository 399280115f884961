// Test-runner tests: one pass/fail per `expect`, the failure line format
// "FILE:LINE: expected allow, got deny (REASON)", and the summary line.
#include "policy/test_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "policy/compiler.h"

namespace steward::policy {
namespace {

using ::testing::ElementsAre;

constexpr absl::string_view kPolicy = R"(principal { region: string }
context { mfa: bool }
purposes { support_case }
resource refund {
  attributes { created_by: string, amount: int }
  actions { create, approve, read }
}
resource customer {
  attributes { owner: string }
  fields { name, phone pii }
  actions { read }
}
role finance_approver {
  allow approve on refund as "four-eyes" when resource.created_by != principal.id && resource.amount <= 10000
}
role sales_rep { allow read on customer when resource.owner == principal.id }
role support { allow read on customer fields { phone } for support_case }

test "approver cannot approve own refund" {
  given principal "u7" roles { finance_approver, sales_rep scope "acme" } attributes { region: "eu" }
  expect deny approve on refund "r1" { created_by: "u7", amount: 50 }
  expect allow approve on refund "r2" { created_by: "u8", amount: 50 } context { mfa: true }
  expect allow read on customer "c1" scope "acme/eu" fields { name } { owner: "u7" }
}
test "deliberately wrong" {
  given principal "u1" roles { }
  expect allow read on customer "c1"
  given principal "u2" roles { support }
  expect deny read on customer "c1" fields { phone } for support_case
  expect allow read on customer "c1" fields { name, phone } for support_case
  expect allow read on customer "c2" scope "acmex" fields { name } { owner: "u2" }
}
)";

TEST(TestRunnerTest, ReportsFailuresWithLineAndReason) {
  const SourceFile f{"refunds.policy", std::string(kPolicy)};
  CompileOptions options;
  options.lint = false;
  const CompileResult r = Compile({&f, 1}, options);
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  ASSERT_TRUE(r.ok());
  const TestReport report = RunTests(*r.program, absl::FromUnixSeconds(0));
  EXPECT_EQ(report.passed, 3);
  EXPECT_EQ(report.failed, 4);
  std::vector<std::string> lines;
  for (const TestFailure& failure : report.failures) {
    lines.push_back(failure.ToString());
  }
  EXPECT_THAT(
      lines,
      ElementsAre(
          "refunds.policy:27: expected allow, got deny (NO_MATCHING_RULE)",
          "refunds.policy:29: expected deny, got allow (ALLOWED_BY_RULE)",
          "refunds.policy:30: expected allow, got deny (FIELDS_DENIED)",
          "refunds.policy:31: expected allow, got deny (NO_MATCHING_RULE)"));
  EXPECT_EQ(report.Summary(), "3 passed, 4 failed");
  EXPECT_FALSE(report.ok());
}

TEST(TestRunnerTest, NoTestsIsZeroZero) {
  const SourceFile f{"empty.policy", "resource doc { actions { read } }"};
  const CompileResult r = Compile({&f, 1});
  ASSERT_TRUE(r.ok());
  const TestReport report = RunTests(*r.program, absl::Now());
  EXPECT_EQ(report.Summary(), "0 passed, 0 failed");
  EXPECT_TRUE(report.ok());
}

TEST(TestRunnerTest, ExampleCrmPolicyPassesItsTests) {
  std::string path = std::string(STEWARD_EXAMPLES_DIR) + "/crm.policy";
  FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr) << path;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) text.append(buf, n);
  std::fclose(file);
  const SourceFile f{"examples/crm.policy", text};
  CompileOptions strict;
  strict.strict = true;  // the example must be lint-clean too
  const CompileResult r = Compile({&f, 1}, strict);
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  ASSERT_TRUE(r.ok());
  const TestReport report = RunTests(*r.program, absl::Now());
  for (const TestFailure& failure : report.failures) {
    ADD_FAILURE() << failure.ToString();
  }
  EXPECT_GE(report.passed, 40);
  EXPECT_EQ(report.failed, 0);
}

}  // namespace
}  // namespace steward::policy
