#include "server/grpc/trail_audit_sink.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::server {
TrailAuditSink::TrailAuditSink(audit::AuditWriter* writer,
                               const store::Clock* clock,
                               AuditDurability durability,
                               std::optional<audit::AuditKey> key)
    : writer_(writer),
      clock_(clock),
      durability_(durability),
      key_(std::move(key)) {}

std::shared_ptr<const TrailAuditSink::Plan> TrailAuditSink::PlanFor(
    const std::shared_ptr<const policy::Program>& program) {
  std::shared_ptr<const Plan> current = plan_.load(std::memory_order_acquire);
  if (current != nullptr && current->program == program) return current;
  // A new policy: compute its plan. Two threads may race here; both compute
  // the same plan and the last store wins, which is harmless.
  auto fresh = std::make_shared<Plan>();
  fresh->program = program;
  fresh->plan = audit::MinimizationPlan::FromProgram(*program);
  plan_.store(fresh, std::memory_order_release);
  return fresh;
}

absl::Status TrailAuditSink::Record(
    const Caller& caller, const std::shared_ptr<const policy::Program>& program,
    const BoundCheck& check, const CheckOutcome& outcome,
    absl::string_view decision_id, AuditDone done) {
  if (durability_ == AuditDurability::kOff) {
    done(absl::OkStatus());
    return absl::OkStatus();
  }
  const v1::CheckRequest& request = check.source();
  audit::AuditRecord record;
  record.time = check.request().now;
  record.kind = audit::RecordKind::kDecision;
  record.decision_id = std::string(decision_id);
  record.caller = caller.key_name;
  record.principal = request.principal_id();
  record.action = request.action();
  record.resource_kind = request.resource().kind();
  record.resource_id = request.resource().id();
  record.resource_scope = request.resource().scope();
  record.effect = outcome.allowed() ? audit::RecordEffect::kAllow
                                    : audit::RecordEffect::kDeny;
  record.reason = std::string(outcome.reason_name());
  record.rule_id = std::string(outcome.decision.rule_id);
  record.policy_version = outcome.policy_version;
  record.store_revision = outcome.store_revision;
  record.request_id = request.request_id();
  record.fields.assign(request.fields().begin(), request.fields().end());
  record.purpose = request.purpose();
  record.justification = request.justification();
  if (program != nullptr) {
    std::shared_ptr<const Plan> plan = PlanFor(program);
    absl::StatusOr<audit::MinimizedAttributes> minimized =
        audit::MinimizeAttributes(plan->plan, request.resource().kind(),
                                  check.request().resource_attributes,
                                  check.request().context,
                                  key_.has_value() ? &*key_ : nullptr);
    if (!minimized.ok()) return minimized.status();
    record.attributes = std::move(minimized->json);
    record.key_id = std::move(minimized->key_id);
  }
  if (durability_ == AuditDurability::kAsync) {
    absl::Status queued = writer_->TrySubmit(std::move(record));
    if (queued.ok()) done(absl::OkStatus());
    return queued;
  }
  return writer_->TrySubmit(
      std::move(record),
      [this, done = std::move(done)](absl::StatusOr<int64_t> seq) mutable {
        completions_.Post(
            [done = std::move(done), status = seq.status()] { done(status); });
      });
}

absl::Status TrailAuditSink::RecordAdminChange(
    const Caller& caller, absl::string_view method, absl::string_view principal,
    std::string details_json, int64_t store_revision, AuditDone done) {
  audit::AuditRecord record;
  record.time = clock_->Now();
  record.kind = audit::RecordKind::kAdminChange;
  record.caller = caller.key_name;
  record.principal = std::string(principal);
  record.action = std::string(method);
  record.effect = audit::RecordEffect::kOk;
  record.store_revision = store_revision;
  record.details = std::move(details_json);
  record.totp_verified = caller.totp_verified;
  // Admin changes are rare and must not be refused for a full queue: wait
  // for room instead.
  return writer_->Submit(
      std::move(record),
      [done = std::move(done)](absl::StatusOr<int64_t> seq) mutable {
        done(seq.status());
      });
}

void TrailAuditSink::RecordAuthFailure(absl::string_view peer,
                                       absl::string_view key_name,
                                       absl::string_view reason) {
  audit::AuditRecord record;
  record.time = clock_->Now();
  record.kind = audit::RecordKind::kAuthFailure;
  record.caller = std::string(key_name);
  record.effect = audit::RecordEffect::kFailed;
  record.reason = std::string(reason);
  nlohmann::json details = {{"peer", std::string(peer)}};
  record.details = details.dump();
  absl::Status queued = writer_->TrySubmit(std::move(record));
  if (!queued.ok()) {
    spdlog::warn("audit queue full: authentication failure not recorded");
  }
}

}  // namespace steward::server
