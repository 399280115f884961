#include "server/grpc/trail_audit_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::server {
namespace {

// The columns a decision and a plan record take the same way from their
// requests (CheckRequest and PlanResourcesRequest name them alike).
template <typename Request>
audit::AuditRecord RequestRecord(audit::RecordKind kind, absl::Time time,
                                 absl::string_view id, const Caller& caller,
                                 const Request& request) {
  audit::AuditRecord record;
  record.time = time;
  record.kind = kind;
  record.decision_id = std::string(id);
  record.caller = caller.key_name;
  record.principal = request.principal_id();
  record.action = request.action();
  record.request_id = request.request_id();
  record.fields.assign(request.fields().begin(), request.fields().end());
  record.purpose = request.purpose();
  record.justification = request.justification();
  return record;
}

}  // namespace

TrailAuditSink::TrailAuditSink(audit::TrailWriter* writer,
                               const store::Clock* clock, Metrics* metrics,
                               AuditDurability durability,
                               std::optional<audit::AuditKey> key,
                               AuthFailureAggregator::Options auth_failures)
    : writer_(writer),
      clock_(clock),
      metrics_(metrics),
      durability_(durability),
      key_(std::move(key)),
      auth_failures_(auth_failures),
      // Often enough that a summary is late by a small part of its
      // interval; rarely enough to cost nothing.
      auth_failure_tick_(std::clamp(auth_failures.interval / 10,
                                    absl::Milliseconds(10), absl::Seconds(1))),
      ticker_([this] { RunAuthFailureTicker(); }) {}

TrailAuditSink::~TrailAuditSink() { Shutdown(); }

std::shared_ptr<const TrailAuditSink::Minimization>
TrailAuditSink::MinimizationFor(
    const std::shared_ptr<const policy::Program>& program) {
  std::shared_ptr<const Minimization> current =
      plan_.load(std::memory_order_acquire);
  if (current != nullptr && current->program == program) return current;
  // A new policy: compute its plan. Two threads may race here; both compute
  // the same plan and the last store wins, which is harmless.
  auto fresh = std::make_shared<Minimization>();
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
  audit::AuditRecord record =
      RequestRecord(audit::RecordKind::kDecision, check.request().now,
                    decision_id, caller, request);
  record.resource_kind = request.resource().kind();
  record.resource_id = request.resource().id();
  record.resource_scope = request.resource().scope();
  record.effect = outcome.allowed() ? audit::RecordEffect::kAllow
                                    : audit::RecordEffect::kDeny;
  record.reason = std::string(outcome.reason_name());
  record.rule_id = std::string(outcome.decision.rule_id);
  record.policy_version = outcome.policy_version;
  record.store_revision = outcome.store_revision;
  if (program != nullptr) {
    std::shared_ptr<const Minimization> plan = MinimizationFor(program);
    absl::StatusOr<audit::MinimizedAttributes> minimized =
        audit::MinimizeAttributes(plan->plan, request.resource().kind(),
                                  check.request().resource_attributes,
                                  check.request().context,
                                  key_.has_value() ? &*key_ : nullptr);
    if (!minimized.ok()) return minimized.status();
    record.attributes = std::move(minimized->json);
    record.key_id = std::move(minimized->key_id);
  }
  return Submit(std::move(record), std::move(done));
}

absl::Status TrailAuditSink::RecordPlan(const Caller& caller,
                                        const BoundPlan& plan,
                                        const PlanOutcome& outcome,
                                        absl::string_view plan_id,
                                        AuditDone done) {
  if (durability_ == AuditDurability::kOff) {
    done(absl::OkStatus());
    return absl::OkStatus();
  }
  const v1::PlanResourcesRequest& request = plan.source();
  audit::AuditRecord record = RequestRecord(
      audit::RecordKind::kPlan, plan.request().now, plan_id, caller, request);
  record.resource_kind = request.resource_kind();
  record.resource_scope = request.scope();
  record.effect = audit::RecordEffect::kOk;
  // "CONDITIONAL/ALLOWED_BY_RULE", "ALWAYS_DENIED/NO_MATCHING_RULE": the
  // plan kind, then why (AuditService splits them again).
  record.reason = absl::StrCat(v1::PlanKind_Name(outcome.kind()), "/",
                               v1::Reason_Name(outcome.reason()));
  record.policy_version = outcome.policy_version;
  record.store_revision = outcome.store_revision;
  // No attributes: a plan reads no resource, and the context it folded is
  // not kept (as Check keeps only what conditions read, minimized, a plan
  // keeps none of it).
  return Submit(std::move(record), std::move(done));
}

absl::Status TrailAuditSink::Submit(audit::AuditRecord record, AuditDone done) {
  // Async answers before the commit, but only while commits succeed: once
  // the writer fails (a full disk), answers wait for their commit as in
  // sync mode, so no decision is answered that the trail then cannot hold.
  // A crash loses at most the records still uncommitted
  // (steward_audit_uncommitted_records), and the next start says so in the
  // trail (server/audit/run_marker.h).
  if (durability_ == AuditDurability::kAsync && !writer_->failing()) {
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

void TrailAuditSink::RecordAuthFailure(const AuthFailure& failure) {
  std::optional<AuthFailureSummary> now =
      auth_failures_.Add(failure, clock_->Now());
  if (now.has_value()) WriteAuthFailure(*now, /*wait=*/false);
}

void TrailAuditSink::WriteAuthFailure(const AuthFailureSummary& summary,
                                      bool wait) {
  audit::AuditRecord record;
  record.time = summary.last;
  record.kind = audit::RecordKind::kAuthFailure;
  record.caller = summary.key_name;
  record.action = summary.rpc;
  record.effect = audit::RecordEffect::kFailed;
  record.reason = summary.reason;
  nlohmann::json details = {
      {"peer", summary.peer},
      {"reason", summary.reason},
      {"count", summary.count},
      {"first", absl::FormatTime(absl::RFC3339_full, summary.first,
                                 absl::UTCTimeZone())},
      {"last",
       absl::FormatTime(absl::RFC3339_full, summary.last, absl::UTCTimeZone())},
      {"message", summary.message}};
  // Peers and messages are not ours: never throw on their bytes.
  record.details =
      details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  absl::Status queued = wait ? writer_->Submit(std::move(record))
                             : writer_->TrySubmit(std::move(record));
  if (!queued.ok()) {
    spdlog::warn(
        "audit queue refused an authentication failure record ({}): "
        "{} failures not recorded",
        queued.ToString(), summary.count);
    return;
  }
  if (metrics_ != nullptr) metrics_->RecordAuthFailureRecord();
}

void TrailAuditSink::RunAuthFailureTicker() {
  while (true) {
    {
      absl::MutexLock lock(&ticker_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ticker_mu_) {
        return ticker_stopping_;
      };
      ticker_mu_.AwaitWithTimeout(absl::Condition(&stopping),
                                  auth_failure_tick_);
      if (ticker_stopping_) return;
    }
    for (const AuthFailureSummary& summary :
         auth_failures_.Tick(clock_->Now())) {
      WriteAuthFailure(summary, /*wait=*/true);
    }
  }
}

void TrailAuditSink::Shutdown() {
  {
    absl::MutexLock lock(&ticker_mu_);
    ticker_stopping_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
  for (const AuthFailureSummary& summary : auth_failures_.FlushAll()) {
    WriteAuthFailure(summary, /*wait=*/true);
  }
}

}  // namespace steward::server
