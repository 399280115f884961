// Audit trail benchmarks.
//
//  * BM_WriterSync/C: sustained writes with sync durability: C records are
//    in flight at any time (like C concurrent Checks whose replies wait for
//    the commit); a slot frees only when the record's commit callback runs.
//    Reports committed records/s and the average batch size achieved.
//  * BM_WriterSyncOnTrail/C: the same, appending to a 1,000,000-record trail.
//  * BM_QueryByPrincipal/ROWS/DEPTH: latency of one page of 100 records for
//    one principal on a trail of ROWS records (1000 principals), at page
//    DEPTH (0 = first page) of keyset paging. The database is built once per
//    size under $TMPDIR and reused by later runs.
//  * BM_InsertRowsCost/SCHEMA: CPU per row of the writer's INSERT alone,
//    one thread, transactions of 64 rows, no fsync (synchronous=OFF):
//    SCHEMA 0 = a bare 25-column table (no constraint, no index: the floor
//    of one SQLite row per record), 1 = the real audit_log (its CHECKs,
//    its decision-id and time indexes, AUTOINCREMENT).
//  * BM_CanonicalEncodeAndHash, BM_MinimizeWithKey: per-record CPU costs.
//
// Full run (Release):
//   audit_benchmark
//   --benchmark_filter='BM_WriterSync|BM_QueryByPrincipal/1000000'
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "migrations/migrations.h"
#include "server/audit/minimize.h"
#include "server/audit/reader.h"
#include "server/audit/record.h"
#include "server/audit/rows.h"
#include "server/audit/writer.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/migration_runner.h"

namespace steward::audit {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// CPU seconds used by the whole process (all threads) so far: the writer's
// cost per record, independent of how loaded the machine is.
double ProcessCpuSeconds() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// Creates a migrated database at `path` (replacing any file there).
bool CreateDb(const std::string& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix, ignored);
  }
  store::sqlite::ConnectionOptions options;
  options.create_if_missing = true;
  auto connection = store::sqlite::Connection::Open(path, options);
  if (!connection.ok()) return false;
  return store::sqlite::RunMigrations(**connection, migrations::All(), kT0)
      .ok();
}

AuditRecord Decision(int64_t n, int principals) {
  AuditRecord r;
  r.time = kT0 + absl::Milliseconds(n);
  r.kind = RecordKind::kDecision;
  // As stewardd makes them: a per-process prefix, then a 12-hex-digit
  // counter (authorization_service.cc), so they are monotonic.
  r.decision_id = absl::StrFormat("dec-%012x", n);
  r.caller = "crm-backend";
  r.principal = absl::StrCat("user-", n % principals);
  // One export per 1,000 records: a rare value in every generation.
  r.action = n % 1000 == 999 ? "export" : "read";
  r.resource_kind = "customer";
  r.resource_id = absl::StrCat("c", n % 100000);
  r.resource_scope = "acme/eu";
  r.effect = n % 4 == 0 ? RecordEffect::kDeny : RecordEffect::kAllow;
  r.reason = n % 4 == 0 ? "NO_MATCHING_RULE" : "ALLOWED_BY_RULE";
  r.rule_id = n % 4 == 0 ? "" : "support_agent/1";
  r.policy_version = 7;
  r.store_revision = 1234;
  r.request_id = absl::StrCat("req-", n);
  r.fields = {"name", "tier"};
  r.attributes = R"({"context":{"mfa":true},"resource":{"owner":"user-1"}})";
  return r;
}

std::string QueryDb(int64_t rows);
bool CopyOfQueryDb(benchmark::State& state, int64_t rows,
                   const std::string& path);

