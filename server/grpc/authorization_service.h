// AuthorizationService (Check, BatchCheck, PlanResources) on gRPC's
// callback API: the hot path of ARCHITECTURE.md. A handler authenticates,
// validates, evaluates on the current snapshot (one atomic load, no lock, no
// SQLite), hands the decision to the audit trail and finishes the reactor from
// the audit completion, so no thread blocks waiting for the commit.
#ifndef STEWARD_SERVER_GRPC_AUTHORIZATION_SERVICE_H_
#define STEWARD_SERVER_GRPC_AUTHORIZATION_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "server/auth/authenticator.h"
#include "server/grpc/audit_sink.h"
#include "server/grpc/check_request.h"
#include "server/grpc/revision_waiter.h"
#include "server/metrics/metrics.h"
#include "server/store/clock.h"
#include "server/store/snapshot.h"
#include "steward/v1/authorization.grpc.pb.h"

namespace steward::server {

// Thread-safe; borrows everything it is given, which must outlive it.
//
// The handlers take the raw request bytes and decode them themselves:
// gRPC's generated decoding answers a malformed message (a string that is
// not UTF-8, say) with a bare UNIMPLEMENTED, where callers need
// INVALID_ARGUMENT naming the field.
class AuthorizationServiceImpl final
    : public v1::AuthorizationService::WithRawCallbackMethod_Check<
          v1::AuthorizationService::WithRawCallbackMethod_BatchCheck<
              v1::AuthorizationService::WithRawCallbackMethod_PlanResources<
                  v1::AuthorizationService::Service>>> {
 public:
  struct Options {
    CheckLimits limits;
    // Calls in flight (waiting for audit) beyond which new calls get
    // RESOURCE_EXHAUSTED instead of queueing without bound.
    int64_t max_in_flight = 20000;
    // The longest a call with min_store_revision waits for the snapshot
    // to reach it (the call's deadline may cut it shorter).
    absl::Duration min_revision_wait = absl::Seconds(2);
  };

  AuthorizationServiceImpl(const store::SnapshotHolder* snapshots,
                           Authenticator* authenticator, AuditSink* audit,
                           Metrics* metrics, const store::Clock* clock,
                           Options options);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchCheck(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  // A plan is audited like a decision (its own record kind) and answered
  // after its record, with the same durability.
  grpc::ServerUnaryReactor* PlanResources(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

 private:
  // Authenticates the caller of `method` (Check, BatchCheck) and decodes
  // `bytes` into `request`.
  absl::StatusOr<Caller> Begin(const grpc::CallbackServerContext& context,
                               absl::string_view method,
                               const grpc::ByteBuffer& bytes,
                               google::protobuf::Message* request);
  // Counts the call in flight, or RESOURCE_EXHAUSTED when too many are.
  absl::Status Admit();
  // Ends an admitted single-record call whose audit record could not be
  // queued (`status`, a full queue): the answer is never sent unrecorded.
  void Refused(grpc::ServerUnaryReactor* reactor, const absl::Status& status);
  // Calls `decide` with the snapshot to decide on: at once with the
  // current one when `min_revision` is 0 or reached (no allocation on this
  // path); otherwise the call is parked (RevisionWaiter, no thread held)
  // until a snapshot at or after it is published, within
  // min(options_.min_revision_wait, the call's deadline), and finished
  // UNAVAILABLE, naming both revisions, when none is.
  template <typename Decide>
  void WithSnapshotAtLeast(const grpc::CallbackServerContext& context,
                           grpc::ServerUnaryReactor* reactor,
                           int64_t min_revision, Decide decide);
  std::string NextDecisionId();

  const store::SnapshotHolder* snapshots_;
  Authenticator* authenticator_;
  AuditSink* audit_;
  Metrics* metrics_;
  const store::Clock* clock_;
  Options options_;
  std::string id_prefix_;  // random per process: ids stay unique on restart
  std::atomic<uint64_t> next_id_{0};
  std::atomic<int64_t> in_flight_{0};
  // Last: its destructor finishes parked calls, which use the members
  // above.
  RevisionWaiter waiter_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_AUTHORIZATION_SERVICE_H_
