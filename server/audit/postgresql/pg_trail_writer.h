// PgTrailWriter: one replica's writer of the audit trail in PostgreSQL
// (group commit + that replica's hash chain).
//
// Public. Every stewardd sharing a PostgreSQL database writes its own
// chain of audit_records (migrations/postgresql/0002_audit.sql), named by
// its replica name; within a chain seqs are dense and hashes are computed
// exactly as the SQLite trail's (record.h, reused, not copied), so
// VerifyPgChains (pg_verify.h) recomputes each chain from stored rows.
//
// As AuditWriter (writer.h): request handlers hand it records; one writer
// thread drains a bounded queue into batches, each one transaction: the
// compare-and-set of the chain head (audit_chains, guarded by this
// writer's session token and the head it last wrote), one INSERT of the
// whole batch (its columns as arrays, unnested), COMMIT. Completion callbacks
// run only after COMMIT returned, so with sync durability a Check is answered
// only once its record is in PostgreSQL; a batch is all or nothing.
//
// Ownership of a chain: at Open the writer takes a session-level advisory
// lock on the chain's name; a second process with the same replica name
// is refused (kFailedPrecondition). Because a lost connection loses the
// lock, every batch's head update also requires the session token the
// writer set when it took the lock: a silently re-established session
// cannot append.
//
// Failures: when a batch fails for any reason but a bad record (the
// connection lost, PostgreSQL down or out of space), every record of the
// batch fails with kUnavailable, failing() turns true, and the writer drops
// the connection; the next batch after a backoff reconnects (lock, token,
// head re-read from the database, so a COMMIT whose answer was lost is not
// appended twice). Batches arriving during the backoff fail at once, so
// sync callers get UNAVAILABLE quickly rather than waiting.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_TRAIL_WRITER_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_TRAIL_WRITER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/audit/record.h"
#include "server/audit/signed_checkpoint.h"
#include "server/audit/trail_writer.h"

namespace steward::store::postgresql {
class Connection;
}  // namespace steward::store::postgresql

namespace steward::audit {

struct PgWriterOptions {
  // libpq connection string (URL or key=value). Never logged unredacted.
  std::string conninfo;
  // The replica name: this writer's chain. 1..128 of [A-Za-z0-9_.:@-].
  std::string chain;
  // Records accepted but not yet committed; beyond it Submit waits and
  // TrySubmit fails with kResourceExhausted.
  size_t queue_capacity = 65536;
  // Upper bound on records per transaction.
  size_t max_batch_records = 8192;
  // Rows per INSERT statement (one array parameter per column, unnested):
  // by default a whole batch is one INSERT.
  size_t max_rows_per_insert = 8192;
  // Partitions created ahead: the current UTC month and the next
  // partition_months - 1, at Open and then every partition_check_interval.
  int partition_months = 3;
  absl::Duration partition_check_interval = absl::Hours(6);
  // Reconnection after a failed batch: first wait, doubled per failed
  // attempt up to the maximum.
  absl::Duration reconnect_backoff_min = absl::Milliseconds(50);
  absl::Duration reconnect_backoff_max = absl::Seconds(2);
  // How long Open (and a reconnection) retries the chain's advisory lock
  // before refusing the name as taken: a session that just ended holds it
  // until PostgreSQL has noticed.
  absl::Duration chain_lock_wait = absl::Seconds(2);
  // lock_timeout of the writer's session: how long a batch waits for the
  // chain head's row lock.
  absl::Duration lock_timeout = absl::Seconds(5);
  // Signed checkpoints of this chain (signed_checkpoint.h): with a key,
  // the writer signs (seq, head, time) of its chain once
  // signed_checkpoint_records records were committed since the last one,
  // at the first batch after signed_checkpoint_interval, at Open when the
  // chain moved past its newest checkpoint (or has none), and at Shutdown.
  std::shared_ptr<const CheckpointSigningKey> signing_key;
  int64_t signed_checkpoint_records = 1000;
  absl::Duration signed_checkpoint_interval = absl::Seconds(10);
  // Runs on the writer thread after a checkpoint is stored. Must be quick.
  std::function<void(const SignedCheckpoint&)> on_signed_checkpoint;
};

// Thread-safe. Owns its PostgreSQL connection and the writer thread; the
// destructor calls Shutdown().
class PgTrailWriter final : public TrailWriter {
 public:
  // Connects, takes the chain's advisory lock, creates the chain's head
  // row if new, creates the partitions ahead and starts the writer thread,
  // which continues the chain from its head. The database must carry the
  // schema (migration 0002). kInvalidArgument: bad chain name or
  // connection string. kFailedPrecondition: another session holds the
  // chain (a second stewardd with the same replica name). kUnavailable:
  // PostgreSQL cannot be reached. Other codes per pg_status.h.
  static absl::StatusOr<std::unique_ptr<PgTrailWriter>> Open(
      const PgWriterOptions& options);

  ~PgTrailWriter() override;

  // As TrailWriter. Records are refused (kInvalidArgument) when they break
  // the schema's rules, as AuditWriter refuses them.
  absl::Status Flush() override;
  absl::Status Shutdown() override;
  WriterMetrics metrics() const override;
  bool failing() const override {
    return failing_.load(std::memory_order_relaxed);
  }

  const std::string& chain() const { return options_.chain; }

 private:
  struct Item {
    internal::StoredRow row;
    std::string body;  // internal::CanonicalBody(row)
    CommitCallback callback;
  };
  // Where the chain continues, as read from (or written to) audit_chains.
  struct Head {
    int64_t last_seq = 0;
    Hash last_hash = kZeroHash;
  };

  PgTrailWriter(const PgWriterOptions& options,
                std::unique_ptr<store::postgresql::Connection> connection,
                std::string token, Head head, int64_t signed_seq);

  // Connects and takes the chain: advisory lock, session token, head row.
  static absl::StatusOr<std::unique_ptr<store::postgresql::Connection>> Connect(
      const PgWriterOptions& options, const std::string& token, Head& head);

  absl::Status Enqueue(AuditRecord record, CommitCallback callback,
                       bool wait) override;
  bool OnWriterThread() const override;
  void Run();
  void CommitBatch(std::vector<Item>& batch);
  // One transaction for items [begin, end); on success advances head_.
  absl::Status WriteTransaction(std::vector<Item>& batch, size_t begin,
                                size_t end);
  // Re-establishes connection_ once the backoff allows; kUnavailable while
  // it does not or the attempt fails.
  absl::Status EnsureConnection(absl::Time now);
  void EnsurePartitions(absl::Time now);
  void SignHead();
  bool SigningDue(absl::Time now) const;

  const PgWriterOptions options_;
  const std::string token_;  // this writer's session token (random hex)

  // Writer thread only (and the constructor before it starts).
  std::unique_ptr<store::postgresql::Connection> connection_;  // null: down
  Head head_;
  // Whether the current WriteTransaction got as far as sending COMMIT:
  // before that a failed batch is certainly not stored. Writer thread only.
  bool commit_sent_ = false;
  absl::Time next_reconnect_ = absl::InfinitePast();
  absl::Duration backoff_;
  absl::Time next_partition_check_ = absl::InfinitePast();
  int64_t signed_seq_ = -1;
  absl::Time signed_time_ = absl::InfinitePast();
  std::atomic<bool> failing_{false};

  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  WriterMetrics metrics_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
  std::atomic<std::thread::id> writer_thread_id_;
  absl::Mutex shutdown_mu_;
  bool joined_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_TRAIL_WRITER_H_
