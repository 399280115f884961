// See reader.h.
#include "server/audit/reader.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/audit/indexer.h"
#include "server/audit/rows.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {
namespace {

using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;
using store::sqlite::ForEachRow;
using store::sqlite::Statement;

// Where the previous page stopped: the last (time, seq) returned.
struct Cursor {
  int64_t time_micros = 0;
  int64_t seq = 0;
};

// Token: web-safe base64 of "a1:<time>:<seq>". Opaque to clients; the
// prefix lets a later format be told apart.
std::string EncodeToken(const Cursor& c) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("a1:", c.time_micros, ":", c.seq));
}

absl::StatusOr<std::optional<Cursor>> DecodeToken(absl::string_view token) {
  if (token.empty()) return std::optional<Cursor>();
  std::string raw;
  const absl::Status bad = absl::InvalidArgumentError("malformed page token");
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<absl::string_view> parts = absl::StrSplit(raw, ':');
  Cursor c;
  if (parts.size() != 3 || parts[0] != "a1" ||
      !absl::SimpleAtoi(parts[1], &c.time_micros) ||
      !absl::SimpleAtoi(parts[2], &c.seq) || c.seq < 1) {
    return bad;
  }
  return std::optional<Cursor>(c);
}

// A bound value. A plain struct rather than std::variant: GCC 12 at -O3
// reports a false -Wmaybe-uninitialized on variant<int64_t, string> moves.
struct Param {
  Param(int64_t v) : is_int(true), int_value(v) {}  // NOLINT: implicit
  Param(std::string v) : text(std::move(v)) {}      // NOLINT: implicit
  bool is_int = false;
  int64_t int_value = 0;
  std::string text;
};

struct BuiltQuery {
  std::string sql;
  std::vector<Param> params;
  // A query on a deferred index table is run once per generation: the
  // index in `params` of the generation's placeholder (else -1). Its LIMIT
  // is the last parameter.
  int gen_param = -1;
  // A query on a generation's rowid range (the value-count path): the
  // indexes of its first and one-past-last seq placeholders (else -1).
  int gen_lo_param = -1;
  int gen_hi_param = -1;
};

// The deferred index table (migrations/0005) a filter is answered from, if
// any: its name and its key columns before (time, seq), each compared with
// `=` to a bound value.
struct IndexTable {
  const char* name = nullptr;
  std::vector<std::pair<const char*, std::string>> keys;
};

std::optional<IndexTable> ChooseIndexTable(const QueryFilter& f) {
  IndexTable t;
  if (!f.principal.empty()) {
    t.name = "audit_idx_principal";
    t.keys = {{"principal", f.principal}};
    return t;
  }
  if (!f.resource_kind.empty() && !f.resource_id.empty()) {
    t.name = "audit_idx_resource";
    t.keys = {{"resource_kind", f.resource_kind},
              {"resource_id", f.resource_id}};
    return t;
  }
  return std::nullopt;
}

// A filter on a column that audit_idx_values counts (migrations/0007): the
// column's name there and the values asked for (several for kinds).
struct ValueFilter {
  const char* col = nullptr;
  std::vector<std::string> values;
};

// The filter's conditions that audit_idx_values can answer. None when a
// deferred index table serves the filter.
std::vector<ValueFilter> ValueFilters(const QueryFilter& f) {
  std::vector<ValueFilter> out;
  if (ChooseIndexTable(f).has_value()) return out;
  if (!f.kinds.empty()) {
    ValueFilter& v = out.emplace_back();
    v.col = "kind";
    for (RecordKind kind : f.kinds) {
      v.values.push_back(std::string(RecordKindName(kind)));
    }
  }
  if (!f.action.empty()) out.push_back({"action", {f.action}});
  if (!f.resource_kind.empty()) {
    out.push_back({"resource_kind", {f.resource_kind}});
  }
  if (!f.caller.empty()) out.push_back({"caller", {f.caller}});
  if (f.effect.has_value()) {
    out.push_back({"effect", {std::string(RecordEffectName(*f.effect))}});
  }
  if (!f.rule_id.empty()) out.push_back({"rule_id", {f.rule_id}});
  if (!f.purpose.empty()) out.push_back({"purpose", {f.purpose}});
  return out;
}