// Sustained sync writes into the trail at `path` (which the caller made),
// state.range(0) records in flight, new records numbered from `first`.
void RunWriterSync(benchmark::State& state, const std::string& path,
                   int64_t first) {
  const int in_flight_limit = static_cast<int>(state.range(0));
  auto writer = AuditWriter::Open(path);
  if (!writer.ok()) {
    state.SkipWithError("cannot open writer");
    return;
  }
  absl::Mutex mu;
  int in_flight = 0;
  std::atomic<int64_t> failed{0};
  int64_t n = first;
  constexpr int kPerIteration = 2000;
  const absl::Time start = absl::Now();
  const double cpu_start = ProcessCpuSeconds();
  for (auto _ : state) {
    for (int i = 0; i < kPerIteration; ++i) {
      {
        absl::MutexLock lock(&mu);
        auto has_slot = [&]() { return in_flight < in_flight_limit; };
        mu.Await(absl::Condition(&has_slot));
        ++in_flight;
      }
      absl::Status s = (*writer)->Submit(Decision(n++, 1000),
                                         [&](absl::StatusOr<int64_t> seq) {
                                           if (!seq.ok()) ++failed;
                                           absl::MutexLock lock(&mu);
                                           --in_flight;
                                         });
      if (!s.ok()) ++failed;
    }
  }
  if (!(*writer)->Flush().ok()) ++failed;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu_seconds = ProcessCpuSeconds() - cpu_start;
  const WriterMetrics m = (*writer)->metrics();
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  state.counters["records_per_s"] =
      static_cast<double>(m.records_committed) / seconds;
  state.counters["avg_batch"] =
      m.batches_committed == 0
          ? 0.0
          : static_cast<double>(m.records_committed) / m.batches_committed;
  // Process CPU (submitting + writer threads) per committed record.
  state.counters["cpu_us_per_record"] =
      m.records_committed == 0 ? 0.0 : cpu_seconds * 1e6 / m.records_committed;
  state.counters["max_batch"] = static_cast<double>(m.max_batch_size);
  state.counters["avg_commit_ms"] =
      m.batches_committed == 0
          ? 0.0
          : absl::ToDoubleMilliseconds(m.total_commit_time) /
                m.batches_committed;
  // Deferred-index passes (indexer.h) run on the writer thread and are
  // included in the figures above.
  state.counters["index_passes"] = static_cast<double>(m.index_passes);
  state.counters["index_ms_per_pass"] =
      m.index_passes == 0 ? 0.0
                          : absl::ToDoubleMilliseconds(m.total_index_time) /
                                static_cast<double>(m.index_passes);
  if (failed.load() != 0) state.SkipWithError("some records failed");
}

