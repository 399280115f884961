// Access report benchmarks: each report of audit::AccessReports on a
// store with P principals and R audit records. The target is
// P = 100,000 and R = 5,000,000, every report <= 2 s:
//
//   reports_benchmark --benchmark_filter=/100000/5000000
//
// Benchmarks (Args: principals, audit records):
//   BM_WhoCan                   read on customer at acme/eu
//   BM_EffectivePermissionsPrincipal / ...Role
//   BM_UnusedGrantsIndexed      90-day window, from audit::UsageIndex's
//                               in-memory aggregate (built once when the
//                               environment opens; each report folds in
//                               what the trail gained since, here nothing)
//   BM_UsageIndexBuild          the first Refresh() of a new UsageIndex:
//                               one read of the whole trail (what a server
//                               pays once, at start or on the first report)
//                               (counters: the decision aggregate's days,
//                               (day, principal) deny entries and estimated
//                               bytes, and the process RSS it added)
//   BM_UsageIndexIncremental    Refresh() after 10,000 new ALLOW records
//   BM_DecisionSummaryAll       DecisionSummary of the whole trail (400
//                               days), top 10 denied principals
//   BM_DecisionSummary30Days    the access report's window: the last 30
//                               days from a mid-day instant (29 whole days
//                               from the aggregate, one edge day read)
//   BM_UnusedGrantsProbes       the same through AuditReader probes (what
//                               AccessReports does without a UsageIndex)
//   BM_SeparationViolations
//   BM_ExpiringGrants           14 days
//
// The database is generated once per size into $STEWARD_BENCH_DIR (default
// /tmp) as steward_reports_bench_P_R.db and reused by later runs. Principals
// and bindings are inserted with SQL (bypassing Grant's separation check, so
// some principals violate it on purpose); audit rows with one bulk
// INSERT ... SELECT over a recursive CTE, indexes dropped during the insert
// and rebuilt after. The rows' hash chain is NOT valid (zero hashes): these
// benchmarks never verify it.
//
// Shape: every principal has a primary binding (one of six roles, scope
// global, acme, acme/eu or acme/us); one in four also support_agent at
// acme/us; 1 in 1000 holds both refund roles (separation violations); one in
// five bindings expires within 60 days, 1 in 50 has expired, 1 in 100
// principals is disabled. 3 in 4 audit rows are ALLOWs through the
// principal's primary role, spread over 400 days; principals with id = 9
// (mod 10) never appear in the trail.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "server/audit/access_reports.h"
#include "server/audit/indexer.h"
#include "server/audit/reader.h"
#include "server/audit/usage.h"
#include "server/store/clock.h"
#include "server/store/sqlite/connection.h"
#include "server/store/store.h"

