// Role store benchmarks:
//   BM_SnapshotBuildFromDb/N  Store::Open on an N-principal file with 3
//                             bindings each: migrations check, policy
//                             compile and the full snapshot build. Reports
//                             the resident memory the snapshot adds
//                             (rss_delta_MiB, VmRSS after - before) and the
//                             peak during the build (peak_delta_MiB, VmHWM
//                             after resetting it - VmRSS before).
//   BM_LookupAndResolve/N/D   FindPrincipal + effective roles at a scope
//                             (expiry, scope ancestry, extends closure)
//                             through Snapshot::PrepareScope and
//                             Snapshot::ResolveEffectiveRoles, over D
//                             distinct principals (D = 0: Zipf-distributed
//                             over all N, exponent 1).
//   BM_LookupAndResolveDependent/N/D  the same, each key depending on the
//                             previous result: latency, no overlap.
//   BM_LookupAndResolvePrefetched/N/D  the same, independent keys with
//                             Snapshot::Prefetch's stages 4, 8 and 12 keys
//                             ahead (batch throughput; D = N or 0).
//   BM_LookupAndResolveStrings/N/D  the same through the free
//                             ResolveEffectiveRoles (string compares).
//   BM_LookupAndEvaluate/N    the server's decision path: Snapshot::
//                             FillRequestAndRoles + policy::Evaluate.
//   BM_LookupAndEvaluateBindings/N  FillRequest + Evaluate (the evaluator
//                             resolves the bindings itself).
//   BM_MemoryLatency/B/H      one dependent random load from a B-byte
//                             buffer (H: huge pages): the DRAM latency the
//                             spread lookups are bound by.
// The database is generated once per size into $STEWARD_BENCH_DIR (default
// /tmp) as steward_store_bench_N.db and reused by later runs.
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "migrations/migrations.h"
#include "policy/evaluator.h"
#include "server/store/clock.h"
#include "server/store/snapshot.h"
#include "server/store/sqlite/connection.h"
#include "server/store/store.h"

