#include "server/metrics.h"

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
      batch_size_({1, 10, 50, 100, 250, 500, 1000}),
      audit_batch_size_({1, 10, 50, 100, 250, 500, 1000, 5000}),
      audit_commit_seconds_(
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}) {}

void Metrics::RecordDecision(policy::Effect effect, policy::Reason reason) {
  decisions_[effect == policy::Effect::kAllow ? 1 : 0][static_cast<int>(reason)]
      .fetch_add(1, std::memory_order_relaxed);
}

void Metrics::SetSnapshot(int64_t policy_version, int64_t store_revision,
                          double build_seconds) {
  policy_version_.store(policy_version, std::memory_order_relaxed);
  store_revision_.store(store_revision, std::memory_order_relaxed);
  snapshot_build_micros_.store(static_cast<uint64_t>(build_seconds * 1e6),
                               std::memory_order_relaxed);
}

void Metrics::RecordAuditCommit(size_t batch_size, double seconds) {
  audit_batch_size_.Observe(static_cast<double>(batch_size));
  audit_commit_seconds_.Observe(seconds);
}

void Metrics::SetAuditQueueDepthProbe(std::function<int64_t()> probe) {
  absl::MutexLock lock(&mu_);
  audit_queue_depth_ = std::move(probe);
}

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
  absl::StrAppend(&out,
                  "# HELP steward_check_latency_seconds Time to decide one "
                  "Check, audit included.\n"
                  "# TYPE steward_check_latency_seconds histogram\n");
  check_latency_.Render("steward_check_latency_seconds", &out);
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
      "to build.\n# TYPE steward_snapshot_build_seconds gauge\n"
      "steward_snapshot_build_seconds %.6f\n",
      static_cast<double>(
          snapshot_build_micros_.load(std::memory_order_relaxed)) /
          1e6);
  int64_t depth = 0;
  {
    absl::MutexLock lock(&mu_);
    if (audit_queue_depth_) depth = audit_queue_depth_();
  }
  absl::StrAppend(&out,
                  "# HELP steward_audit_queue_depth Records waiting for the "
                  "audit writer.\n# TYPE steward_audit_queue_depth gauge\n",
                  "steward_audit_queue_depth ", depth, "\n");
  absl::StrAppend(&out,
                  "# HELP steward_audit_batch_records Records per audit "
                  "commit.\n# TYPE steward_audit_batch_records histogram\n");
  audit_batch_size_.Render("steward_audit_batch_records", &out);
  absl::StrAppend(&out,
                  "# HELP steward_audit_commit_seconds Time per audit "
                  "commit.\n# TYPE steward_audit_commit_seconds histogram\n");
  audit_commit_seconds_.Render("steward_audit_commit_seconds", &out);
  return out;
}

}  // namespace steward::server
