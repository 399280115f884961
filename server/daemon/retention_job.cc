#include "server/daemon/retention_job.h"

#include <spdlog/spdlog.h>

namespace steward::server {

RetentionJob::RetentionJob(std::unique_ptr<audit::TrailPurger> purger,
                           absl::Duration period)
    : purger_(std::move(purger)), period_(period), thread_([this] { Run(); }) {}

RetentionJob::~RetentionJob() { Stop(); }

void RetentionJob::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RetentionJob::Run() {
  while (true) {
    absl::StatusOr<audit::PurgeResult> result = purger_->PurgeExpired();
    if (!result.ok()) {
      spdlog::error("audit retention purge failed: {}",
                    result.status().ToString());
    } else if (result->skipped) {
      spdlog::info(
          "audit retention: another replica is purging; skipped this run");
    } else if (result->partitions_dropped > 0) {
      spdlog::info(
          "audit retention: purged {} records older than {} ({} partitions "
          "dropped; each chain's checkpoint advanced)",
          result->purged, absl::FormatTime(result->cutoff),
          result->partitions_dropped);
    } else if (result->purged > 0) {
      spdlog::info(
          "audit retention: purged {} records older than {} "
          "(checkpoint at seq {})",
          result->purged, absl::FormatTime(result->cutoff),
          result->checkpoint_seq);
    }
    absl::MutexLock lock(&mu_);
    auto stopping = [this]()
                        ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), period_);
    if (stopping_) return;
  }
}

}  // namespace steward::server
