// See writer.h.
#include "server/audit/writer.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "nlohmann/json.hpp"
#include "server/audit/indexer.h"
#include "server/audit/rows.h"
#include "server/audit/signed_checkpoint.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {
namespace {

using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;
using store::sqlite::Transaction;

// Errors caused by one record's content rather than by the database.
bool IsRecordError(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAlreadyExists ||
         s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kFailedPrecondition;
}

// journal_size_limit and max_page_count (WriterOptions). PRAGMAs take no
// bound parameters; the values are integers we format, not user text.
absl::Status ApplySpaceOptions(Connection& connection,
                               const WriterOptions& options) {
  if (options.wal_size_limit_bytes > 0) {
    const std::string pragma = absl::StrCat("PRAGMA journal_size_limit = ",
                                            options.wal_size_limit_bytes);
    if (absl::Status s = connection.Exec(pragma.c_str()); !s.ok()) return s;
  }
  if (options.max_page_count > 0) {
    const std::string pragma =
        absl::StrCat("PRAGMA max_page_count = ", options.max_page_count);
    if (absl::Status s = connection.Exec(pragma.c_str()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditWriter>> AuditWriter::Open(
    const std::string& db_path, const WriterOptions& options) {
  ConnectionOptions copts;
  copts.create_if_missing = false;
  copts.busy_timeout = options.busy_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(db_path, copts);
  if (!connection.ok()) return connection.status();
  if (options.cache_size_kib > 0) {
    // Negative cache_size means KiB. PRAGMA takes no bound parameters; the
    // value is an integer we format, not user text.
    const std::string pragma =
        absl::StrCat("PRAGMA cache_size = -", options.cache_size_kib);
    if (absl::Status s = (*connection)->Exec(pragma.c_str()); !s.ok()) {
      return s;
    }
  }
  if (options.wal_autocheckpoint_pages > 0) {
    const std::string pragma = absl::StrCat("PRAGMA wal_autocheckpoint = ",
                                            options.wal_autocheckpoint_pages);
    if (absl::Status s = (*connection)->Exec(pragma.c_str()); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ApplySpaceOptions(**connection, options); !s.ok()) {
    return s;
  }
  // A WAL left large by a previous run (a full volume, a crash) is given
  // back before anything else needs the space.
  (void)(*connection)->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  absl::StatusOr<internal::ChainTail> tail =
      internal::LoadChainTail(**connection);
  if (!tail.ok()) return tail.status();
  absl::StatusOr<int64_t> indexed_through =
      internal::IndexedThrough(**connection);
  if (!indexed_through.ok()) return indexed_through.status();
  std::unique_ptr<Connection> checkpoint_connection;
  if (options.background_checkpoint) {
    absl::StatusOr<std::unique_ptr<Connection>> c =
        Connection::Open(db_path, copts);
    if (!c.ok()) return c.status();
    WriterOptions wal_only;
    wal_only.wal_size_limit_bytes = options.wal_size_limit_bytes;
    if (absl::Status s = ApplySpaceOptions(**c, wal_only); !s.ok()) return s;
    checkpoint_connection = *std::move(c);
  }
  std::optional<SignedCheckpoint> last_signed;
  if (options.signing_key != nullptr) {
    absl::StatusOr<std::optional<SignedCheckpoint>> loaded =
        internal::LastSignedCheckpoint(**connection);
    if (!loaded.ok()) return loaded.status();
    last_signed = *std::move(loaded);
    // Like a deleted tail's seqs (sqlite_sequence), a seq a signed
    // checkpoint names is never reused: a record appended after a cut
    // (a new segment) must not take the place the signature vouches for.
    if (last_signed.has_value()) {
      tail->next_seq = std::max(tail->next_seq, last_signed->seq + 1);
    }
  }
  tail->next_seq = std::max(tail->next_seq, options.min_next_seq);
  WriterOptions effective = options;
  if (effective.queue_capacity == 0) effective.queue_capacity = 1;
  if (effective.max_batch_records == 0) effective.max_batch_records = 1;
  // The constructor is private; make_unique cannot reach it.
  std::unique_ptr<AuditWriter> writer(new AuditWriter(
      *std::move(connection), std::move(checkpoint_connection), effective,
      tail->last_seq, tail->last_hash, tail->next_seq, *indexed_through,
      last_signed.has_value() ? last_signed->seq : -1,
      last_signed.has_value() ? absl::FromUnixMicros(last_signed->time_micros)
                              : absl::InfinitePast()));
  return writer;
}

AuditWriter::AuditWriter(std::unique_ptr<Connection> connection,
                         std::unique_ptr<Connection> checkpoint_connection,
                         const WriterOptions& options, int64_t last_seq,
                         Hash last_hash, int64_t next_seq,
                         int64_t indexed_through, int64_t signed_seq,
                         absl::Time signed_time)
    : options_(options),
      connection_(std::move(connection)),
      last_seq_(last_seq),
      last_hash_(last_hash),
      next_seq_(next_seq),
      indexed_through_(indexed_through),
      failure_log_({.log_interval = options.failure_log_interval}),
      signed_seq_(signed_seq),
      signed_time_(signed_time) {
  metrics_.queue_capacity = options_.queue_capacity;
  metrics_.last_signed_seq = signed_seq_;
  metrics_.last_seq = last_seq_;
  metrics_.indexed_through = indexed_through_;
  thread_ = std::thread([this] { Run(); });
  if (checkpoint_connection != nullptr) {
    checkpointer_ =
        std::thread([this, c = std::move(checkpoint_connection)]() mutable {
          RunCheckpointer(std::move(c));
        });
  }
}

AuditWriter::~AuditWriter() { (void)Shutdown(); }

absl::Status AuditWriter::Enqueue(AuditRecord record, CommitCallback callback,
                                  bool wait) {
  if (absl::Status s = internal::ValidateRecord(record); !s.ok()) return s;
  // Waiting on the writer thread (from a commit callback) would deadlock:
  // only the writer thread frees queue slots.
  if (OnWriterThread()) wait = false;
  Item item;
  item.row = internal::ToStoredRow(std::move(record));
  item.body = internal::CanonicalBody(item.row);
  item.callback = std::move(callback);
  absl::MutexLock lock(&mu_);
  if (wait) {
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || queue_.size() < options_.queue_capacity;
    };
    mu_.Await(absl::Condition(&has_room));
  }
  if (stopping_) {
    return absl::FailedPreconditionError("audit writer is shut down");
  }
  if (queue_.size() >= options_.queue_capacity) {
    ++metrics_.rejected_full;
    return absl::ResourceExhaustedError("audit queue is full");
  }
  queue_.push_back(std::move(item));
  ++accepted_;
  return absl::OkStatus();
}

bool AuditWriter::OnWriterThread() const {
  return std::this_thread::get_id() == writer_thread_id_.load();
}

absl::Status AuditWriter::Flush() {
  if (OnWriterThread()) {
    return absl::FailedPreconditionError(
        "AuditWriter::Flush called from a commit callback");
  }
  absl::MutexLock lock(&mu_);
  const uint64_t target = accepted_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return completed_ >= target;
  };
  mu_.Await(absl::Condition(&done));
  return absl::OkStatus();
}

absl::Status AuditWriter::Shutdown() {
  if (OnWriterThread()) {
    return absl::FailedPreconditionError(
        "AuditWriter::Shutdown called from a commit callback");
  }
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  absl::Status flushed = Flush();
  if (joined_) return flushed;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // The writer thread drains the queue before it sees stopping_ with an
  // empty queue, so nothing accepted is abandoned.
  thread_.join();
  {
    absl::MutexLock lock(&mu_);
    checkpointer_stopping_ = true;
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  joined_ = true;
  return flushed;
}

void AuditWriter::RequestSignedCheckpoint() {
  absl::MutexLock lock(&mu_);
  sign_requested_ = true;
}

bool AuditWriter::SigningDue(absl::Time now) const {
  if (options_.signing_key == nullptr) return false;
  if (signed_seq_ < 0) return true;  // never signed: sign the start
  if (last_seq_ <= signed_seq_) return false;
  return last_seq_ - signed_seq_ >= options_.signed_checkpoint_records ||
         now - signed_time_ >= options_.signed_checkpoint_interval;
}

void AuditWriter::SignTail() {
  if (options_.signing_key == nullptr) return;
  if (signed_seq_ >= 0 && last_seq_ <= signed_seq_) return;
  const absl::Time now = absl::Now();
  absl::StatusOr<SignedCheckpoint> checkpoint =
      options_.signing_key->Sign(last_seq_, last_hash_, now);
  absl::Status stored = checkpoint.status();
  if (stored.ok()) {
    stored = internal::InsertSignedCheckpoint(*connection_, *checkpoint);
  }
  if (!stored.ok()) {
    // Retried at the next trigger; the interval restarts so a failing
    // disk is not hammered once per batch.
    signed_time_ = now;
    absl::MutexLock lock(&mu_);
    ++metrics_.signed_checkpoints_failed;
    return;
  }
  signed_seq_ = last_seq_;
  signed_time_ = now;
  if (options_.on_signed_checkpoint) options_.on_signed_checkpoint(*checkpoint);
  absl::MutexLock lock(&mu_);
  metrics_.last_signed_seq = signed_seq_;
}

WriterMetrics AuditWriter::metrics() const {
  absl::MutexLock lock(&mu_);
  WriterMetrics m = metrics_;
  m.queue_depth = queue_.size();
  m.uncommitted = accepted_ - m.records_committed - m.records_failed;
  m.failing = failing();
  return m;
}

void AuditWriter::SetMaxPageCount(int64_t pages) {
  pending_max_page_count_.store(pages);
}

void AuditWriter::TruncateWal() {
  // Fails (BUSY) while a reader still needs the WAL; the next attempt, or
  // the automatic checkpoints with journal_size_limit, catch up.
  (void)connection_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

void AuditWriter::RunCheckpointer(std::unique_ptr<Connection> connection) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return checkpointer_stopping_ || uncheckpointed_batches_ > 0;
      };
      mu_.Await(absl::Condition(&work));
      if (checkpointer_stopping_) return;
      uncheckpointed_batches_ = 0;
    }
    // PASSIVE copies what no reader still needs and never waits for the
    // writer or readers; pages it cannot copy yet are left for the next
    // round (or the writer's backstop checkpoint). A failure changes
    // nothing durable (the WAL still holds every committed page), so it is
    // not reported; the next round tries again.
    (void)connection->Exec("PRAGMA wal_checkpoint(PASSIVE)");
    // Pace the rounds so a steady stream of commits is copied in a few
    // large checkpoints rather than one per batch.
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return checkpointer_stopping_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&stopping),
                         options_.checkpoint_interval);
    if (checkpointer_stopping_) return;
  }
}

