#include "server/metrics/metrics.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace steward::server {

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(upper_bounds_.size() + 1) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < upper_bounds_.size() && value > upper_bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<uint64_t>(value * 1e6),
                       std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, std::string* out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < upper_bounds_.size()
                         ? absl::StrFormat("%g", upper_bounds_[i])
                         : std::string("+Inf");
    absl::StrAppend(out, name, "_bucket{le=\"", le, "\"} ", cumulative, "\n");
  }
  absl::StrAppendFormat(
      out, "%s_sum %.6f\n%s_count %d\n", name,
      static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6,
      name, count_.load(std::memory_order_relaxed));
}

Metrics::Metrics()
    : check_latency_({0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                      0.01, 0.025, 0.05, 0.1, 0.25, 1}),
      plan_latency_({0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                     0.01, 0.025, 0.05, 0.1, 0.25, 1}),
      batch_size_({1, 10, 50, 100, 250, 500, 1000}) {}

void Metrics::RecordDecision(policy::Effect effect, policy::Reason reason) {
  decisions_[effect == policy::Effect::kAllow ? 1 : 0][static_cast<int>(reason)]
      .fetch_add(1, std::memory_order_relaxed);
}

void Metrics::SetSnapshot(int64_t policy_version, int64_t store_revision) {
  policy_version_.store(policy_version, std::memory_order_relaxed);
  store_revision_.store(store_revision, std::memory_order_relaxed);
}

void Metrics::RecordSnapshotBuild(absl::Duration build_time) {
  snapshot_build_micros_.store(static_cast<uint64_t>(std::max<int64_t>(
                                   0, absl::ToInt64Microseconds(build_time))),
                               std::memory_order_relaxed);
}

void Metrics::SetAuditWriterProbe(std::function<audit::WriterMetrics()> probe) {
  absl::MutexLock lock(&mu_);
  audit_writer_ = std::move(probe);
}

namespace {

void RenderAuditWriter(const audit::WriterMetrics& m, std::string* out) {
  absl::StrAppend(
      out,
      "# HELP steward_audit_queue_depth Records waiting for the audit "
      "writer.\n# TYPE steward_audit_queue_depth gauge\n",
      "steward_audit_queue_depth ", m.queue_depth, "\n",
      "# HELP steward_audit_queue_capacity Records the audit queue holds "
      "before back-pressure.\n# TYPE steward_audit_queue_capacity gauge\n",
      "steward_audit_queue_capacity ", m.queue_capacity, "\n",
      "# HELP steward_audit_records_committed_total Audit records "
      "committed.\n# TYPE steward_audit_records_committed_total counter\n",
      "steward_audit_records_committed_total ", m.records_committed, "\n",
      "# HELP steward_audit_records_failed_total Audit records whose commit "
      "failed (their callers were told).\n"
      "# TYPE steward_audit_records_failed_total counter\n",
      "steward_audit_records_failed_total ", m.records_failed, "\n",
      "# HELP steward_audit_uncommitted_records Records accepted and not "
      "yet committed: what a crash now would lose of async decisions.\n"
      "# TYPE steward_audit_uncommitted_records gauge\n",
      "steward_audit_uncommitted_records ", m.uncommitted, "\n",
      "# HELP steward_audit_commits_failing 1 while audit commits fail (a "
      "full disk); async Checks then wait for their commit.\n"
      "# TYPE steward_audit_commits_failing gauge\n",
      "steward_audit_commits_failing ", m.failing ? 1 : 0, "\n",
      "# HELP steward_audit_rejected_full_total Records refused because the "
      "audit queue was full.\n"
      "# TYPE steward_audit_rejected_full_total counter\n",
      "steward_audit_rejected_full_total ", m.rejected_full, "\n");

  absl::StrAppend(out,
                  "# HELP steward_audit_batch_records Records per audit "
                  "commit.\n# TYPE steward_audit_batch_records histogram\n");
  uint64_t batches = 0;
  for (size_t i = 0; i < m.batch_size_histogram.size(); ++i) {
    batches += m.batch_size_histogram[i];
    std::string le = i < audit::kBatchSizeBounds.size()
                         ? absl::StrCat(audit::kBatchSizeBounds[i])
                         : std::string("+Inf");
    absl::StrAppend(out, "steward_audit_batch_records_bucket{le=\"", le, "\"} ",
                    batches, "\n");
  }
  // Every record taken into a batch ends committed or failed.
  absl::StrAppend(out, "steward_audit_batch_records_sum ",
                  m.records_committed + m.records_failed, "\n",
                  "steward_audit_batch_records_count ", batches, "\n");

  absl::StrAppendFormat(
      out,
      "# HELP steward_audit_commit_seconds Time per audit commit, BEGIN to "
      "durable COMMIT.\n# TYPE steward_audit_commit_seconds summary\n"
      "steward_audit_commit_seconds_sum %.6f\n"
      "steward_audit_commit_seconds_count %d\n"
      "# HELP steward_audit_commit_max_seconds Longest audit commit since "
      "start.\n# TYPE steward_audit_commit_max_seconds gauge\n"
      "steward_audit_commit_max_seconds %.6f\n",
      absl::ToDoubleSeconds(m.total_commit_time), batches,
      absl::ToDoubleSeconds(m.max_commit_time));
  absl::StrAppend(
      out,
      "# HELP steward_audit_index_lag_records Committed records not yet in "
      "the audit lookup tables.\n"
      "# TYPE steward_audit_index_lag_records gauge\n",
      "steward_audit_index_lag_records ",
      std::max<int64_t>(0, m.last_seq - m.indexed_through), "\n",
      "# HELP steward_audit_last_signed_seq Seq of the newest signed audit "
      "checkpoint; -1 when none (or signing is off).\n"
      "# TYPE steward_audit_last_signed_seq gauge\n",
      "steward_audit_last_signed_seq ", m.last_signed_seq, "\n",
      "# HELP steward_audit_unsigned_records Committed records after the "
      "newest signed checkpoint: what a rewrite could still change "
      "unnoticed.\n# TYPE steward_audit_unsigned_records gauge\n",
      "steward_audit_unsigned_records ",
      m.last_signed_seq < 0
          ? m.last_seq
          : std::max<int64_t>(0, m.last_seq - m.last_signed_seq),
      "\n",
      "# HELP steward_audit_signed_checkpoints_failed_total Signed "
      "checkpoints that could not be made (retried at the next trigger).\n"
      "# TYPE steward_audit_signed_checkpoints_failed_total counter\n",
      "steward_audit_signed_checkpoints_failed_total ",
      m.signed_checkpoints_failed, "\n");
}

}  // namespace

