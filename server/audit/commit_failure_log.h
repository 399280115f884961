// What the audit writer does about commits that keep failing: a full disk
// (SQLITE_FULL), an I/O error. With sync durability every Check waits on a
// commit, so a failing trail refuses all Checks; the operator must hear of
// it from the log, not only from metrics, and freeing space must be enough
// to recover. CommitFailureLog logs the first failure at once, then at
// most once per interval with how many failed since, and once when commits
// succeed again; it also says when the writer should truncate its WAL, so
// the WAL (which only grows while checkpoints cannot finish) gives its
// space back as soon as the volume has room.
//
// Internal to server/audit: the AuditWriter's thread owns one.
#ifndef STEWARD_SERVER_AUDIT_COMMIT_FAILURE_LOG_H_
#define STEWARD_SERVER_AUDIT_COMMIT_FAILURE_LOG_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace steward::audit::internal {

// Thread-compatible (the writer thread's alone). Time is passed in.
class CommitFailureLog {
 public:
  struct Options {
    // At most one log line per interval while commits keep failing.
    absl::Duration log_interval = absl::Seconds(30);
    // At most one WAL truncation attempt per interval while failing: a
    // TRUNCATE checkpoint waits for readers, which must not stall every
    // failing batch.
    absl::Duration truncate_interval = absl::Seconds(5);
  };

  explicit CommitFailureLog(Options options) : options_(options) {}

  // A batch of `records` failed with `status` (not a record's own error).
  // Returns true when the writer should try to truncate its WAL now.
  bool OnFailure(const absl::Status& status, size_t records, absl::Time now);

  // A batch committed. Returns true when it ends a run of failures: the
  // writer should truncate its WAL, which the failures may have left large.
  bool OnSuccess(absl::Time now);

 private:
  const Options options_;
  bool failing_ = false;
  absl::Time first_failure_;
  absl::Time last_log_ = absl::InfinitePast();
  absl::Time last_truncate_ = absl::InfinitePast();
  uint64_t failed_batches_ = 0;  // in the current run
  uint64_t failed_records_ = 0;
  uint64_t unlogged_batches_ = 0;  // since the last log line
};

}  // namespace steward::audit::internal

#endif  // STEWARD_SERVER_AUDIT_COMMIT_FAILURE_LOG_H_