std::string WriterDir() {
  const std::string dir =
      absl::StrCat(TempRoot(), "/steward-audit-bench-w-", ::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

void BM_WriterSync(benchmark::State& state) {
  const std::string dir = WriterDir();
  const std::string path = dir + "/steward.db";
  if (!CreateDb(path)) {
    state.SkipWithError("cannot create database");
    return;
  }
  RunWriterSync(state, path, 0);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
BENCHMARK(BM_WriterSync)
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// BM_WriterSyncOnTrail/C: as BM_WriterSync, appending to a copy of the
// 1,000,000-record trail of BM_QueryByPrincipal (fully indexed), so index
// passes write into a large index rather than a new one. The copy is
// flushed to disk first: its dirty pages would otherwise be written back
// during the run and slow every fsync.
void BM_WriterSyncOnTrail(benchmark::State& state) {
  constexpr int64_t kTrail = 1000000;
  const std::string dir = WriterDir();
  const std::string path = dir + "/steward.db";
  if (!CopyOfQueryDb(state, kTrail, path)) return;
  ::sync();
  RunWriterSync(state, path, kTrail);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
BENCHMARK(BM_WriterSyncOnTrail)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Builds (once per size) a trail of `rows` records over 1000 principals.
std::string QueryDb(int64_t rows) {
  const std::string path =
      absl::StrCat(TempRoot(), "/steward-audit-bench-q-", rows, ".db");
  if (std::filesystem::exists(path)) {
    // A file from an older build gets this build's migrations.
    store::sqlite::ConnectionOptions options;
    auto connection = store::sqlite::Connection::Open(path, options);
    if (!connection.ok() ||
        !store::sqlite::RunMigrations(**connection, migrations::All(), kT0)
             .ok()) {
      return "";
    }
  }
  {
    auto reader = AuditReader::Open(path);
    if (reader.ok()) {
      auto page =
          (*reader)->FindDecision(absl::StrFormat("dec-%012x", rows - 1));
      if (page.ok()) return path;  // complete from an earlier run
    }
  }
  if (!CreateDb(path)) return "";
  WriterOptions options;
  options.max_batch_records = 16384;
  auto writer = AuditWriter::Open(path, options);
  if (!writer.ok()) return "";
  for (int64_t n = 0; n < rows; ++n) {
    if (!(*writer)->Submit(Decision(n, 1000)).ok()) return "";
  }
  if (!(*writer)->Shutdown().ok()) return "";
  return path;
}

// Copies the QueryDb(rows) trail to `path`; false (and the benchmark
// skipped) on failure.
bool CopyOfQueryDb(benchmark::State& state, int64_t rows,
                   const std::string& path) {
  const std::string source = QueryDb(rows);
  if (source.empty()) {
    state.SkipWithError("cannot build database");
    return false;
  }
  std::error_code error;
  std::filesystem::copy_file(
      source, path, std::filesystem::copy_options::overwrite_existing, error);
  if (error) {
    state.SkipWithError("cannot copy database");
    return false;
  }
  return true;
}

// Times Query(filter) for the page of 100 at `token`, each iteration one
// page; counts the records it holds.
void TimePages(benchmark::State& state, AuditReader& reader,
               const QueryFilter& filter, const std::string& token) {
  size_t got = 0;
  for (auto _ : state) {
    auto page = reader.Query(filter, 100, token);
    if (!page.ok()) {
      state.SkipWithError("query failed");
      return;
    }
    got = page->records.size();
    benchmark::DoNotOptimize(page);
  }
  state.counters["records"] = static_cast<double>(got);
}

// A reader on the QueryDb(rows) trail; null (and the benchmark skipped) on
// failure.
std::unique_ptr<AuditReader> OpenQueryDb(benchmark::State& state,
                                         int64_t rows) {
  const std::string path = QueryDb(rows);
  if (path.empty()) {
    state.SkipWithError("cannot build database");
    return nullptr;
  }
  auto reader = AuditReader::Open(path);
  if (!reader.ok()) {
    state.SkipWithError("cannot open reader");
    return nullptr;
  }
  return *std::move(reader);
}

void BM_QueryByPrincipal(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const int depth = static_cast<int>(state.range(1));
  std::unique_ptr<AuditReader> reader = OpenQueryDb(state, rows);
  if (reader == nullptr) return;
  QueryFilter filter;
  filter.principal = "user-417";
  std::string token;
  for (int d = 0; d < depth; ++d) {
    auto page = reader->Query(filter, 100, token);
    if (!page.ok() || page->next_page_token.empty()) break;
    token = page->next_page_token;
  }
  TimePages(state, *reader, filter, token);
}
BENCHMARK(BM_QueryByPrincipal)
    ->Args({10000, 0})
    ->Args({1000000, 0})
    ->Args({1000000, 5})
    ->Unit(benchmark::kMicrosecond);

// BM_QueryByFilter/F: the first page of 100 on the 1,000,000-row trail for
// filters without a principal or resource: the time index walked back
// until the page is full, or (migrations/0007) the generations whose value
// counts include a rare value, whichever the counts make cheaper. F: 0 =
// effect DENY (a quarter of the rows), 1 = rule_id (three quarters), 2 =
// purpose absent from the trail, 3 = action absent (before 0007: the whole
// trail scanned), 4 = action absent, within a one-minute window (60,000
// rows), 5 = resource kind of every row, 6 = resource kind absent, 7 =
// action of one record in 1,000 (every generation holds some).
void BM_QueryByFilter(benchmark::State& state) {
  std::unique_ptr<AuditReader> reader = OpenQueryDb(state, 1000000);
  if (reader == nullptr) return;
  QueryFilter filter;
  switch (state.range(0)) {
    case 0:
      filter.effect = RecordEffect::kDeny;
      break;
    case 1:
      filter.rule_id = "support_agent/1";
      break;
    case 2:
      filter.purpose = "marketing";
      break;
    case 3:
      filter.action = "purge";
      break;
    case 4:
      filter.action = "purge";
      filter.since = kT0 + absl::Seconds(500);
      filter.until = kT0 + absl::Seconds(500) + absl::Minutes(1);
      break;
    case 5:
      filter.resource_kind = "customer";
      break;
    case 6:
      filter.resource_kind = "order";
      break;
    default:
      filter.action = "export";
      break;
  }
  TimePages(state, *reader, filter, "");
}
BENCHMARK(BM_QueryByFilter)->DenseRange(0, 7)->Unit(benchmark::kMicrosecond);

// BM_QueryByPrincipalWithTail/TAIL: the first page for one principal on the
// 1,000,000-row trail while its newest TAIL rows are above the deferred
// indexes' watermark (the most the writer lets wait is
// WriterOptions::index_batch_rows), i.e. the cost of the tail scan. Works
// on a copy of the 1,000,000-row database.
void BM_QueryByPrincipalWithTail(benchmark::State& state) {
  const int64_t tail = state.range(0);
  const std::string path =
      absl::StrCat(TempRoot(), "/steward-audit-bench-t-", ::getpid(), ".db");
  if (!CopyOfQueryDb(state, 1000000, path)) return;
  {
    store::sqlite::ConnectionOptions options;
    auto c = store::sqlite::Connection::Open(path, options);
    if (!c.ok()) {
      state.SkipWithError("cannot open copy");
      return;
    }
    // Move the watermark back by TAIL rows (their keys go too).
    auto stmt = (*c)->Prepare("SELECT MAX(seq) - ? FROM audit_log");
    if (!stmt.ok()) {
      state.SkipWithError("watermark");
      return;
    }
    stmt->BindInt(1, tail);
    auto row = stmt->Step();
    if (!row.ok() || !*row) {
      state.SkipWithError("watermark");
      return;
    }
    const int64_t mark = stmt->Int(0);
    const std::string sql =
        absl::StrCat("DELETE FROM audit_idx_principal WHERE seq > ", mark,
                     "; DELETE FROM audit_idx_resource WHERE seq > ", mark,
                     "; UPDATE audit_index_state SET indexed_through = ", mark);
    if (!(*c)->Exec(sql.c_str()).ok()) {
      state.SkipWithError("cannot move watermark");
      return;
    }
  }
  auto reader = AuditReader::Open(path);
  if (!reader.ok()) {
    state.SkipWithError("cannot open reader");
    return;
  }
  QueryFilter filter;
  filter.principal = "user-417";
  TimePages(state, **reader, filter, "");
  reader->reset();
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix, ignored);
  }
}
BENCHMARK(BM_QueryByPrincipalWithTail)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);

void BM_InsertRowsCost(benchmark::State& state) {
  const bool real_schema = state.range(0) != 0;
  const std::string dir = WriterDir();
  const std::string path = dir + "/insert-cost.db";
  if (real_schema) {
    if (!CreateDb(path)) {
      state.SkipWithError("cannot create database");
      return;
    }
  }
  store::sqlite::ConnectionOptions options;
  options.create_if_missing = true;
  auto connection = store::sqlite::Connection::Open(path, options);
  if (!connection.ok() ||
      !(*connection)->Exec("PRAGMA synchronous = OFF").ok() ||
      (!real_schema &&
       !(*connection)
            ->Exec("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time, "
                   "kind, decision_id, caller, principal, action, "
                   "resource_kind, resource_id, resource_scope, effect, "
                   "reason, rule_id, policy_version, store_revision, "
                   "request_id, fields, purpose, justification, attributes, "
                   "key_id, details, totp_verified, prev_hash, hash)")
            .ok())) {
    state.SkipWithError("cannot open database");
    return;
  }
  constexpr int kRows = 64;
  std::vector<internal::StoredRow> rows;
  std::vector<internal::RowToInsert> batch(kRows);
  int64_t seq = 1;
  for (auto _ : state) {
    state.PauseTiming();
    rows.clear();
    for (int i = 0; i < kRows; ++i) {
      rows.push_back(internal::ToStoredRow(Decision(seq, 1000)));
      rows.back().seq = seq++;
    }
    for (int i = 0; i < kRows; ++i) batch[i].row = &rows[i];
    state.ResumeTiming();
    if (!(*connection)->Exec("BEGIN").ok() ||
        !internal::InsertRows(**connection, batch).ok() ||
        !(*connection)->Exec("COMMIT").ok()) {
      state.SkipWithError("insert failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kRows);
  connection->reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
BENCHMARK(BM_InsertRowsCost)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_CanonicalEncodeAndHash(benchmark::State& state) {
  AuditRecord r = Decision(42, 1000);
  r.seq = 42;
  Hash prev = kZeroHash;
  for (auto _ : state) {
    prev = ChainHash(prev, CanonicalEncoding(r));
    benchmark::DoNotOptimize(prev);
  }
}
BENCHMARK(BM_CanonicalEncodeAndHash);

void BM_MinimizeWithKey(benchmark::State& state) {
  MinimizationPlan plan;
  plan.SetResourceAttribute("customer", "owner", AttributeTreatment::kKeep);
  plan.SetResourceAttribute("customer", "email", AttributeTreatment::kPii);
  plan.SetContextAttribute("mfa", AttributeTreatment::kKeep);
  const std::vector<policy::NamedValue> resource = {
      {"owner", policy::Value::String("user-1")},
      {"email", policy::Value::String("a@example.com")},
      {"region", policy::Value::String("eu")}};
  const std::vector<policy::NamedValue> context = {
      {"mfa", policy::Value::Bool(true)}, {"ip", policy::Value::String("x")}};
  auto key = AuditKey::Parse(std::string(64, 'a'));
  if (!key.ok()) {
    state.SkipWithError("key");
    return;
  }
  for (auto _ : state) {
    auto m = MinimizeAttributes(plan, "customer", resource, context, &*key);
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MinimizeWithKey);

}  // namespace
}  // namespace steward::audit

BENCHMARK_MAIN();
