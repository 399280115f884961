// Query plans: partial evaluation of the decision algorithm over an unknown
// resource.
//
// Public. A list endpoint ("my customers", "orders in my region") cannot
// call Evaluate() once per row. PlanResources() answers the question the
// other way round: given everything but the resource (the principal and its
// bindings, the action, the kind, the purpose, the context and optionally
// the resource's scope), under which condition on the resource's id, scope
// and attributes would Evaluate() ALLOW? The answer is a residual condition
// over the resource only, which a caller renders into its database's WHERE
// clause (plan_sql in client/, docs/query-plans.md).
//
// Semantics (spec §5, §6), exactly as Evaluate():
//  - Known parts fold: principal.*, context.*, the purpose, and
//    resource.scope when the request gives one. Unknown parts stay as
//    references: resource.id, resource.scope (without a scope), resource
//    attributes.
//  - A binding applies to a resource whose scope it covers (ScopeCovers):
//    with the scope unknown that is the condition IN_SCOPE(resource.scope,
//    binding scope); a global binding applies everywhere. Bindings expired
//    at `now` are dropped; `valid_until` says when the plan may change.
//  - Three-valued logic (Kleene, as SQL's NULL): a reference to an absent
//    attribute is unknown; comparisons and `in` with an unknown operand are
//    unknown; `has` is never unknown; NOT/AND/OR are Kleene. A resource is
//    allowed exactly when the condition is TRUE. Deny rules are negated
//    inside the condition, so a deny whose condition is unknown makes the
//    whole condition not TRUE (it still applies), and an allow whose
//    condition is unknown does not allow: no special operator is needed.
//  - Constant folding and simplification: a condition that folds to TRUE
//    is kAlwaysAllowed, one that folds to FALSE or unknown (no applicable
//    allow, an unconditional deny) is kAlwaysDenied. The output is
//    deterministic: rules in source order, operands in a fixed order.
//
// Fields: the plan's condition is when the action is allowed with no field
// named (Evaluate() with an empty `fields`). For each field the request
// names, `fields[i].condition` is when Evaluate() with that one field named
// would ALLOW, i.e. the action is allowed and the field is among
// allowed_fields; it implies the plan's condition. A list view selects rows
// by the condition and masks each field by its own; Check with all the
// named fields would ALLOW exactly where every field condition holds.
#ifndef STEWARD_POLICY_PLAN_H_
#define STEWARD_POLICY_PLAN_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/decision.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::policy {

enum class PlanKind { kAlwaysAllowed, kAlwaysDenied, kConditional };

// "ALWAYS_ALLOWED", "ALWAYS_DENIED", "CONDITIONAL".
absl::string_view PlanKindName(PlanKind kind);

// Operators of a residual condition. Operand counts and types:
//   kAnd, kOr        2 or more boolean operands (Kleene)
//   kNot             1 boolean operand (Kleene)
//   kEq, kNe         2 operands of one type: references, literals, or (for
//                    bool) boolean operations; unknown if either is
//   kLt, kLe, kGt, kGe
//                    2 operands, both int or both string (strings compare
//                    bytewise); unknown if either is unknown
//   kIn              element (string reference or literal), collection (a
//                    set<string> reference or a string-list literal);
//                    unknown if either is unknown
//   kHas             1 reference; TRUE iff the attribute is present (never
//                    unknown)
//   kInScope         resource.scope reference, string literal S: TRUE iff
//                    S is "", the scope equals S or it starts with
//                    S + "/", as ScopeCovers (never
//                    unknown: resource.scope is always present)
// A bare bool reference as a condition is written kEq(ref, true).
enum class PlanOperator {
  kAnd,
  kOr,
  kNot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kHas,
  kInScope,
};

// "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "in", "has",
// "in_scope": the operator's name in DebugString() and JSON.
absl::string_view PlanOperatorName(PlanOperator op);

// What a reference points at. resource.id and resource.scope are strings
// and always present.
struct PlanReference {
  enum class Target { kResourceId, kResourceScope, kResourceAttribute };
  Target target = Target::kResourceAttribute;
  std::string attribute;  // kResourceAttribute only: the declared name
  ValueType type = ValueType::kString;  // the declared type

  // "resource.id", "resource.scope", "resource.<attribute>".
  std::string Path() const;
  friend bool operator==(const PlanReference& a, const PlanReference& b) {
    return a.target == b.target && a.attribute == b.attribute &&
           a.type == b.type;
  }
};

