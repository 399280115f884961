// TrailWriter: what the server needs of an audit trail writer, whatever
// database holds the trail.
//
// Public. Two implementations: AuditWriter (writer.h), the group-commit
// writer of the SQLite trail, and PgTrailWriter
// (postgresql/pg_trail_writer.h), which group-commits one replica's hash
// chain into PostgreSQL. TrailAuditSink (server/grpc) and the metrics probe
// hold a TrailWriter, so a decision's durability contract is the same on
// both: with a completion callback, the callback runs only after the
// record's batch has committed (or with why it was not).
#ifndef STEWARD_SERVER_AUDIT_TRAIL_WRITER_H_
#define STEWARD_SERVER_AUDIT_TRAIL_WRITER_H_

#include <array>
#include <cstdint>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/audit/record.h"

namespace steward::audit {

// Upper bounds of the batch-size histogram buckets; the last bucket is
// everything above the last bound.
inline constexpr std::array<size_t, 8> kBatchSizeBounds = {
    1, 4, 16, 64, 256, 1024, 4096, 16384};

namespace internal {
// The histogram bucket of a batch of `n` records.
inline size_t BatchSizeBucket(size_t n) {
  for (size_t i = 0; i < kBatchSizeBounds.size(); ++i) {
    if (n <= kBatchSizeBounds[i]) return i;
  }
  return kBatchSizeBounds.size();
}
}  // namespace internal

// A consistent copy of the writer's counters.
struct WriterMetrics {
  size_t queue_depth = 0;  // accepted, not yet taken into a batch
  size_t queue_capacity = 0;
  uint64_t records_committed = 0;
  uint64_t records_failed = 0;  // callbacks that received an error
  uint64_t batches_committed = 0;
  uint64_t batches_failed = 0;
  uint64_t rejected_full = 0;  // TrySubmit calls refused: queue full
  size_t last_batch_size = 0;
  size_t max_batch_size = 0;
  // batch_size_histogram[i] counts batches with size <= kBatchSizeBounds[i]
  // (and > the previous bound); the extra last entry counts larger ones.
  std::array<uint64_t, kBatchSizeBounds.size() + 1> batch_size_histogram{};
  absl::Duration last_commit_time;  // BEGIN to COMMIT of the last batch
  absl::Duration max_commit_time;
  absl::Duration total_commit_time;
  int64_t last_seq = 0;  // last committed seq
  // Deferred indexes: rows seq <= indexed_through are in the index tables.
  int64_t indexed_through = 0;
  uint64_t index_passes = 0;
  uint64_t index_passes_failed = 0;
  absl::Duration total_index_time;
  // Newest signed checkpoint's seq; -1 when none (or signing is off).
  int64_t last_signed_seq = -1;
  uint64_t signed_checkpoints_failed = 0;
  // Accepted but not yet committed or failed: what a crash now would lose
  // of the records whose callers did not wait (async decisions).
  uint64_t uncommitted = 0;
  bool failing = false;
};

// The interface. Implementations are thread-safe; the submitting side's
// entry points are non-virtual (Google style: no default arguments on
// virtual functions) and forward to Enqueue.
class TrailWriter {
 public:
  // Receives the committed record's seq, or why it was not committed (the
  // record is then NOT in the trail). Runs on the writer thread: it must be
  // quick. From a callback, Submit does not wait (it behaves as TrySubmit)
  // and SubmitAndWait, Flush and Shutdown fail with kFailedPrecondition,
  // since waiting there would deadlock the writer.
  using CommitCallback = absl::AnyInvocable<void(absl::StatusOr<int64_t>)>;

  virtual ~TrailWriter() = default;

  // Queues `record` (its seq and hashes are ignored and assigned at
  // commit), waiting while the queue is full. OK: accepted, and
  // `on_committed` (may be null) will run exactly once. Non-OK: not
  // accepted and the callback will never run: kInvalidArgument when the
  // record breaks the trail's rules, kFailedPrecondition after Shutdown().
  absl::Status Submit(AuditRecord record,
                      CommitCallback on_committed = nullptr) {
    return Enqueue(std::move(record), std::move(on_committed), /*wait=*/true);
  }

  // As Submit, but never waits: kResourceExhausted when the queue is full.
  absl::Status TrySubmit(AuditRecord record,
                         CommitCallback on_committed = nullptr) {
    return Enqueue(std::move(record), std::move(on_committed),
                   /*wait=*/false);
  }

  // Submits and waits for the commit; returns the seq. For admin changes
  // and the retention job, whose callers may block.
  // kFailedPrecondition from a commit callback.
  absl::StatusOr<int64_t> SubmitAndWait(AuditRecord record);

  // Waits until every record accepted before the call has been committed
  // or failed, and its callback has run. OK then (a failed record is
  // reported to its own callback). kFailedPrecondition from a commit
  // callback.
  virtual absl::Status Flush() = 0;

  // Stops accepting, commits everything already accepted, joins the writer
  // thread. Idempotent. kFailedPrecondition from a commit callback.
  virtual absl::Status Shutdown() = 0;

  virtual WriterMetrics metrics() const = 0;

  // True while commits fail (no space, database unreachable) until one
  // succeeds. Async callers answer only after a commit while it is true.
  virtual bool failing() const = 0;

 protected:
  TrailWriter() = default;
  TrailWriter(const TrailWriter&) = delete;
  TrailWriter& operator=(const TrailWriter&) = delete;

 protected:
  // Whether the caller is the writer thread (a commit callback), where
  // waiting for a commit would deadlock.
  virtual bool OnWriterThread() const = 0;

 private:
  // Submit (wait) and TrySubmit (!wait).
  virtual absl::Status Enqueue(AuditRecord record, CommitCallback callback,
                               bool wait) = 0;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_TRAIL_WRITER_H_