// kRowColumns, each qualified with "audit_log.".
const std::string& QualifiedRowColumns() {
  static const std::string* const columns = [] {
    std::vector<std::string> parts;
    for (absl::string_view c : absl::StrSplit(internal::kRowColumns, ", ")) {
      parts.push_back(absl::StrCat("audit_log.", c));
    }
    return new std::string(absl::StrJoin(parts, ", "));
  }();
  return *columns;
}

// The filter's conditions on audit_log columns (qualified with `prefix`),
// the time range and the keyset cursor on `time_prefix`'s (time, seq).
void AppendConditions(const QueryFilter& f, const std::optional<Cursor>& cursor,
                      const std::string& prefix, const std::string& time_prefix,
                      std::vector<std::string>& where,
                      std::vector<Param>& params) {
  auto eq = [&](const std::string& value, const char* column) {
    if (value.empty()) return;
    where.push_back(absl::StrCat(prefix, column, " = ?"));
    params.push_back(value);
  };
  eq(f.principal, "principal");
  eq(f.resource_kind, "resource_kind");
  eq(f.resource_id, "resource_id");
  eq(f.action, "action");
  if (f.effect.has_value()) {
    where.push_back(absl::StrCat(prefix, "effect = ?"));
    params.push_back(std::string(RecordEffectName(*f.effect)));
  }
  eq(f.rule_id, "rule_id");
  eq(f.purpose, "purpose");
  eq(f.caller, "caller");
  if (!f.kinds.empty()) {
    std::string in = absl::StrCat(prefix, "kind IN (");
    for (size_t i = 0; i < f.kinds.size(); ++i) {
      absl::StrAppend(&in, i == 0 ? "?" : ", ?");
      params.push_back(std::string(RecordKindName(f.kinds[i])));
    }
    where.push_back(absl::StrCat(in, ")"));
  }
  const std::string& t = time_prefix;
  if (f.since.has_value()) {
    where.push_back(absl::StrCat(t, "time >= ?"));
    params.push_back(absl::ToUnixMicros(*f.since));
  }
  if (f.until.has_value()) {
    where.push_back(absl::StrCat(t, "time < ?"));
    params.push_back(absl::ToUnixMicros(*f.until));
  }
  if (cursor.has_value()) {
    // Keyset: strictly after (time, seq) in descending order. Written as a
    // range on time plus a residual test so the index range scan stays
    // bounded by time <= cursor.time.
    where.push_back(
        absl::StrCat(t, "time <= ? AND (", t, "time < ? OR ", t, "seq < ?)"));
    params.push_back(cursor->time_micros);
    params.push_back(cursor->time_micros);
    params.push_back(cursor->seq);
  }
}

void AppendWhere(std::string& sql, const std::vector<std::string>& where) {
  for (size_t i = 0; i < where.size(); ++i) {
    absl::StrAppend(&sql, i == 0 ? " WHERE " : " AND ", where[i]);
  }
}

