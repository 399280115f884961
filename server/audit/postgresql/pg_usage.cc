// See pg_usage.h.
#include "server/audit/postgresql/pg_usage.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "server/store/postgresql/connection.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;
using store::postgresql::Transaction;

// The skip scan: the greatest (principal, rule_id, resource_scope) with
// its newest time, then repeatedly the next smaller key. The WHERE clauses
// repeat the partial index's predicate word for word so the planner can
// use it; the row comparison is an index condition of the descent.
constexpr char kUsesSql[] =
    "WITH RECURSIVE uses AS ("
    " (SELECT principal, rule_id, resource_scope, time, seq"
    "  FROM audit_records"
    "  WHERE kind = 'decision' AND effect = 'ALLOW' AND rule_id <> ''"
    "  ORDER BY principal DESC, rule_id DESC, resource_scope DESC,"
    "   time DESC, seq DESC LIMIT 1)"
    " UNION ALL"
    " SELECT next.* FROM uses, LATERAL ("
    "  SELECT r.principal, r.rule_id, r.resource_scope, r.time, r.seq"
    "  FROM audit_records r"
    "  WHERE r.kind = 'decision' AND r.effect = 'ALLOW' AND r.rule_id <> ''"
    "   AND (r.principal, r.rule_id, r.resource_scope)"
    "       < (uses.principal, uses.rule_id, uses.resource_scope)"
    "  ORDER BY r.principal DESC, r.rule_id DESC, r.resource_scope DESC,"
    "   r.time DESC, r.seq DESC LIMIT 1) next"
    ") SELECT principal, rule_id, resource_scope, time, seq FROM uses";

// Decisions per UTC day of [$1, $2). time >= 0 (the schema's CHECK), so
// the integer division is the floor UsageIndex's DayOf takes.
constexpr char kDaysSql[] =
    "SELECT time / 86400000000 AS day,"
    " count(*) FILTER (WHERE effect = 'ALLOW'),"
    " count(*) FILTER (WHERE effect <> 'ALLOW')"
    " FROM audit_records WHERE kind = 'decision' AND time >= $1 AND time < $2"
    " GROUP BY 1 ORDER BY 1";

// Denies per principal of [$1, $2), most first, ties by principal in byte
// order (the column is COLLATE "C", as UsageIndex compares std::string);
// the window count is the number of denied principals, taken before LIMIT.
constexpr char kTopDeniedSql[] =
    "SELECT principal, count(*) AS denies, count(*) OVER ()"
    " FROM audit_records WHERE kind = 'decision' AND effect <> 'ALLOW'"
    " AND time >= $1 AND time < $2"
    " GROUP BY principal ORDER BY denies DESC, principal LIMIT $3";

}  // namespace

absl::StatusOr<std::unique_ptr<PgTrailUsage>> PgTrailUsage::Open(
    const std::string& conninfo) {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, {});
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<PgTrailUsage>(
      new PgTrailUsage(*std::move(connection)));
}

PgTrailUsage::PgTrailUsage(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

PgTrailUsage::~PgTrailUsage() = default;

absl::Status PgTrailUsage::Read(absl::FunctionRef<void(const UsageMap&)> fn) {
  UsageMap uses;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> rows = connection_->Exec("audit usage", kUsesSql);
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      uses[rows->Text(i, 0)].push_back(ScopedUse{
          std::string(rows->Text(i, 1)), std::string(rows->Text(i, 2)),
          absl::FromUnixMicros(rows->Int(i, 3)), rows->Int(i, 4)});
    }
  }
  fn(uses);
  return absl::OkStatus();
}

absl::StatusOr<DecisionSummary> PgTrailUsage::Summarize(
    const DecisionWindow& window) {
  // The schema keeps time >= 0, so an open or negative `since` is 0.
  const int64_t since =
      window.since.has_value()
          ? std::max<int64_t>(0, absl::ToUnixMicros(*window.since))
          : 0;
  const int64_t until = window.until.has_value()
                            ? absl::ToUnixMicros(*window.until)
                            : std::numeric_limits<int64_t>::max();
  DecisionSummary out;
  if (until <= since) return out;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Result> days = connection_->Exec(
      "audit summary days", kDaysSql, Params().Int(since).Int(until));
  if (!days.ok()) return days.status();
  for (int i = 0; i < days->rows(); ++i) {
    DecisionSummary::Day day{days->Int(i, 0), days->Int(i, 1), days->Int(i, 2)};
    out.total_allow += day.allow;
    out.total_deny += day.deny;
    out.days.push_back(day);
  }
  // LIMIT at least 1, so the denied-principal count comes back even when
  // no principal is to be listed.
  const int64_t limit = std::max<int64_t>(
      1, static_cast<int64_t>(std::min<size_t>(window.top_denied, 1 << 30)));
  absl::StatusOr<Result> top =
      connection_->Exec("audit summary top denied", kTopDeniedSql,
                        Params().Int(since).Int(until).Int(limit));
  if (!top.ok()) return top.status();
  if (top->rows() > 0) out.denied_principals = top->Int(0, 2);
  for (int i = 0; i < top->rows() && i < static_cast<int>(std::min<size_t>(
                                             window.top_denied, 1 << 30));
       ++i) {
    out.top_denied.emplace_back(std::string(top->Text(i, 0)), top->Int(i, 1));
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return out;
}

}  // namespace steward::audit
