#include "server/grpc/check_evaluation.h"

#include <cstdint>
#include <utility>

#include "absl/types/span.h"
#include "policy/evaluator.h"
#include "policy/program.h"

namespace steward::server {

v1::Reason ToProtoReason(policy::Reason reason) {
  switch (reason) {
    case policy::Reason::kAllowedByRule:
      return v1::ALLOWED_BY_RULE;
    case policy::Reason::kDeniedByRule:
      return v1::DENIED_BY_RULE;
    case policy::Reason::kNoMatchingRule:
      return v1::NO_MATCHING_RULE;
    case policy::Reason::kFieldsDenied:
      return v1::FIELDS_DENIED;
    case policy::Reason::kUnknownPrincipal:
      return v1::UNKNOWN_PRINCIPAL;
    case policy::Reason::kPrincipalDisabled:
      return v1::PRINCIPAL_DISABLED;
    case policy::Reason::kUnknownResourceKind:
      return v1::UNKNOWN_RESOURCE_KIND;
    case policy::Reason::kUnknownAction:
      return v1::UNKNOWN_ACTION;
    case policy::Reason::kUnknownPurpose:
      return v1::UNKNOWN_PURPOSE;
    case policy::Reason::kUnknownField:
      return v1::UNKNOWN_FIELD;
    case policy::Reason::kInvalidRequest:
      return v1::INVALID_REQUEST;
    case policy::Reason::kEvaluationError:
      return v1::EVALUATION_ERROR;
  }
  return v1::EVALUATION_ERROR;
}

absl::string_view CheckOutcome::reason_name() const {
  // The wire enum names are the spec's reason names.
  return v1::Reason_Name(reason());
}

CheckOutcome EvaluateCheck(const store::Snapshot& snapshot, BoundCheck& check) {
  CheckOutcome outcome;
  const bool explain = check.source().explain();
  const policy::Program* program = BeginOutcome(snapshot, explain, outcome);
  if (program == nullptr) return outcome;
  policy::Request& request = check.request();
  // Effective roles from the snapshot's compact bindings (integer scope
  // and expiry tests) instead of the evaluator's walk of the bindings with
  // string scope compares: same decision, less work per check.
  uint64_t roles[(policy::kMaxRoles + 63) / 64];
  snapshot.FillRequestAndRoles(
      check.source().principal_id(),
      absl::MakeSpan(roles, (program->role_count() + 63) / 64), request);
  if (explain) {
    policy::Explanation explanation;
    outcome.decision = policy::Evaluate(*program, request, &explanation);
    outcome.explanation = explanation.ToString();
  } else {
    outcome.decision = policy::Evaluate(*program, request);
  }
  // `roles` dies with this frame; the bound request outlives it (the audit
  // trail reads its attributes).
  request.effective_roles = {};
  if (!outcome.decision.allowed_fields.empty()) {
    outcome.allowed_fields =
        policy::AllowedFieldNames(*program, outcome.decision);
  }
  if (!outcome.decision.denied_fields.empty()) {
    outcome.denied_fields =
        policy::DeniedFieldNames(*program, outcome.decision);
  }
  return outcome;
}

void ToCheckResponse(const CheckOutcome& outcome, absl::string_view request_id,
                     v1::CheckResponse* response) {
  response->set_policy_version(outcome.policy_version);
  response->set_store_revision(outcome.store_revision);
  response->set_request_id(std::string(request_id));
  response->set_effect(outcome.allowed() ? v1::ALLOW : v1::DENY);
  response->set_reason(outcome.reason());
  if (!outcome.explanation.empty()) {
    response->set_explanation(outcome.explanation);
  }
  if (!outcome.has_policy) return;
  response->set_rule_id(std::string(outcome.decision.rule_id));
  for (const std::string& field : outcome.allowed_fields) {
    response->add_allowed_fields(field);
  }
  for (const std::string& field : outcome.denied_fields) {
    response->add_denied_fields(field);
  }
}

}  // namespace steward::server
