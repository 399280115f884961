// See retention.h.
#include "server/audit/retention.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/audit/indexer.h"
#include "server/audit/retention_record.h"
#include "server/audit/rows.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {
namespace {

using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;
using store::sqlite::ForEachRowWhile;
using store::sqlite::Statement;
using store::sqlite::Transaction;

struct BatchOutcome {
  int64_t purged = 0;
  int64_t last_seq = 0;
  bool reached_cutoff = false;  // a record at/after the cutoff was seen
};

}  // namespace

absl::StatusOr<std::unique_ptr<RetentionPurger>> RetentionPurger::Open(
    const std::string& db_path, const store::Clock& clock, AuditWriter& writer,
    const RetentionOptions& options) {
  if (absl::Status s = internal::CheckRetentionLimits(options); !s.ok()) {
    return s;
  }
  ConnectionOptions copts;
  copts.busy_timeout = options.busy_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(db_path, copts);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<RetentionPurger>(
      new RetentionPurger(*std::move(connection), clock, writer, options));
}

RetentionPurger::RetentionPurger(std::unique_ptr<Connection> connection,
                                 const store::Clock& clock, AuditWriter& writer,
                                 const RetentionOptions& options)
    : connection_(std::move(connection)),
      clock_(clock),
      writer_(writer),
      options_(options) {}

RetentionPurger::~RetentionPurger() = default;

absl::StatusOr<PurgeResult> RetentionPurger::PurgeExpired() {
  const absl::Time now = clock_.Now();
  PurgeResult result;
  result.cutoff = now - options_.retention;
  const int64_t cutoff_us = absl::ToUnixMicros(result.cutoff);
  int64_t checkpoint_row = 0;  // this run's audit_checkpoints row (its seq)
  absl::Status failure;

  while (true) {
    absl::StatusOr<Transaction> txn = Transaction::Begin(*connection_);
    if (!txn.ok()) {
      failure = txn.status();
      break;
    }
    // The oldest batch_rows records in seq order; the purge takes the
    // prefix of them older than the cutoff.
    BatchOutcome batch;
    Hash last_hash = kZeroHash;
    int64_t last_time = 0;
    {
      absl::StatusOr<Statement> stmt = connection_->Prepare(
          "SELECT seq, time, hash FROM audit_log ORDER BY seq LIMIT ?");
      if (!stmt.ok()) {
        failure = stmt.status();
        break;
      }
      stmt->BindInt(1, options_.batch_rows);
      failure = ForEachRowWhile(
          *stmt, [&](const Statement& row) -> absl::StatusOr<bool> {
            if (row.Int(1) >= cutoff_us) {
              batch.reached_cutoff = true;
              return false;
            }
            absl::StatusOr<Hash> h = internal::ToHash(row.Blob(2));
            if (!h.ok()) return h.status();
            batch.last_seq = row.Int(0);
            last_time = row.Int(1);
            last_hash = *h;
            ++batch.purged;
            return true;
          });
    }
    if (!failure.ok() || batch.purged == 0) break;
    // The purged rows' keys in the deferred index tables go in the same
    // transaction (and with secure_delete, like the rows).
    if (absl::Status s =
            internal::DeleteIndexKeys(*connection_, batch.last_seq);
        !s.ok()) {
      failure = s;
      break;
    }
    {
      absl::StatusOr<Statement> del =
          connection_->Prepare("DELETE FROM audit_log WHERE seq <= ?");
      if (!del.ok()) {
        failure = del.status();
        break;
      }
      del->BindInt(1, batch.last_seq);
      if (absl::Status s = del->Run(); !s.ok()) {
        failure = s;
        break;
      }
    }
    {
      // One checkpoint row per run, advanced batch by batch; verification
      // starts from the newest checkpoint.
      absl::StatusOr<Statement> cp =
          checkpoint_row == 0
              ? connection_->Prepare(
                    "INSERT INTO audit_checkpoints (seq, hash, time, "
                    "purged_count, created_at) VALUES (?, ?, ?, ?, ?)")
              : connection_->Prepare(
                    "UPDATE audit_checkpoints SET seq = ?, hash = ?, time = ?, "
                    "purged_count = purged_count + ?, created_at = ? "
                    "WHERE seq = ?");
      if (!cp.ok()) {
        failure = cp.status();
        break;
      }
      cp->BindInt(1, batch.last_seq);
      cp->BindBlob(
          2, absl::Span<const uint8_t>(last_hash.data(), last_hash.size()));
      cp->BindInt(3, last_time);
      cp->BindInt(4, batch.purged);
      cp->BindTime(5, now);
      if (checkpoint_row != 0) cp->BindInt(6, checkpoint_row);
      if (absl::Status s = cp->Run(); !s.ok()) {
        failure = s;
        break;
      }
    }
    if (absl::Status s = txn->Commit(); !s.ok()) {
      failure = s;
      break;
    }
    checkpoint_row = batch.last_seq;
    result.purged += batch.purged;
    result.checkpoint_seq = batch.last_seq;
    ++result.batches;
    if (batch.reached_cutoff || batch.purged < options_.batch_rows) break;
  }

  if (result.purged > 0) {
    // Give the WAL's copies of the purged pages back to the main file so
    // old content does not linger in the -wal file. Best effort: readers
    // may hold the WAL, in which case SQLite checkpoints what it can.
    (void)connection_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  nlohmann::json details = nlohmann::json::object();
  details["checkpoint_seq"] = result.checkpoint_seq;
  return internal::FinishRetentionRun(writer_, now, options_.retention, failure,
                                      details, std::move(result));
}

}  // namespace steward::audit
