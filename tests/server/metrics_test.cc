// The Prometheus endpoint of a real stewardd (metrics show queue depth,
// batch size, commit time): after sync-audited Checks the audit
// series must count what the writer actually committed, and a flood of
// refused calls must be counted without costing a record each.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::steward::v1::AuthorizationService;

// The metrics address stewardd logged ("metrics on http://HOST:PORT/...");
// "" (and a test failure) if it does not log one in time.
std::string MetricsAddress(const ServerProcess& server) {
  const std::string kMarker = "metrics on http://";
  std::string log;
  if (!WaitUntil(
          [&] {
            log = server.Log();
            return log.find(kMarker) != std::string::npos;
          },
          absl::Seconds(10), "stewardd to log its metrics address")) {
    return "";
  }
  size_t begin = log.find(kMarker) + kMarker.size();
  return log.substr(begin, log.find('/', begin) - begin);
}

// GET /metrics over a plain socket; returns the body, or "" on failure.
std::string Scrape(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return "";
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  // A scrape that hangs fails instead (Prometheus gives up after 10 s).
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// Series name with labels -> value; comment lines skipped.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// Starts a --dev stewardd with `extra_args` and /metrics on an ephemeral
// port; returns the metrics address, or "" after a test failure.
std::string StartWithMetrics(ServerProcess& server, const std::string& data,
                             std::vector<std::string> extra_args) {
  std::vector<std::string> args = {"--dev", "--metrics-listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  if (absl::Status started = server.Start(STEWARDD_PATH, data, args);
      !started.ok()) {
    ADD_FAILURE() << started;
    return "";
  }
  std::string address = MetricsAddress(server);
  if (address.empty()) ADD_FAILURE() << "no metrics address\n" << server.Log();
  return address;
}

TEST(MetricsEndpointTest, AuditSeriesCountTheWritersBatchesAndCommits) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  const std::string metrics_address = StartWithMetrics(
      server, data,
      {"--policy", std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
       "--audit-durability", "sync"});
  ASSERT_FALSE(metrics_address.empty());

  const std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  ASSERT_GE(requests.size(), 25u);
  auto stub = AuthorizationService::NewStub(grpc::CreateChannel(
      server.address(), grpc::InsecureChannelCredentials()));
  const std::string client_key = ReadKey(data, "client");
  constexpr int kChecks = 25;
  for (int i = 0; i < kChecks; ++i) {
    v1::CheckResponse response;
    grpc::Status status =
        stub->Check(Context(client_key).get(), requests[i].request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Sync durability: each answer came after its record's commit, so the
  // counters already include all of them.
  std::map<std::string, double> samples = ParseSamples(Scrape(metrics_address));
  ASSERT_FALSE(samples.empty()) << "no samples from " << metrics_address;
  const double committed = samples["steward_audit_records_committed_total"];
  const double batches = samples["steward_audit_batch_records_count"];
  EXPECT_GE(committed, kChecks);
  EXPECT_EQ(samples["steward_audit_records_failed_total"], 0);
  EXPECT_EQ(samples["steward_audit_rejected_full_total"], 0);
  // One client, one call at a time: at least one commit per Check.
  EXPECT_GE(batches, kChecks);
  EXPECT_EQ(samples["steward_audit_batch_records_sum"], committed);
  EXPECT_EQ(samples["steward_audit_batch_records_bucket{le=\"+Inf\"}"],
            batches);
  EXPECT_LE(samples["steward_audit_batch_records_bucket{le=\"1\"}"], batches);
  EXPECT_EQ(samples["steward_audit_commit_seconds_count"], batches);
  EXPECT_GT(samples["steward_audit_commit_seconds_sum"], 0);
  EXPECT_GT(samples["steward_audit_commit_max_seconds"], 0);
  EXPECT_LE(samples["steward_audit_commit_max_seconds"],
            samples["steward_audit_commit_seconds_sum"]);
  EXPECT_EQ(samples["steward_audit_queue_depth"], 0);
  EXPECT_GT(samples["steward_audit_queue_capacity"], 0);
  // Synced Checks leave nothing uncommitted; without a signing key nothing
  // is signed, so every committed record is unsigned.
  EXPECT_EQ(samples.at("steward_audit_uncommitted_records"), 0);
  EXPECT_EQ(samples.at("steward_audit_commits_failing"), 0);
  EXPECT_EQ(samples.at("steward_audit_last_signed_seq"), -1);
  EXPECT_EQ(samples.at("steward_audit_unsigned_records"),
            samples.at("steward_audit_records_committed_total"));
  EXPECT_EQ(samples.at("steward_audit_signed_checkpoints_failed_total"), 0);
  EXPECT_TRUE(samples.count("steward_audit_index_lag_records"));

  double decisions = 0;
  for (const auto& [series, value] : samples) {
    if (series.rfind("steward_decisions_total{", 0) == 0) decisions += value;
  }
  EXPECT_EQ(decisions, kChecks);
}

// Without an active policy every Check is a NO_ACTIVE_POLICY deny, and the
// decision counter must say so, not NO_MATCHING_RULE.
TEST(MetricsEndpointTest, CountsNoActivePolicyDenialsUnderTheirOwnReason) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  const std::string metrics_address = StartWithMetrics(server, data, {});
  ASSERT_FALSE(metrics_address.empty());

  auto stub = AuthorizationService::NewStub(grpc::CreateChannel(
      server.address(), grpc::InsecureChannelCredentials()));
  v1::CheckRequest request;
  request.set_principal_id("alice");
  request.set_action("read");
  request.mutable_resource()->set_kind("customer");
  v1::CheckResponse response;
  grpc::Status status =
      stub->Check(Context(ReadKey(data, "client")).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.effect(), v1::DENY);
  ASSERT_EQ(response.reason(), v1::NO_ACTIVE_POLICY);

  std::map<std::string, double> samples = ParseSamples(Scrape(metrics_address));
  ASSERT_FALSE(samples.empty()) << "no samples from " << metrics_address;
  EXPECT_EQ(
      samples["steward_decisions_total{effect=\"DENY\",reason=\"NO_ACTIVE_"
              "POLICY\"}"],
      1);
  EXPECT_EQ(samples.count("steward_decisions_total{effect=\"DENY\",reason=\"NO_"
                          "MATCHING_RULE\"}"),
            0u);
}

// The snapshot built at start (here: the --dev policy's) took some time,
// and the gauge must show it rather than a constant 0.
TEST(MetricsEndpointTest, SnapshotBuildSecondsIsTheBuildTime) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  const std::string metrics_address = StartWithMetrics(
      server, data,
      {"--policy", std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"});
  ASSERT_FALSE(metrics_address.empty());
  // Wait for the housekeeping round that publishes the policy version (it
  // used to reset the build time to 0 as well).
  std::map<std::string, double> samples;
  for (int i = 0; i < 100; ++i) {
    samples = ParseSamples(Scrape(metrics_address));
    if (samples["steward_snapshot_policy_version"] > 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_GT(samples["steward_snapshot_policy_version"], 0)
      << "no housekeeping round from " << metrics_address;
  ASSERT_TRUE(samples.count("steward_snapshot_build_seconds"));
  EXPECT_GT(samples["steward_snapshot_build_seconds"], 0);
}

// A client that sends a byte every 1.5 s (slower than any read timeout,
// faster than a whole-request one) used to hold the single-threaded
// endpoint for as long as it liked, so every scrape timed out. Now it
// holds one worker for at most the read timeout.
TEST(MetricsEndpointTest, SlowClientsDoNotBlockScrapes) {
  TempDir dir;
  ServerProcess server;
  const std::string metrics_address =
      StartWithMetrics(server, dir.path() + "/data", {});
  ASSERT_FALSE(metrics_address.empty());
  const size_t colon = metrics_address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(
      static_cast<uint16_t>(std::stoi(metrics_address.substr(colon + 1))));
  ::inet_pton(AF_INET, metrics_address.substr(0, colon).c_str(),
              &addr.sin_addr);

  // More slow clients than the endpoint has threads.
  constexpr int kSlowClients = 6;
  std::atomic<bool> done{false};
  std::vector<std::thread> slow;
  for (int c = 0; c < kSlowClients; ++c) {
    slow.emplace_back([&addr, &done] {
      const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr),
                    sizeof(addr)) != 0) {
        ::close(fd);
        return;
      }
      for (size_t i = 0; i < request.size() && !done.load(); ++i) {
        if (::send(fd, &request[i], 1, MSG_NOSIGNAL) != 1) break;
        // The trickle is the attack being tested, not a wait for a result.
        for (int t = 0; t < 15 && !done.load(); ++t) {
          absl::SleepFor(absl::Milliseconds(100));
        }
      }
      ::close(fd);
    });
  }
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    const std::string body = Scrape(metrics_address);
    EXPECT_THAT(body, ::testing::HasSubstr("steward_decisions_total"))
        << "scrape " << i << " failed after " << (absl::Now() - start);
  }
  done = true;
  for (std::thread& t : slow) t.join();
}