void AuditWriter::Run() {
  writer_thread_id_.store(std::this_thread::get_id());
  std::vector<Item> batch;
  batch.reserve(options_.max_batch_records);
  const bool index_when_idle = options_.index_idle_delay > absl::ZeroDuration();
  // A chain that moved past its newest checkpoint while the server was
  // down (or was never signed) is signed before anything is appended.
  if (SigningDue(absl::InfiniteFuture())) SignTail();
  while (true) {
    bool idle = false;
    bool sign_requested = false;
    const absl::Time wait_start = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty() || sign_requested_;
      };
      absl::Duration timeout = absl::InfiniteDuration();
      if (index_when_idle && last_seq_ > indexed_through_) {
        timeout = options_.index_idle_delay;
      }
      if (options_.signing_key != nullptr && last_seq_ > signed_seq_) {
        timeout =
            std::min(timeout, std::max(absl::ZeroDuration(),
                                       signed_time_ +
                                           options_.signed_checkpoint_interval -
                                           wait_start));
      }
      if (timeout != absl::InfiniteDuration()) {
        idle = !mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
      } else {
        mu_.Await(absl::Condition(&ready));
      }
      sign_requested = std::exchange(sign_requested_, false);
      if (!idle) {
        if (queue_.empty() && stopping_) break;  // drained
        const size_t n = std::min(queue_.size(), options_.max_batch_records);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    const absl::Time now = absl::Now();
    if (!batch.empty()) {
      CommitBatch(batch);
      batch.clear();
    }
    if (sign_requested || SigningDue(now)) SignTail();
    if (idle) {
      if (index_when_idle && last_seq_ > indexed_through_ &&
          now - wait_start >= options_.index_idle_delay) {
        IndexTail();
      }
      continue;
    }
    if (options_.index_batch_rows > 0 &&
        last_seq_ - indexed_through_ >= options_.index_batch_rows) {
      IndexTail();
    }
  }
  SignTail();
  if (options_.index_on_shutdown) {
    while (last_seq_ > indexed_through_) {
      if (!IndexTail()) break;
    }
  }
}