// One node of a residual condition: an operation, a reference or a typed
// literal. Conditions are small trees; a plain value type.
struct PlanExpr {
  enum class Node { kOperation, kReference, kLiteral };
  Node node = Node::kOperation;
  PlanOperator op = PlanOperator::kAnd;  // kOperation
  std::vector<PlanExpr> operands;        // kOperation
  PlanReference reference;               // kReference
  OwnedValue literal;                    // kLiteral (always present)

  static PlanExpr Operation(PlanOperator op, std::vector<PlanExpr> operands);
  static PlanExpr Reference(PlanReference reference);
  static PlanExpr Literal(OwnedValue value);

  // Deterministic prefix text, for tests, explanations and the CLI's table
  // output: (and (eq resource.owner "u1") (not (has resource.locked))).
  std::string DebugString() const;

  friend bool operator==(const PlanExpr& a, const PlanExpr& b);
  friend bool operator!=(const PlanExpr& a, const PlanExpr& b) {
    return !(a == b);
  }
};

// The input of one plan. Like Request (request.h) without the resource's
// id and attributes; all views are borrowed for the duration of the call.
struct PlanRequest {
  absl::string_view principal_id;
  bool principal_known = true;
  bool principal_disabled = false;
  // The principal's direct bindings (all scopes); the planner applies
  // expiry at `now`, scope coverage and the extends-closure itself.
  absl::Span<const RoleBinding> bindings;
  // By principal slot; missing or default entries are absent. A value of
  // another type than declared, read by a rule whose role the bindings give
  // and whose purpose matches, is kAlwaysDenied kInvalidRequest (the
  // planner cannot know whether Evaluate() would reach that rule).
  absl::Span<const Value> principal_attributes;
  absl::string_view action;
  absl::string_view kind;
  // When set, resource.scope is known to be exactly this ("" included);
  // when not, it is unknown and scoped bindings become IN_SCOPE conditions.
  bool scope_known = false;
  absl::string_view scope;
  // Context facts by name. Unlike Evaluate(), which checks them only when
  // a condition reads them, the planner checks them all up front: a
  // declared name given twice or with the wrong type is kAlwaysDenied with
  // reason kInvalidRequest.
  absl::Span<const NamedValue> context;
  absl::Span<const absl::string_view> fields;
  absl::string_view purpose;
  absl::Time now;
};

// The residual condition of one field the request named.
struct FieldPlan {
  std::string field;
  PlanKind kind = PlanKind::kAlwaysDenied;
  PlanExpr condition;  // kConditional only
};

struct Plan {
  PlanKind kind = PlanKind::kAlwaysDenied;
  // kAlwaysDenied: why (kNoMatchingRule, kDeniedByRule for an
  // unconditional deny, kUnknownPrincipal, kPrincipalDisabled,
  // kUnknownResourceKind, kUnknownAction, kUnknownPurpose, kUnknownField,
  // kInvalidRequest, kEvaluationError). kAlwaysAllowed: kAllowedByRule.
  // kConditional: kAllowedByRule.
  Reason reason = Reason::kNoMatchingRule;
  PlanExpr condition;  // kConditional only
  // One per requested field, in request order. Empty when the request is
  // decided before rules (unknown principal, kind, ...).
  std::vector<FieldPlan> fields;
  // The earliest expiry of a binding the plan relied on (an unexpired
  // binding giving a role that owns a rule of the (kind, action) pair):
  // the plan is exact until then. InfiniteFuture() when none expires.
  absl::Time valid_until = absl::InfiniteFuture();
  // The request's kind in the Program, -1 when unknown.
  KindId kind_id = -1;
};

// An account of how a plan came out: the effective bindings and, per rule
// of the (kind, action) pair in source order, its residual. Built only on
// request.
struct PlanExplanation {
  std::vector<std::string> lines;
  std::string ToString() const;
};

// Plans `request` under `program`. Never fails open: anything the planner
// cannot make sense of is kAlwaysDenied with a reason. Pure; thread-safe
// on a shared Program. `explanation` may be null.
Plan PlanResources(const Program& program, const PlanRequest& request,
                   PlanExplanation* explanation = nullptr);

// Evaluates a residual condition on one resource, three-valued, with the
// semantics above. `attributes` by name as in Request::resource_attributes
// (names the condition does not reference are ignored; a referenced name
// with a value of another type than the reference's is unknown). For
// tests, the CLI's offline checks and C++ callers filtering in memory.
TriBool EvaluatePlanExpr(const PlanExpr& condition,
                         absl::string_view resource_id,
                         absl::string_view resource_scope,
                         absl::Span<const NamedValue> attributes);

}  // namespace steward::policy

#endif  // STEWARD_POLICY_PLAN_H_
