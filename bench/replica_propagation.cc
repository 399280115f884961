// steward_replica_propagation: how fast an admin change made through one
// stewardd replica is served by the others, and what a Check costs each
// replica in CPU, on a real PostgreSQL.
//
// Starts a throwaway PostgreSQL 15 cluster (tests/testing/postgres_cluster.h)
// and --replicas real `stewardd serve --dev --store postgresql://...`
// processes, loads the shared workload's principals through replica A,
// then --changes times: Grant a new principal a role through A, and poll
// Check on every other replica until it answers ALLOW. The latency is
// from the moment A's Grant returned (the change is committed then) to
// the first ALLOW at each other replica; the poll adds at most one Check
// round trip (~0.1-0.3 ms on loopback). Then --checks workload Checks
// round-robin over all replicas, reading each replica's CPU time
// (/proc/PID/stat utime + stime) before and after.
//
// Output: p50/p90/p99/max propagation latency per observing replica and
// over all of them, and CPU microseconds per Check per replica.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/authorization.grpc.pb.h"
#include "tests/testing/grpc_workload.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/subprocess.h"

namespace steward::bench {
namespace {

using testing::PostgresCluster;
using testing::ServerProcess;
using testing::TempDir;

struct Replica {
  std::string data;
  ServerProcess process;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::unique_ptr<v1::AuthorizationService::Stub> authz;
};

std::string ReadKey(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& key) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + key);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

// utime + stime of `pid`, in clock ticks.
int64_t CpuTicks(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold
  // spaces: state is field 3, utime 14, stime 15.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
  if (fields.size() < 13) return 0;
  return std::stoll(fields[11]) + std::stoll(fields[12]);
}

absl::Duration Percentile(std::vector<absl::Duration> values, double p) {
  if (values.empty()) return absl::ZeroDuration();
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size()));
  return values[std::min(index, values.size() - 1)];
}

void Report(const std::string& who, const std::vector<absl::Duration>& all) {
  auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
  std::printf(
      "propagation to %-10s n=%zu p50=%.2f ms p90=%.2f ms p99=%.2f ms "
      "max=%.2f ms\n",
      who.c_str(), all.size(), ms(Percentile(all, 0.50)),
      ms(Percentile(all, 0.90)), ms(Percentile(all, 0.99)),
      ms(Percentile(all, 1.0)));
}

