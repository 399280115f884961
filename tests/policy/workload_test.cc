// End-to-end correctness on the shared CRM workload: all 10,000 requests of
// ../shared/workload must get their expected decision.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "policy/evaluator.h"
#include "policy/test_runner.h"
#include "tests/testing/policy_workload.h"
#include "tests/testing/status_matchers.h"

namespace steward::policy {
namespace {

using ::steward::testing::IsOk;

TEST(WorkloadTest, EveryRequestMatchesExpectedDecision) {
  testing::Workload workload;
  ASSERT_THAT(
      workload.Load(testing::Workload::Dir(STEWARD_WORKLOAD_DIR_DEFAULT)),
      IsOk());
  ASSERT_EQ(workload.checks().size(), 10000u);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  int allows = 0;
  int mismatches = 0;
  for (const auto& c : workload.checks()) {
    const Decision d =
        Evaluate(workload.program(), workload.MakeRequest(c, now));
    if (d.allowed()) ++allows;
    if (d.allowed() != c.expected_allow) {
      ++mismatches;
      if (mismatches <= 10) {
        Explanation ex;
        Evaluate(workload.program(), workload.MakeRequest(c, now), &ex);
        ADD_FAILURE() << c.principal_id << " " << c.action << " " << c.kind
                      << " " << c.resource_id << ": expected "
                      << (c.expected_allow ? "ALLOW" : "DENY") << ", got "
                      << ReasonName(d.reason) << "\n"
                      << ex.ToString();
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(allows, 4164);
}

}  // namespace
}  // namespace steward::policy