// Builds the SQL from constant fragments only; every value is a bound
// parameter (STYLE.md: no SQL by concatenation of user data).
//
// Filters on principal or resource are answered from a deferred index
// table (migrations/0005, 0006), which holds the rows up to the watermark,
// and from the rows above the watermark (a rowid range of audit_log,
// bounded by how far the writer lets the indexer lag): two parts, each
// already in (time, seq) descending order and limited, run in one read
// transaction (one snapshot) and merged by the caller. The index part is
// run once per generation of the index table (its keys start with the
// generation), newest generations first, until no older generation can
// hold a row newer than the page's last (AuditReader::Query). A row is in
// exactly one part and both apply the same filter and keyset cursor, so pages
// neither repeat nor skip rows when the watermark moves between them. (One
// UNION ALL statement with an outer ORDER BY gives the same rows but re-sorts
// them through a temp b-tree: 3 ms instead of 0.7 ms per page on 1,000,000
// rows.) With `by_generation` (a rare kind, action, resource kind, caller,
// effect, rule or purpose, migrations/0007), the first part is instead one
// generation's indexed rows, a rowid range, run for each generation that
// holds the value. Other filters walk audit_log_by_time, which the writer
// keeps up to date: one part.
std::vector<BuiltQuery> BuildQuery(const QueryFilter& f,
                                   const std::optional<Cursor>& cursor,
                                   int limit, bool by_generation) {
  std::vector<BuiltQuery> parts;
  const std::optional<IndexTable> table = ChooseIndexTable(f);
  if (by_generation) {
    // One generation's indexed rows: NOT INDEXED keeps it a rowid range
    // scan (the planner might prefer walking audit_log_by_time); the rows
    // above the watermark are the tail's.
    BuiltQuery& q = parts.emplace_back();
    q.sql = absl::StrCat("SELECT ", internal::kRowColumns,
                         " FROM audit_log NOT INDEXED WHERE seq >= ? AND "
                         "seq < ? AND seq <= (SELECT "
                         "COALESCE(MAX(indexed_through), 0) FROM "
                         "audit_index_state)");
    q.gen_lo_param = 0;
    q.gen_hi_param = 1;
    q.params.push_back(int64_t{0});
    q.params.push_back(int64_t{0});
    std::vector<std::string> where;
    AppendConditions(f, cursor, "", "", where, q.params);
    for (const std::string& w : where) absl::StrAppend(&q.sql, " AND ", w);
    absl::StrAppend(&q.sql, " ORDER BY time DESC, seq DESC LIMIT ?");
    q.params.push_back(int64_t{limit});
  } else if (!table.has_value()) {
    BuiltQuery& q = parts.emplace_back();
    q.sql = absl::StrCat("SELECT ", internal::kRowColumns, " FROM audit_log");
    std::vector<std::string> where;
    AppendConditions(f, cursor, "", "", where, q.params);
    AppendWhere(q.sql, where);
    absl::StrAppend(&q.sql, " ORDER BY time DESC, seq DESC LIMIT ?");
    q.params.push_back(int64_t{limit});
    return parts;
  } else {
    // Indexed part: a range scan of the index table in (time, seq) order,
    // each entry joined to its row by seq (CROSS JOIN keeps that order).
    BuiltQuery& q = parts.emplace_back();
    const std::string idx = absl::StrCat(table->name, ".");
    q.sql = absl::StrCat("SELECT ", QualifiedRowColumns(), " FROM ",
                         table->name, " CROSS JOIN audit_log ON ",
                         "audit_log.seq = ", idx, "seq");
    std::vector<std::string> where;
    where.push_back(absl::StrCat(idx, "gen = ?"));
    q.gen_param = static_cast<int>(q.params.size());
    q.params.push_back(int64_t{0});
    for (const auto& [column, value] : table->keys) {
      where.push_back(absl::StrCat(idx, column, " = ?"));
      q.params.push_back(value);
    }
    AppendConditions(f, cursor, "audit_log.", idx, where, q.params);
    AppendWhere(q.sql, where);
    absl::StrAppend(&q.sql, " ORDER BY ", idx, "time DESC, ", idx,
                    "seq DESC LIMIT ?");
    q.params.push_back(int64_t{limit});
  }
  {
    // Tail: the rows above the watermark, NOT INDEXED so it stays a rowid
    // range scan; the matches are sorted (at most `limit` kept).
    BuiltQuery& q = parts.emplace_back();
    q.sql = absl::StrCat(
        "SELECT ", internal::kRowColumns,
        " FROM audit_log NOT INDEXED WHERE seq > (SELECT "
        "COALESCE(MAX(indexed_through), 0) FROM audit_index_state)");
    std::vector<std::string> where;
    AppendConditions(f, cursor, "", "", where, q.params);
    for (const std::string& w : where) absl::StrAppend(&q.sql, " AND ", w);
    absl::StrAppend(&q.sql, " ORDER BY time DESC, seq DESC LIMIT ?");
    q.params.push_back(int64_t{limit});
  }
  return parts;
}

void BindAll(Statement& stmt, const std::vector<Param>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (params[i].is_int) {
      stmt.BindInt(index, params[i].int_value);
    } else {
      stmt.BindText(index, params[i].text);
    }
  }
}

// A generation of the deferred index tables that may hold matching rows.
struct Generation {
  int64_t gen = 0;
  int64_t max_time_micros = 0;
};

