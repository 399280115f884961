// Benchmarks of the policy library against its targets:
// - BM_WorkloadPerCheckLatency: median/p90/p99 per-check latency over the
//   10,000 checks of ../shared/workload (target: median <= 250 ns, zero
//   heap allocations per check); BM_WorkloadMix: the same checks streamed
//   in file order (cold-cache throughput);
// - BM_UnconditionalAllow: one unconditional RBAC allow (target <= 60 ns);
// - BM_Compile/N: compiling a generated policy of N roles and 10*N rules
//   (target for N=1000: <= 150 ms and a Program <= 20 MiB);
// - BM_GeneratedPolicyCheck: checks against that large policy;
// - BM_PlanResources: one query plan (plan.h) per distinct (principal,
//   action, kind) of the workload, scope known (target: <= 20 us per
//   plan); BM_PlanResourcesScoped: the same with every binding scoped and
//   the resource's scope unknown (IN_SCOPE residuals);
//   BM_PlanManyScopedBindings: 200 scoped bindings of a role with 50
//   conditional rules (no bindings x rules blowup);
// - BM_CompileChain/N, BM_LintChain/N: a chain of N roles each extending
//   the previous one (target for N=10000: <= 0.5 s and
//   <= 100 MB).
// Counters: allocs_per_check (heap allocations per Evaluate, from the
// counting allocator linked into this binary), program_MiB, peak_heap_MiB.
// Run: policy_benchmark --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true
// (STEWARD_WORKLOAD_DIR overrides the workload location).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/policy_counting_allocator.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/lint.h"
#include "policy/plan.h"
#include "tests/testing/policy_workload.h"

