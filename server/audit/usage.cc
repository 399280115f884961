// See usage.h.
#include "server/audit/usage.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/connection.h"

namespace steward::audit {
namespace {

using store::internal::Connection;
using store::internal::ConnectionOptions;
using store::internal::Statement;
using store::internal::Transaction;

// The trail's seq range; both subqueries are rowid min/max lookups.
constexpr char kSeqRangeSql[] =
    "SELECT (SELECT MIN(seq) FROM audit_log), (SELECT MAX(seq) FROM "
    "audit_log)";

// The ALLOW decisions in a seq range: a rowid range of the table. NOT
// INDEXED keeps the planner off audit_log_by_rule, whose partial-index
// predicate `rule_id <> ''` this query implies but which would visit every
// record with a rule, not just the new ones.
constexpr char kAllowsAfterSql[] =
    "SELECT seq, principal, rule_id, resource_scope, time FROM audit_log "
    "NOT INDEXED WHERE seq > ?1 AND seq <= ?2 AND kind = 'decision' "
    "AND effect = 'ALLOW' AND rule_id <> ''";

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

UsageIndex::UsageIndex(Connection* connection) : connection_(connection) {}

UsageIndex::~UsageIndex() = default;

absl::Status UsageIndex::Refresh() {
  absl::MutexLock lock(&mu_);
  return RefreshLocked();
}

absl::Status UsageIndex::Read(absl::FunctionRef<void(const UsageMap&)> fn) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  fn(uses_);
  return absl::OkStatus();
}

absl::Status UsageIndex::RefreshLocked() {
  // One read transaction: the seq range and the rows come from one state
  // of the trail.
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(*connection_);
  if (!txn.ok()) return txn.status();
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
    uses_.clear();
    min_seq_ = 0;
    return absl::OkStatus();
  }
  // Retention purged a prefix since last time: drop what has no record
  // left.
  if (min_seq > min_seq_) {
    for (auto it = uses_.begin(); it != uses_.end();) {
      std::vector<ScopedUse>& uses = it->second;
      uses.erase(std::remove_if(uses.begin(), uses.end(),
                                [&](const ScopedUse& use) {
                                  return use.last_seq < min_seq;
                                }),
                 uses.end());
      if (uses.empty()) {
        uses_.erase(it++);
      } else {
        ++it;
      }
    }
    min_seq_ = min_seq;
  }
  if (max_seq <= last_seq_) return absl::OkStatus();
  absl::StatusOr<Statement> stmt = connection_->Prepare(kAllowsAfterSql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, last_seq_);
  stmt->BindInt(2, max_seq);
  // Folding is a max per key, so records folded before an error are
  // harmlessly folded again by the retry (last_seq_ only moves on success).
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const int64_t seq = stmt->Int(0);
    const absl::string_view principal = stmt->Text(1);
    const absl::string_view rule_id = stmt->Text(2);
    const absl::string_view scope = stmt->Text(3);
    const absl::Time time = stmt->Time(4);
    auto it = uses_.find(principal);
    if (it == uses_.end()) {
      it = uses_.try_emplace(std::string(principal)).first;
    }
    std::vector<ScopedUse>& uses = it->second;
    auto use = std::find_if(uses.begin(), uses.end(), [&](const ScopedUse& u) {
      return u.rule_id == rule_id && u.resource_scope == scope;
    });
    if (use == uses.end()) {
      uses.push_back(
          ScopedUse{std::string(rule_id), std::string(scope), time, seq});
      continue;
    }
    use->last_allow = std::max(use->last_allow, time);
    use->last_seq = std::max(use->last_seq, seq);
  }
  last_seq_ = max_seq;
  return absl::OkStatus();
}

absl::StatusOr<std::string> UsageIndex::ExplainRefresh() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      absl::StrCat("EXPLAIN QUERY PLAN ", kAllowsAfterSql));
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, 0);
  stmt->BindInt(2, 0);
  std::string plan;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (!plan.empty()) plan += "\n";
    plan += std::string(stmt->Text(3));
  }
  return plan;
}

}  // namespace steward::audit
