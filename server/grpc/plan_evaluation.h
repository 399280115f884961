// One PlanResources against one snapshot: the planner (policy/plan.h) run
// with the principal from the snapshot, as EvaluateCheck runs the
// evaluator, and the wire answer made from the result. The plan's tree
// becomes the proto PlanExpression here and nowhere else. No I/O, no
// locks.
#ifndef STEWARD_SERVER_GRPC_PLAN_EVALUATION_H_
#define STEWARD_SERVER_GRPC_PLAN_EVALUATION_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "policy/plan.h"
#include "server/grpc/check_request.h"
#include "server/store/snapshot.h"
#include "steward/v1/authorization.pb.h"

namespace steward::server {

// What one PlanResources answered. A value.
struct PlanOutcome {
  // False when no policy version is active: ALWAYS_DENIED with reason
  // NO_ACTIVE_POLICY.
  bool has_policy = false;
  policy::Plan plan;
  std::string explanation;  // set only when the request asked for one
  int64_t policy_version = 0;
  int64_t store_revision = 0;

  v1::PlanKind kind() const;
  v1::Reason reason() const;
};

// Plans `bound` on `snapshot`. Never fails: a missing policy, an unknown
// principal and the like are ALWAYS_DENIED with their reason. Fills the
// principal part of bound.request() from the snapshot.
PlanOutcome EvaluatePlan(const store::Snapshot& snapshot, BoundPlan& bound);

// The wire form of a residual condition.
void ToProtoExpression(const policy::PlanExpr& expr, v1::PlanExpression* out);

// The wire answer for `outcome`: every field except `plan_id`, which the
// service assigns.
void ToPlanResponse(const PlanOutcome& outcome, absl::string_view request_id,
                    v1::PlanResourcesResponse* response);

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_PLAN_EVALUATION_H_