namespace steward::policy {
namespace {

using ::steward::bench::CurrentAllocationStats;
using ::steward::bench::ResetPeakLiveBytes;

const testing::Workload* SharedWorkload() {
  // Loaded once per process on first use; benchmarks only read it.
  static testing::Workload workload;
  static const bool loaded = [] {
    absl::Status s =
        workload.Load(testing::Workload::Dir(STEWARD_WORKLOAD_DIR_DEFAULT));
    if (!s.ok()) {
      std::fprintf(stderr, "cannot load workload: %s\n",
                   std::string(s.message()).c_str());
      std::abort();
    }
    return true;
  }();
  (void)loaded;
  return &workload;
}

void BM_WorkloadMix(benchmark::State& state) {
  const testing::Workload& w = *SharedWorkload();
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<Request> requests;
  for (const auto& c : w.checks()) requests.push_back(w.MakeRequest(c, now));
  const Program& program = w.program();
  size_t i = 0;
  int64_t allows = 0;
  const int64_t allocs_before = CurrentAllocationStats().allocations;
  for (auto _ : state) {
    const Decision d = Evaluate(program, requests[i]);
    allows += d.allowed();
    benchmark::DoNotOptimize(d);
    if (++i == requests.size()) i = 0;
  }
  const int64_t allocs = CurrentAllocationStats().allocations - allocs_before;
  state.counters["allocs_per_check"] =
      benchmark::Counter(static_cast<double>(allocs) / state.iterations());
  state.counters["allow_ratio"] =
      benchmark::Counter(static_cast<double>(allows) / state.iterations());
}
BENCHMARK(BM_WorkloadMix);

// Per-check latency over the workload: every request is evaluated kRepeat
// times back to back (warm, as a server evaluates a request it has just
// decoded) and timed as a batch; the counters are the median, p90 and p99
// over the 10,000 requests of the per-check time, in ns. BM_WorkloadMix
// above is the cold-cache throughput figure (it walks ~2 MB of request
// data, so most of its time is memory latency).
void BM_WorkloadPerCheckLatency(benchmark::State& state) {
  constexpr int kRepeat = 16;
  const testing::Workload& w = *SharedWorkload();
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<Request> requests;
  for (const auto& c : w.checks()) requests.push_back(w.MakeRequest(c, now));
  const Program& program = w.program();
  std::vector<double> ns(requests.size());
  int64_t allocs = 0;
  int64_t checks = 0;
  for (auto _ : state) {
    const int64_t allocs_before = CurrentAllocationStats().allocations;
    for (size_t i = 0; i < requests.size(); ++i) {
      benchmark::DoNotOptimize(Evaluate(program, requests[i]));  // warm
      const auto start = std::chrono::steady_clock::now();
      for (int k = 0; k < kRepeat; ++k) {
        benchmark::DoNotOptimize(Evaluate(program, requests[i]));
      }
      const auto end = std::chrono::steady_clock::now();
      ns[i] = std::chrono::duration<double, std::nano>(end - start).count() /
              kRepeat;
    }
    allocs += CurrentAllocationStats().allocations - allocs_before;
    checks += static_cast<int64_t>(requests.size()) * (kRepeat + 1);
  }
  std::sort(ns.begin(), ns.end());
  state.counters["median_ns"] = benchmark::Counter(ns[ns.size() / 2]);
  state.counters["p90_ns"] = benchmark::Counter(ns[ns.size() * 9 / 10]);
  state.counters["p99_ns"] = benchmark::Counter(ns[ns.size() * 99 / 100]);
  state.counters["allocs_per_check"] = benchmark::Counter(
      static_cast<double>(allocs) / static_cast<double>(checks));
}
BENCHMARK(BM_WorkloadPerCheckLatency)->Unit(benchmark::kMillisecond);

void BM_UnconditionalAllow(benchmark::State& state) {
  const testing::Workload& w = *SharedWorkload();
  const Program& program = w.program();
  // support_agent: `allow read on customer, order` (no condition).
  const RoleBinding binding{*program.FindRole("support_agent"), ""};
  const NamedValue attrs[] = {{"owner", Value::String("u0001")},
                              {"region", Value::String("eu")},
                              {"tier", Value::String("free")}};
  Request r;
  r.principal_id = "u0003";
  r.bindings = {&binding, 1};
  r.action = "read";
  r.kind = "customer";
  r.resource_id = "customer-1";
  r.resource_attributes = attrs;
  r.now = absl::FromUnixSeconds(1700000000);
  if (!Evaluate(program, r).allowed()) std::abort();
  const int64_t allocs_before = CurrentAllocationStats().allocations;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Evaluate(program, r));
  }
  const int64_t allocs = CurrentAllocationStats().allocations - allocs_before;
  state.counters["allocs_per_check"] =
      benchmark::Counter(static_cast<double>(allocs) / state.iterations());
}
BENCHMARK(BM_UnconditionalAllow);

// The distinct (principal, action, kind) triples of the workload's checks
// by known principals, as plan requests; `scoped` gives every binding a
// scope and leaves the resource's scope unknown.
struct PlanInputs {
  std::deque<std::vector<RoleBinding>> bindings;
  std::vector<PlanRequest> requests;
};

PlanInputs MakePlanInputs(const testing::Workload& w, bool scoped) {
  PlanInputs in;
  std::set<std::tuple<const void*, std::string, std::string>> seen;
  static const char* kScopes[] = {"acme", "acme/eu", "beta"};
  for (const auto& c : w.checks()) {
    if (c.principal == nullptr) continue;
    if (!seen.insert({c.principal, c.action, c.kind}).second) continue;
    std::vector<RoleBinding>& b =
        in.bindings.emplace_back(c.principal->bindings);
    if (scoped) {
      for (size_t i = 0; i < b.size(); ++i) b[i].scope = kScopes[i % 3];
    }
    PlanRequest r;
    r.principal_id = c.principal_id;
    r.bindings = b;
    r.principal_attributes = c.principal->attributes;
    r.action = c.action;
    r.kind = c.kind;
    r.scope_known = !scoped;
    r.now = absl::FromUnixSeconds(1700000000);
    in.requests.push_back(r);
  }
  return in;
}