bool AuditWriter::IndexTail() {
  const absl::Time start = absl::Now();
  absl::StatusOr<internal::IndexPass> pass =
      internal::IndexTail(*connection_, options_.index_pass_rows);
  const absl::Duration elapsed = absl::Now() - start;
  if (pass.ok()) indexed_through_ = pass->through;
  absl::MutexLock lock(&mu_);
  if (pass.ok()) {
    ++metrics_.index_passes;
  } else {
    ++metrics_.index_passes_failed;
  }
  metrics_.indexed_through = indexed_through_;
  metrics_.total_index_time += elapsed;
  // The pass wrote pages the checkpointer can copy.
  if (pass.ok()) ++uncheckpointed_batches_;
  return pass.ok();
}

absl::Status AuditWriter::WriteTransaction(std::vector<Item>& batch,
                                           size_t begin, size_t end,
                                           std::vector<int64_t>& seqs) {
  absl::StatusOr<Transaction> txn = Transaction::Begin(*connection_);
  if (!txn.ok()) return txn.status();
  int64_t seq = next_seq_;
  Hash prev = last_hash_;
  std::vector<internal::RowToInsert> rows;
  rows.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    Item& item = batch[i];
    item.row.seq = seq;
    const Hash hash =
        internal::ChainHash(prev, internal::CanonicalHead(seq), item.body);
    rows.push_back(internal::RowToInsert{&item.row, prev, hash});
    prev = hash;
    ++seq;
  }
  if (absl::Status s = internal::InsertRows(*connection_, rows); !s.ok()) {
    return s;
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  for (size_t i = begin; i < end; ++i) {
    seqs[i] = batch[i].row.seq;
  }
  last_seq_ = seq - 1;
  last_hash_ = prev;
  next_seq_ = seq;
  return absl::OkStatus();
}

