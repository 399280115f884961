// See commit_failure_log.h.
#include "server/audit/commit_failure_log.h"

#include <spdlog/spdlog.h>

#include <string>

namespace steward::audit::internal {

bool CommitFailureLog::OnFailure(const absl::Status& status, size_t records,
                                 absl::Time now) {
  if (!failing_) {
    failing_ = true;
    first_failure_ = now;
    failed_batches_ = 0;
    failed_records_ = 0;
    unlogged_batches_ = 0;
    last_log_ = absl::InfinitePast();
    last_truncate_ = absl::InfinitePast();
  }
  ++failed_batches_;
  failed_records_ += records;
  ++unlogged_batches_;
  if (now - last_log_ >= options_.log_interval) {
    if (failed_batches_ == 1) {
      spdlog::error(
          "audit trail: commit failed ({}); records are refused until "
          "commits succeed (with sync durability, every Check); free space "
          "on the data directory's volume",
          status.ToString());
    } else {
      spdlog::error(
          "audit trail: commits still failing ({}); {} batches failed in the "
          "last {} s, {} batches ({} records) since {}",
          status.ToString(), unlogged_batches_,
          absl::ToInt64Seconds(now - last_log_), failed_batches_,
          failed_records_,
          absl::FormatTime(absl::RFC3339_sec, first_failure_,
                           absl::UTCTimeZone()));
    }
    last_log_ = now;
    unlogged_batches_ = 0;
  }
  if (now - last_truncate_ >= options_.truncate_interval) {
    last_truncate_ = now;
    return true;
  }
  return false;
}

bool CommitFailureLog::OnSuccess(absl::Time now) {
  if (!failing_) return false;
  failing_ = false;
  spdlog::warn(
      "audit trail: commits succeed again after {} s; {} batches ({} "
      "records) failed meanwhile",
      absl::ToInt64Seconds(now - first_failure_), failed_batches_,
      failed_records_);
  return true;
}

}  // namespace steward::audit::internal