void RunPlans(benchmark::State& state, bool scoped) {
  const testing::Workload& w = *SharedWorkload();
  const PlanInputs in = MakePlanInputs(w, scoped);
  int conditional = 0;
  for (const PlanRequest& r : in.requests) {
    conditional += PlanResources(w.program(), r).kind == PlanKind::kConditional;
  }
  size_t i = 0;
  const int64_t allocs_before = CurrentAllocationStats().allocations;
  for (auto _ : state) {
    benchmark::DoNotOptimize(PlanResources(w.program(), in.requests[i]));
    if (++i == in.requests.size()) i = 0;
  }
  const int64_t allocs = CurrentAllocationStats().allocations - allocs_before;
  state.counters["allocs_per_plan"] =
      benchmark::Counter(static_cast<double>(allocs) / state.iterations());
  state.counters["distinct_plans"] =
      benchmark::Counter(static_cast<double>(in.requests.size()));
  state.counters["conditional"] = benchmark::Counter(conditional);
}

void BM_PlanResources(benchmark::State& state) { RunPlans(state, false); }
BENCHMARK(BM_PlanResources);

void BM_PlanResourcesScoped(benchmark::State& state) { RunPlans(state, true); }
BENCHMARK(BM_PlanResourcesScoped);

void BM_PlanManyScopedBindings(benchmark::State& state) {
  std::string text =
      "resource doc { attributes { n: int } actions { read } }\nrole big {\n";
  for (int i = 0; i < 50; ++i) {
    absl::StrAppend(&text, "  allow read on doc when resource.n == ", i, "\n");
  }
  absl::StrAppend(&text, "}\n");
  const SourceFile file{"big.policy", text};
  const CompileResult compiled = Compile({&file, 1}, CompileOptions());
  if (!compiled.ok()) std::abort();
  std::vector<std::string> scopes;
  for (int i = 0; i < 200; ++i) scopes.push_back(absl::StrCat("s", i));
  std::vector<RoleBinding> bindings;
  for (const std::string& s : scopes) {
    bindings.push_back({*compiled.program->FindRole("big"), s});
  }
  PlanRequest r;
  r.principal_id = "u";
  r.bindings = bindings;
  r.action = "read";
  r.kind = "doc";
  r.now = absl::FromUnixSeconds(1700000000);
  for (auto _ : state) {
    benchmark::DoNotOptimize(PlanResources(*compiled.program, r));
  }
}
BENCHMARK(BM_PlanManyScopedBindings)->Unit(benchmark::kMicrosecond);

// A policy of `roles` roles and 10 rules each over 20 kinds of 10 actions,
// a third of the rules conditional, roles extending the previous one in
// chains of up to 5. Deterministic.
std::string GeneratePolicy(int roles) {
  std::mt19937 rng(42);
  auto pick = [&rng](int n) {
    return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng));
  };
  std::string out =
      "policy generated\nprincipal { region: string level: int }\n";
  absl::StrAppend(&out, "context { mfa: bool }\npurposes { p0, p1, p2 }\n");
  constexpr int kKinds = 20;
  constexpr int kActions = 10;
  for (int k = 0; k < kKinds; ++k) {
    absl::StrAppend(&out, "resource k", k,
                    " {\n  attributes { owner: string, region: string, "
                    "amount: int }\n  fields { f0, f1, f2, f3, p0 pii, p1 pii "
                    "}\n  actions {");
    for (int a = 0; a < kActions; ++a) {
      absl::StrAppend(&out, a == 0 ? " " : ", ", "a", a);
    }
    absl::StrAppend(&out, " }\n}\n");
  }
  for (int r = 0; r < roles; ++r) {
    absl::StrAppend(&out, "role r", r, " \"generated role ", r, "\"");
    if (r % 5 != 0) absl::StrAppend(&out, " extends r", r - 1);
    absl::StrAppend(&out, " {\n");
    for (int i = 0; i < 10; ++i) {
      const bool deny = pick(10) == 0;
      absl::StrAppend(&out, deny ? "  deny a" : "  allow a", pick(kActions));
      if (pick(3) == 0) absl::StrAppend(&out, ", a", pick(kActions));
      absl::StrAppend(&out, " on k", pick(kKinds));
      if (pick(4) == 0) absl::StrAppend(&out, ", k", pick(kKinds));
      if (!deny && pick(4) == 0) absl::StrAppend(&out, " fields { f0, p0 }");
      if (pick(8) == 0) absl::StrAppend(&out, " for p", pick(3));
      switch (pick(6)) {
        case 0:
          absl::StrAppend(&out, " when resource.owner == principal.id");
          break;
        case 1:
          absl::StrAppend(&out,
                          " when resource.region == principal.region && "
                          "resource.amount <= ",
                          pick(100000));
          break;
        case 2:
          absl::StrAppend(&out, " unless context.mfa");
          break;
        default:
          break;
      }
      absl::StrAppend(&out, "\n");
    }
    absl::StrAppend(&out, "}\n");
  }
  return out;
}

