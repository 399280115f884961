// What the second-factor lockout costs an admin mutation, per engine:
//
//  * BM_SecondFactorLockedUntil/<engine>: the read every admin mutation
//    makes before its TOTP code is checked (KeyRepository::
//    SecondFactorLockedUntil).
//  * BM_RecordSecondFactorFailure/<engine>: counting one failed code (one
//    UPDATE ... RETURNING on the key's row; a failure window long enough
//    that the benchmark never locks the key, so every iteration writes).
//
// Checks pay neither (the authenticator makes no store call for them), so
// nothing here is on the decision path. Engines: a temp SQLite file, and a
// fresh database of the throwaway test cluster (tests/testing/
// postgres_cluster.h; loopback, fsync off: the PostgreSQL figures are a
// round trip plus the statement, not a durable commit).
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "server/store/clock.h"
#include "server/store/store.h"
#include "tests/testing/postgres_cluster.h"

namespace steward {
namespace {

enum class Engine { kSqlite, kPostgresql };

// A store with one admin key "root", open for the whole benchmark.
struct Bench {
  store::RealClock clock;
  std::string dir;
  std::unique_ptr<store::Store> store;
};

absl::StatusOr<std::unique_ptr<Bench>> OpenBench(Engine engine) {
  auto bench = std::make_unique<Bench>();
  std::string location;
  if (engine == Engine::kSqlite) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "steward-2fa-XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError("mkdtemp failed");
    }
    bench->dir = pattern;
    location = bench->dir + "/steward.db";
  } else {
    absl::StatusOr<testing::PostgresCluster*> cluster =
        testing::PostgresCluster::Shared();
    if (!cluster.ok()) return cluster.status();
    absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
    if (!url.ok()) return url.status();
    location = *url;
  }
  store::Store::Options options;
  options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<store::Store>> opened =
      store::OpenStore(location, bench->clock, options);
  if (!opened.ok()) return opened.status();
  bench->store = *std::move(opened);
  absl::StatusOr<store::NewApiKey> key = bench->store->keys().CreateApiKey(
      "root", store::ServiceRole::kAdmin, "bench");
  if (!key.ok()) return key.status();
  return bench;
}

void Cleanup(Bench& bench) {
  bench.store.reset();
  std::error_code ignored;
  if (!bench.dir.empty()) std::filesystem::remove_all(bench.dir, ignored);
}

void BM_SecondFactorLockedUntil(benchmark::State& state, Engine engine) {
  absl::StatusOr<std::unique_ptr<Bench>> bench = OpenBench(engine);
  if (!bench.ok()) {
    state.SkipWithError(bench.status().ToString().c_str());
    return;
  }
  store::KeyRepository& keys = (*bench)->store->keys();
  for (auto _ : state) {
    auto locked = keys.SecondFactorLockedUntil("root");
    if (!locked.ok()) {
      state.SkipWithError(locked.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(locked);
  }
  Cleanup(**bench);
}

void BM_RecordSecondFactorFailure(benchmark::State& state, Engine engine) {
  absl::StatusOr<std::unique_ptr<Bench>> bench = OpenBench(engine);
  if (!bench.ok()) {
    state.SkipWithError(bench.status().ToString().c_str());
    return;
  }
  store::KeyRepository& keys = (*bench)->store->keys();
  store::SecondFactorLimits limits;
  limits.max_failures = 1 << 30;
  limits.failure_window = absl::Hours(24);
  for (auto _ : state) {
    auto counted = keys.RecordSecondFactorFailure("root", absl::Now(), limits);
    if (!counted.ok()) {
      state.SkipWithError(counted.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(counted);
  }
  Cleanup(**bench);
}

BENCHMARK_CAPTURE(BM_SecondFactorLockedUntil, Sqlite, Engine::kSqlite)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SecondFactorLockedUntil, Postgresql, Engine::kPostgresql)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RecordSecondFactorFailure, Sqlite, Engine::kSqlite)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RecordSecondFactorFailure, Postgresql, Engine::kPostgresql)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace steward

BENCHMARK_MAIN();
