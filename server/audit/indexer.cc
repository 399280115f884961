// See indexer.h.
#include "server/audit/indexer.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace steward::audit {
namespace {

using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;
using store::sqlite::ForEachRow;
using store::sqlite::Statement;
using store::sqlite::Transaction;

// ?1 = old watermark, ?2 = new watermark, ?3 = gen_shift. NOT INDEXED: a
// rowid range of audit_log, which the planner might otherwise trade for
// audit_log_by_time. ORDER BY the target
// key: SQLite sorts the batch and the inserts then walk the newest
// generation's leaves once.
constexpr const char* kIndexSql[] = {
    "INSERT INTO audit_idx_principal (gen, principal, time, seq) "
    "SELECT seq >> ?3, principal, time, seq FROM audit_log NOT INDEXED "
    "WHERE seq > ?1 AND seq <= ?2 ORDER BY 1, 2, 3, 4",
    "INSERT INTO audit_idx_resource "
    "(gen, resource_kind, resource_id, time, seq) "
    "SELECT seq >> ?3, resource_kind, resource_id, time, seq FROM audit_log "
    "NOT INDEXED WHERE seq > ?1 AND seq <= ?2 ORDER BY 1, 2, 3, 4, 5",
};

// The columns audit_idx_values counts (migrations/0007), in the order of
// kGenerationSummarySql's result columns after seq and time.
constexpr const char* kValueColumns[] = {"kind",   "action", "resource_kind",
                                         "caller", "effect", "rule_id",
                                         "purpose"};
constexpr const char* kGenerationSummarySql =
    "SELECT seq, time, kind, action, resource_kind, caller, effect, rule_id, "
    "purpose FROM audit_log NOT INDEXED WHERE seq > ?1 AND seq <= ?2";

// Adds what rows (from, through] tell about their generations: time bounds
// (audit_idx_generations, which only ever widen here) and value counts
// (audit_idx_values). One pass over the rows in C++: a GROUP BY on the
// value columns sorted the pass's rows and cost the writer ~2 us per record.
absl::Status SummarizeGenerations(Connection& connection, int64_t from,
                                  int64_t through, int gen_shift) {
  constexpr size_t kColumns = std::size(kValueColumns);
  using Counts = absl::flat_hash_map<std::string, int64_t>;
  struct Summary {
    int64_t min_time = std::numeric_limits<int64_t>::max();
    int64_t max_time = std::numeric_limits<int64_t>::min();
    std::array<Counts, kColumns> counts;
  };
  // A pass spans one generation, or two.
  std::map<int64_t, Summary> summaries;
  {
    absl::StatusOr<Statement> rows = connection.Prepare(kGenerationSummarySql);
    if (!rows.ok()) return rows.status();
    rows->BindInt(1, from);
    rows->BindInt(2, through);
    int64_t gen = -1;
    Summary* current = nullptr;
    if (absl::Status s = ForEachRow(
            *rows,
            [&](const Statement& row) {
              if (const int64_t g = row.Int(0) >> gen_shift; g != gen) {
                gen = g;
                current = &summaries[g];
              }
              const int64_t time = row.Int(1);
              current->min_time = std::min(current->min_time, time);
              current->max_time = std::max(current->max_time, time);
              for (size_t c = 0; c < kColumns; ++c) {
                const absl::string_view value =
                    row.Text(static_cast<int>(c) + 2);
                Counts& column = current->counts[c];
                if (auto it = column.find(value); it != column.end()) {
                  ++it->second;
                } else {
                  column.emplace(std::string(value), 1);
                }
              }
              return absl::OkStatus();
            });
        !s.ok()) {
      return s;
    }
  }
  for (const auto& [gen, summary] : summaries) {
    absl::StatusOr<Statement> bounds = connection.Prepare(
        "INSERT INTO audit_idx_generations (gen, min_time, max_time) "
        "VALUES (?, ?, ?) ON CONFLICT (gen) DO UPDATE SET "
        "min_time = MIN(min_time, excluded.min_time), "
        "max_time = MAX(max_time, excluded.max_time)");
    if (!bounds.ok()) return bounds.status();
    bounds->BindInt(1, gen);
    bounds->BindInt(2, summary.min_time);
    bounds->BindInt(3, summary.max_time);
    if (absl::Status s = bounds->Run(); !s.ok()) return s;
    for (size_t c = 0; c < kColumns; ++c) {
      for (const auto& [value, n] : summary.counts[c]) {
        absl::StatusOr<Statement> upsert = connection.Prepare(
            "INSERT INTO audit_idx_values (col, value, gen, n) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (col, value, gen) "
            "DO UPDATE SET n = n + excluded.n");
        if (!upsert.ok()) return upsert.status();
        upsert->BindText(1, kValueColumns[c]);
        upsert->BindText(2, value);
        upsert->BindInt(3, gen);
        upsert->BindInt(4, n);
        if (absl::Status s = upsert->Run(); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

namespace internal {

absl::StatusOr<IndexState> ReadIndexState(Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT indexed_through, gen_shift FROM audit_index_state WHERE id = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  IndexState state;
  if (*row) {
    state.indexed_through = stmt->Int(0);
    state.gen_shift = static_cast<int>(stmt->Int(1));
  }
  return state;
}

absl::StatusOr<int64_t> IndexedThrough(Connection& connection) {
  absl::StatusOr<IndexState> state = ReadIndexState(connection);
  if (!state.ok()) return state.status();
  return state->indexed_through;
}

absl::StatusOr<IndexPass> IndexTail(Connection& connection, int64_t max_rows) {
  absl::StatusOr<Transaction> txn = Transaction::Begin(connection);
  if (!txn.ok()) return txn.status();
  IndexPass pass;
  absl::StatusOr<IndexState> state = ReadIndexState(connection);
  if (!state.ok()) return state.status();
  pass.from = pass.through = state->indexed_through;
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
    stmt->BindInt(3, state->gen_shift);
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  if (absl::Status s = SummarizeGenerations(connection, pass.from, pass.through,
                                            state->gen_shift);
      !s.ok()) {
    return s;
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
  absl::StatusOr<IndexState> state = ReadIndexState(connection);
  if (!state.ok()) return state.status();
  // Row-value IN over the rows' own keys: SQLite runs the subquery (a
  // rowid range of audit_log) and seeks each key in the index table.
  // ?1 = through, ?2 = gen_shift.
  constexpr const char* kDeleteSql[] = {
      "DELETE FROM audit_idx_principal WHERE (gen, principal, time, seq) IN "
      "(SELECT seq >> ?2, principal, time, seq FROM audit_log NOT INDEXED "
      "WHERE seq <= ?1)",
      "DELETE FROM audit_idx_resource WHERE "
      "(gen, resource_kind, resource_id, time, seq) IN "
      "(SELECT seq >> ?2, resource_kind, resource_id, time, seq "
      "FROM audit_log NOT INDEXED WHERE seq <= ?1)",
      // Generations whose every seq is <= through are empty now. A
      // generation cut by the purge keeps its (now loose) time bounds.
      "DELETE FROM audit_idx_generations WHERE gen < (?1 + 1) >> ?2",
      // Likewise their value counts; a cut generation keeps its counts,
      // which may now be too high (harmless: migrations/0007).
      "DELETE FROM audit_idx_values WHERE gen < (?1 + 1) >> ?2",
  };
  for (const char* sql : kDeleteSql) {
    absl::StatusOr<Statement> stmt = connection.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, through);
    stmt->BindInt(2, state->gen_shift);
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
