#include "server/grpc/plan_evaluation.h"

#include <cstdint>
#include <string>

#include "server/grpc/check_evaluation.h"
#include "server/grpc/proto_convert.h"

namespace steward::server {
namespace {

v1::PlanKind ToProtoKind(policy::PlanKind kind) {
  switch (kind) {
    case policy::PlanKind::kAlwaysAllowed:
      return v1::ALWAYS_ALLOWED;
    case policy::PlanKind::kAlwaysDenied:
      return v1::ALWAYS_DENIED;
    case policy::PlanKind::kConditional:
      return v1::CONDITIONAL;
  }
  return v1::ALWAYS_DENIED;
}

v1::PlanOperator ToProtoOperator(policy::PlanOperator op) {
  switch (op) {
    case policy::PlanOperator::kAnd:
      return v1::OPERATOR_AND;
    case policy::PlanOperator::kOr:
      return v1::OPERATOR_OR;
    case policy::PlanOperator::kNot:
      return v1::OPERATOR_NOT;
    case policy::PlanOperator::kEq:
      return v1::OPERATOR_EQ;
    case policy::PlanOperator::kNe:
      return v1::OPERATOR_NE;
    case policy::PlanOperator::kLt:
      return v1::OPERATOR_LT;
    case policy::PlanOperator::kLe:
      return v1::OPERATOR_LE;
    case policy::PlanOperator::kGt:
      return v1::OPERATOR_GT;
    case policy::PlanOperator::kGe:
      return v1::OPERATOR_GE;
    case policy::PlanOperator::kIn:
      return v1::OPERATOR_IN;
    case policy::PlanOperator::kHas:
      return v1::OPERATOR_HAS;
    case policy::PlanOperator::kInScope:
      return v1::OPERATOR_IN_SCOPE;
  }
  return v1::OPERATOR_UNSPECIFIED;
}

v1::ValueType ToProtoType(policy::ValueType type) {
  switch (type) {
    case policy::ValueType::kString:
      return v1::VALUE_TYPE_STRING;
    case policy::ValueType::kInt:
      return v1::VALUE_TYPE_INT;
    case policy::ValueType::kBool:
      return v1::VALUE_TYPE_BOOL;
    case policy::ValueType::kStringSet:
      return v1::VALUE_TYPE_STRING_SET;
  }
  return v1::VALUE_TYPE_UNSPECIFIED;
}

void ToProtoLiteral(const policy::Value& value, v1::PlanLiteral* out) {
  if (!value.present()) return;
  switch (value.type()) {
    case policy::ValueType::kString:
      out->set_string_value(std::string(value.string_value()));
      break;
    case policy::ValueType::kInt:
      out->set_int_value(value.int_value());
      break;
    case policy::ValueType::kBool:
      out->set_bool_value(value.bool_value());
      break;
    case policy::ValueType::kStringSet: {
      v1::StringList* list = out->mutable_string_list_value();
      for (absl::string_view element : value.set_value()) {
        list->add_values(std::string(element));
      }
      break;
    }
  }
}

}  // namespace

v1::PlanKind PlanOutcome::kind() const {
  return has_policy ? ToProtoKind(plan.kind) : v1::ALWAYS_DENIED;
}

v1::Reason PlanOutcome::reason() const {
  return has_policy ? ToProtoReason(plan.reason) : v1::NO_ACTIVE_POLICY;
}

PlanOutcome EvaluatePlan(const store::Snapshot& snapshot, BoundPlan& bound) {
  PlanOutcome outcome;
  const bool explain = bound.source().explain();
  const policy::Program* program = BeginOutcome(snapshot, explain, outcome);
  if (program == nullptr) return outcome;
  policy::PlanRequest& request = bound.request();
  const store::PrincipalEntry* entry =
      snapshot.FindPrincipal(bound.source().principal_id());
  request.principal_known = entry != nullptr;
  if (entry != nullptr) {
    request.principal_disabled = entry->disabled();
    request.bindings = entry->bindings();
    request.principal_attributes = entry->attributes();
  }
  if (explain) {
    policy::PlanExplanation explanation;
    outcome.plan = policy::PlanResources(*program, request, &explanation);
    outcome.explanation = explanation.ToString();
  } else {
    outcome.plan = policy::PlanResources(*program, request);
  }
  // The entry's storage belongs to the snapshot; nothing may read it later.
  request.bindings = {};
  request.principal_attributes = {};
  return outcome;
}

void ToProtoExpression(const policy::PlanExpr& expr, v1::PlanExpression* out) {
  switch (expr.node) {
    case policy::PlanExpr::Node::kOperation: {
      v1::PlanOperation* operation = out->mutable_operation();
      operation->set_operator_(ToProtoOperator(expr.op));
      for (const policy::PlanExpr& operand : expr.operands) {
        ToProtoExpression(operand, operation->add_operands());
      }
      break;
    }
    case policy::PlanExpr::Node::kReference: {
      v1::PlanReference* reference = out->mutable_reference();
      reference->set_path(expr.reference.Path());
      if (expr.reference.target ==
          policy::PlanReference::Target::kResourceAttribute) {
        reference->set_attribute(expr.reference.attribute);
      }
      reference->set_type(ToProtoType(expr.reference.type));
      break;
    }
    case policy::PlanExpr::Node::kLiteral:
      ToProtoLiteral(expr.literal.view(), out->mutable_literal());
      break;
  }
}

void ToPlanResponse(const PlanOutcome& outcome, absl::string_view request_id,
                    v1::PlanResourcesResponse* response) {
  response->set_kind(outcome.kind());
  response->set_reason(outcome.reason());
  response->set_policy_version(outcome.policy_version);
  response->set_store_revision(outcome.store_revision);
  response->set_request_id(std::string(request_id));
  if (!outcome.explanation.empty()) {
    response->set_explanation(outcome.explanation);
  }
  if (!outcome.has_policy) return;
  const policy::Plan& plan = outcome.plan;
  if (plan.kind == policy::PlanKind::kConditional) {
    ToProtoExpression(plan.condition, response->mutable_condition());
  }
  for (const policy::FieldPlan& field : plan.fields) {
    v1::FieldCondition* out = response->add_field_conditions();
    out->set_field(field.field);
    out->set_kind(ToProtoKind(field.kind));
    if (field.kind == policy::PlanKind::kConditional) {
      ToProtoExpression(field.condition, out->mutable_condition());
    }
  }
  if (plan.valid_until != absl::InfiniteFuture()) {
    *response->mutable_valid_until() = ToProtoTime(plan.valid_until);
  }
}

}  // namespace steward::server
