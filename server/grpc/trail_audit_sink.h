// The AuditSink of a running stewardd: turns decisions, admin changes and
// authentication failures into audit records (minimized per the active
// policy, PII encrypted with the audit key or omitted) and hands them to
// the audit writer's group-commit queue.
#ifndef STEWARD_SERVER_GRPC_TRAIL_AUDIT_SINK_H_
#define STEWARD_SERVER_GRPC_TRAIL_AUDIT_SINK_H_

#include <atomic>
#include <memory>
#include <optional>

#include "server/audit/minimize.h"
#include "server/audit/value_cipher.h"
#include "server/audit/writer.h"
#include "server/grpc/audit_durability.h"
#include "server/grpc/audit_sink.h"
#include "server/grpc/completion_dispatcher.h"
#include "server/store/clock.h"

namespace steward::server {

// Thread-safe. Borrows the writer and clock, which must outlive it.
class TrailAuditSink final : public AuditSink {
 public:
  TrailAuditSink(audit::AuditWriter* writer, const store::Clock* clock,
                 AuditDurability durability,
                 std::optional<audit::AuditKey> key);

  absl::Status Record(const Caller& caller,
                      const std::shared_ptr<const policy::Program>& program,
                      const BoundCheck& check, const CheckOutcome& outcome,
                      absl::string_view decision_id, AuditDone done) override;
  absl::Status RecordAdminChange(const Caller& caller, absl::string_view method,
                                 absl::string_view principal,
                                 std::string details_json,
                                 int64_t store_revision,
                                 AuditDone done) override;
  void RecordAuthFailure(absl::string_view peer, absl::string_view key_name,
                         absl::string_view reason) override;

 private:
  struct Plan {
    // Held so the program (and so its address, the cache key) cannot be
    // reused by another policy while this plan is cached.
    std::shared_ptr<const policy::Program> program;
    audit::MinimizationPlan plan;
  };
  // The minimization plan of `program`, computed once per policy version.
  std::shared_ptr<const Plan> PlanFor(
      const std::shared_ptr<const policy::Program>& program);

  audit::AuditWriter* writer_;
  const store::Clock* clock_;
  AuditDurability durability_;
  std::optional<audit::AuditKey> key_;
  std::atomic<std::shared_ptr<const Plan>> plan_;
  // Last member: destroyed first, running any completion still queued
  // while the rest of the sink is alive.
  CompletionDispatcher completions_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_TRAIL_AUDIT_SINK_H_
