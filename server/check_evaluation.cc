#include "server/check_evaluation.h"

#include <cstdint>

#include "absl/types/span.h"
#include "policy/evaluator.h"
#include "policy/program.h"
#include "server/check_request.h"

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

policy::Decision EvaluateCheck(const store::Snapshot& snapshot,
                               const v1::CheckRequest& request, absl::Time now,
                               v1::CheckResponse* response) {
  response->set_policy_version(snapshot.policy_version());
  response->set_store_revision(snapshot.store_revision());
  response->set_request_id(request.request_id());
  const policy::Program* program = snapshot.program().get();
  if (program == nullptr) {
    response->set_effect(v1::DENY);
    response->set_reason(v1::NO_ACTIVE_POLICY);
    if (request.explain()) {
      response->set_explanation(
          "no policy version is active: everything is denied");
    }
    return policy::Decision{};
  }
  BoundCheck bound(request, now);
  // Effective roles from the snapshot's compact bindings (integer scope
  // and expiry tests) instead of the evaluator's walk of the bindings with
  // string scope compares: same decision, less work per check.
  uint64_t roles[(policy::kMaxRoles + 63) / 64];
  snapshot.FillRequestAndRoles(
      request.principal_id(),
      absl::MakeSpan(roles, (program->role_count() + 63) / 64),
      bound.request());
  policy::Decision decision;
  if (request.explain()) {
    policy::Explanation explanation;
    decision = policy::Evaluate(*program, bound.request(), &explanation);
    response->set_explanation(explanation.ToString());
  } else {
    decision = policy::Evaluate(*program, bound.request());
  }
  response->set_effect(decision.allowed() ? v1::ALLOW : v1::DENY);
  response->set_reason(ToProtoReason(decision.reason));
  response->set_rule_id(std::string(decision.rule_id));
  if (!decision.allowed_fields.empty()) {
    for (std::string& field : policy::AllowedFieldNames(*program, decision)) {
      response->add_allowed_fields(std::move(field));
    }
  }
  if (!decision.denied_fields.empty()) {
    for (std::string& field : policy::DeniedFieldNames(*program, decision)) {
      response->add_denied_fields(std::move(field));
    }
  }
  return decision;
}

}  // namespace steward::server
