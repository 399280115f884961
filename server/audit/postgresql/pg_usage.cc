// See pg_usage.h.
#include "server/audit/postgresql/pg_usage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;
using store::postgresql::Transaction;

// Any change to the retention checkpoints (each purge transaction adds a
// row) means records were removed.
constexpr char kRetentionMarkSql[] =
    "SELECT count(*)::text || '/' || COALESCE(max(created_at), 0)::text "
    "FROM audit_retention_checkpoints";

constexpr char kHeadsSql[] = "SELECT chain, last_seq FROM audit_chains";

// One page of a chain's decisions after the last seq folded: a range of
// the primary key (chain, seq, time) in each partition, merged by seq.
constexpr char kDecisionsAfterSql[] =
    "SELECT seq, time, principal, rule_id, resource_scope, effect "
    "FROM audit_records WHERE chain = $1 AND seq > $2 AND seq <= $3 "
    "AND kind = 'decision' ORDER BY seq LIMIT $4";

// The decisions of part of a day (a window edge): a range of the time
// index, in the partitions the bounds name.
constexpr char kDecisionsInTimeSql[] =
    "SELECT principal, effect FROM audit_records "
    "WHERE time >= $1 AND time < $2 AND kind = 'decision'";

}  // namespace

absl::StatusOr<std::unique_ptr<PgTrailUsage>> PgTrailUsage::Open(
    const std::string& conninfo, int page_rows) {
  if (page_rows < 1) {
    return absl::InvalidArgumentError("page_rows: must be positive");
  }
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, {});
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<PgTrailUsage>(
      new PgTrailUsage(*std::move(connection), page_rows));
}

PgTrailUsage::PgTrailUsage(std::unique_ptr<Connection> connection,
                           int page_rows)
    : page_rows_(page_rows), connection_(std::move(connection)) {}

PgTrailUsage::~PgTrailUsage() = default;

absl::Status PgTrailUsage::Refresh() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = FoldLocked(); !s.ok()) return s;
  return txn->Commit();
}

absl::Status PgTrailUsage::Read(absl::FunctionRef<void(const UsageMap&)> fn) {
  absl::MutexLock lock(&mu_);
  {
    absl::StatusOr<Transaction> txn =
        Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
    if (!txn.ok()) return txn.status();
    if (absl::Status s = FoldLocked(); !s.ok()) return s;
    if (absl::Status s = txn->Commit(); !s.ok()) return s;
  }
  fn(fold_.uses());
  return absl::OkStatus();
}

absl::Status PgTrailUsage::FoldLocked() {
  absl::StatusOr<Result> mark =
      connection_->Exec("audit usage retention", kRetentionMarkSql);
  if (!mark.ok()) return mark.status();
  const std::string seen(mark->Text(0, 0));
  if (seen != retention_mark_) {
    // Records were removed (or this is the first call): start over from
    // the records left, as a query of the trail would see them.
    folded_.clear();
    fold_.Clear();
    retention_mark_ = seen;
  }
  absl::StatusOr<Result> heads =
      connection_->Exec("audit usage heads", kHeadsSql);
  if (!heads.ok()) return heads.status();
  for (int h = 0; h < heads->rows(); ++h) {
    const std::string chain(heads->Text(h, 0));
    const int64_t head = heads->Int(h, 1);
    int64_t& folded = folded_[chain];
    while (folded < head) {
      absl::StatusOr<Result> rows = connection_->Exec(
          "audit usage fold", kDecisionsAfterSql,
          Params().Text(chain).Int(folded).Int(head).Int(page_rows_));
      if (!rows.ok()) return rows.status();
      for (int i = 0; i < rows->rows(); ++i) {
        const int64_t seq = rows->Int(i, 0);
        const absl::Time time = absl::FromUnixMicros(rows->Int(i, 1));
        const absl::string_view principal = rows->Text(i, 2);
        const bool allow = rows->Text(i, 5) == "ALLOW";
        fold_.AddDecision(seq, time, principal, allow);
        folded = seq;
        if (allow) {
          fold_.AddAllow(seq, time, principal, rows->Text(i, 3),
                         rows->Text(i, 4));
        }
      }
      // A short page is the chain's last: its other records up to the head
      // are not decisions.
      if (rows->rows() < page_rows_) folded = head;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DecisionSummary> PgTrailUsage::Summarize(
    const DecisionWindow& window) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = FoldLocked(); !s.ok()) return s;
  // Whole days from the aggregate; a day the window cuts through is read
  // for the part inside the window (the time index, every chain).
  absl::StatusOr<DecisionSummary> out = fold_.Summarize(
      window,
      [&](absl::Time from, absl::Time to, DecisionFold::DecisionSink sink)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
            absl::StatusOr<Result> rows = connection_->Exec(
                "audit usage window edge", kDecisionsInTimeSql,
                Params().Time(from).Time(to));
            if (!rows.ok()) return rows.status();
            for (int i = 0; i < rows->rows(); ++i) {
              // Summarize does not use the seq (and it is per
              // chain here).
              sink(0, rows->Text(i, 0), rows->Text(i, 1) == "ALLOW");
            }
            return absl::OkStatus();
          });
  if (!out.ok()) return out.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return out;
}

DecisionFoldSize PgTrailUsage::FoldSize() {
  absl::MutexLock lock(&mu_);
  return fold_.Size();
}

}  // namespace steward::audit
