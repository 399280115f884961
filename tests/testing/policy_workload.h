// The shared CRM workload (workload.h) compiled and resolved for the policy
// evaluator: its Program, and each check as a ready-to-evaluate Request.
// For the policy and store tests and the policy benchmark; test and
// benchmark support only.
#ifndef STEWARD_TESTS_TESTING_POLICY_WORKLOAD_H_
#define STEWARD_TESTS_TESTING_POLICY_WORKLOAD_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "policy/program.h"
#include "policy/request.h"
#include "tests/testing/workload.h"

namespace steward::policy::testing {

// The workload as policy values. Owns every string the Requests it makes
// view, so it is neither copyable nor movable; immutable once loaded, so
// any number of threads may read it.
class Workload {
 public:
  struct Principal {
    std::string id;
    std::vector<RoleBinding> bindings;         // each role, globally
    std::vector<OwnedValue> owned_attributes;  // by principal slot
    std::vector<Value> attributes;             // views of owned_attributes
  };
  struct Check {
    std::string principal_id, action, kind, resource_id;
    std::vector<std::pair<std::string, OwnedValue>> owned_attributes;
    std::vector<NamedValue> attributes;  // views of owned_attributes
    bool expected_allow = false;
    const Principal* principal = nullptr;  // null: not in principals.jsonl
  };

  Workload() = default;
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // The directory: $STEWARD_WORKLOAD_DIR when set, else `fallback`.
  static std::string Dir(const std::string& fallback) {
    return steward::testing::WorkloadDir(fallback);
  }

  // Reads and compiles the workload in `dir`. The reader's errors
  // (workload.h); kInvalidArgument with the diagnostics when the policy
  // does not compile, or naming a role the policy does not declare.
  // REQUIRES: called once.
  absl::Status Load(const std::string& dir);

  const Program& program() const { return *program_; }
  std::shared_ptr<const Program> shared_program() const { return program_; }
  const std::deque<Check>& checks() const { return checks_; }

  // `check` as a Request at time `now`; views into this Workload.
  Request MakeRequest(const Check& check, absl::Time now) const;

 private:
  std::string policy_text_;
  std::shared_ptr<const Program> program_;
  std::deque<Principal> principals_;  // deque: stable addresses
  std::deque<Check> checks_;
};

}  // namespace steward::policy::testing

#endif  // STEWARD_TESTS_TESTING_POLICY_WORKLOAD_H_
