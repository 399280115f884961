// Runs the `test` blocks embedded in a policy (spec §7).
//
// Used by `stewardctl policy test` and by `policy apply`, which refuses a
// policy whose tests fail. Pure: builds Requests from the Program's test
// cases and calls Evaluate(); the caller prints the report. Public.
#ifndef STEWARD_POLICY_TEST_RUNNER_H_
#define STEWARD_POLICY_TEST_RUNNER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "policy/program.h"

namespace steward::policy {

struct TestFailure {
  std::string file;
  int line = 0;
  std::string message;  // "expected allow, got deny (NO_MATCHING_RULE)"
  // "FILE:LINE: expected allow, got deny (NO_MATCHING_RULE)"
  std::string ToString() const;
};

// One entry per `expect` line: passed or failed.
struct TestReport {
  int passed = 0;
  int failed = 0;
  std::vector<TestFailure> failures;  // in source order
  std::string Summary() const;        // "N passed, M failed"
  bool ok() const { return failed == 0; }
};

// Evaluates every expectation of every test in `program` as of `now`
// (bindings in tests never expire).
TestReport RunTests(const Program& program, absl::Time now);

}  // namespace steward::policy

#endif  // STEWARD_POLICY_TEST_RUNNER_H_
