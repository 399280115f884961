// One Check against one snapshot: binds the validated request, the
// principal from the snapshot's index and the clock to the evaluator, and
// writes the wire answer. Shared by Check and BatchCheck; no I/O, no locks.
#ifndef STEWARD_SERVER_CHECK_EVALUATION_H_
#define STEWARD_SERVER_CHECK_EVALUATION_H_

#include <string>

#include "absl/time/time.h"
#include "policy/decision.h"
#include "server/store/snapshot.h"
#include "steward/v1/authorization.pb.h"

namespace steward::server {

v1::Reason ToProtoReason(policy::Reason reason);

// Decides `request` (REQUIRES: validated) on `snapshot` at time `now` and
// fills every field of `response` except `decision_id`. Never fails: a
// missing policy or an internal problem is a DENY with its reason.
policy::Decision EvaluateCheck(const store::Snapshot& snapshot,
                               const v1::CheckRequest& request, absl::Time now,
                               v1::CheckResponse* response);

}  // namespace steward::server

#endif  // STEWARD_SERVER_CHECK_EVALUATION_H_