// Refused calls cost their sender nothing, so they must cost the trail
// little: thousands of keyless Checks and unknown-key BatchChecks from a few
// threads become a few AUTH_FAILURE records (the first of each peer, RPC and
// reason at once, the rest as one count at shutdown) whose counts add up to
// every refused call, each naming the RPC and the reason.
TEST(AuthFailureFloodTest, RefusedCallsAreCountedInAFewRecords) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, data,
                           {"--dev", "--metrics-listen", "127.0.0.1:0"}),
              IsOk());
  const std::string metrics_address = MetricsAddress(server);
  ASSERT_FALSE(metrics_address.empty()) << server.Log();

  constexpr int kThreads = 4;
  constexpr int kKeylessPerThread = 500;
  constexpr int kUnknownKey = 200;
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto stub = AuthorizationService::NewStub(grpc::CreateChannel(
          server.address(), grpc::InsecureChannelCredentials()));
      for (int i = 0; i < kKeylessPerThread; ++i) {
        v1::CheckRequest request;
        v1::CheckResponse response;
        if (stub->Check(Context("").get(), request, &response).error_code() !=
            grpc::StatusCode::UNAUTHENTICATED) {
          ++unexpected;
        }
      }
    });
  }
  threads.emplace_back([&] {
    auto stub = AuthorizationService::NewStub(grpc::CreateChannel(
        server.address(), grpc::InsecureChannelCredentials()));
    for (int i = 0; i < kUnknownKey; ++i) {
      v1::BatchCheckRequest request;
      v1::BatchCheckResponse response;
      if (stub->BatchCheck(Context("stw_not_a_key").get(), request, &response)
              .error_code() != grpc::StatusCode::UNAUTHENTICATED) {
        ++unexpected;
      }
    }
  });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(unexpected.load(), 0);
  const int total = kThreads * kKeylessPerThread + kUnknownKey;

  std::map<std::string, double> samples = ParseSamples(Scrape(metrics_address));
  EXPECT_EQ(samples["steward_auth_failures_total"], total);
  // The first failure of each (peer, RPC, reason) only, so far.
  EXPECT_GE(samples["steward_auth_failure_records_total"], 1);
  EXPECT_LE(samples["steward_auth_failure_records_total"], 2);
  ASSERT_EQ(server.Stop(), 0) << server.Log();

  // The counts reach the trail at shutdown; read them back.
  ServerProcess again;
  ASSERT_THAT(again.Start(STEWARDD_PATH, data, {"--dev"}), IsOk());
  auto audit = v1::AuditService::NewStub(
      grpc::CreateChannel(again.address(), grpc::InsecureChannelCredentials()));
  v1::QueryDecisionsRequest query;
  query.mutable_filter()->set_kind(v1::AUTH_FAILURE);
  query.set_page_size(1000);
  v1::QueryDecisionsResponse found;
  grpc::Status queried = audit->QueryDecisions(
      Context(ReadKey(data, "auditor")).get(), query, &found);
  ASSERT_TRUE(queried.ok()) << queried.error_message();
  EXPECT_LE(found.records_size(), 6);
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (const v1::AuditRecord& record : found.records()) {
    nlohmann::json details =
        nlohmann::json::parse(record.details_json(), nullptr, false);
    ASSERT_TRUE(details.is_object()) << record.details_json();
    EXPECT_EQ(details.value("reason", ""), record.failure_reason());
    EXPECT_THAT(details.value("peer", ""), ::testing::StartsWith("ipv"));
    counts[{record.action(), record.failure_reason()}] +=
        details.value("count", int64_t{0});
  }
  std::map<std::pair<std::string, std::string>, int64_t> expected = {
      {{"/steward.v1.AuthorizationService/Check", "missing_key"},
       kThreads * kKeylessPerThread},
      {{"/steward.v1.AuthorizationService/BatchCheck", "unknown_key"},
       kUnknownKey}};
  EXPECT_EQ(counts, expected);
}

}  // namespace
}  // namespace steward::testing
