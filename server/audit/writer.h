// AuditWriter: the single writer of the audit trail (group commit + hash
// chain).
//
// Public. The server owns one AuditWriter per database. Request handlers
// hand it records; one writer thread drains a bounded queue into batched
// transactions (one BEGIN IMMEDIATE ... COMMIT, hence one WAL fsync under
// synchronous=FULL, per batch) and assigns each record its seq, prev_hash
// and hash in commit order. Batches grow by themselves under load: while
// one batch commits, the next accumulates.
//
// Durability modes, as the server uses them (INTERFACES.md
// --audit-durability):
//  * sync (default): Submit(record, callback) and finish the gRPC reactor
//    from the callback, which runs on the writer thread only after the
//    record's batch has committed. No handler thread waits.
//  * async: TrySubmit(record, nullptr); the reply does not wait. A full
//    queue returns kResourceExhausted (back-pressure: the server answers
//    UNAVAILABLE/RESOURCE_EXHAUSTED instead of dropping the record).
// SIGTERM: Shutdown() commits everything accepted, then stops.
#ifndef STEWARD_SERVER_AUDIT_WRITER_H_
#define STEWARD_SERVER_AUDIT_WRITER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/audit/commit_failure_log.h"
#include "server/audit/record.h"
#include "server/audit/signed_checkpoint.h"
#include "server/audit/trail_writer.h"

namespace steward::store::sqlite {
class Connection;
}  // namespace steward::store::sqlite

namespace steward::audit {

struct WriterOptions {
  // Records accepted but not yet committed. Beyond it Submit waits and
  // TrySubmit fails with kResourceExhausted.
  size_t queue_capacity = 65536;
  // Upper bound on records per transaction, so one commit (and the
  // callbacks waiting on it) never grows without limit.
  size_t max_batch_records = 8192;
  // SQLite page cache of the writer's connection, in KiB. Every record
  // updates eight indexes at scattered positions; a cache that holds their
  // hot leaf pages keeps commits from re-reading them.
  int cache_size_kib = 32768;
  // Checkpoints off the commit path: a second thread with its own
  // connection copies committed WAL pages into the database file (PRAGMA
  // wal_checkpoint(PASSIVE), which never blocks the writer) at most every
  // checkpoint_interval while records are being committed. The writer's
  // own automatic checkpoint then rarely has anything left to copy; it
  // stays as the backstop that lets the WAL restart from its beginning
  // (only a checkpoint by the writer between two of its transactions can)
  // and runs once the WAL holds wal_autocheckpoint_pages pages.
  bool background_checkpoint = true;
  absl::Duration checkpoint_interval = absl::Milliseconds(100);
  // PRAGMA wal_autocheckpoint of the writer's connection; 0 keeps SQLite's
  // default (1000 pages).
  int wal_autocheckpoint_pages = 8192;
  // How long a batch waits for another connection's write lock (the
  // retention purge, the role store) before failing.
  absl::Duration busy_timeout = absl::Seconds(5);
  // Deferred indexes (migrations/0005, indexer.h). Batches append rows
  // above the watermark; the writer thread indexes them in one sorted pass
  // (its own transaction, after the batch's callbacks ran) once
  // index_batch_rows rows wait, once no record arrived for
  // index_idle_delay, and at Shutdown (index_on_shutdown). Queries scan the
  // rows above the watermark, so index_batch_rows bounds that scan. 0 /
  // ZeroDuration() disables a trigger (tests leave rows unindexed so).
  int64_t index_batch_rows = 16384;
  // At most this many rows per pass (0: the whole tail). A pass holds the
  // database's write lock, so it delays the next group commit, and with it
  // every sync Check waiting on that commit, for as long as it runs; but a
  // bigger pass dirties each index leaf once for more rows. Measured on
  // stewardd with sync audit (steward_loadgen 4x16 p99 / p99.9; stewardd
  // CPU per Check under h2load 4x16): 2,048 rows 40 / 56 ms, 109 us; 8,192
  // rows 25 / 93 ms, 97 us; the whole 16,384-row tail 16 / 153 ms, 101 us.
  // The tail shrinks by up to this many rows after each batch, more than a
  // batch adds.
  int64_t index_pass_rows = 8192;
  absl::Duration index_idle_delay = absl::Milliseconds(200);
  bool index_on_shutdown = true;
  // Space (commit_failure_log.h). PRAGMA journal_size_limit of the
  // writer's connections: whenever the WAL restarts from its beginning it
  // is truncated to this size, so a burst does not keep its space. The
  // writer also truncates the WAL to nothing at Open, after failed commits
  // (at most every 5 s) and once commits succeed again, so that freeing
  // space on a full volume is enough to recover. 0: no limit.
  int64_t wal_size_limit_bytes = int64_t{64} << 20;
  // At most one log line per interval while commits keep failing.
  absl::Duration failure_log_interval = absl::Seconds(30);
  // PRAGMA max_page_count of the writer's connection, 0 for SQLite's
  // default: a cap on the database's size. Tests simulate a full volume
  // with it (SetMaxPageCount raises it).
  int64_t max_page_count = 0;
  // Signed checkpoints (signed_checkpoint.h). With a key, the writer signs
  // (seq, head, time) of the chain tail once signed_checkpoint_records
  // records were committed since the last checkpoint, once
  // signed_checkpoint_interval has passed with records still unsigned, at
  // start when the chain has moved past the newest checkpoint (or none
  // exists: seq 0 for an empty trail), on RequestSignedCheckpoint(), and
  // at Shutdown. The records after the newest checkpoint are the only ones
  // a cut can remove unnoticed, so these bound that window. Null: the
  // trail is unsigned, as before signing existed.
  std::shared_ptr<const CheckpointSigningKey> signing_key;
  int64_t signed_checkpoint_records = 1000;
  absl::Duration signed_checkpoint_interval = absl::Seconds(10);
  // Runs on the writer thread after a signed checkpoint is stored (the
  // daemon logs it and appends it to the witness file). Must be quick.
  std::function<void(const SignedCheckpoint&)> on_signed_checkpoint;
  // The writer assigns no seq below this: the daemon passes one past the
  // newest witnessed checkpoint, so records appended after a cut (a new
  // segment) never take seqs a witness line vouches for elsewhere.
  int64_t min_next_seq = 0;
};

// Thread-safe. Owns its own SQLite connection to the database file (WAL,
// synchronous=FULL) and the writer thread; the destructor calls Shutdown().
// Must be the only writer of audit_log in the process and the only process
// writing it (stewardd holds the data directory).
class AuditWriter final : public TrailWriter {
 public:
  // Opens `db_path` (which must already carry the schema; Store::Open or
  // the migration runner creates it) and starts the writer thread, which
  // continues the chain from the newest record or checkpoint.
  // kNotFound: no such file. Other codes per the store's SQLite mapping.
  static absl::StatusOr<std::unique_ptr<AuditWriter>> Open(
      const std::string& db_path, const WriterOptions& options = {});

  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;
  ~AuditWriter();