namespace steward::store {
namespace {

// Shaped after shared/workload/crm.policy, with a separation of duties.
constexpr char kPolicy[] = R"(policy store_bench
principal {
  region: string
  mfa: bool
}
resource customer {
  attributes { owner: string, region: string, tier: string }
  fields { id, name, email pii }
  actions { read, update, delete, export }
}
resource order {
  attributes { owner: string, region: string, total_cents: int }
  actions { read, update }
}
resource refund {
  attributes { created_by: string, amount_cents: int }
  actions { create, approve, read }
}
role support_agent { allow read on customer, order }
role sales_rep { allow read, update on customer when resource.owner == principal.id }
role account_manager extends sales_rep {
  allow update on customer when resource.region == principal.region
}
role finance_clerk { allow create, read on refund }
role finance_approver {
  allow approve on refund when resource.created_by != principal.id
}
role auditor { allow read on * }
role admin {
  allow * on *
  deny export on customer unless principal.mfa
}
separate finance_clerk, finance_approver
)";

constexpr const char* kRoles[] = {"support_agent",   "sales_rep",
                                  "account_manager", "finance_clerk",
                                  "auditor",         "admin"};
constexpr const char* kRegions[] = {"amer", "emea", "apac", "latam"};

std::string PrincipalId(int i) { return absl::StrFormat("user-%07d", i); }
std::string Tenant(int i) { return absl::StrFormat("tenant-%04d", i % 5000); }

std::string BenchDir() {
  const char* dir = getenv("STEWARD_BENCH_DIR");
  return dir != nullptr ? dir : "/tmp";
}

// Resident and peak-resident KiB of this process from /proc/self/status.
struct Memory {
  int64_t rss_kib = 0;
  int64_t hwm_kib = 0;
};
Memory ReadMemory() {
  Memory m;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kib = std::atoll(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kib = std::atoll(line.c_str() + 6);
  }
  return m;
}
// KiB of this process's memory backed by transparent huge pages.
int64_t ReadHugePagesKib() {
  std::ifstream rollup("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(rollup, line)) {
    if (line.rfind("AnonHugePages:", 0) == 0) {
      return std::atoll(line.c_str() + 14);
    }
  }
  return 0;
}
// Resets VmHWM to the current RSS (Linux >= 4.0).
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Creates the N-principal database once: schema and policy through the
// Store, rows in bulk through one transaction on the store's own
// connection wrapper (the Store's API does one fsync'ed transaction per
// change, which is right for admin traffic and far too slow to load a
// million principals). No sqlite3 type leaves server/store.
bool GenerateDatabase(const std::string& path, int n) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path + "-wal", ec);
  std::filesystem::remove(path + "-shm", ec);
  RealClock clock;
  {
    Store::Options options;
    options.create_if_missing = true;
    auto store = OpenStore(path, clock, options);
    if (!store.ok()) return false;
    if (!(*store)
             ->policies()
             .ApplyPolicy({{"bench.policy", kPolicy}}, "bench", "")
             .ok()) {
      return false;
    }
  }
  auto connection = sqlite::Connection::Open(path, sqlite::ConnectionOptions());
  if (!connection.ok()) return false;
  sqlite::Connection& c = **connection;
  auto txn = sqlite::Transaction::Begin(c);
  if (!txn.ok()) return false;
  std::mt19937 rng(42);
  const absl::Time far_future = absl::FromCivil(
      absl::CivilSecond(2100, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  for (int i = 0; i < n; ++i) {
    const std::string id = PrincipalId(i);
    {
      auto stmt = c.Prepare(
          "INSERT INTO principals (id, display_name, attributes, disabled, "
          "created_at, updated_at) VALUES (?, ?, ?, ?, 1, 1)");
      if (!stmt.ok()) return false;
      stmt->BindText(1, id);
      stmt->BindText(2, id);
      stmt->BindText(
          3, absl::StrCat(R"({"mfa":)", (rng() % 2) ? "true" : "false",
                          R"(,"region":")", kRegions[rng() % 4], "\"}"));
      stmt->BindInt(4, i % 100 == 0 ? 1 : 0);
      if (!stmt->Run().ok()) return false;
    }
    // Three distinct roles; scopes global, tenant, or tenant/region.
    const int first = rng() % 6;
    for (int b = 0; b < 3; ++b) {
      std::string scope;
      switch ((i + b) % 3) {
        case 0:
          break;
        case 1:
          scope = Tenant(i);
          break;
        default:
          scope = absl::StrCat(Tenant(i), "/", kRegions[(i + b) % 4]);
      }
      auto stmt = c.Prepare(
          "INSERT INTO role_bindings (principal, role, scope, granted_by, "
          "granted_at, expires_at, reason) VALUES (?, ?, ?, 'bench', 1, ?, "
          "'generated')");
      if (!stmt.ok()) return false;
      stmt->BindText(1, id);
      stmt->BindText(2, kRoles[(first + b * 2 + (b == 2)) % 6]);
      stmt->BindText(3, scope);
      if (b == 2) {
        stmt->BindTime(4, far_future);
      } else {
        stmt->BindNull(4);
      }
      if (!stmt->Run().ok()) return false;
    }
  }
  return txn->Commit().ok();
}

// The number of bindings in the file, or -1 when it cannot be used (absent,
// or written by a build whose migrations differ: edited during development).
int64_t UsableBindingCount(const std::string& path) {
  if (!std::filesystem::exists(path)) return -1;
  auto connection = sqlite::Connection::Open(path, sqlite::ConnectionOptions());
  if (!connection.ok()) return -1;
  {
    auto stmt =
        (*connection)
            ->Prepare("SELECT version, checksum FROM schema_migrations");
    if (!stmt.ok()) return -1;
    while (true) {
      auto row = stmt->Step();
      if (!row.ok()) return -1;
      if (!*row) break;
      bool found = false;
      for (const migrations::Migration& m : migrations::All()) {
        found =
            found || (m.version == stmt->Int(0) && m.sha256 == stmt->Text(1));
      }
      if (!found) return -1;
    }
  }
  auto stmt = (*connection)->Prepare("SELECT count(*) FROM role_bindings");
  if (!stmt.ok()) return -1;
  auto row = stmt->Step();
  if (!row.ok() || !*row) return -1;
  return stmt->Int(0);
}

// The database path for size n, generated if missing or incomplete.
std::string DatabaseFor(int n) {
  const std::string path =
      absl::StrCat(BenchDir(), "/steward_store_bench_", n, ".db");
  if (UsableBindingCount(path) == int64_t{3} * n) return path;
  if (!GenerateDatabase(path, n)) return "";
  return path;
}

