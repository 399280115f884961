// The shared CRM workload (shared/workload/): crm.policy, principals.jsonl
// and requests.jsonl, read into plain values. The one reader of these files
// for the tests, the benchmarks and steward_loadgen; policy_workload.h turns
// its values into policy Requests, grpc_workload.h into wire requests.
// Test and benchmark support only (it reads files); no GoogleTest.
#ifndef STEWARD_TESTS_TESTING_WORKLOAD_H_
#define STEWARD_TESTS_TESTING_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace steward::testing {

// One attribute value: the JSON forms the workload uses for the policy
// types string, int, bool and set<string>.
using WorkloadValue =
    std::variant<std::string, int64_t, bool, std::vector<std::string>>;
// Attributes in file order.
using WorkloadAttributes = std::vector<std::pair<std::string, WorkloadValue>>;

// One line of principals.jsonl.
struct WorkloadPrincipal {
  std::string id;
  std::vector<std::string> roles;  // each bound globally
  WorkloadAttributes attributes;
};

// One line of requests.jsonl: a check and its known answer.
struct WorkloadCheck {
  std::string principal_id;
  std::string action;
  std::string kind;
  std::string resource_id;
  WorkloadAttributes attributes;  // the resource's
  bool expect_allow = false;      // "expected": "ALLOW" (else "DENY")
};

// The workload directory: $STEWARD_WORKLOAD_DIR when set and not empty,
// else `fallback`.
std::string WorkloadDir(const std::string& fallback);

// The text of DIR/crm.policy. kNotFound when it cannot be read.
absl::StatusOr<std::string> ReadWorkloadPolicy(const std::string& dir);

// Every line of DIR/principals.jsonl, in file order (empty lines skipped).
// kNotFound when the file cannot be read; kInvalidArgument naming
// "FILE:LINE" and the field for a line that is not JSON, lacks a field or
// holds a value of another type (attribute values: string, integer, bool
// or array of strings).
absl::StatusOr<std::vector<WorkloadPrincipal>> ReadWorkloadPrincipals(
    const std::string& dir);

// Every line of DIR/requests.jsonl, in file order; errors as above.
absl::StatusOr<std::vector<WorkloadCheck>> ReadWorkloadChecks(
    const std::string& dir);

}  // namespace steward::testing

#endif  // STEWARD_TESTS_TESTING_WORKLOAD_H_