int Run(int argc, char** argv) {
  int replicas = 3;
  int changes = 200;
  int checks = 30000;
  std::string poll_interval = "1s";
  int bulk_principals = 0;
  std::string workload = STEWARD_WORKLOAD_DIR;
  CLI::App app{"propagation latency of admin changes between replicas"};
  app.add_option("--replicas", replicas, "stewardd replicas (>= 2)")
      ->capture_default_str();
  app.add_option("--changes", changes, "Grants made through replica A")
      ->capture_default_str();
  app.add_option("--checks", checks, "Checks for the CPU measurement")
      ->capture_default_str();
  app.add_option("--store-poll-interval", poll_interval,
                 "the replicas' revision poll (the safety net)")
      ->capture_default_str();
  app.add_option("--workload", workload, "the shared workload dir")
      ->capture_default_str();
  app.add_option("--bulk-principals", bulk_principals,
                 "extra principals (one global binding each) inserted with "
                 "psql, to see how the full rebuild scales")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (replicas < 2) {
    std::fprintf(stderr, "error: --replicas must be at least 2\n");
    return 2;
  }

  absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
  if (!cluster.ok()) {
    std::fprintf(stderr, "error: %s\n", cluster.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
  if (!url.ok()) {
    std::fprintf(stderr, "error: %s\n", url.status().ToString().c_str());
    return 1;
  }
  TempDir dir;
  std::vector<std::unique_ptr<Replica>> nodes;
  for (int i = 0; i < replicas; ++i) {
    auto node = std::make_unique<Replica>();
    const std::string name = absl::StrCat("r", i);
    node->data = absl::StrCat(dir.path(), "/", name);
    absl::Status started = node->process.Start(
        STEWARDD_PATH, node->data,
        {"--dev", "--policy", workload + "/crm.policy", "--store", *url,
         "--replica-name", name, "--store-poll-interval", poll_interval,
         "--audit-durability", "async"});
    if (!started.ok()) {
      std::fprintf(stderr, "error: replica %s: %s\n", name.c_str(),
                   started.ToString().c_str());
      return 1;
    }
    auto channel = grpc::CreateChannel(node->process.address(),
                                       grpc::InsecureChannelCredentials());
    node->admin = v1::AdminService::NewStub(channel);
    node->authz = v1::AuthorizationService::NewStub(channel);
    nodes.push_back(std::move(node));
  }
  const std::string admin_key = ReadKey(nodes[0]->data + "/dev-admin.key");
  const std::string client_key = ReadKey(nodes[0]->data + "/dev-client.key");

  absl::StatusOr<std::vector<testing::WorkloadPrincipal>> principals =
      testing::ReadWorkloadPrincipals(workload);
  absl::StatusOr<std::vector<testing::WorkloadRequest>> requests =
      testing::ReadWorkloadRequests(workload);
  if (!principals.ok() || !requests.ok()) {
    std::fprintf(stderr, "error: cannot read the workload in %s\n",
                 workload.c_str());
    return 1;
  }
  testing::PrincipalLoadOptions load;
  load.admin_key = admin_key;
  if (grpc::Status s =
          testing::LoadPrincipals(*nodes[0]->admin, *principals, load);
      !s.ok()) {
    std::fprintf(stderr, "error: loading principals: %s\n",
                 s.error_message().c_str());
    return 1;
  }

  if (bulk_principals > 0) {
    // One transaction that also bumps the revision and notifies, as an
    // admin change would, so every replica rebuilds with them.
    const std::string sql = absl::StrCat(
        "BEGIN;"
        "INSERT INTO principals (id, created_at, updated_at) "
        "SELECT 'bulk-' || g, 1, 1 FROM generate_series(1, ",
        bulk_principals,
        ") g;"
        "INSERT INTO role_bindings (principal, role, granted_by, granted_at) "
        "SELECT 'bulk-' || g, 'support_agent', 'bench', 1 "
        "FROM generate_series(1, ",
        bulk_principals,
        ") g;"
        "UPDATE store_meta SET revision = revision + 1;"
        "SELECT pg_notify('steward_revision', 'bulk');"
        "COMMIT;");
    testing::CommandResult psql =
        testing::RunCommand({"/usr/lib/postgresql/15/bin/psql", "-q", "-v",
                             "ON_ERROR_STOP=1", *url, "-c", sql});
    if (psql.exit_code != 0) {
      std::fprintf(stderr, "error: bulk insert: %s\n", psql.err.c_str());
      return 1;
    }
    absl::SleepFor(absl::Seconds(2));
  }

  std::vector<std::vector<absl::Duration>> latency(nodes.size());
  std::vector<absl::Duration> everyone;
  for (int n = 0; n < changes; ++n) {
    const std::string principal = absl::StrCat("propagation-", n);
    v1::UpsertPrincipalRequest upsert;
    upsert.mutable_principal()->set_id(principal);
    v1::UpsertPrincipalResponse upserted;
    grpc::Status s = nodes[0]->admin->UpsertPrincipal(Context(admin_key).get(),
                                                      upsert, &upserted);
    // Let the upsert reach everyone first: only the Grant is timed.
    absl::SleepFor(absl::Milliseconds(20));
    v1::GrantRequest grant;
    grant.set_principal_id(principal);
    grant.set_role("support_agent");
    v1::GrantResponse granted;
    if (s.ok()) {
      s = nodes[0]->admin->Grant(Context(admin_key).get(), grant, &granted);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "error: change %d: %s\n", n,
                   s.error_message().c_str());
      return 1;
    }
    const absl::Time committed = absl::Now();
    v1::CheckRequest check;
    check.set_principal_id(principal);
    check.set_action("read");
    check.mutable_resource()->set_kind("customer");
    check.mutable_resource()->set_id("customer-1");
    for (size_t r = 1; r < nodes.size(); ++r) {
      while (true) {
        v1::CheckResponse response;
        grpc::Status c =
            nodes[r]->authz->Check(Context(client_key).get(), check, &response);
        if (c.ok() && response.effect() == v1::ALLOW) break;
        if (absl::Now() - committed > absl::Seconds(10)) {
          std::fprintf(stderr, "error: change %d never reached replica %zu\n",
                       n, r);
          return 1;
        }
      }
      // Replicas are polled in turn; each is timed from the commit, and
      // polling one first can only delay observing the next.
      latency[r].push_back(absl::Now() - committed);
      everyone.push_back(latency[r].back());
    }
  }
  std::printf(
      "%d replicas, %d changes through r0, %zu + %d principals, "
      "--store-poll-interval %s\n",
      replicas, changes, principals->size(), bulk_principals,
      poll_interval.c_str());
  for (size_t r = 1; r < nodes.size(); ++r) {
    Report(absl::StrCat("r", r), latency[r]);
  }
  Report("all", everyone);

  // CPU per Check per replica, over a round-robin run of the workload.
  std::vector<int64_t> before;
  for (const auto& node : nodes)
    before.push_back(CpuTicks(node->process.pid()));
  const absl::Time start = absl::Now();
  for (int i = 0; i < checks; ++i) {
    const auto& node = nodes[static_cast<size_t>(i) % nodes.size()];
    v1::CheckResponse response;
    (void)node->authz->Check(
        Context(client_key).get(),
        (*requests)[static_cast<size_t>(i) % requests->size()].request,
        &response);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (size_t r = 0; r < nodes.size(); ++r) {
    const int64_t ticks = CpuTicks(nodes[r]->process.pid()) - before[r];
    const double per_replica =
        static_cast<double>(checks) / static_cast<double>(nodes.size());
    std::printf(
        "cpu r%zu: %.1f us per Check (%d Checks round-robin, one client "
        "thread, %.1f s)\n",
        r, static_cast<double>(ticks) * tick_us / per_replica, checks, seconds);
  }
  return 0;
}

}  // namespace
}  // namespace steward::bench

int main(int argc, char** argv) { return steward::bench::Run(argc, argv); }