// Benchmarks share one opened store per size: opening a million-principal
// store takes seconds, and Google Benchmark calls each function several
// times. Owned by main() and passed down; not global.
class Stores {
 public:
  Store* Get(int n) {
    auto it = stores_.find(n);
    if (it != stores_.end()) return it->second.get();
    const std::string path = DatabaseFor(n);
    if (path.empty()) return nullptr;
    auto store = OpenStore(path, clock_, Store::Options());
    if (!store.ok()) return nullptr;
    return (stores_[n] = *std::move(store)).get();
  }
  void Drop(int n) { stores_.erase(n); }

 private:
  RealClock clock_;
  std::map<int, std::unique_ptr<Store>> stores_;
};

void BM_SnapshotBuildFromDb(benchmark::State& state, Stores* stores) {
  const int n = static_cast<int>(state.range(0));
  stores->Drop(n);  // measure with no other copy of this snapshot alive
  const std::string path = DatabaseFor(n);
  if (path.empty()) {
    state.SkipWithError("could not generate the database");
    return;
  }
  RealClock clock;
  double rss_delta_mib = 0;
  double peak_delta_mib = 0;
  size_t principals = 0;
  size_t block_bytes = 0;
  double heap_delta_mib = 0;
  double huge_mib = 0;
  double open_thread_cpu_ms = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ResetPeak();
    const Memory before = ReadMemory();
    const size_t heap_before = mallinfo2().uordblks;
    timespec thread_start;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &thread_start);
    state.ResumeTiming();
    auto store = OpenStore(path, clock, Store::Options());
    state.PauseTiming();
    timespec thread_end;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &thread_end);
    open_thread_cpu_ms += (thread_end.tv_sec - thread_start.tv_sec) * 1e3 +
                          (thread_end.tv_nsec - thread_start.tv_nsec) / 1e6;
    if (!store.ok()) {
      state.SkipWithError(std::string(store.status().message()).c_str());
      return;
    }
    // Freed memory stays mapped in the allocator, so only the first
    // iteration measures what the snapshot costs; keep the largest figure.
    const Memory after = ReadMemory();
    heap_delta_mib = (static_cast<double>(mallinfo2().uordblks) -
                      static_cast<double>(heap_before)) /
                     (1024.0 * 1024.0);
    rss_delta_mib =
        std::max(rss_delta_mib, (after.rss_kib - before.rss_kib) / 1024.0);
    peak_delta_mib =
        std::max(peak_delta_mib, (after.hwm_kib - before.rss_kib) / 1024.0);
    huge_mib = ReadHugePagesKib() / 1024.0;
    principals = (*store)->publisher().snapshot()->principal_count();
    block_bytes = 0;
    (*store)->publisher().snapshot()->ForEachPrincipal(
        [&](const PrincipalEntry& e) { block_bytes += e.block_bytes(); });
    store->reset();
    state.ResumeTiming();
  }
  state.counters["principals"] = static_cast<double>(principals);
  state.counters["rss_delta_MiB"] = rss_delta_mib;
  // Bytes malloc handed out for the open store (index, SQLite cache); the
  // snapshot's entry arena is mapped directly and counts in rss only.
  state.counters["heap_delta_MiB"] = heap_delta_mib;
  // CPU of the thread that calls Store::Open (the SQLite scan; entries are
  // built on a second thread): with two idle cores, the wall time's floor.
  state.counters["open_thread_cpu_ms"] =
      open_thread_cpu_ms / static_cast<double>(state.iterations());
  // Of the process's memory, how much transparent huge pages back.
  state.counters["huge_MiB"] = huge_mib;
  // Bytes of the entry blocks alone (without allocator and index overhead).
  state.counters["entry_bytes"] =
      principals == 0 ? 0.0 : static_cast<double>(block_bytes) / principals;
  state.counters["peak_delta_MiB"] = peak_delta_mib;
}

// A fixed pseudo-random sample of ids, so lookups hit the table at random
// (cache misses included) without formatting strings in the timed loop.
// `distinct` bounds the working set: n for lookups spread over the whole
// index (DRAM-bound at 1M), small for the realistic case of the principals
// active right now (cache-resident).
std::vector<std::string> SampleIds(int n, int distinct) {
  std::mt19937 rng(7);
  std::vector<int> pool;
  for (int i = 0; i < distinct; ++i) pool.push_back(rng() % n);
  std::vector<std::string> ids;
  for (int i = 0; i < 65536; ++i) {
    ids.push_back(PrincipalId(pool[rng() % pool.size()]));
  }
  return ids;
}