// The generations whose time bounds meet the filter's range and the
// cursor, newest max_time first.
absl::StatusOr<std::vector<Generation>> CandidateGenerations(
    Connection& connection, const QueryFilter& f,
    const std::optional<Cursor>& cursor) {
  std::string sql = "SELECT gen, max_time FROM audit_idx_generations";
  std::vector<std::string> where;
  std::vector<Param> params;
  if (f.since.has_value()) {
    where.push_back("max_time >= ?");
    params.push_back(absl::ToUnixMicros(*f.since));
  }
  if (f.until.has_value()) {
    where.push_back("min_time < ?");
    params.push_back(absl::ToUnixMicros(*f.until));
  }
  if (cursor.has_value()) {
    where.push_back("min_time <= ?");
    params.push_back(cursor->time_micros);
  }
  AppendWhere(sql, where);
  absl::StrAppend(&sql, " ORDER BY max_time DESC, gen DESC");
  absl::StatusOr<Statement> stmt = connection.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  BindAll(*stmt, params);
  std::vector<Generation> out;
  if (absl::Status s =
          ForEachRow(*stmt,
                     [&](const Statement& row) {
                       out.push_back(Generation{row.Int(0), row.Int(1)});
                       return absl::OkStatus();
                     });
      !s.ok()) {
    return s;
  }
  return out;
}

// Walking audit_log_by_time (and looking up each row) costs about twice as
// much per record as reading a generation by rowid: 0.67 against 0.36 us
// per record on 1,000,000 records (audit_benchmark BM_QueryByFilter/7, one
// action in 1,000, each way).
constexpr int64_t kWalkCostPerGenerationRow = 2;

// Sums per generation from `sql` (rows of gen, count), with `col` and
// `values` bound in order.
absl::StatusOr<std::map<int64_t, int64_t>> CountsByGeneration(
    Connection& connection, const std::string& sql, const char* col,
    const std::vector<std::string>& values) {
  absl::StatusOr<Statement> stmt = connection.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, col);
  for (size_t i = 0; i < values.size(); ++i) {
    stmt->BindText(static_cast<int>(i) + 2, values[i]);
  }
  std::map<int64_t, int64_t> counts;
  if (absl::Status s = ForEachRow(*stmt,
                                  [&](const Statement& row) {
                                    counts[row.Int(0)] += row.Int(1);
                                    return absl::OkStatus();
                                  });
      !s.ok()) {
    return s;
  }
  return counts;
}

// For a filter without a principal or resource (kind, action, resource
// kind, caller, effect, rule, purpose): the generations to read for a page
// of `limit` records, by their value counts (audit_idx_values), or nullopt
// when walking the time index is cheaper.
// Both are estimated from the counts, newest generation first: the walk
// reads every record until `limit` match (a common value: a few hundred;
// an absent one: the whole trail), the generation path every record of
// each generation holding the value until `limit` match. The rarest of the
// filter's columns decides; the other conditions are tested on the rows.
absl::StatusOr<std::optional<std::set<int64_t>>> RareValueGenerations(
    Connection& connection, const std::vector<ValueFilter>& filters,
    int64_t limit) {
  std::optional<std::set<int64_t>> walk;
  if (filters.empty()) return walk;
  // Every record has a kind: the kind counts are the records per
  // generation.
  absl::StatusOr<std::map<int64_t, int64_t>> records = CountsByGeneration(
      connection, "SELECT gen, n FROM audit_idx_values WHERE col = ?1", "kind",
      {});
  if (!records.ok()) return records.status();
  if (records->empty()) return walk;
  std::map<int64_t, int64_t> rarest;
  int64_t rarest_total = -1;
  for (const ValueFilter& v : filters) {
    std::string sql =
        "SELECT gen, n FROM audit_idx_values WHERE col = ? AND value IN (";
    for (size_t i = 0; i < v.values.size(); ++i) {
      absl::StrAppend(&sql, i == 0 ? "?" : ", ?");
    }
    absl::StrAppend(&sql, ")");
    absl::StatusOr<std::map<int64_t, int64_t>> counts =
        CountsByGeneration(connection, sql, v.col, v.values);
    if (!counts.ok()) return counts.status();
    int64_t total = 0;
    for (const auto& [gen, n] : *counts) total += n;
    if (rarest_total < 0 || total < rarest_total) {
      rarest = *std::move(counts);
      rarest_total = total;
    }
  }
  int64_t walk_rows = 0, walk_found = 0, gen_rows = 0, gen_found = 0;
  for (auto it = records->rbegin(); it != records->rend(); ++it) {
    const auto match = rarest.find(it->first);
    const int64_t n = match == rarest.end() ? 0 : match->second;
    if (walk_found < limit) {
      walk_rows += n > 0 && walk_found + n >= limit
                       ? it->second * (limit - walk_found) / n
                       : it->second;
      walk_found += n;
    }
    if (gen_found < limit && n > 0) {
      gen_rows += it->second;
      gen_found += n;
    }
  }
  if (gen_rows >= walk_rows * kWalkCostPerGenerationRow) return walk;
  std::set<int64_t> gens;
  for (const auto& [gen, n] : rarest) gens.insert(gen);
  return gens;
}