namespace steward::server {
namespace {

using audit::AccessReports;
using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;

constexpr char kPolicy[] = R"(policy reports_bench
principal { region: string? }
context { mfa: bool }
purposes { support_case, billing }
resource customer {
  attributes { owner: string, region: string }
  fields { id, name, email pii, phone pii, notes }
  actions { read, update, export }
}
resource order {
  attributes { owner: string }
  fields { id, total }
  actions { read, update }
}
resource refund {
  attributes { created_by: string, amount_cents: int }
  actions { create, approve, read }
}
role support_agent {
  allow read on customer, order
  allow read on customer fields { email, phone } for support_case
}
role sales_rep {
  allow read, update on customer when resource.owner == principal.id
}
role account_manager extends sales_rep {
  allow export on customer fields { * }
  deny export on customer unless context.mfa
}
role refund_clerk { allow create, read on refund }
role refund_approver {
  allow approve, read on refund unless resource.created_by == principal.id
}
role viewer { allow read on customer, order }
separate refund_clerk, refund_approver
)";

constexpr const char* kRoles[] = {"support_agent",   "sales_rep",
                                  "account_manager", "refund_clerk",
                                  "refund_approver", "viewer"};
// The first allow rule of each role above, in the same order.
constexpr char kRuleCase[] =
    "CASE p % 6 WHEN 0 THEN 'support_agent/1' WHEN 1 THEN 'sales_rep/1' "
    "WHEN 2 THEN 'account_manager/1' WHEN 3 THEN 'refund_clerk/1' "
    "WHEN 4 THEN 'refund_approver/1' ELSE 'viewer/1' END";

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

std::string BenchDir() {
  const char* dir = std::getenv("STEWARD_BENCH_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string PrimaryScope(int k) {
  switch (k % 3) {
    case 0:
      return "";
    case 1:
      return "acme";
    default:
      return k % 2 == 0 ? "acme/eu" : "acme/us";
  }
}

bool Fail(const absl::Status& status, const char* what) {
  if (status.ok()) return false;
  std::fprintf(stderr, "reports_benchmark: %s: %s\n", what,
               status.ToString().c_str());
  return true;
}

// Creates the database (schema + policy through the Store, then bulk SQL).
bool Generate(const std::string& path, int principals, int64_t records) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix, ignored);
  }
  store::FakeClock clock(kNow - absl::Hours(24 * 800));
  {
    store::Store::Options options;
    options.create_if_missing = true;
    auto store = store::OpenStore(path, clock, options);
    if (Fail(store.status(), "create store")) return false;
    auto applied = (*store)->policies().ApplyPolicy(
        {policy::SourceFile{"reports_bench.policy", kPolicy}}, "bench",
        "reports benchmark");
    if (Fail(applied.status(), "apply policy")) return false;
  }
  auto connection = Connection::Open(path, ConnectionOptions{});
  if (Fail(connection.status(), "open")) return false;
  Connection& db = **connection;
  if (Fail(db.Exec("PRAGMA synchronous = OFF; BEGIN"), "begin")) return false;
  const absl::Time created = kNow - absl::Hours(24 * 800);
  auto add_binding = [&](const std::string& id, const char* role,
                         const std::string& scope, absl::Time granted,
                         std::optional<absl::Time> expires) {
    auto stmt = db.Prepare(
        "INSERT OR IGNORE INTO role_bindings (principal, role, scope, "
        "granted_by, granted_at, expires_at, reason) "
        "VALUES (?, ?, ?, 'bench', ?, ?, 'bench')");
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, id);
    stmt->BindText(2, role);
    stmt->BindText(3, scope);
    stmt->BindTime(4, granted);
    if (expires.has_value()) {
      stmt->BindTime(5, *expires);
    } else {
      stmt->BindNull(5);
    }
    return stmt->Run();
  };
  for (int k = 0; k < principals; ++k) {
    const std::string id = absl::StrCat("user-", k);
    {
      auto stmt = db.Prepare(
          "INSERT INTO principals (id, display_name, attributes, disabled, "
          "created_at, updated_at) VALUES (?, ?, '{}', ?, ?, ?)");
      if (Fail(stmt.status(), "prepare principal")) return false;
      stmt->BindText(1, id);
      stmt->BindText(2, id);
      stmt->BindInt(3, k % 100 == 0 ? 1 : 0);
      stmt->BindTime(4, created);
      stmt->BindTime(5, created);
      if (Fail(stmt->Run(), "insert principal")) return false;
    }
    const absl::Time granted = kNow - absl::Hours(24 * (1 + k % 700));
    std::optional<absl::Time> expires;
    if (k % 50 == 1) {
      expires = kNow - absl::Hours(24);
    } else if (k % 5 == 0) {
      expires = kNow + absl::Hours(24 * (1 + k % 60));
    }
    if (Fail(add_binding(id, kRoles[k % 6], PrimaryScope(k), granted, expires),
             "insert binding")) {
      return false;
    }
    if (k % 4 == 0 &&
        Fail(add_binding(id, "support_agent", "acme/us", granted, {}),
             "insert binding")) {
      return false;
    }
    if (k % 1000 == 7) {
      if (Fail(add_binding(id, "refund_clerk", "acme", granted, {}),
               "insert binding") ||
          Fail(add_binding(id, "refund_approver", "acme/eu", granted, {}),
               "insert binding")) {
        return false;
      }
    }
  }

  // Audit rows: drop the indexes, insert in bulk, rebuild them.
  std::vector<std::pair<std::string, std::string>> indexes;
  {
    auto stmt = db.Prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
        "tbl_name = 'audit_log' AND sql IS NOT NULL");
    if (Fail(stmt.status(), "list indexes")) return false;
    while (true) {
      auto row = stmt->Step();
      if (Fail(row.status(), "list indexes")) return false;
      if (!*row) break;
      indexes.emplace_back(std::string(stmt->Text(0)),
                           std::string(stmt->Text(1)));
    }
  }
  for (const auto& [name, sql] : indexes) {
    if (Fail(db.Exec(absl::StrCat("DROP INDEX ", name).c_str()), "drop")) {
      return false;
    }
  }
  const int64_t span = int64_t{400} * 86400 * 1000000 / records;
  const std::string insert = absl::StrCat(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
      "WHERE i < ",
      records,
      "), "
      // Principals = 9 (mod 10) never act.
      "q(i, p) AS (SELECT i, (i * 7919) % ",
      principals,
      " FROM n), "
      "m(i, p) AS (SELECT i, CASE WHEN p % 10 = 9 THEN p - 1 ELSE p END "
      "FROM q) "
      "INSERT INTO audit_log (time, kind, decision_id, caller, principal, "
      "action, resource_kind, resource_id, resource_scope, effect, reason, "
      "rule_id, policy_version, store_revision, request_id, prev_hash, hash) "
      "SELECT ",
      absl::ToUnixMicros(kNow), " - (", records, " - i) * ", span,
      ", 'decision', 'd' || i, 'bench', 'user-' || p, 'read', 'customer', "
      "'c' || (i % 100000), "
      "CASE WHEN p % 3 = 2 AND p % 2 = 1 THEN 'acme/us' ELSE 'acme/eu' END, "
      "CASE WHEN i % 4 = 0 THEN 'DENY' ELSE 'ALLOW' END, "
      "CASE WHEN i % 4 = 0 THEN 'NO_MATCHING_RULE' ELSE 'ALLOWED_BY_RULE' "
      "END, "
      "CASE WHEN i % 4 = 0 THEN '' ELSE ",
      kRuleCase, " END, 1, 1, 'r' || i, zeroblob(32), zeroblob(32) FROM m");
  if (Fail(db.Exec(insert.c_str()), "insert audit rows")) return false;
  for (const auto& [name, sql] : indexes) {
    if (Fail(db.Exec(sql.c_str()), "create index")) return false;
  }
  if (Fail(db.Exec("COMMIT; PRAGMA wal_checkpoint(TRUNCATE)"), "commit")) {
    return false;
  }
  // The rows went in behind the writer's back, above the deferred indexes'
  // watermark (migrations/0005): index them as the writer would have.
  return !Fail(audit::IndexAuditTrail(path), "index audit rows");
}