// The (id, resource scope) pairs BM_LookupAndResolve looks up, in one
// contiguous character buffer so the request side costs no cache misses
// of its own: like a server, whose request was just parsed.
class LookupSample {
 public:
  LookupSample(int n, int distinct) {
    std::mt19937 rng(7);
    // Small working sets are drawn from a pool by a generator inside the
    // loop (no 65,536-element stream pushing the snapshot out of L2);
    // spread ones are a 65,536-element sequence read in order (prefetched).
    // distinct == 0: a 65,536-element sequence drawn from a Zipf
    // distribution over all n (rank k with probability ~ 1/k), the ranks
    // scattered over the principals: a few very active principals and a
    // long tail, as real traffic looks.
    const bool zipf = distinct == 0;
    const int length = !zipf && distinct <= 65536 ? distinct : 65536;
    std::vector<int> principals;
    if (zipf) {
      std::vector<double> cdf(n);
      double sum = 0;
      for (int k = 0; k < n; ++k) cdf[k] = (sum += 1.0 / (k + 1));
      std::vector<int> scatter(n);
      for (int k = 0; k < n; ++k) scatter[k] = k;
      std::shuffle(scatter.begin(), scatter.end(), rng);
      std::uniform_real_distribution<double> u(0, sum);
      for (int i = 0; i < length; ++i) {
        const auto rank = std::lower_bound(cdf.begin(), cdf.end(), u(rng));
        principals.push_back(scatter[std::min<int>(
            static_cast<int>(rank - cdf.begin()), n - 1)]);
      }
    } else {
      for (int i = 0; i < length; ++i) principals.push_back(rng() % n);
    }
    std::string chars;
    std::vector<std::pair<size_t, size_t>> offsets;
    for (int i : principals) {
      const std::string id = PrincipalId(i);
      const std::string scope = absl::StrCat(Tenant(i), "/", kRegions[i % 4]);
      offsets.emplace_back(chars.size(), id.size());
      chars += id;
      offsets.emplace_back(chars.size(), scope.size());
      chars += scope;
    }
    chars_ = std::move(chars);
    for (const auto& [offset, size] : offsets) {
      views_.push_back(absl::string_view(chars_).substr(offset, size));
    }
    pooled_ = !zipf && distinct <= 65536;
  }

  size_t size() const { return views_.size() / 2; }
  bool pooled() const { return pooled_; }
  absl::string_view id(size_t k) const { return views_[2 * k]; }
  absl::string_view scope(size_t k) const { return views_[2 * k + 1]; }

 private:
  std::string chars_;
  std::vector<absl::string_view> views_;
  bool pooled_ = false;
};

// How the lookups of one benchmark loop relate to each other.
enum class Access {
  // Each lookup's key is known up front, as for independent requests: the
  // CPU may overlap one lookup's cache misses with the next ones' (out of
  // order execution), so Time is a throughput figure.
  kIndependent,
  // The next key depends on the previous lookup's result (an opaque zero
  // derived from the roles, as a pointer chase): nothing overlaps, so Time
  // is the latency of one lookup + resolution.
  kDependent,
  // Independent, and the loop runs Snapshot::Prefetch's three stages for
  // the keys 3, 2 and 1 x kPrefetchDistance ahead, as a batch (BatchCheck)
  // can: the throughput when misses overlap on purpose. Spread and Zipf
  // samples only (a pooled key is drawn in the loop).
  kPrefetched,
};
constexpr size_t kPrefetchDistance = 4;

