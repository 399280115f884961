// See pg_trail_writer.h.
#include "server/audit/postgresql/pg_trail_writer.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/audit/postgresql/pg_insert.h"
#include "server/store/postgresql/connection.h"
#include "spdlog/spdlog.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::ConnectionOptions;
using store::postgresql::Params;
using store::postgresql::Result;
using store::postgresql::Transaction;

// The session setting that carries the writer's token; batches require it
// (pg_trail_writer.h, "Ownership of a chain").
constexpr char kTokenSetting[] = "steward.audit_writer_token";

// Errors caused by one record's content rather than by the database: the
// batch is retried record by record so only the bad one fails.
bool IsRecordError(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAlreadyExists ||
         s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kFailedPrecondition;
}

bool ValidChainName(absl::string_view chain) {
  if (chain.empty() || chain.size() > 128) return false;
  for (char c : chain) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<Hash> ToHash(const std::string& bytes, absl::string_view what) {
  Hash hash;
  if (bytes.size() != hash.size()) {
    return absl::DataLossError(
        absl::StrCat(what, " is not 32 bytes: the row was edited"));
  }
  std::memcpy(hash.data(), bytes.data(), hash.size());
  return hash;
}

// The advisory lock of a chain (pg_trail_writer.h, "Ownership").
constexpr char kLockSql[] =
    "SELECT pg_try_advisory_lock(hashtextextended($1::text, 0))";
constexpr char kUnlockSql[] =
    "SELECT pg_advisory_unlock(hashtextextended($1::text, 0))";

std::string LockKey(const PgWriterOptions& options) {
  return absl::StrCat("steward.audit.chain:", options.chain);
}

std::string RandomToken() {
  absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> PgTrailWriter::Connect(
    const PgWriterOptions& options, const std::string& token, Head& head) {
  ConnectionOptions copts;
  copts.lock_timeout = options.lock_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(options.conninfo, copts);
  if (!connection.ok()) return connection.status();
  Connection& c = **connection;
  // Session-level: held until this connection ends, which is what makes a
  // second process with the same replica name visible.
  // A session that just ended (a replica restarting, or one killed a
  // moment ago) may still hold the lock until its backend has gone: the
  // lock is retried for chain_lock_wait before the name counts as taken.
  const absl::Time give_up = absl::Now() + options.chain_lock_wait;
  while (true) {
    absl::StatusOr<Result> locked =
        c.Exec("audit chain lock", kLockSql, Params().Text(LockKey(options)));
    if (!locked.ok()) return locked.status();
    if (locked->Bool(0, 0)) break;
    if (absl::Now() >= give_up) {
      return absl::FailedPreconditionError(absl::StrCat(
          "audit chain \"", options.chain,
          "\" is held by another session: is another stewardd running with "
          "the same --replica-name?"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::StatusOr<Result> set =
      c.Exec("audit writer token", "SELECT set_config($1, $2, false)",
             Params().Text(kTokenSetting).Text(token));
  if (!set.ok()) return set.status();
  const int64_t now = absl::ToUnixMicros(absl::Now());
  absl::StatusOr<Result> created = c.Exec(
      "audit chain create",
      "INSERT INTO audit_chains (chain, last_seq, last_hash, created_at, "
      "updated_at) VALUES ($1, 0, $2, $3, $3) ON CONFLICT (chain) DO NOTHING",
      Params()
          .Text(options.chain)
          .Bytes(internal::HashBytes(kZeroHash))
          .Int(now));
  if (!created.ok()) return created.status();
  absl::StatusOr<Result> taken =
      c.Exec("audit chain take",
             "UPDATE audit_chains SET writer_token = $2 WHERE chain = $1 "
             "RETURNING last_seq, last_hash",
             Params().Text(options.chain).Text(token));
  if (!taken.ok()) return taken.status();
  if (taken->rows() != 1) {
    return absl::InternalError("audit chain row vanished while taking it");
  }
  absl::StatusOr<Hash> last_hash =
      ToHash(taken->Bytes(0, 1), "audit_chains.last_hash");
  if (!last_hash.ok()) return last_hash.status();
  head.last_seq = taken->Int(0, 0);
  head.last_hash = *last_hash;
  return connection;
}

absl::StatusOr<std::unique_ptr<PgTrailWriter>> PgTrailWriter::Open(
    const PgWriterOptions& options) {
  if (!ValidChainName(options.chain)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad replica name \"", options.chain,
                     "\": want 1 to 128 characters of A-Z a-z 0-9 _ . : @ -"));
  }
  PgWriterOptions effective = options;
  if (effective.queue_capacity == 0) effective.queue_capacity = 1;
  if (effective.max_batch_records == 0) effective.max_batch_records = 1;
  effective.max_rows_per_insert =
      std::max<size_t>(effective.max_rows_per_insert, 1);
  std::string token = RandomToken();
  Head head;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connect(effective, token, head);
  if (!connection.ok()) return connection.status();
  int64_t signed_seq = -1;
  if (effective.signing_key != nullptr) {
    absl::StatusOr<Result> newest =
        (*connection)
            ->Exec(
                "audit signed checkpoint",
                "SELECT COALESCE(max(seq), -1) FROM audit_signed_checkpoints "
                "WHERE chain = $1",
                Params().Text(effective.chain));
    if (!newest.ok()) return newest.status();
    signed_seq = newest->Int(0, 0);
  }
  std::unique_ptr<PgTrailWriter> writer(new PgTrailWriter(
      effective, *std::move(connection), std::move(token), head, signed_seq));
  return writer;
}

PgTrailWriter::PgTrailWriter(const PgWriterOptions& options,
                             std::unique_ptr<Connection> connection,
                             std::string token, Head head, int64_t signed_seq)
    : options_(options),
      token_(std::move(token)),
      connection_(std::move(connection)),
      head_(head),
      backoff_(options.reconnect_backoff_min),
      signed_seq_(signed_seq) {
  metrics_.queue_capacity = options_.queue_capacity;
  metrics_.last_seq = head_.last_seq;
  metrics_.last_signed_seq = signed_seq_;
  // Nothing is deferred-indexed in PostgreSQL: every row is indexed as it
  // is inserted.
  metrics_.indexed_through = head_.last_seq;
  thread_ = std::thread([this] { Run(); });
}

PgTrailWriter::~PgTrailWriter() { (void)Shutdown(); }

absl::Status PgTrailWriter::Enqueue(AuditRecord record, CommitCallback callback,
                                    bool wait) {
  if (absl::Status s = internal::ValidateRecord(record); !s.ok()) return s;
  if (OnWriterThread()) wait = false;
  Item item;
  item.row = internal::ToStoredRow(std::move(record));
  if (absl::Status s = internal::CheckPgStorableText(item.row); !s.ok()) {
    return s;
  }
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

bool PgTrailWriter::OnWriterThread() const {
  return std::this_thread::get_id() == writer_thread_id_.load();
}

absl::Status PgTrailWriter::Flush() {
  if (OnWriterThread()) {
    return absl::FailedPreconditionError(
        "PgTrailWriter::Flush called from a commit callback");
  }
  absl::MutexLock lock(&mu_);
  const uint64_t target = accepted_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return completed_ >= target;
  };
  mu_.Await(absl::Condition(&done));
  return absl::OkStatus();
}

absl::Status PgTrailWriter::Shutdown() {
  if (OnWriterThread()) {
    return absl::FailedPreconditionError(
        "PgTrailWriter::Shutdown called from a commit callback");
  }
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  absl::Status flushed = Flush();
  if (joined_) return flushed;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  // Closing the connection would release the chain's advisory lock too,
  // but only once the server has processed the disconnect; unlocking
  // first lets a restart under the same name take the chain at once.
  if (connection_ != nullptr) {
    (void)connection_->Exec("audit chain unlock", kUnlockSql,
                            Params().Text(LockKey(options_)));
  }
  connection_.reset();
  joined_ = true;
  return flushed;
}

WriterMetrics PgTrailWriter::metrics() const {
  absl::MutexLock lock(&mu_);
  WriterMetrics m = metrics_;
  m.queue_depth = queue_.size();
  m.uncommitted = accepted_ - m.records_committed - m.records_failed;
  m.failing = failing();
  return m;
}

bool PgTrailWriter::SigningDue(absl::Time now) const {
  if (options_.signing_key == nullptr || connection_ == nullptr) return false;
  if (signed_seq_ < 0) return true;
  if (head_.last_seq <= signed_seq_) return false;
  return head_.last_seq - signed_seq_ >= options_.signed_checkpoint_records ||
         now - signed_time_ >= options_.signed_checkpoint_interval;
}

void PgTrailWriter::SignHead() {
  if (options_.signing_key == nullptr || connection_ == nullptr) return;
  if (signed_seq_ >= 0 && head_.last_seq <= signed_seq_) return;
  const absl::Time now = absl::Now();
  absl::StatusOr<SignedCheckpoint> checkpoint =
      options_.signing_key->Sign(head_.last_seq, head_.last_hash, now);
  absl::Status stored = checkpoint.status();
  if (stored.ok()) {
    stored = connection_
                 ->Exec("audit signed checkpoint insert",
                        "INSERT INTO audit_signed_checkpoints (chain, seq, "
                        "head, time, key_id, signature) VALUES ($1, $2, $3, "
                        "$4, $5, $6) ON CONFLICT (chain, seq) DO NOTHING",
                        Params()
                            .Text(options_.chain)
                            .Int(checkpoint->seq)
                            .Bytes(internal::HashBytes(checkpoint->head))
                            .Int(checkpoint->time_micros)
                            .Text(checkpoint->key_id)
                            .Bytes(checkpoint->signature))
                 .status();
  }
  signed_time_ = now;
  if (!stored.ok()) {
    absl::MutexLock lock(&mu_);
    ++metrics_.signed_checkpoints_failed;
    return;
  }
  signed_seq_ = head_.last_seq;
  if (options_.on_signed_checkpoint) options_.on_signed_checkpoint(*checkpoint);
  absl::MutexLock lock(&mu_);
  metrics_.last_signed_seq = signed_seq_;
}

void PgTrailWriter::EnsurePartitions(absl::Time now) {
  if (connection_ == nullptr || now < next_partition_check_) return;
  absl::StatusOr<Result> made = connection_->Exec(
      "audit partitions", "SELECT steward_audit_ensure_partitions($1, $2)",
      Params().Int(absl::ToUnixMicros(now)).Int(options_.partition_months));
  // A failure costs nothing but placement: records of a month without a
  // partition go to the DEFAULT partition. Retried at the next check.
  if (!made.ok()) {
    spdlog::warn("audit chain {}: could not create partitions ahead: {}",
                 options_.chain, made.status().ToString());
  }
  next_partition_check_ = now + options_.partition_check_interval;
}

absl::Status PgTrailWriter::EnsureConnection(absl::Time now) {
  if (connection_ != nullptr) return absl::OkStatus();
  if (now < next_reconnect_) {
    return absl::UnavailableError(
        "audit trail database unreachable; reconnecting");
  }
  Head head;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connect(options_, token_, head);
  if (!connection.ok()) {
    next_reconnect_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.reconnect_backoff_max);
    return absl::UnavailableError(absl::StrCat(
        "audit trail database unreachable: ", connection.status().message()));
  }
  connection_ = *std::move(connection);
  backoff_ = options_.reconnect_backoff_min;
  // The head as committed: a batch whose COMMIT answer was lost may have
  // landed, and the chain continues after it.
  head_ = head;
  next_partition_check_ = absl::InfinitePast();
  return absl::OkStatus();
}

void PgTrailWriter::Run() {
  writer_thread_id_.store(std::this_thread::get_id());
  std::vector<Item> batch;
  batch.reserve(options_.max_batch_records);
  EnsurePartitions(absl::Now());
  if (SigningDue(absl::InfiniteFuture())) SignHead();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      absl::Duration timeout = absl::InfiniteDuration();
      // Wake to sign an idle chain's tail; not while disconnected (nothing
      // could be stored, and the wait would spin): the next batch
      // reconnects first.
      if (options_.signing_key != nullptr && connection_ != nullptr &&
          head_.last_seq > signed_seq_) {
        timeout = std::max(
            absl::ZeroDuration(),
            signed_time_ + options_.signed_checkpoint_interval - absl::Now());
      }
      if (timeout != absl::InfiniteDuration()) {
        mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
      } else {
        mu_.Await(absl::Condition(&ready));
      }
      if (queue_.empty() && stopping_) break;
      const size_t n = std::min(queue_.size(), options_.max_batch_records);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const absl::Time now = absl::Now();
    EnsurePartitions(now);
    if (!batch.empty()) {
      CommitBatch(batch);
      batch.clear();
    }
    if (SigningDue(now)) SignHead();
  }
  SignHead();
}

absl::Status PgTrailWriter::WriteTransaction(std::vector<Item>& batch,
                                             size_t begin, size_t end) {
  commit_sent_ = false;
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(*connection_, Transaction::Mode::kWrite);
  if (!txn.ok()) return txn.status();
  // Chain hashes first: the head's new value is part of the first
  // statement, which also locks the head row and proves this session
  // still owns the chain.
  std::vector<Hash> prevs(end - begin);
  std::vector<Hash> hashes(end - begin);
  int64_t seq = head_.last_seq + 1;
  Hash prev = head_.last_hash;
  for (size_t i = begin; i < end; ++i) {
    Item& item = batch[i];
    item.row.seq = seq++;
    prevs[i - begin] = prev;
    prev = internal::ChainHash(prev, internal::CanonicalHead(item.row.seq),
                               item.body);
    hashes[i - begin] = prev;
  }
  absl::StatusOr<Result> advanced = connection_->Exec(
      "audit chain head",
      "UPDATE audit_chains SET last_seq = $3, last_hash = $4, updated_at = $5 "
      "WHERE chain = $1 AND last_seq = $2 "
      "AND writer_token = current_setting($6, true)",
      Params()
          .Text(options_.chain)
          .Int(head_.last_seq)
          .Int(seq - 1)
          .Bytes(internal::HashBytes(prev))
          .Int(absl::ToUnixMicros(absl::Now()))
          .Text(kTokenSetting));
  if (!advanced.ok()) return advanced.status();
  if (advanced->affected() != 1) {
    return absl::AbortedError(absl::StrCat(
        "audit chain \"", options_.chain,
        "\": this session no longer holds the chain or its head moved"));
  }
  for (size_t chunk = begin; chunk < end;
       chunk += options_.max_rows_per_insert) {
    const size_t rows = std::min(options_.max_rows_per_insert, end - chunk);
    internal::PgInsertArrays arrays;
    for (size_t i = chunk; i < chunk + rows; ++i) {
      arrays.Add(batch[i].row, prevs[i - begin], hashes[i - begin]);
    }
    Params params;
    params.Text(options_.chain);
    arrays.AppendTo(params);
    absl::StatusOr<Result> inserted = connection_->Exec(
        "audit records insert", internal::kPgInsertSql, params);
    if (!inserted.ok()) return inserted.status();
  }
  commit_sent_ = true;
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  head_.last_seq = seq - 1;
  head_.last_hash = prev;
  return absl::OkStatus();
}

void PgTrailWriter::CommitBatch(std::vector<Item>& batch) {
  const absl::Time start = absl::Now();
  std::vector<absl::Status> statuses(batch.size());
  absl::Status status = EnsureConnection(start);
  if (status.ok()) status = WriteTransaction(batch, 0, batch.size());
  // A session that died while idle (PostgreSQL restarted, an idle
  // timeout) fails the batch's first statement. Before COMMIT nothing of
  // the batch is stored, so one retry on a fresh session is safe and keeps
  // the first batch after an outage from failing needlessly. A failed
  // COMMIT is never retried: it may have landed (the reconnect re-reads
  // the head instead).
  if (!status.ok() && !IsRecordError(status) && !commit_sent_ &&
      connection_ != nullptr) {
    connection_.reset();
    next_reconnect_ = absl::InfinitePast();
    status = EnsureConnection(absl::Now());
    if (status.ok()) status = WriteTransaction(batch, 0, batch.size());
  }
  if (status.ok()) {
    // statuses stay OK.
  } else if (IsRecordError(status) && batch.size() > 1) {
    // One bad record (a value PostgreSQL refuses, e.g. a NUL byte in a
    // text) must not fail its neighbours: each alone, in order.
    for (size_t i = 0; i < batch.size(); ++i) {
      if (connection_ == nullptr) {
        statuses[i] = status;
        continue;
      }
      statuses[i] = WriteTransaction(batch, i, i + 1);
      if (!statuses[i].ok() && !IsRecordError(statuses[i])) {
        status = statuses[i];
        connection_.reset();
        next_reconnect_ = absl::Now();
      }
    }
  } else {
    for (absl::Status& s : statuses) s = status;
    if (!IsRecordError(status) && connection_ != nullptr) {
      // The session may be gone or in an unknown state: start afresh, at
      // once for the next batch (a transient drop), then with backoff.
      connection_.reset();
      next_reconnect_ = absl::Now();
    }
  }
  // Callers see every database failure as kUnavailable: the record is not
  // in the trail and the answer must not be given (never fail open).
  for (absl::Status& s : statuses) {
    if (!s.ok() && !IsRecordError(s)) {
      s = absl::UnavailableError(absl::StrCat(
          "audit record not committed to PostgreSQL: ", s.message()));
    }
  }
  const absl::Duration elapsed = absl::Now() - start;
  size_t committed = 0;
  for (const absl::Status& s : statuses) committed += s.ok() ? 1 : 0;
  if (committed > 0) {
    failing_.store(false, std::memory_order_relaxed);
  } else if (!status.ok() && !IsRecordError(status)) {
    failing_.store(true, std::memory_order_relaxed);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].callback) continue;
    if (statuses[i].ok()) {
      batch[i].callback(batch[i].row.seq);
    } else {
      batch[i].callback(statuses[i]);
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
  metrics_.last_seq = head_.last_seq;
  metrics_.indexed_through = head_.last_seq;
  completed_ += batch.size();
}

}  // namespace steward::audit
