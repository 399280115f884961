// See usage.h.
#include "server/audit/usage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/connection.h"

namespace steward::audit {
namespace {

using store::internal::Connection;
using store::internal::ConnectionOptions;
using store::internal::Statement;

// GROUP BY is exactly the index's key order up to time, so SQLite walks
// the index once and aggregates each group as it passes (no temp b-tree).
// effect and kind are tested in HAVING, not WHERE: as WHERE terms they make
// the planner sort (SQLite 3.40). `rule_id <> ''` repeats the partial
// index's predicate so the index applies.
constexpr char kLastAllowsSql[] =
    "SELECT principal, rule_id, MAX(time) FROM audit_log "
    "INDEXED BY audit_log_by_principal_rule WHERE rule_id <> '' "
    "GROUP BY principal, rule_id, effect, kind "
    "HAVING effect = 'ALLOW' AND kind = 'decision'";

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

absl::StatusOr<std::vector<RuleUse>> UsageIndex::LastAllows() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(kLastAllowsSql);
  if (!stmt.ok()) return stmt.status();
  std::vector<RuleUse> uses;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    RuleUse use;
    use.principal = std::string(stmt->Text(0));
    use.rule_id = std::string(stmt->Text(1));
    use.last_allow = stmt->Time(2);
    uses.push_back(std::move(use));
  }
  return uses;
}

absl::StatusOr<std::string> UsageIndex::ExplainLastAllows() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt =
      connection_->Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", kLastAllowsSql));
  if (!stmt.ok()) return stmt.status();
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
