// See indexer.h.
#include "server/audit/indexer.h"

#include <algorithm>
#include <memory>

namespace steward::audit {
namespace {

using store::internal::Connection;
using store::internal::ConnectionOptions;
using store::internal::Statement;
using store::internal::Transaction;

// ?1 = old watermark, ?2 = new watermark. NOT INDEXED: a rowid range of
// audit_log (the planner would otherwise consider audit_log_by_rule for the
// rule_id <> '' predicate). ORDER BY the target key: SQLite sorts the batch
// and the inserts then walk each index table's leaves once.
constexpr const char* kIndexSql[] = {
    "INSERT INTO audit_idx_principal (principal, time, seq) "
    "SELECT principal, time, seq FROM audit_log NOT INDEXED "
    "WHERE seq > ?1 AND seq <= ?2 ORDER BY 1, 2, 3",
    "INSERT INTO audit_idx_resource (resource_kind, resource_id, time, seq) "
    "SELECT resource_kind, resource_id, time, seq FROM audit_log NOT INDEXED "
    "WHERE seq > ?1 AND seq <= ?2 ORDER BY 1, 2, 3, 4",
    "INSERT INTO audit_idx_principal_rule "
    "(principal, rule_id, effect, kind, time, seq) "
    "SELECT principal, rule_id, effect, kind, time, seq FROM audit_log "
    "NOT INDEXED WHERE seq > ?1 AND seq <= ?2 AND rule_id <> '' "
    "ORDER BY 1, 2, 3, 4, 5, 6",
};

}  // namespace

namespace internal {

absl::StatusOr<int64_t> IndexedThrough(Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT indexed_through FROM audit_index_state WHERE id = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->Int(0) : 0;
}

absl::StatusOr<IndexPass> IndexTail(Connection& connection, int64_t max_rows) {
  absl::StatusOr<Transaction> txn = Transaction::Begin(connection);
  if (!txn.ok()) return txn.status();
  IndexPass pass;
  {
    absl::StatusOr<int64_t> from = IndexedThrough(connection);
    if (!from.ok()) return from.status();
    pass.from = pass.through = *from;
  }
  int64_t head = 0;
  {
    absl::StatusOr<Statement> stmt =
        connection.Prepare("SELECT COALESCE(MAX(seq), 0) FROM audit_log");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    head = *row ? stmt->Int(0) : 0;
  }
  if (head <= pass.from) return pass;  // the transaction rolls back
  pass.through = max_rows > 0 ? std::min(head, pass.from + max_rows) : head;
  for (const char* sql : kIndexSql) {
    absl::StatusOr<Statement> stmt = connection.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, pass.from);
    stmt->BindInt(2, pass.through);
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  absl::StatusOr<Statement> mark = connection.Prepare(
      "INSERT INTO audit_index_state (id, indexed_through) VALUES (1, ?) "
      "ON CONFLICT (id) DO UPDATE SET indexed_through = excluded."
      "indexed_through");
  if (!mark.ok()) return mark.status();
  mark->BindInt(1, pass.through);
  if (absl::Status s = mark->Run(); !s.ok()) return s;
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return pass;
}

absl::Status DeleteIndexKeys(Connection& connection, int64_t through) {
  // Row-value IN over the rows' own keys: SQLite runs the subquery (a
  // rowid range of audit_log) and seeks each key in the index table.
  constexpr const char* kDeleteSql[] = {
      "DELETE FROM audit_idx_principal WHERE (principal, time, seq) IN "
      "(SELECT principal, time, seq FROM audit_log NOT INDEXED "
      "WHERE seq <= ?1)",
      "DELETE FROM audit_idx_resource WHERE "
      "(resource_kind, resource_id, time, seq) IN "
      "(SELECT resource_kind, resource_id, time, seq FROM audit_log "
      "NOT INDEXED WHERE seq <= ?1)",
      "DELETE FROM audit_idx_principal_rule WHERE "
      "(principal, rule_id, effect, kind, time, seq) IN "
      "(SELECT principal, rule_id, effect, kind, time, seq FROM audit_log "
      "NOT INDEXED WHERE seq <= ?1 AND rule_id <> '')",
  };
  for (const char* sql : kDeleteSql) {
    absl::StatusOr<Statement> stmt = connection.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, through);
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::Status IndexAuditTrail(const std::string& db_path) {
  ConnectionOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(db_path, options);
  if (!connection.ok()) return connection.status();
  while (true) {
    absl::StatusOr<internal::IndexPass> pass =
        internal::IndexTail(**connection, 1000000);
    if (!pass.ok()) return pass.status();
    if (pass->through == pass->from) return absl::OkStatus();
  }
}

}  // namespace steward::audit