void BM_Compile(benchmark::State& state) {
  const int roles = static_cast<int>(state.range(0));
  const SourceFile file{"generated.policy", GeneratePolicy(roles)};
  CompileOptions options;
  options.lint = false;  // lint is measured separately below
  int64_t program_bytes = 0;
  for (auto _ : state) {
    const int64_t before = CurrentAllocationStats().live_bytes;
    CompileResult r = Compile({&file, 1}, options);
    if (!r.ok()) {
      state.SkipWithError(r.diagnostics.empty()
                              ? "compile failed"
                              : r.diagnostics[0].ToString().c_str());
      return;
    }
    r.diagnostics.clear();
    r.diagnostics.shrink_to_fit();
    program_bytes = CurrentAllocationStats().live_bytes - before;
    benchmark::DoNotOptimize(r.program);
  }
  state.counters["rules"] = benchmark::Counter(roles * 10.0);
  state.counters["program_MiB"] =
      benchmark::Counter(static_cast<double>(program_bytes) / (1 << 20));
  state.counters["source_KiB"] =
      benchmark::Counter(static_cast<double>(file.text.size()) / 1024);
}
BENCHMARK(BM_Compile)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_CompileWithLint(benchmark::State& state) {
  const SourceFile file{"generated.policy",
                        GeneratePolicy(static_cast<int>(state.range(0)))};
  for (auto _ : state) {
    CompileResult r = Compile({&file, 1});
    benchmark::DoNotOptimize(r.program);
  }
}
BENCHMARK(BM_CompileWithLint)->Arg(1000)->Unit(benchmark::kMillisecond);

// Issue #17 item 3: N roles in one chain, each extending the previous one
// (10,000 is the default role limit). Target for N = 10,000: Compile()
// with lint <= 0.5 s and <= 100 MB. Each role has an unconditional and a
// conditional allow; the root also has an unconditional deny, so the
// lint's unreachable-allow check finds a deny role in every closure.
std::string GenerateChainPolicy(int roles) {
  std::string out =
      "policy chain\nresource doc {\n  attributes { owner: string }\n"
      "  fields { title, body, email pii }\n"
      "  actions { read, update, delete }\n}\n"
      "role c0 {\n  deny delete on doc\n  allow read on doc\n}\n";
  for (int r = 1; r < roles; ++r) {
    absl::StrAppend(&out, "role c", r, " extends c", r - 1,
                    " {\n  allow read on doc\n"
                    "  allow update on doc when resource.owner == "
                    "principal.id\n}\n");
  }
  return out;
}