  // Submit, TrySubmit, SubmitAndWait, Flush and Shutdown: as TrailWriter
  // (trail_writer.h) says. Submit refuses with kInvalidArgument a record
  // that breaks the schema's rules (decision without decision_id, effect
  // not matching the kind).
  absl::Status Flush() override;
  absl::Status Shutdown() override;

  // Asks the writer thread to sign a checkpoint of the current tail soon
  // (after the records accepted so far), without waiting. No effect
  // without a signing key or when the tail is already signed.
  void RequestSignedCheckpoint();

  WriterMetrics metrics() const override;

  // True from a commit that failed for lack of space or I/O until one
  // succeeds. Async callers answer only after a commit while it is true.
  bool failing() const override {
    return failing_.load(std::memory_order_relaxed);
  }

  // Sets PRAGMA max_page_count (WriterOptions::max_page_count) before the
  // next batch.
  void SetMaxPageCount(int64_t pages);

 private:
  // A queued record, already converted to its stored form and encoded
  // (except the seq) on the submitting thread, which keeps that work off
  // the single writer thread.
  struct Item {
    internal::StoredRow row;
    std::string body;  // internal::CanonicalBody(row)
    CommitCallback callback;
  };

  AuditWriter(std::unique_ptr<store::sqlite::Connection> connection,
              std::unique_ptr<store::sqlite::Connection> checkpoint_connection,
              const WriterOptions& options, int64_t last_seq, Hash last_hash,
              int64_t next_seq, int64_t indexed_through, int64_t signed_seq,
              absl::Time signed_time);

  absl::Status Enqueue(AuditRecord record, CommitCallback callback,
                       bool wait) override;
  bool OnWriterThread() const override;
  void Run();
  // Writes `batch` in one transaction; on failure of a batch of several
  // records that may be due to one bad record (a constraint), retries each
  // record alone so only the bad one fails. Runs the callbacks.
  void CommitBatch(std::vector<Item>& batch);
  // One transaction for items [begin, end). On success advances the chain
  // tail and fills `seqs`; on failure leaves it as it was.
  absl::Status WriteTransaction(std::vector<Item>& batch, size_t begin,
                                size_t end, std::vector<int64_t>& seqs);

  // One indexer pass over up to index_pass_rows rows above the watermark
  // (indexer.h); on failure (false) the rows stay above it and a later
  // trigger retries.
  bool IndexTail();

  // PRAGMA wal_checkpoint(TRUNCATE) on the writer's connection (between
  // transactions): gives the WAL's space back. Best effort.
  void TruncateWal();
  // Signs and stores a checkpoint of (last_seq_, last_hash_) when signing
  // is on and the tail is not signed yet. A failure is counted and logged
  // through the metrics; the next trigger retries.
  void SignTail();
  bool SigningDue(absl::Time now) const;

  // The background checkpoint thread (WriterOptions::background_checkpoint).
  void RunCheckpointer(std::unique_ptr<store::sqlite::Connection> connection);

  const WriterOptions options_;

  // Touched only by the writer thread (and by the constructor before it
  // starts): the connection and where the chain continues.
  std::unique_ptr<store::sqlite::Connection> connection_;
  int64_t last_seq_;
  Hash last_hash_;
  int64_t next_seq_;
  int64_t indexed_through_;
  internal::CommitFailureLog failure_log_;
  std::atomic<int64_t> pending_max_page_count_{0};
  std::atomic<bool> failing_{false};
  // Newest signed checkpoint (-1: none) and when it was made.
  int64_t signed_seq_ = -1;
  absl::Time signed_time_ = absl::InfinitePast();

  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool sign_requested_ ABSL_GUARDED_BY(mu_) = false;
  // Tickets: records accepted so far, and records whose callback has run.
  uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  WriterMetrics metrics_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // joined by Shutdown()
  // Batches committed since the checkpointer last ran; it sleeps while 0.
  uint64_t uncheckpointed_batches_ ABSL_GUARDED_BY(mu_) = 0;
  bool checkpointer_stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread checkpointer_;  // joined by Shutdown(), if started
  // Set by the writer thread when it starts; lets the blocking calls
  // refuse to run from a commit callback instead of deadlocking.
  std::atomic<std::thread::id> writer_thread_id_;
  absl::Mutex shutdown_mu_;  // serializes Shutdown() callers
  bool joined_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_WRITER_H_