// Newest first by (time, seq): the order of every page.
void SortNewestFirst(std::vector<AuditRecord>& records) {
  std::sort(records.begin(), records.end(),
            [](const AuditRecord& a, const AuditRecord& b) {
              return a.time != b.time ? a.time > b.time : a.seq > b.seq;
            });
}

absl::StatusOr<AuditRecord> ToRecord(const Statement& stmt) {
  absl::StatusOr<internal::ChainedRow> row = internal::ReadRow(stmt);
  if (!row.ok()) return row.status();
  return internal::FromStoredRow(row->row, row->prev_hash, row->hash);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditReader>> AuditReader::Open(
    const std::string& db_path) {
  ConnectionOptions options;
  // Not read_only: a read-only connection cannot create the WAL index
  // (-shm) when no writer has the file open, and would then fail to open.
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(db_path, options);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<AuditReader>(new AuditReader(*std::move(connection)));
}

AuditReader::AuditReader(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

AuditReader::~AuditReader() = default;

absl::StatusOr<QueryPage> AuditReader::Query(const QueryFilter& filter,
                                             int page_size,
                                             absl::string_view page_token) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size must be between 0 and ", kMaxPageSize));
  }
  if (page_size == 0) page_size = kDefaultPageSize;
  if (filter.since.has_value() && filter.until.has_value() &&
      *filter.since >= *filter.until) {
    return absl::InvalidArgumentError("since must be before until");
  }
  absl::StatusOr<std::optional<Cursor>> cursor = DecodeToken(page_token);
  if (!cursor.ok()) return cursor.status();
  const std::vector<ValueFilter> value_filters = ValueFilters(filter);

  absl::MutexLock lock(&mu_);
  // Several statements (index parts, value counts) see one snapshot.
  std::optional<store::sqlite::Transaction> snapshot;
  if (ChooseIndexTable(filter).has_value() || !value_filters.empty()) {
    absl::StatusOr<store::sqlite::Transaction> txn =
        store::sqlite::Transaction::BeginRead(*connection_);
    if (!txn.ok()) return txn.status();
    snapshot.emplace(*std::move(txn));
  }
  absl::StatusOr<std::optional<std::set<int64_t>>> rare_gens =
      RareValueGenerations(*connection_, value_filters, page_size + 1);
  if (!rare_gens.ok()) return rare_gens.status();
  int gen_shift = internal::kDefaultGenShift;
  if (rare_gens->has_value()) {
    absl::StatusOr<internal::IndexState> state =
        internal::ReadIndexState(*connection_);
    if (!state.ok()) return state.status();
    gen_shift = state->gen_shift;
  }
  // One extra row tells whether another page exists without a count query.
  std::vector<BuiltQuery> parts =
      BuildQuery(filter, *cursor, page_size + 1, rare_gens->has_value());
  std::vector<AuditRecord> records;
  auto run = [&](const BuiltQuery& q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<Statement> stmt = connection_->Prepare(q.sql);
    if (!stmt.ok()) return stmt.status();
    BindAll(*stmt, q.params);
    if (absl::Status s = ForEachRow(*stmt,
                                    [&](const Statement& row) {
                                      absl::StatusOr<AuditRecord> record =
                                          ToRecord(row);
                                      if (!record.ok()) return record.status();
                                      records.push_back(*std::move(record));
                                      return absl::OkStatus();
                                    });
        !s.ok()) {
      return s;
    }
    return absl::OkStatus();
  };
  // The tail (or the only part) first: it holds the newest rows.
  if (absl::Status s = run(parts.back()); !s.ok()) return s;
  if (parts.size() > 1) {
    BuiltQuery& indexed = parts.front();
    absl::StatusOr<std::vector<Generation>> generations =
        CandidateGenerations(*connection_, filter, *cursor);
    if (!generations.ok()) return generations.status();
    const size_t limit = static_cast<size_t>(page_size) + 1;
    for (const Generation& g : *generations) {
      // Rows already found that are newer than anything in this
      // generation precede all of its rows: only the rest of the page can
      // come from it. Generations come by descending max_time, so once
      // nothing can, none of the later ones can either.
      const size_t newer = static_cast<size_t>(std::count_if(
          records.begin(), records.end(), [&](const AuditRecord& r) {
            return absl::ToUnixMicros(r.time) > g.max_time_micros;
          }));
      if (newer >= limit) break;
      if (indexed.gen_param >= 0) {
        indexed.params[indexed.gen_param] = Param(g.gen);
      } else {
        if (!(*rare_gens)->contains(g.gen)) continue;
        indexed.params[indexed.gen_lo_param] = Param(g.gen << gen_shift);
        indexed.params[indexed.gen_hi_param] = Param((g.gen + 1) << gen_shift);
      }
      indexed.params.back() = Param(static_cast<int64_t>(limit - newer));
      if (absl::Status s = run(indexed); !s.ok()) return s;
      if (records.size() > 2 * limit) {  // only with times far out of order
        SortNewestFirst(records);
        records.resize(limit);
      }
    }
    SortNewestFirst(records);
  }
  if (snapshot.has_value()) {
    if (absl::Status s = snapshot->Commit(); !s.ok()) return s;
  }
  QueryPage page;
  const bool more = static_cast<int>(records.size()) > page_size;
  if (more) records.resize(page_size);
  page.records = std::move(records);
  if (more) {
    const AuditRecord& last = page.records.back();
    page.next_page_token =
        EncodeToken(Cursor{absl::ToUnixMicros(last.time), last.seq});
  }
  return page;
}