void AuditWriter::CommitBatch(std::vector<Item>& batch) {
  if (const int64_t pages = pending_max_page_count_.exchange(0); pages > 0) {
    WriterOptions pages_only;
    pages_only.wal_size_limit_bytes = 0;  // already set at Open
    pages_only.max_page_count = pages;
    (void)ApplySpaceOptions(*connection_, pages_only);
  }
  const absl::Time start = absl::Now();
  std::vector<int64_t> seqs(batch.size(), 0);
  std::vector<absl::Status> statuses(batch.size());
  absl::Status status = WriteTransaction(batch, 0, batch.size(), seqs);
  if (!status.ok()) {
    // A COMMIT that reported an error may still have reached the disk;
    // continue the chain from what the database holds.
    if (absl::StatusOr<internal::ChainTail> tail =
            internal::LoadChainTail(*connection_);
        tail.ok()) {
      last_seq_ = tail->last_seq;
      last_hash_ = tail->last_hash;
      next_seq_ = tail->next_seq;
    }
    if (batch.size() > 1 && IsRecordError(status)) {
      for (size_t i = 0; i < batch.size(); ++i) {
        statuses[i] = WriteTransaction(batch, i, i + 1, seqs);
      }
    } else {
      for (absl::Status& s : statuses) s = status;
    }
  }
  const absl::Duration elapsed = absl::Now() - start;
  // Before the callbacks, so a Flush that returns sees the WAL truncated.
  if (!status.ok() && !IsRecordError(status)) {
    failing_.store(true, std::memory_order_relaxed);
    if (failure_log_.OnFailure(status, batch.size(), absl::Now())) {
      TruncateWal();
    }
  } else if (status.ok()) {
    failing_.store(false, std::memory_order_relaxed);
    if (failure_log_.OnSuccess(absl::Now())) TruncateWal();
  }

  size_t committed = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (statuses[i].ok()) ++committed;
    if (batch[i].callback) {
      if (statuses[i].ok()) {
        batch[i].callback(seqs[i]);
      } else {
        batch[i].callback(statuses[i]);
      }
    }
  }

  absl::MutexLock lock(&mu_);
  const size_t failed = batch.size() - committed;
  metrics_.records_committed += committed;
  metrics_.records_failed += failed;
  if (failed > 0) ++metrics_.batches_failed;
  if (committed > 0) ++metrics_.batches_committed;
  metrics_.last_batch_size = batch.size();
  metrics_.max_batch_size = std::max(metrics_.max_batch_size, batch.size());
  ++metrics_.batch_size_histogram[internal::BatchSizeBucket(batch.size())];
  metrics_.last_commit_time = elapsed;
  metrics_.max_commit_time = std::max(metrics_.max_commit_time, elapsed);
  metrics_.total_commit_time += elapsed;
  metrics_.last_seq = last_seq_;
  if (committed > 0) ++uncheckpointed_batches_;
  completed_ += batch.size();
}

}  // namespace steward::audit
