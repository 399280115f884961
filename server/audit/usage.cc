// See usage.h.
#include "server/audit/usage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/audit/usage_fold.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {
namespace {

using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;
using store::sqlite::ForEachRow;
using store::sqlite::Statement;
using store::sqlite::Transaction;

// The trail's seq range; both subqueries are rowid min/max lookups.
constexpr char kSeqRangeSql[] =
    "SELECT (SELECT MIN(seq) FROM audit_log), (SELECT MAX(seq) FROM "
    "audit_log)";

// The decisions in a seq range: a rowid range of the table. NOT INDEXED
// keeps the planner off the secondary indexes, which would visit every
// record of the trail, not just the new ones.
constexpr char kDecisionsAfterSql[] =
    "SELECT seq, principal, rule_id, resource_scope, time, effect "
    "FROM audit_log NOT INDEXED WHERE seq > ?1 AND seq <= ?2 "
    "AND kind = 'decision'";

// The decisions of a time range within a seq range: one range of
// audit_log_by_time (a window edge inside a day, or a day to recount after
// a purge). The unary + keeps the planner from taking the seq bounds, which
// span the whole trail, as a rowid range instead.
constexpr char kDecisionsInTimeSql[] =
    "SELECT seq, principal, effect FROM audit_log "
    "WHERE time >= ?1 AND time < ?2 AND +seq >= ?3 AND +seq <= ?4 "
    "AND kind = 'decision'";

// Calls `sink` with the decisions of kDecisionsInTimeSql.
absl::Status ReadDecisionsInTime(Connection& connection, absl::Time from,
                                 absl::Time to, int64_t from_seq,
                                 int64_t to_seq,
                                 DecisionFold::DecisionSink sink) {
  absl::StatusOr<Statement> stmt = connection.Prepare(kDecisionsInTimeSql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindTime(1, from);
  stmt->BindTime(2, to);
  stmt->BindInt(3, from_seq);
  stmt->BindInt(4, to_seq);
  return ForEachRow(*stmt, [&](const Statement& row) {
    sink(row.Int(0), row.Text(1), row.Text(2) == "ALLOW");
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<UsageIndex>> UsageIndex::Open(
    const std::string& db_path) {
  ConnectionOptions options;
  // Not read_only, for the same reason as AuditReader::Open: a read-only
  // connection cannot create the WAL index when no writer has the file.
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(db_path, options);
  if (!connection.ok()) return connection.status();
  auto index = std::make_unique<UsageIndex>(connection->get());
  index->owned_ = *std::move(connection);
  return index;
}

UsageIndex::UsageIndex(Connection* connection)
    : connection_(connection),
      // One seq order for the whole trail: a use keeps its largest seq.
      fold_(std::make_unique<DecisionFold>(DecisionFold::UseSeq::kLargest)) {}

UsageIndex::~UsageIndex() = default;

absl::Status UsageIndex::Refresh() {
  absl::MutexLock lock(&mu_);
  return RefreshLocked();
}

absl::Status UsageIndex::Read(absl::FunctionRef<void(const UsageMap&)> fn) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  fn(fold_->uses());
  return absl::OkStatus();
}

absl::Status UsageIndex::RefreshLocked() {
  // One read transaction: the seq range and the rows come from one state
  // of the trail.
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(*connection_);
  if (!txn.ok()) return txn.status();
  return FoldLocked();
}

absl::Status UsageIndex::FoldLocked() {
  int64_t min_seq = 0, max_seq = 0;
  {
    absl::StatusOr<Statement> stmt = connection_->Prepare(kSeqRangeSql);
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row && !stmt->IsNull(0)) {
      min_seq = stmt->Int(0);
      max_seq = stmt->Int(1);
    }
  }
  if (max_seq == 0) {
    // An empty trail (everything purged, or nothing written yet).
    fold_->Clear();
    min_seq_ = 0;
    return absl::OkStatus();
  }
  // Retention purged a prefix since last time: drop what has no record
  // left.
  if (min_seq > min_seq_) {
    // A day only partly purged is recounted from its records left, up to
    // the seq already folded (later ones are folded below).
    if (absl::Status s = fold_->DropBefore(
            min_seq,
            [&](absl::Time from, absl::Time to, DecisionFold::DecisionSink sink)
                ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                  return ReadDecisionsInTime(*connection_, from, to, min_seq,
                                             last_seq_, sink);
                });
        !s.ok()) {
      return s;
    }
    min_seq_ = min_seq;
  }
  if (max_seq <= last_seq_) return absl::OkStatus();
  absl::StatusOr<Statement> stmt = connection_->Prepare(kDecisionsAfterSql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, last_seq_);
  stmt->BindInt(2, max_seq);
  // Usage folding is a max per key and harmless to repeat, but counts are
  // not: on an error mid-read the records already counted are remembered
  // by seq (`counted`), so the retry from last_seq_ skips them.
  int64_t counted = last_seq_;
  absl::Status read = ForEachRow(
      *stmt, [&](const Statement& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        const int64_t seq = row.Int(0);
        const absl::string_view principal = row.Text(1);
        const absl::Time time = row.Time(4);
        const bool allow = row.Text(5) == "ALLOW";
        fold_->AddDecision(seq, time, principal, allow);
        counted = seq;
        if (allow) {
          fold_->AddAllow(seq, time, principal, row.Text(2), row.Text(3));
        }
        return absl::OkStatus();
      });
  if (!read.ok()) {
    // Counts of seqs <= counted are in; record how far they got so the
    // retry neither loses nor doubles them.
    last_seq_ = counted;
    return read;
  }
  last_seq_ = max_seq;
  return absl::OkStatus();
}

absl::StatusOr<DecisionSummary> UsageIndex::Summarize(
    const DecisionWindow& window) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(*connection_);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = FoldLocked(); !s.ok()) return s;
  if (min_seq_ == 0) return DecisionSummary();  // an empty trail
  absl::StatusOr<DecisionSummary> out = fold_->Summarize(
      window,
      [&](absl::Time from, absl::Time to, DecisionFold::DecisionSink sink)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return ReadDecisionsInTime(*connection_, from, to, min_seq_,
                                       last_seq_, sink);
          });
  if (!out.ok()) return out.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  out->first_seq = min_seq_;
  out->last_seq = last_seq_;
  return out;
}

DecisionFoldSize UsageIndex::FoldSize() {
  absl::MutexLock lock(&mu_);
  return fold_->Size();
}

absl::StatusOr<std::string> UsageIndex::ExplainRefresh() {
  absl::MutexLock lock(&mu_);
  return ExplainLocked(kDecisionsAfterSql, 2);
}

absl::StatusOr<std::string> UsageIndex::ExplainDayRead() {
  absl::MutexLock lock(&mu_);
  return ExplainLocked(kDecisionsInTimeSql, 4);
}

absl::StatusOr<std::string> UsageIndex::ExplainLocked(const char* sql,
                                                      int parameters) {
  absl::StatusOr<Statement> stmt =
      connection_->Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", sql));
  if (!stmt.ok()) return stmt.status();
  for (int i = 1; i <= parameters; ++i) stmt->BindInt(i, 0);
  std::string plan;
  if (absl::Status s = ForEachRow(*stmt,
                                  [&](const Statement& row) {
                                    if (!plan.empty()) plan += "\n";
                                    plan += std::string(row.Text(3));
                                    return absl::OkStatus();
                                  });
      !s.ok()) {
    return s;
  }
  return plan;
}

}  // namespace steward::audit