absl::StatusOr<QueryFilter> SubjectAccessFilter(
    absl::string_view resource_kind, absl::string_view resource_id,
    std::optional<absl::Time> since, std::optional<absl::Time> until) {
  if (resource_kind.empty() || resource_id.empty()) {
    return absl::InvalidArgumentError(
        "subject access needs a resource kind and id");
  }
  QueryFilter filter;
  filter.resource_kind = std::string(resource_kind);
  filter.resource_id = std::string(resource_id);
  filter.since = since;
  filter.until = until;
  return filter;
}

absl::StatusOr<QueryPage> AuditReader::SubjectAccess(
    absl::string_view resource_kind, absl::string_view resource_id,
    std::optional<absl::Time> since, std::optional<absl::Time> until,
    int page_size, absl::string_view page_token) {
  absl::StatusOr<QueryFilter> filter =
      SubjectAccessFilter(resource_kind, resource_id, since, until);
  if (!filter.ok()) return filter.status();
  return Query(*filter, page_size, page_token);
}

absl::StatusOr<AuditRecord> AuditReader::FindDecision(
    absl::string_view decision_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      absl::StrCat("SELECT ", internal::kRowColumns,
                   " FROM audit_log WHERE decision_id = ?"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, decision_id);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError("no audit record for that decision id");
  }
  return ToRecord(*stmt);
}

absl::StatusOr<VerifyResult> AuditReader::VerifyChain() {
  absl::MutexLock lock(&mu_);
  return internal::VerifyChain(*connection_);
}

absl::StatusOr<std::string> AuditReader::ExplainQuery(
    const QueryFilter& filter) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<std::set<int64_t>>> rare_gens =
      RareValueGenerations(*connection_, ValueFilters(filter),
                           kDefaultPageSize + 1);
  if (!rare_gens.ok()) return rare_gens.status();
  const std::vector<BuiltQuery> parts = BuildQuery(
      filter, Cursor{1, 1}, kDefaultPageSize, rare_gens->has_value());
  std::string plan;
  for (size_t i = 0; i < parts.size(); ++i) {
    // The parts' plans, separated by a line "UNION ALL".
    if (i > 0) absl::StrAppend(&plan, "\nUNION ALL");
    absl::StatusOr<Statement> stmt =
        connection_->Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", parts[i].sql));
    if (!stmt.ok()) return stmt.status();
    BindAll(*stmt, parts[i].params);
    if (absl::Status s = ForEachRow(
            *stmt,
            [&](const Statement& row) {
              absl::StrAppend(&plan, plan.empty() ? "" : "\n", row.Text(3));
              return absl::OkStatus();
            });
        !s.ok()) {
      return s;
    }
  }
  return plan;
}

}  // namespace steward::audit
