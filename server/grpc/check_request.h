// Turns a wire CheckRequest into a policy::Request (and a
// PlanResourcesRequest into a policy::PlanRequest): validates it (limits,
// identifiers, value types) with INVALID_ARGUMENT errors naming the field,
// then binds it without copying strings. Sits between the gRPC handler and
// the evaluator (or planner) on the hot path.
#ifndef STEWARD_SERVER_GRPC_CHECK_REQUEST_H_
#define STEWARD_SERVER_GRPC_CHECK_REQUEST_H_

#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "policy/plan.h"
#include "policy/request.h"
#include "steward/v1/authorization.pb.h"

namespace steward::server {

// Input limits of ARCHITECTURE.md, as options so tests can name them.
struct CheckLimits {
  size_t max_id_bytes = 256;
  size_t max_attributes = 64;
  size_t max_fields = 64;
  size_t max_set_elements = 256;
  size_t max_justification_bytes = 1024;
  size_t max_batch_items = 1000;
  size_t max_request_bytes = 64 * 1024;
};

// Checks one request. `field_prefix` ("items[3].") is put in front of field
// names in messages. Errors are kInvalidArgument naming the field.
absl::Status ValidateCheckRequest(const v1::CheckRequest& request,
                                  const CheckLimits& limits,
                                  absl::string_view field_prefix = "");

// The policy::Request for one validated CheckRequest, with the storage its
// views need (set elements, named values). Bound once per Check: the
// evaluator and the audit trail's minimization read the same views. Holds
// views into `request`: REQUIRES the CheckRequest outlive this object. Not
// copyable or movable (the Request points into it). Thread-compatible.
class BoundCheck {
 public:
  // REQUIRES: ValidateCheckRequest(request) returned OK.
  BoundCheck(const v1::CheckRequest& request, absl::Time now);
  BoundCheck(const BoundCheck&) = delete;
  BoundCheck& operator=(const BoundCheck&) = delete;

  // The principal's fields (known, disabled, bindings, attributes) are left
  // for the caller to fill from the snapshot.
  policy::Request& request() { return request_; }
  const policy::Request& request() const { return request_; }
  // The wire request this was bound from.
  const v1::CheckRequest& source() const { return source_; }

 private:
  const v1::CheckRequest& source_;
  absl::InlinedVector<absl::string_view, 32> set_elements_;
  absl::InlinedVector<policy::NamedValue, 16> resource_attributes_;
  absl::InlinedVector<policy::NamedValue, 8> context_;
  absl::InlinedVector<absl::string_view, 8> fields_;
  policy::Request request_;
};

// Checks one PlanResourcesRequest with the rules and limits of Check.
// Errors are kInvalidArgument naming the field.
absl::Status ValidatePlanResourcesRequest(
    const v1::PlanResourcesRequest& request, const CheckLimits& limits);

// The policy::PlanRequest for one validated PlanResourcesRequest, as
// BoundCheck is for a CheckRequest (same ownership rules).
class BoundPlan {
 public:
  // REQUIRES: ValidatePlanResourcesRequest(request) returned OK.
  BoundPlan(const v1::PlanResourcesRequest& request, absl::Time now);
  BoundPlan(const BoundPlan&) = delete;
  BoundPlan& operator=(const BoundPlan&) = delete;

  // The principal's fields are left for the caller to fill.
  policy::PlanRequest& request() { return request_; }
  const policy::PlanRequest& request() const { return request_; }
  const v1::PlanResourcesRequest& source() const { return source_; }

 private:
  const v1::PlanResourcesRequest& source_;
  absl::InlinedVector<absl::string_view, 32> set_elements_;
  absl::InlinedVector<policy::NamedValue, 8> context_;
  absl::InlinedVector<absl::string_view, 8> fields_;
  policy::PlanRequest request_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_CHECK_REQUEST_H_
