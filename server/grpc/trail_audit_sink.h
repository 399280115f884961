// The AuditSink of a running stewardd: turns decisions, admin changes and
// authentication failures into audit records (minimized per the active
// policy, PII encrypted with the audit key or omitted) and hands them to
// the audit writer's group-commit queue. Authentication failures are
// aggregated per peer first (auth_failure_aggregator.h): a flood of
// refused calls costs a few records, not one each.
#ifndef STEWARD_SERVER_GRPC_TRAIL_AUDIT_SINK_H_
#define STEWARD_SERVER_GRPC_TRAIL_AUDIT_SINK_H_

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "server/audit/minimize.h"
#include "server/audit/trail_writer.h"
#include "server/audit/value_cipher.h"
#include "server/grpc/audit_durability.h"
#include "server/grpc/audit_sink.h"
#include "server/grpc/auth_failure_aggregator.h"
#include "server/grpc/completion_dispatcher.h"
#include "server/metrics/metrics.h"
#include "server/store/clock.h"

namespace steward::server {

// Thread-safe. Borrows the writer, clock and metrics, which must outlive
// it. Runs one thread that writes the authentication failure summaries as
// their intervals end.
class TrailAuditSink final : public AuditSink {
 public:
  TrailAuditSink(audit::TrailWriter* writer, const store::Clock* clock,
                 Metrics* metrics, AuditDurability durability,
                 std::optional<audit::AuditKey> key,
                 AuthFailureAggregator::Options auth_failures = {});
  ~TrailAuditSink() override;

  absl::Status Record(const Caller& caller,
                      const std::shared_ptr<const policy::Program>& program,
                      const BoundCheck& check, const CheckOutcome& outcome,
                      absl::string_view decision_id, AuditDone done) override;
  absl::Status RecordAdminChange(const Caller& caller, absl::string_view method,
                                 absl::string_view principal,
                                 std::string details_json,
                                 int64_t store_revision,
                                 AuditDone done) override;
  absl::Status RecordPlan(const Caller& caller, const BoundPlan& plan,
                          const PlanOutcome& outcome, absl::string_view plan_id,
                          AuditDone done) override;
  void RecordAuthFailure(const AuthFailure& failure) override;

  // Queues the authentication failures still being counted and stops the
  // summary thread. Call once the server takes no more calls (failures
  // after it are recorded only as the first of their group) and before the
  // writer's Shutdown, so the counts reach the trail. Idempotent.
  void Shutdown();

 private:
  struct Minimization {
    // Held so the program (and so its address, the cache key) cannot be
    // reused by another policy while this plan is cached.
    std::shared_ptr<const policy::Program> program;
    audit::MinimizationPlan plan;
  };
  // The minimization plan of `program`, computed once per policy version.
  std::shared_ptr<const Minimization> MinimizationFor(
      const std::shared_ptr<const policy::Program>& program);
  // Queues the AUTH_FAILURE record of `summary`; `wait` for queue room
  // (never on an RPC's thread).
  void WriteAuthFailure(const AuthFailureSummary& summary, bool wait);
  void RunAuthFailureTicker();
  // Queues a decision or plan record per the durability mode; `done` as for
  // Record().
  absl::Status Submit(audit::AuditRecord record, AuditDone done);

  audit::TrailWriter* writer_;
  const store::Clock* clock_;
  Metrics* metrics_;
  AuditDurability durability_;
  std::optional<audit::AuditKey> key_;
  std::atomic<std::shared_ptr<const Minimization>> plan_;
  AuthFailureAggregator auth_failures_;
  absl::Duration auth_failure_tick_;
  absl::Mutex ticker_mu_;
  bool ticker_stopping_ ABSL_GUARDED_BY(ticker_mu_) = false;
  std::thread ticker_;  // joined by Shutdown()
  // Last member: destroyed first, running any completion still queued
  // while the rest of the sink is alive.
  CompletionDispatcher completions_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_TRAIL_AUDIT_SINK_H_