// One opened environment per size, kept for the whole run.
struct Env {
  store::FakeClock clock{kNow};
  std::unique_ptr<store::Store> store;
  std::unique_ptr<audit::AuditReader> reader;
  std::unique_ptr<audit::UsageIndex> usage;
};

Env* GetEnv(int principals, int64_t records) {
  static auto* envs = new std::map<std::pair<int, int64_t>, Env*>();
  auto it = envs->find({principals, records});
  if (it != envs->end()) return it->second;
  const std::string path = absl::StrCat(BenchDir(), "/steward_reports_bench_",
                                        principals, "_", records, ".db");
  if (!std::filesystem::exists(path) && !Generate(path, principals, records)) {
    return nullptr;
  }
  auto env = std::make_unique<Env>();
  auto store = store::OpenStore(path, env->clock, {});
  if (Fail(store.status(), "open store")) return nullptr;
  env->store = *std::move(store);
  auto reader = audit::AuditReader::Open(path);
  if (Fail(reader.status(), "open reader")) return nullptr;
  env->reader = *std::move(reader);
  auto usage = audit::UsageIndex::Open(path);
  if (Fail(usage.status(), "open usage")) return nullptr;
  env->usage = *std::move(usage);
  if (Fail(env->usage->Refresh(), "build usage")) return nullptr;
  return (*envs)[{principals, records}] = env.release();
}

template <typename Fn>
void RunReport(benchmark::State& state, Fn fn) {
  Env* env = GetEnv(static_cast<int>(state.range(0)), state.range(1));
  if (env == nullptr) {
    state.SkipWithError("cannot create the benchmark database");
    return;
  }
  size_t rows = 0;
  for (auto _ : state) {
    absl::StatusOr<size_t> result = fn(*env);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
    rows = *result;
  }
  state.counters["rows"] = static_cast<double>(rows);
}

// The length of a report, or its error.
template <typename T>
absl::StatusOr<size_t> Size(const absl::StatusOr<std::vector<T>>& report) {
  if (!report.ok()) return report.status();
  return report->size();
}

void BM_WhoCan(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock);
    return Size(reports.WhoCan({"read", "customer", "acme/eu"}));
  });
}

void BM_EffectivePermissionsPrincipal(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock);
    return Size(reports.PrincipalPermissions("user-4"));  // two bindings
  });
}

void BM_EffectivePermissionsRole(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock);
    return Size(reports.RolePermissions("account_manager"));
  });
}

void BM_UnusedGrantsIndexed(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock, env.usage.get());
    return Size(reports.UnusedGrants(audit::kDefaultUnusedDays));
  });
}

// Resident set size of this process, from /proc/self/statm (0 if unknown).
double RssMiB() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return static_cast<double>(resident) * sysconf(_SC_PAGESIZE) / (1 << 20);
}

void BM_UsageIndexBuild(benchmark::State& state) {
  const std::string path =
      absl::StrCat(BenchDir(), "/steward_reports_bench_", state.range(0), "_",
                   state.range(1), ".db");
  audit::DecisionFoldSize size;
  double rss_added = 0;
  RunReport(state, [&](Env&) -> absl::StatusOr<size_t> {
    const double rss_before = RssMiB();
    auto usage = audit::UsageIndex::Open(path);
    if (!usage.ok()) return usage.status();
    size_t principals = 0;
    absl::Status s = (*usage)->Read(
        [&](const audit::UsageMap& map) { principals = map.size(); });
    if (!s.ok()) return s;
    rss_added = RssMiB() - rss_before;
    size = (*usage)->FoldSize();
    return principals;
  });
  state.counters["days"] = static_cast<double>(size.days);
  state.counters["deny_entries"] = static_cast<double>(size.deny_entries);
  state.counters["fold_MiB"] =
      static_cast<double>(size.approximate_bytes) / (1 << 20);
  state.counters["rss_added_MiB"] = rss_added;
}

