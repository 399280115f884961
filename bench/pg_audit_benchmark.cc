// The PostgreSQL audit trail's write throughput.
//
//  * BM_PgWriterSync/C: one replica's PgTrailWriter
//    (server/audit/postgresql/pg_trail_writer.h) with C records in flight,
//    like C concurrent Checks whose replies wait for their record's COMMIT
//    (sync durability); a slot frees only when the commit callback runs.
//    Reports committed records/s, the average batch, the average commit
//    (BEGIN to COMMIT) and client CPU per record, and whether the server
//    flushes its WAL (fsync counter: 1 = durable figures).
//  * BM_ImportSqliteTrail/N: `stewardd migrate-store`'s trail copy
//    (server/audit/postgresql/pg_import.h): a SQLite trail of N records
//    streamed into a fresh database as one chain, in one transaction,
//    every hash recomputed on the way. Reports records/s.
//
// The database: $STEWARD_BENCH_PG_URL (a superuser URL; the benchmark
// creates a database steward_bench_PID_N there per case and leaves it for
// inspection), else the throwaway test
// cluster, which runs with fsync off. For durable figures start a cluster
// with default settings and point the variable at it, e.g.
//   STEWARD_BENCH_PG_URL=postgresql://steward@127.0.0.1:5433/postgres
//   pg_audit_benchmark --benchmark_filter=BM_PgWriterSync
//
// The reports over a PostgreSQL trail (server/audit/postgresql/pg_usage.h,
// pg_audit_queries.h), on N decision records of three chains spread over
// the last 365 days in monthly partitions, generated server-side (10,000
// principals, each using 3 (rule, scope) pairs: 30,000 distinct uses;
// 20% denies):
//  * BM_PgUsageBuild/N: a new PgTrailUsage's first fold of every chain
//    (what stewardd does in the background at start);
//  * BM_PgUnusedUses/N: PgTrailUsage::Read once built, the newest ALLOW
//    per (principal, rule, scope) UnusedGrants needs;
//  * BM_PgDecisionSummary/N: DecisionSummary of the whole trail, and
//    BM_PgDecisionSummaryDay/N of one day (a window cutting two days);
//  * BM_PgSubjectAccess/N: the first page (100) of one resource's records.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "migrations/migrations.h"
#include "server/audit/postgresql/pg_audit_queries.h"
#include "server/audit/postgresql/pg_import.h"
#include "server/audit/postgresql/pg_reader.h"
#include "server/audit/postgresql/pg_trail_writer.h"
#include "server/audit/postgresql/pg_usage.h"
#include "server/audit/record.h"
#include "server/audit/writer.h"
#include "server/store/clock.h"
#include "server/store/postgresql/connection.h"
#include "server/store/postgresql/migration_runner.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/transaction.h"
#include "server/store/store.h"
#include "tests/testing/postgres_cluster.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;

double ProcessCpuSeconds() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

// A fresh, migrated database: its URL, or why not.
absl::StatusOr<std::string> NewDatabase() {
  std::string url;
  if (const char* env = std::getenv("STEWARD_BENCH_PG_URL");
      env != nullptr && *env != '\0') {
    static std::atomic<int> counter{0};
    const std::string admin = env;
    const std::string name =
        absl::StrCat("steward_bench_", ::getpid(), "_", counter++);
    absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(admin, {});
    if (!c.ok()) return c.status();
    // CREATE DATABASE takes no parameters; the name is ours, not input.
    const std::string create = absl::StrCat("CREATE DATABASE ", name);
    if (absl::Status s = (*c)->ExecScript("create database", create); !s.ok()) {
      return s;
    }
    url = admin.substr(0, admin.rfind('/') + 1) + name;
  } else {
    absl::StatusOr<testing::PostgresCluster*> cluster =
        testing::PostgresCluster::Shared();
    if (!cluster.ok()) return cluster.status();
    absl::StatusOr<std::string> created = (*cluster)->CreateDatabase();
    if (!created.ok()) return created.status();
    url = *created;
  }
  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(url, {});
  if (!c.ok()) return c.status();
  absl::StatusOr<store::postgresql::MigrationResult> migrated =
      store::postgresql::RunMigrations(**c, migrations::AllPostgresql(),
                                       absl::Now(), true);
  if (!migrated.ok()) return migrated.status();
  return url;
}

