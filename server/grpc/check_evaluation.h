// One Check against one snapshot: hands the bound request, the principal
// from the snapshot's index and the clock to the evaluator and returns what
// was decided as a value, CheckOutcome. The wire answer (ToCheckResponse),
// the decision metrics and the audit record are each made from that value,
// so nothing downstream reads a decision back out of the proto. Shared by
// Check and BatchCheck; no I/O, no locks.
#ifndef STEWARD_SERVER_GRPC_CHECK_EVALUATION_H_
#define STEWARD_SERVER_GRPC_CHECK_EVALUATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/decision.h"
#include "server/grpc/check_request.h"
#include "server/store/snapshot.h"
#include "steward/v1/authorization.pb.h"

namespace steward::server {

v1::Reason ToProtoReason(policy::Reason reason);

// What one Check decided. A value; `decision.rule_id` points into the
// snapshot's Program, so REQUIRES the snapshot outlive every use of it.
struct CheckOutcome {
  // False when no policy version is active: the answer is a DENY whose
  // reason, NO_ACTIVE_POLICY, no policy::Reason expresses, and `decision`
  // is a default (empty) deny.
  bool has_policy = false;
  policy::Decision decision;
  // The names of decision.allowed_fields / denied_fields, in declaration
  // order.
  std::vector<std::string> allowed_fields;
  std::vector<std::string> denied_fields;
  std::string explanation;  // set only when the request asked for one
  int64_t policy_version = 0;
  int64_t store_revision = 0;

  bool allowed() const { return has_policy && decision.allowed(); }
  policy::Effect effect() const {
    return allowed() ? policy::Effect::kAllow : policy::Effect::kDeny;
  }
  v1::Reason reason() const {
    return has_policy ? ToProtoReason(decision.reason) : v1::NO_ACTIVE_POLICY;
  }
  // The spec's name of reason(): "NO_ACTIVE_POLICY", "ALLOWED_BY_RULE", ...
  absl::string_view reason_name() const;
};

// The start both EvaluateCheck and EvaluatePlan make: the snapshot's
// versions into `outcome`, and its Program; null when no policy version is
// active, after setting the explanation when `explain`.
template <typename Outcome>
const policy::Program* BeginOutcome(const store::Snapshot& snapshot,
                                    bool explain, Outcome& outcome) {
  outcome.policy_version = snapshot.policy_version();
  outcome.store_revision = snapshot.store_revision();
  const policy::Program* program = snapshot.program().get();
  if (program == nullptr && explain) {
    outcome.explanation = "no policy version is active: everything is denied";
  }
  outcome.has_policy = program != nullptr;
  return program;
}

// Decides `check` (bound from a validated request at the time of the
// check) on `snapshot`. Never fails: a missing policy or an internal
// problem is a DENY with its reason. Fills the principal part of
// check.request() from the snapshot; the rest of it stays as bound.
CheckOutcome EvaluateCheck(const store::Snapshot& snapshot, BoundCheck& check);

// The wire answer for `outcome`: every field of `response` except
// `decision_id`, which the service assigns. The only place a decision
// becomes a CheckResponse.
void ToCheckResponse(const CheckOutcome& outcome, absl::string_view request_id,
                     v1::CheckResponse* response);

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_CHECK_EVALUATION_H_
