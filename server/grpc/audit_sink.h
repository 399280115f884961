// The seam between the services and the audit trail. The Check path hands
// every decision over with a completion, and the implementation decides
// when that completion runs (after the record is committed with
// --audit-durability=sync, at once with async); admin changes and failed
// authentications are recorded too. An interface so that the trail can
// later be shipped to an external log system.
#ifndef STEWARD_SERVER_GRPC_AUDIT_SINK_H_
#define STEWARD_SERVER_GRPC_AUDIT_SINK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "policy/program.h"
#include "server/auth/authenticator.h"
#include "server/grpc/check_evaluation.h"
#include "server/grpc/check_request.h"
#include "server/grpc/plan_evaluation.h"

namespace steward::server {

// Runs exactly once: OK when the record is durable (or accepted, in async
// mode); an error when it could not be recorded, in which case the decision
// must not be returned to the caller.
using AuditDone = std::function<void(absl::Status)>;

// Thread-safe.
class AuditSink {
 public:
  virtual ~AuditSink() = default;

  // Records one decision: `outcome` of `check` (decided at
  // check.request().now), answered as `decision_id`. `program` is the
  // policy that decided (used to minimize the recorded attributes, which
  // are read from the bound request; may be null without an active
  // policy). Copies what it keeps before returning. Returns
  // kResourceExhausted without calling `done` when the queue is full
  // (back-pressure; nothing is dropped silently); otherwise OK and `done`
  // runs later, possibly on another thread.
  virtual absl::Status Record(
      const Caller& caller,
      const std::shared_ptr<const policy::Program>& program,
      const BoundCheck& check, const CheckOutcome& outcome,
      absl::string_view decision_id, AuditDone done) = 0;

  // Records one answered query plan: `outcome` of `plan` (made at
  // plan.request().now), answered as `plan_id`. Durability, back-pressure
  // and `done` as for Record(): with sync durability the plan is answered
  // only once its record is committed.
  virtual absl::Status RecordPlan(const Caller& caller, const BoundPlan& plan,
                                  const PlanOutcome& outcome,
                                  absl::string_view plan_id,
                                  AuditDone done) = 0;

  // Records a committed admin change: the AdminService `method`, the
  // object it changed (`principal`, role/scope etc. in `details_json`, a
  // compact before/after). Always durable before `done` runs OK.
  virtual absl::Status RecordAdminChange(const Caller& caller,
                                         absl::string_view method,
                                         absl::string_view principal,
                                         std::string details_json,
                                         int64_t store_revision,
                                         AuditDone done) = 0;

  // Records a refused authentication (fire and forget: the caller is
  // already being refused; must not block).
  virtual void RecordAuthFailure(const AuthFailure& failure) = 0;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_AUDIT_SINK_H_