// Counters: peak_heap_MiB is the heap high-water mark of one Compile()
// above what was live before it, in bytes requested from operator new
// (the counting allocator; malloc's overhead, stacks and code are not in
// it). maxrss_MiB is getrusage's ru_maxrss when the benchmark ends: the
// whole process's high-water mark, so run one benchmark per process
// (--benchmark_filter) to read it as this one's.
void BM_CompileChain(benchmark::State& state) {
  const int roles = static_cast<int>(state.range(0));
  const SourceFile file{"chain.policy", GenerateChainPolicy(roles)};
  int64_t peak_bytes = 0;
  for (auto _ : state) {
    const int64_t before = CurrentAllocationStats().live_bytes;
    ResetPeakLiveBytes();
    CompileResult r = Compile({&file, 1});
    if (!r.ok()) {
      state.SkipWithError(r.diagnostics.empty()
                              ? "compile failed"
                              : r.diagnostics[0].ToString().c_str());
      return;
    }
    peak_bytes =
        std::max(peak_bytes, CurrentAllocationStats().peak_live_bytes - before);
    benchmark::DoNotOptimize(r.program);
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  state.counters["roles"] = benchmark::Counter(roles);
  state.counters["peak_heap_MiB"] =
      benchmark::Counter(static_cast<double>(peak_bytes) / (1 << 20));
  state.counters["maxrss_MiB"] =
      benchmark::Counter(static_cast<double>(usage.ru_maxrss) / 1024);
}
BENCHMARK(BM_CompileChain)
    ->Arg(5000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

// `text` compiled without lint; null (and the benchmark skipped) when it
// does not compile.
std::shared_ptr<const Program> CompileWithoutLint(benchmark::State& state,
                                                  const std::string& path,
                                                  std::string text) {
  const SourceFile file{path, std::move(text)};
  CompileOptions options;
  options.lint = false;
  CompileResult r = Compile({&file, 1}, options);
  if (!r.ok()) state.SkipWithError("compile failed");
  return r.ok() ? r.program : nullptr;
}

// Lint() (a public entry point of its own) on the compiled chain.
void BM_LintChain(benchmark::State& state) {
  const int roles = static_cast<int>(state.range(0));
  std::shared_ptr<const Program> program =
      CompileWithoutLint(state, "chain.policy", GenerateChainPolicy(roles));
  if (program == nullptr) return;
  size_t findings = 0;
  for (auto _ : state) {
    std::vector<Diagnostic> d = Lint(*program);
    findings = d.size();
    benchmark::DoNotOptimize(d);
  }
  state.counters["findings"] =
      benchmark::Counter(static_cast<double>(findings));
}
BENCHMARK(BM_LintChain)->Arg(5000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_GeneratedPolicyCheck(benchmark::State& state) {
  std::shared_ptr<const Program> compiled =
      CompileWithoutLint(state, "generated.policy", GeneratePolicy(1000));
  if (compiled == nullptr) return;
  const Program& program = *compiled;
  // 256 requests: 3 random bindings each, random kind/action/attributes.
  std::mt19937 rng(7);
  struct Owned {
    std::vector<RoleBinding> bindings;
    std::vector<Value> principal;
    std::string kind, action;
    std::vector<NamedValue> attrs;
  };
  std::vector<Owned> owned(256);
  for (Owned& o : owned) {
    for (int i = 0; i < 3; ++i) {
      o.bindings.push_back({static_cast<RoleId>(rng() % 1000), ""});
    }
    o.principal = {Value::String("eu"), Value::Int(3)};
    o.kind = absl::StrCat("k", rng() % 20);
    o.action = absl::StrCat("a", rng() % 10);
    o.attrs = {{"owner", Value::String("u1")},
               {"region", Value::String("eu")},
               {"amount", Value::Int(static_cast<int64_t>(rng() % 100000))}};
  }
  std::vector<Request> requests;
  for (const Owned& o : owned) {
    Request q;
    q.principal_id = "u1";
    q.bindings = o.bindings;
    q.principal_attributes = o.principal;
    q.kind = o.kind;
    q.action = o.action;
    q.resource_attributes = o.attrs;
    q.now = absl::FromUnixSeconds(1700000000);
    requests.push_back(q);
  }
  size_t i = 0;
  const int64_t allocs_before = CurrentAllocationStats().allocations;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Evaluate(program, requests[i]));
    if (++i == requests.size()) i = 0;
  }
  state.counters["allocs_per_check"] = benchmark::Counter(
      static_cast<double>(CurrentAllocationStats().allocations -
                          allocs_before) /
      state.iterations());
}
BENCHMARK(BM_GeneratedPolicyCheck);

}  // namespace
}  // namespace steward::policy

BENCHMARK_MAIN();