std::string Metrics::Render() const {
  std::string out;
  absl::StrAppend(&out,
                  "# HELP steward_decisions_total Decisions by effect and "
                  "reason.\n# TYPE steward_decisions_total counter\n");
  for (int e = 0; e < 2; ++e) {
    for (int r = 0; r < kReasons; ++r) {
      uint64_t n = decisions_[e][r].load(std::memory_order_relaxed);
      if (n == 0) continue;
      absl::StrAppend(&out, "steward_decisions_total{effect=\"",
                      e == 1 ? "ALLOW" : "DENY", "\",reason=\"",
                      policy::ReasonName(static_cast<policy::Reason>(r)),
                      "\"} ", n, "\n");
    }
  }
  if (uint64_t n = no_active_policy_.load(std::memory_order_relaxed); n != 0) {
    absl::StrAppend(&out, "steward_decisions_total{effect=\"DENY\",reason=\"",
                    "NO_ACTIVE_POLICY", "\"} ", n, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP steward_check_latency_seconds Time to decide one "
                  "Check, audit included.\n"
                  "# TYPE steward_check_latency_seconds histogram\n");
  check_latency_.Render("steward_check_latency_seconds", &out);
  absl::StrAppend(&out,
                  "# HELP steward_plans_total Query plans answered by "
                  "PlanResources, by plan kind.\n"
                  "# TYPE steward_plans_total counter\n");
  for (policy::PlanKind kind :
       {policy::PlanKind::kAlwaysAllowed, policy::PlanKind::kAlwaysDenied,
        policy::PlanKind::kConditional}) {
    absl::StrAppend(
        &out, "steward_plans_total{kind=\"", policy::PlanKindName(kind), "\"} ",
        plans_[static_cast<int>(kind)].load(std::memory_order_relaxed), "\n");
  }
  absl::StrAppend(&out,
                  "# HELP steward_plan_latency_seconds Time to answer one "
                  "PlanResources, audit included.\n"
                  "# TYPE steward_plan_latency_seconds histogram\n");
  plan_latency_.Render("steward_plan_latency_seconds", &out);
  absl::StrAppend(&out,
                  "# HELP steward_batch_items Items per BatchCheck.\n"
                  "# TYPE steward_batch_items histogram\n");
  batch_size_.Render("steward_batch_items", &out);
  absl::StrAppend(
      &out,
      "# HELP steward_requests_rejected_total Calls refused with "
      "RESOURCE_EXHAUSTED.\n# TYPE steward_requests_rejected_total counter\n",
      "steward_requests_rejected_total ",
      rejected_.load(std::memory_order_relaxed), "\n");
  absl::StrAppend(&out,
                  "# HELP steward_auth_failures_total Failed authentications.\n"
                  "# TYPE steward_auth_failures_total counter\n",
                  "steward_auth_failures_total ",
                  auth_failures_.load(std::memory_order_relaxed), "\n");
  absl::StrAppend(
      &out,
      "# HELP steward_auth_failure_records_total AUTH_FAILURE audit records "
      "queued; each counts one or more failed authentications.\n"
      "# TYPE steward_auth_failure_records_total counter\n",
      "steward_auth_failure_records_total ",
      auth_failure_records_.load(std::memory_order_relaxed), "\n");
  absl::StrAppend(
      &out,
      "# HELP steward_snapshot_policy_version Active policy version.\n"
      "# TYPE steward_snapshot_policy_version gauge\n",
      "steward_snapshot_policy_version ",
      policy_version_.load(std::memory_order_relaxed), "\n",
      "# HELP steward_snapshot_store_revision Store revision of the "
      "snapshot.\n# TYPE steward_snapshot_store_revision gauge\n",
      "steward_snapshot_store_revision ",
      store_revision_.load(std::memory_order_relaxed), "\n");
  absl::StrAppendFormat(
      &out,
      "# HELP steward_snapshot_build_seconds Time the last snapshot took "
      "to build (the store call that built it: open, policy apply or "
      "activation).\n# TYPE steward_snapshot_build_seconds gauge\n"
      "steward_snapshot_build_seconds %.6f\n",
      static_cast<double>(
          snapshot_build_micros_.load(std::memory_order_relaxed)) /
          1e6);
  std::optional<audit::WriterMetrics> writer;
  {
    absl::MutexLock lock(&mu_);
    if (audit_writer_) writer = audit_writer_();
  }
  if (writer.has_value()) RenderAuditWriter(*writer, &out);
  return out;
}

}  // namespace steward::server