bool ServerFsyncs(const std::string& url) {
  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(url, {});
  if (!c.ok()) return false;
  absl::StatusOr<store::postgresql::Result> r =
      (*c)->Exec("show fsync", "SELECT current_setting('fsync')");
  return r.ok() && r->Text(0, 0) == "on";
}

// As audit_benchmark.cc's decisions: what stewardd records for a Check.
AuditRecord Decision(int64_t n) {
  AuditRecord r;
  r.time = absl::Now();
  r.kind = RecordKind::kDecision;
  r.decision_id = absl::StrFormat("dec-%012x", n);
  r.caller = "crm-backend";
  r.principal = absl::StrCat("user-", n % 1000);
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

void BM_PgWriterSync(benchmark::State& state) {
  const int in_flight_limit = static_cast<int>(state.range(0));
  absl::StatusOr<std::string> url = NewDatabase();
  if (!url.ok()) {
    state.SkipWithError(url.status().ToString().c_str());
    return;
  }
  PgWriterOptions options;
  options.conninfo = *url;
  options.chain = "bench";
  absl::StatusOr<std::unique_ptr<PgTrailWriter>> writer =
      PgTrailWriter::Open(options);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  absl::Mutex mu;
  int in_flight = 0;
  std::atomic<int64_t> failed{0};
  int64_t n = 0;
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
      absl::Status s =
          (*writer)->Submit(Decision(n++), [&](absl::StatusOr<int64_t> seq) {
            if (!seq.ok()) ++failed;
            absl::MutexLock lock(&mu);
            --in_flight;
          });
      if (!s.ok()) {
        // Refused: its callback never runs, so its slot frees here.
        if (failed++ == 0) state.SkipWithError(s.ToString().c_str());
        absl::MutexLock lock(&mu);
        --in_flight;
      }
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
  state.counters["avg_commit_ms"] =
      m.batches_committed == 0
          ? 0.0
          : absl::ToDoubleMilliseconds(m.total_commit_time) /
                m.batches_committed;
  // This process only (submitting + writer threads); PostgreSQL's own CPU
  // is not included.
  state.counters["client_cpu_us_per_record"] =
      m.records_committed == 0 ? 0.0 : cpu_seconds * 1e6 / m.records_committed;
  state.counters["fsync"] = ServerFsyncs(*url) ? 1 : 0;
  if (failed.load() != 0) state.SkipWithError("some records failed");
  (void)(*writer)->Shutdown();
}
BENCHMARK(BM_PgWriterSync)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A database holding `n` generated decision records (see the top), one
// per `n` for the whole run.
absl::StatusOr<std::string> ReportsDatabase(int64_t n) {
  static absl::Mutex mu;
  static auto* databases = new std::map<int64_t, std::string>();
  absl::MutexLock lock(&mu);
  if (auto it = databases->find(n); it != databases->end()) return it->second;
  absl::StatusOr<std::string> url = NewDatabase();
  if (!url.ok()) return url.status();
  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(*url, {});
  if (!c.ok()) return c.status();
  const int64_t now = absl::ToUnixMicros(absl::Now());
  constexpr int64_t kYear = int64_t{365} * 86400 * 1000000;
  absl::StatusOr<store::postgresql::Result> parts = (*c)->Exec(
      "bench partitions", "SELECT steward_audit_ensure_partitions($1, 14)",
      Params().Int(now - kYear - int64_t{31} * 86400 * 1000000));
  if (!parts.ok()) return parts.status();
  absl::StatusOr<store::postgresql::Result> inserted = (*c)->Exec(
      "bench records",
      "INSERT INTO audit_records (chain, seq, time, kind, decision_id, "
      "caller, principal, action, resource_kind, resource_id, "
      "resource_scope, effect, reason, rule_id, prev_hash, hash) "
      "SELECT 'r' || (i % 3), i, $1::bigint - ($2::bigint - i) * "
      "($3::bigint / $2::bigint), 'decision', "
      "'d-' || i, 'crm', 'user-' || (i % 10000), 'read', 'customer', "
      "'c' || (i % 100000), 'acme/s' || ((i % 10000 + i % 3) % 50), "
      "CASE WHEN i % 5 = 0 THEN 'DENY' ELSE 'ALLOW' END, '', "
      "CASE WHEN i % 5 = 0 THEN '' "
      "ELSE 'role' || ((i % 10000 + i % 3) % 20) || '/1' END, "
      "decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex') "
      "FROM generate_series(1, $2::bigint) i",
      Params().Int(now).Int(n).Int(kYear));
  if (!inserted.ok()) return inserted.status();
  // The chains' heads, as the writers keep them (seqs need not be dense
  // here: nothing verifies these chains).
  absl::StatusOr<store::postgresql::Result> heads = (*c)->Exec(
      "bench heads",
      "INSERT INTO audit_chains (chain, last_seq, last_hash, created_at, "
      "updated_at) SELECT chain, max(seq), decode(repeat('00', 32), 'hex'), "
      "0, 0 FROM audit_records GROUP BY chain");
  if (!heads.ok()) return heads.status();
  if (absl::Status s = (*c)->ExecScript("analyze", "ANALYZE audit_records");
      !s.ok()) {
    return s;
  }
  (*databases)[n] = *url;
  return *url;
}

void BM_PgUsageBuild(benchmark::State& state) {
  absl::StatusOr<std::string> url = ReportsDatabase(state.range(0));
  if (!url.ok()) {
    state.SkipWithError(url.status().ToString().c_str());
    return;
  }
  DecisionFoldSize size;
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<PgTrailUsage>> usage =
        PgTrailUsage::Open(*url);
    if (!usage.ok()) {
      state.SkipWithError(usage.status().ToString().c_str());
      break;
    }
    if (absl::Status s = (*usage)->Refresh(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    size = (*usage)->FoldSize();
  }
  state.counters["days"] = static_cast<double>(size.days);
  state.counters["fold_MiB"] =
      static_cast<double>(size.approximate_bytes) / (1 << 20);
}
BENCHMARK(BM_PgUsageBuild)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_PgUnusedUses(benchmark::State& state) {
  absl::StatusOr<std::string> url = ReportsDatabase(state.range(0));
  if (!url.ok()) {
    state.SkipWithError(url.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::unique_ptr<PgTrailUsage>> usage =
      PgTrailUsage::Open(*url);
  if (!usage.ok()) {
    state.SkipWithError(usage.status().ToString().c_str());
    return;
  }
  // Built before timing (BM_PgUsageBuild times that).
  if (absl::Status s = (*usage)->Refresh(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  size_t uses = 0;
  for (auto _ : state) {
    absl::Status s = (*usage)->Read([&](const UsageMap& map) {
      uses = 0;
      for (const auto& [principal, list] : map) uses += list.size();
    });
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.counters["uses"] = static_cast<double>(uses);
}
BENCHMARK(BM_PgUnusedUses)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void Summary(benchmark::State& state, bool one_day) {
  absl::StatusOr<std::string> url = ReportsDatabase(state.range(0));
  if (!url.ok()) {
    state.SkipWithError(url.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::unique_ptr<PgTrailUsage>> usage =
      PgTrailUsage::Open(*url);
  if (!usage.ok()) {
    state.SkipWithError(usage.status().ToString().c_str());
    return;
  }
  // Built before timing (BM_PgUsageBuild times that).
  if (absl::Status s = (*usage)->Refresh(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  DecisionWindow window;
  if (one_day) {
    window.since = absl::Now() - absl::Hours(36);
    window.until = absl::Now() - absl::Hours(12);
  }
  int64_t decisions = 0;
  for (auto _ : state) {
    absl::StatusOr<DecisionSummary> summary = (*usage)->Summarize(window);
    if (!summary.ok()) {
      state.SkipWithError(summary.status().ToString().c_str());
      break;
    }
    decisions = summary->total_allow + summary->total_deny;
  }
  state.counters["decisions"] = static_cast<double>(decisions);
}
void BM_PgDecisionSummary(benchmark::State& state) { Summary(state, false); }
void BM_PgDecisionSummaryDay(benchmark::State& state) { Summary(state, true); }
BENCHMARK(BM_PgDecisionSummary)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_PgDecisionSummaryDay)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_PgSubjectAccess(benchmark::State& state) {
  absl::StatusOr<std::string> url = ReportsDatabase(state.range(0));
  if (!url.ok()) {
    state.SkipWithError(url.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::unique_ptr<PgAuditReader>> reader =
      PgAuditReader::Open(*url);
  if (!reader.ok()) {
    state.SkipWithError(reader.status().ToString().c_str());
    return;
  }
  PgAuditQueries queries(reader->get());
  size_t records = 0;
  int64_t n = 0;
  for (auto _ : state) {
    absl::StatusOr<QueryPage> page =
        queries.SubjectAccess("customer", absl::StrCat("c", n++ % 100000),
                              std::nullopt, std::nullopt, 100, "");
    if (!page.ok()) {
      state.SkipWithError(page.status().ToString().c_str());
      break;
    }
    records = page->records.size();
  }
  state.counters["records"] = static_cast<double>(records);
}
BENCHMARK(BM_PgSubjectAccess)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A SQLite data dir's steward.db holding a trail of `records` decisions,
// made once per size and kept for the process (under $TMPDIR).
absl::StatusOr<std::string> SqliteTrail(int64_t records) {
  static absl::Mutex mu;
  static auto* made = new std::map<int64_t, std::string>();
  absl::MutexLock lock(&mu);
  if (auto it = made->find(records); it != made->end()) return it->second;
  std::string dir = absl::StrCat(
      std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp",
      "/steward-import-bench-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  const std::string path = dir + "/steward.db";
  store::RealClock clock;
  bool created = false;
  {
    absl::StatusOr<std::unique_ptr<store::Store>> store =
        store::InitializeStore(path, clock, {}, &created);
    if (!store.ok()) return store.status();
  }
  absl::StatusOr<std::unique_ptr<AuditWriter>> writer = AuditWriter::Open(path);
  if (!writer.ok()) return writer.status();
  for (int64_t n = 0; n < records; ++n) {
    if (absl::Status s = (*writer)->Submit(Decision(n)); !s.ok()) return s;
  }
  if (absl::Status s = (*writer)->Flush(); !s.ok()) return s;
  (*made)[records] = path;
  return path;
}

void BM_ImportSqliteTrail(benchmark::State& state) {
  const int64_t records = state.range(0);
  absl::StatusOr<std::string> source_path = SqliteTrail(records);
  if (!source_path.ok()) {
    state.SkipWithError(source_path.status().ToString().c_str());
    return;
  }
  store::sqlite::ConnectionOptions read_only;
  read_only.read_only = true;
  absl::StatusOr<std::unique_ptr<store::sqlite::Connection>> source =
      store::sqlite::Connection::Open(*source_path, read_only);
  if (!source.ok()) {
    state.SkipWithError(source.status().ToString().c_str());
    return;
  }
  int64_t copied = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::string> url = NewDatabase();
    if (!url.ok()) {
      state.SkipWithError(url.status().ToString().c_str());
      return;
    }
    absl::StatusOr<std::unique_ptr<Connection>> target =
        Connection::Open(*url, {});
    if (!target.ok()) {
      state.SkipWithError(target.status().ToString().c_str());
      return;
    }
    state.ResumeTiming();
    absl::StatusOr<store::postgresql::Transaction> txn =
        store::postgresql::Transaction::Begin(
            **target, store::postgresql::Transaction::Mode::kWrite);
    absl::StatusOr<store::sqlite::Transaction> read =
        store::sqlite::Transaction::BeginRead(**source);
    if (!txn.ok() || !read.ok()) {
      state.SkipWithError("cannot begin the transactions");
      return;
    }
    TrailImportOptions options;
    options.chain = "migrated";
    options.now = absl::Now();
    absl::StatusOr<TrailImportResult> imported =
        ImportSqliteTrail(**source, **target, options);
    if (!imported.ok()) {
      state.SkipWithError(imported.status().ToString().c_str());
      return;
    }
    if (absl::Status s = txn->Commit(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    copied += imported->records;
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(copied),
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ImportSqliteTrail)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace steward::audit

BENCHMARK_MAIN();