// strings: the free ResolveEffectiveRoles (string scope compares, closure
// lists) instead of the snapshot's compact path.
template <bool strings, Access access>
void LookupAndResolve(benchmark::State& state, Stores* stores) {
  const int n = static_cast<int>(state.range(0));
  const int distinct = static_cast<int>(state.range(1));
  Store* store = stores->Get(n);
  if (store == nullptr) {
    state.SkipWithError("could not open the store");
    return;
  }
  const std::shared_ptr<const Snapshot> snapshot =
      store->publisher().snapshot();
  const policy::Program& program = *snapshot->program();
  const LookupSample sample(n, distinct);
  if (access == Access::kPrefetched && sample.pooled()) {
    state.SkipWithError("prefetching needs a sequence (D = N or 0)");
    return;
  }
  const absl::Time now = absl::Now();
  uint64_t roles[(policy::kMaxRoles + 63) / 64] = {};
  const size_t words = (program.role_count() + 63) / 64;
  uint64_t x = 0x9E3779B97F4A7C15u;
  size_t i = 0;
  int64_t found = 0;
  // Zero, but the compiler cannot know it: ANDed with the roles it makes
  // the next key depend on this lookup's result.
  uint64_t opaque_zero = 0;
  benchmark::DoNotOptimize(opaque_zero);
  for (auto _ : state) {
    size_t k;
    if (sample.pooled()) {
      // A 64-bit LCG; multiply-shift maps its high half onto the pool.
      x = x * 6364136223846793005u + 1442695040888963407u;
      if constexpr (access == Access::kDependent) x += roles[0] & opaque_zero;
      k = static_cast<size_t>(((x >> 32) * sample.size()) >> 32);
    } else {
      if constexpr (access == Access::kDependent) i += roles[0] & opaque_zero;
      k = i++ & 65535;
    }
    if constexpr (access == Access::kPrefetched) {
      const size_t d = kPrefetchDistance;
      const size_t a = (k + 3 * d) & 65535;
      const size_t b = (k + 2 * d) & 65535;
      const size_t c = (k + d) & 65535;
      snapshot->Prefetch(sample.id(a), sample.scope(a),
                         Snapshot::PrefetchStage::kIndex);
      snapshot->Prefetch(sample.id(b), sample.scope(b),
                         Snapshot::PrefetchStage::kEntry);
      snapshot->Prefetch(sample.id(c), sample.scope(c),
                         Snapshot::PrefetchStage::kBindings);
    }
    const PrincipalEntry* entry = snapshot->FindPrincipal(sample.id(k));
    if (entry != nullptr) {
      if constexpr (strings) {
        ResolveEffectiveRoles(program, *entry, sample.scope(k), now,
                              absl::MakeSpan(roles, words));
      } else {
        snapshot->ResolveEffectiveRoles(*entry,
                                        snapshot->PrepareScope(sample.scope(k)),
                                        now, absl::MakeSpan(roles, words));
      }
      ++found;
    }
    benchmark::DoNotOptimize(roles[0]);
  }
  state.counters["found"] = benchmark::Counter(
      static_cast<double>(found), benchmark::Counter::kAvgIterations);
}
void BM_LookupAndResolve(benchmark::State& state, Stores* stores) {
  LookupAndResolve<false, Access::kIndependent>(state, stores);
}
void BM_LookupAndResolveDependent(benchmark::State& state, Stores* stores) {
  LookupAndResolve<false, Access::kDependent>(state, stores);
}
void BM_LookupAndResolvePrefetched(benchmark::State& state, Stores* stores) {
  LookupAndResolve<false, Access::kPrefetched>(state, stores);
}
void BM_LookupAndResolveStrings(benchmark::State& state, Stores* stores) {
  LookupAndResolve<true, Access::kIndependent>(state, stores);
}

