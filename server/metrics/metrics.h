// Service metrics in Prometheus text format (version 0.0.4). Debian 12 has
// no prometheus-cpp package, so this is a small lock-free registry of the
// few series stewardd exports: decisions by effect and reason, check
// latency, plans by kind and their latency, batch sizes, snapshot version and
// build time, the audit writer's queue, batches, commits and index lag,
// authentication failures. Updates are relaxed atomics, so the check path never
// takes a lock.
#ifndef STEWARD_SERVER_METRICS_METRICS_H_
#define STEWARD_SERVER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "policy/decision.h"
#include "policy/plan.h"
#include "server/audit/writer.h"

namespace steward::server {

// A cumulative histogram with fixed upper bounds. Thread-safe, lock-free.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // Appends the `_bucket`, `_sum` and `_count` series.
  void Render(const std::string& name, std::string* out) const;

 private:
  std::vector<double> upper_bounds_;
  std::vector<std::atomic<uint64_t>> buckets_;  // one more: +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micro_{0};  // sum scaled by 1e6 for atomics
};

// The registry. One per server, shared by the services; thread-safe.
class Metrics {
 public:
  Metrics();

  void RecordDecision(policy::Effect effect, policy::Reason reason);
  // A DENY because no policy version is active (NO_ACTIVE_POLICY, which no
  // policy::Reason names).
  void RecordNoActivePolicy() {
    no_active_policy_.fetch_add(1, std::memory_order_relaxed);
  }
  void RecordCheckLatency(double seconds) { check_latency_.Observe(seconds); }
  // One PlanResources answered with a plan of `kind` (ALWAYS_DENIED for
  // NO_ACTIVE_POLICY too), and how long it took, audit included.
  void RecordPlan(policy::PlanKind kind) {
    plans_[static_cast<int>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  void RecordPlanLatency(double seconds) { plan_latency_.Observe(seconds); }
  void RecordBatch(size_t items) { batch_size_.Observe(items); }
  void RecordRejected() { rejected_.fetch_add(1, std::memory_order_relaxed); }
  void RecordAuthFailure() {
    auth_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  // One AUTH_FAILURE record queued; failures are aggregated, so this grows
  // far slower than the failures under a flood.
  void RecordAuthFailureRecord() {
    auth_failure_records_.fetch_add(1, std::memory_order_relaxed);
  }
  void SetSnapshot(int64_t policy_version, int64_t store_revision);
  // How long building the last published snapshot took.
  void RecordSnapshotBuild(absl::Duration build_time);

  // Sampled at render time: the audit writer owns its queue and counts its
  // batches and commits itself, so the writer thread never touches these
  // series.
  void SetAuditWriterProbe(std::function<audit::WriterMetrics()> probe)
      ABSL_LOCKS_EXCLUDED(mu_);

  std::string Render() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr int kReasons =
      static_cast<int>(policy::Reason::kEvaluationError) + 1;
  std::array<std::array<std::atomic<uint64_t>, kReasons>, 2> decisions_{};
  std::atomic<uint64_t> no_active_policy_{0};
  Histogram check_latency_;
  std::array<std::atomic<uint64_t>, 3> plans_{};  // by policy::PlanKind
  Histogram plan_latency_;
  Histogram batch_size_;
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<uint64_t> auth_failure_records_{0};
  std::atomic<int64_t> policy_version_{0};
  std::atomic<int64_t> store_revision_{0};
  std::atomic<uint64_t> snapshot_build_micros_{0};
  mutable absl::Mutex mu_;
  std::function<audit::WriterMetrics()> audit_writer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_METRICS_METRICS_H_