void BM_DecisionSummaryAll(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock, env.usage.get());
    absl::StatusOr<audit::DecisionSummaryReport> report = reports.Summarize({});
    if (!report.ok()) return report.status();
    if (report->decisions.total_allow + report->decisions.total_deny == 0) {
      return absl::InternalError("no decisions counted");
    }
    return report->decisions.days.size();
  });
}

void BM_DecisionSummary30Days(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock, env.usage.get());
    audit::DecisionWindow window;
    window.since = kNow - absl::Hours(24 * 30) + absl::Hours(7);
    absl::StatusOr<audit::DecisionSummaryReport> report =
        reports.Summarize(window);
    if (!report.ok()) return report.status();
    return report->decisions.days.size();
  });
}

// Appends `count` ALLOW records after the trail's last seq, then refreshes;
// the records are deleted again so the database stays as generated.
void BM_UsageIndexIncremental(benchmark::State& state) {
  const std::string path =
      absl::StrCat(BenchDir(), "/steward_reports_bench_", state.range(0), "_",
                   state.range(1), ".db");
  Env* env = GetEnv(static_cast<int>(state.range(0)), state.range(1));
  if (env == nullptr) {
    state.SkipWithError("cannot create the benchmark database");
    return;
  }
  auto connection = Connection::Open(path, ConnectionOptions{});
  if (!connection.ok()) {
    state.SkipWithError(connection.status().ToString().c_str());
    return;
  }
  Connection& db = **connection;
  constexpr int kNew = 10000;
  const std::string insert = absl::StrCat(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
      "WHERE i < ",
      kNew,
      ") INSERT INTO audit_log (time, kind, decision_id, principal, action, "
      "resource_kind, resource_scope, effect, rule_id, prev_hash, hash) "
      "SELECT ",
      absl::ToUnixMicros(kNow), ", 'decision', 'n' || i, 'user-' || (i * 13 % ",
      state.range(0),
      "), 'read', 'customer', 'acme/eu', 'ALLOW', 'viewer/1', zeroblob(32), "
      "zeroblob(32) FROM n");
  for (auto _ : state) {
    state.PauseTiming();
    absl::Status s = db.Exec("PRAGMA synchronous = OFF");
    if (s.ok()) s = db.Exec(insert.c_str());
    state.ResumeTiming();
    if (s.ok()) s = env->usage->Refresh();
    state.PauseTiming();
    if (s.ok()) {
      s = db.Exec(
          "DELETE FROM audit_log WHERE decision_id GLOB 'n*' AND seq > "
          "(SELECT MAX(seq) - 10000 FROM audit_log)");
    }
    state.ResumeTiming();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  state.counters["new_records"] = kNew;
}

void BM_UnusedGrantsProbes(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock);
    return Size(reports.UnusedGrants(audit::kDefaultUnusedDays));
  });
}

void BM_SeparationViolations(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock);
    return Size(reports.SeparationViolations());
  });
}

void BM_ExpiringGrants(benchmark::State& state) {
  RunReport(state, [](Env& env) -> absl::StatusOr<size_t> {
    AccessReports reports(&env.store->principals(), &env.store->publisher(),
                          env.reader.get(), &env.clock);
    return Size(reports.ExpiringGrants(audit::kDefaultExpiringWithin));
  });
}

// Small sizes for the smoke test; the target scale for real runs.
void Sizes(benchmark::internal::Benchmark* b) {
  b->Args({1000, 20000})->Args({100000, 5000000});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_WhoCan)->Apply(Sizes);
BENCHMARK(BM_EffectivePermissionsPrincipal)->Apply(Sizes);
BENCHMARK(BM_EffectivePermissionsRole)->Apply(Sizes);
BENCHMARK(BM_UnusedGrantsIndexed)->Apply(Sizes);
BENCHMARK(BM_UsageIndexBuild)->Apply(Sizes);
BENCHMARK(BM_UsageIndexIncremental)->Apply(Sizes);
BENCHMARK(BM_DecisionSummaryAll)->Apply(Sizes);
BENCHMARK(BM_DecisionSummary30Days)->Apply(Sizes);
BENCHMARK(BM_UnusedGrantsProbes)->Apply(Sizes);
BENCHMARK(BM_SeparationViolations)->Apply(Sizes);
BENCHMARK(BM_ExpiringGrants)->Apply(Sizes);

}  // namespace
}  // namespace steward::server

BENCHMARK_MAIN();