// The reference for the spread case: one dependent load from a random
// cache line of a `bytes`-sized buffer (a pointer chase through a random
// cyclic permutation, so neither prefetchers nor out-of-order execution
// hide the latency). Arg 1 = 1 asks for transparent huge pages, which
// removes most TLB misses from the figure.
void BM_MemoryLatency(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  const bool huge = state.range(1) != 0;
  constexpr size_t kLine = 64;
  const size_t lines = bytes / kLine;
  constexpr size_t kAlign = size_t{2} << 20;
  auto* base = static_cast<std::byte*>(std::aligned_alloc(kAlign, bytes));
  if (base == nullptr) {
    state.SkipWithError("out of memory");
    return;
  }
  madvise(base, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  std::vector<uint32_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = static_cast<uint32_t>(i);
  std::shuffle(order.begin() + 1, order.end(), std::mt19937(3));
  for (size_t i = 0; i < lines; ++i) {
    *reinterpret_cast<std::byte**>(base + order[i] * kLine) =
        base + order[(i + 1) % lines] * kLine;
  }
  std::byte* p = base;
  for (auto _ : state) {
    p = *reinterpret_cast<std::byte**>(p);
    benchmark::DoNotOptimize(p);
  }
  std::free(base);
}

// resolved: the server's path (Snapshot::FillRequestAndRoles, roles from
// the compact bindings); else the evaluator walks the bindings itself.
template <bool resolved>
void LookupAndEvaluate(benchmark::State& state, Stores* stores) {
  const int n = static_cast<int>(state.range(0));
  Store* store = stores->Get(n);
  if (store == nullptr) {
    state.SkipWithError("could not open the store");
    return;
  }
  const std::shared_ptr<const Snapshot> snapshot =
      store->publisher().snapshot();
  const std::vector<std::string> ids = SampleIds(n, n);
  const absl::Time now = absl::Now();
  policy::NamedValue attributes[] = {
      {"owner", policy::Value::String("user-0000001")},
      {"region", policy::Value::String("emea")},
      {"tier", policy::Value::String("gold")}};
  uint64_t roles[(policy::kMaxRoles + 63) / 64];
  const size_t words = (snapshot->program()->role_count() + 63) / 64;
  size_t i = 0;
  int64_t allowed = 0;
  for (auto _ : state) {
    const size_t k = i++ & 65535;
    policy::Request request;
    request.action = "update";
    request.kind = "customer";
    request.resource_id = "c1";
    request.scope = "tenant-0001/emea";
    request.resource_attributes = attributes;
    request.now = now;
    if constexpr (resolved) {
      snapshot->FillRequestAndRoles(ids[k], absl::MakeSpan(roles, words),
                                    request);
    } else {
      snapshot->FillRequest(ids[k], request);
    }
    const policy::Decision d = policy::Evaluate(*snapshot->program(), request);
    allowed += d.allowed();
  }
  state.counters["allowed"] = benchmark::Counter(
      static_cast<double>(allowed), benchmark::Counter::kAvgIterations);
}
void BM_LookupAndEvaluate(benchmark::State& state, Stores* stores) {
  LookupAndEvaluate<true>(state, stores);
}
void BM_LookupAndEvaluateBindings(benchmark::State& state, Stores* stores) {
  LookupAndEvaluate<false>(state, stores);
}

}  // namespace
}  // namespace steward::store

int main(int argc, char** argv) {
  using steward::store::Stores;
  Stores stores;
  for (int n : {10000, 1000000}) {
    benchmark::RegisterBenchmark("BM_SnapshotBuildFromDb",
                                 steward::store::BM_SnapshotBuildFromDb,
                                 &stores)
        ->Arg(n)
        ->Unit(benchmark::kMillisecond)
        // The load builds entries on a second thread: CPU is the whole
        // process's, Time is wall clock.
        ->MeasureProcessCPUTime()
        ->Iterations(n >= 1000000 ? 3 : 5);
    // Args: principals in the store, distinct principals looked up (n:
    // spread over the index, DRAM-bound; 1000: the active set; 16: all in
    // L1, the compute floor; 0: Zipf over n).
    auto all_sets = [&](const char* name, auto fn) {
      benchmark::RegisterBenchmark(name, fn, &stores)
          ->Args({n, n})
          ->Args({n, 0})
          ->Args({n, 1000})
          ->Args({n, 16});
    };
    all_sets("BM_LookupAndResolve", steward::store::BM_LookupAndResolve);
    all_sets("BM_LookupAndResolveDependent",
             steward::store::BM_LookupAndResolveDependent);
    benchmark::RegisterBenchmark("BM_LookupAndResolvePrefetched",
                                 steward::store::BM_LookupAndResolvePrefetched,
                                 &stores)
        ->Args({n, n})
        ->Args({n, 0});
    all_sets("BM_LookupAndResolveStrings",
             steward::store::BM_LookupAndResolveStrings);
    benchmark::RegisterBenchmark("BM_LookupAndEvaluate",
                                 steward::store::BM_LookupAndEvaluate, &stores)
        ->Arg(n);
    benchmark::RegisterBenchmark("BM_LookupAndEvaluateBindings",
                                 steward::store::BM_LookupAndEvaluateBindings,
                                 &stores)
        ->Arg(n);
  }
  // Args: buffer bytes, huge pages (0/1). 256 KiB fits L2, 4 MiB L3, 512 MiB
  // neither (the 1,000,000-principal snapshot is ~300 MiB).
  benchmark::RegisterBenchmark("BM_MemoryLatency",
                               steward::store::BM_MemoryLatency)
      ->Args({256 << 10, 0})
      ->Args({4 << 20, 0})
      ->Args({512 << 20, 0})
      ->Args({512 << 20, 1});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
