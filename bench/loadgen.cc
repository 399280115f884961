// steward_loadgen: replays the shared workload (requests.jsonl) against a
// running stewardd with the async gRPC client API, at C connections × M
// requests in flight for a fixed duration, and prints throughput, latency
// percentiles, errors and decision mismatches against `expected`.
//
//   steward_loadgen --server 127.0.0.1:7070 --api-key-file DIR/dev-client.key
//       --workload ../shared/workload --connections 4 --inflight 16
//       --duration 30 [--batch 100]
//
// With --plan each call is a PlanResources for a workload request's
// principal, action, kind, purpose and context (the scope left unknown).
// With --batch N each call is a BatchCheck of N consecutive workload
// requests and throughput is reported both in calls/s and decisions/s.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/authorization.grpc.pb.h"
#include "tests/testing/grpc_workload.h"
#include "tests/testing/workload.h"

namespace {

using Clock = std::chrono::steady_clock;
using steward::v1::AuthorizationService;
using steward::v1::BatchCheckRequest;
using steward::v1::BatchCheckResponse;
using steward::v1::CheckRequest;
using steward::v1::CheckResponse;

// A workload check as a CheckRequest, and its expected answer.
using Item = steward::testing::WorkloadRequest;

// The workload's requests; empty, after saying why, when they cannot be
// read.
std::vector<Item> LoadWorkload(const std::string& dir) {
  absl::StatusOr<std::vector<Item>> items =
      steward::testing::ReadWorkloadRequests(dir);
  if (!items.ok()) {
    std::fprintf(stderr, "error: %s\n", items.status().ToString().c_str());
    return {};
  }
  return *std::move(items);
}

struct Call {
  grpc::ClientContext context;
  CheckResponse check_response;
  BatchCheckResponse batch_response;
  steward::v1::PlanResourcesResponse plan_response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<CheckResponse>> check;
  std::unique_ptr<
      grpc::ClientAsyncResponseReader<steward::v1::PlanResourcesResponse>>
      plan;
  std::unique_ptr<grpc::ClientAsyncResponseReader<BatchCheckResponse>> batch;
  grpc::Status status;
  Clock::time_point start;
  size_t first = 0;  // index of the first workload item
};

struct Stats {
  std::vector<uint32_t> latencies_us;
  uint64_t calls = 0;
  uint64_t decisions = 0;
  uint64_t errors = 0;
  uint64_t mismatches = 0;
  std::string first_error;
};

struct Options {
  std::string server = "127.0.0.1:7070";
  std::string api_key_file;
  std::string workload = "../shared/workload";
  int connections = 4;
  int inflight = 16;
  double duration = 10;
  int batch = 0;
  bool plan = false;
  std::string write_frame;
  std::string admin_key_file;
};

std::string ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

// Loads principals.jsonl through AdminService (a --dev server: no TOTP).
// Grants the server already holds are fine, so loading twice is harmless.
int LoadPrincipals(const Options& options) {
  absl::StatusOr<std::vector<steward::testing::WorkloadPrincipal>> principals =
      steward::testing::ReadWorkloadPrincipals(options.workload);
  if (!principals.ok()) {
    std::fprintf(stderr, "error: %s\n", principals.status().ToString().c_str());
    return 1;
  }
  auto channel =
      grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials());
  auto admin = steward::v1::AdminService::NewStub(channel);
  steward::testing::PrincipalLoadOptions load;
  load.admin_key = ReadKeyFile(options.admin_key_file);
  load.reason = "steward_loadgen";
  load.allow_existing_grants = true;
  grpc::Status status =
      steward::testing::LoadPrincipals(*admin, *principals, load);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.error_message().c_str());
    return 1;
  }
  std::printf("loaded %zu principals\n", principals->size());
  return 0;
}

// The list-endpoint question behind a workload check: which resources of
// its kind may its principal act on, for its purpose and context (scope
// unknown, so scoped bindings stay in the plan).
steward::v1::PlanResourcesRequest PlanFor(const CheckRequest& check) {
  steward::v1::PlanResourcesRequest plan;
  plan.set_principal_id(check.principal_id());
  plan.set_action(check.action());
  plan.set_resource_kind(check.resource().kind());
  *plan.mutable_context() = check.context();
  *plan.mutable_fields() = check.fields();
  plan.set_purpose(check.purpose());
  return plan;
}

// h2load replays raw HTTP/2 bodies: a gRPC frame is a compression flag, a
// big-endian length and the serialized message.
int WriteFrame(const std::string& path, const CheckRequest& request) {
  std::string message = request.SerializeAsString();
  std::string frame(5, '\0');
  uint32_t length = static_cast<uint32_t>(message.size());
  frame[1] = static_cast<char>(length >> 24);
  frame[2] = static_cast<char>(length >> 16);
  frame[3] = static_cast<char>(length >> 8);
  frame[4] = static_cast<char>(length);
  frame += message;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << frame;
  return out ? 0 : 1;
}

void RunConnection(const Options& options, const std::vector<Item>& items,
                   const std::string& key, int connection_index,
                   Clock::time_point deadline, Stats* stats) {
  grpc::ChannelArguments args;
  // A distinct argument per connection stops gRPC from sharing one TCP
  // connection between the channels.
  args.SetInt("steward.loadgen.connection", connection_index);
  auto channel = grpc::CreateCustomChannel(
      options.server, grpc::InsecureChannelCredentials(), args);
  auto stub = AuthorizationService::NewStub(channel);
  grpc::CompletionQueue queue;
  size_t next = static_cast<size_t>(connection_index) * 7919 % items.size();
  const size_t per_call = options.batch > 0 ? options.batch : 1;

  auto start_call = [&]() {
    auto* call = new Call();  // owned by the completion queue tag
    call->context.AddMetadata("authorization", "Bearer " + key);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(30));
    call->first = next;
    next = (next + per_call) % items.size();
    call->start = Clock::now();
    if (options.plan) {
      call->plan = stub->AsyncPlanResources(
          &call->context, PlanFor(items[call->first].request), &queue);
      call->plan->Finish(&call->plan_response, &call->status, call);
    } else if (options.batch > 0) {
      BatchCheckRequest request;
      for (size_t i = 0; i < per_call; ++i) {
        *request.add_items() = items[(call->first + i) % items.size()].request;
      }
      call->batch = stub->AsyncBatchCheck(&call->context, request, &queue);
      call->batch->Finish(&call->batch_response, &call->status, call);
    } else {
      call->check =
          stub->AsyncCheck(&call->context, items[call->first].request, &queue);
      call->check->Finish(&call->check_response, &call->status, call);
    }
  };

  int outstanding = 0;
  for (int i = 0; i < options.inflight; ++i, ++outstanding) start_call();
  void* tag = nullptr;
  bool ok = false;
  while (outstanding > 0 && queue.Next(&tag, &ok)) {
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    --outstanding;
    auto now = Clock::now();
    stats->latencies_us.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - call->start)
            .count()));
    ++stats->calls;
    if (!ok || !call->status.ok()) {
      ++stats->errors;
      if (stats->first_error.empty()) {
        stats->first_error = call->status.error_message();
      }
    } else if (options.plan) {
      // A plan is right or wrong per resource, which this load generator
      // does not have; tests/policy/plan_test.cc checks plans against
      // Evaluate. Here only a kind the server never sends is a mismatch.
      stats->mismatches +=
          call->plan_response.kind() == steward::v1::PLAN_KIND_UNSPECIFIED;
      ++stats->decisions;
    } else if (options.batch > 0) {
      for (int i = 0; i < call->batch_response.items_size(); ++i) {
        bool allowed =
            call->batch_response.items(i).effect() == steward::v1::ALLOW;
        const Item& item = items[(call->first + i) % items.size()];
        stats->mismatches += allowed != item.expect_allow;
        ++stats->decisions;
      }
    } else {
      bool allowed = call->check_response.effect() == steward::v1::ALLOW;
      stats->mismatches += allowed != items[call->first].expect_allow;
      ++stats->decisions;
    }
    if (now < deadline) {
      start_call();
      ++outstanding;
    }
  }
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p / 100.0 * (sorted.size() - 1));
  return sorted[index] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"steward_loadgen: replay the workload against stewardd"};
  app.add_option("--server", options.server, "server address");
  app.add_option("--api-key-file", options.api_key_file, "client API key");
  app.add_option("--workload", options.workload, "workload directory");
  app.add_option("--connections", options.connections, "TCP connections");
  app.add_option("--inflight", options.inflight,
                 "calls in flight per connection");
  app.add_option("--duration", options.duration, "seconds to run");
  app.add_option("--batch", options.batch,
                 "BatchCheck items per call (0: Check)");
  app.add_flag("--plan", options.plan,
               "PlanResources per workload request instead of Check");
  app.add_option("--write-frame", options.write_frame,
                 "write the first workload Check as a gRPC frame for h2load "
                 "and exit");
  app.add_option("--load-principals-with", options.admin_key_file,
                 "load principals.jsonl with this admin key file and exit");
  CLI11_PARSE(app, argc, argv);
  if (!options.admin_key_file.empty()) return LoadPrincipals(options);
  if (!options.write_frame.empty()) {
    std::vector<Item> items = LoadWorkload(options.workload);
    if (items.empty()) return 2;
    return WriteFrame(options.write_frame, items.front().request);
  }

  std::ifstream key_in(options.api_key_file);
  std::stringstream key_buffer;
  key_buffer << key_in.rdbuf();
  std::string key(absl::StripAsciiWhitespace(key_buffer.str()));
  if (key.empty()) {
    std::fprintf(stderr, "error: cannot read %s\n",
                 options.api_key_file.c_str());
    return 2;
  }
  std::vector<Item> items = LoadWorkload(options.workload);
  if (items.empty()) {
    std::fprintf(stderr, "error: no requests in %s/requests.jsonl\n",
                 options.workload.c_str());
    return 2;
  }

  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options.duration));
  std::vector<Stats> stats(options.connections);
  std::vector<std::thread> threads;
  for (int c = 0; c < options.connections; ++c) {
    threads.emplace_back(RunConnection, std::cref(options), std::cref(items),
                         std::cref(key), c, deadline, &stats[c]);
  }
  for (std::thread& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Stats total;
  for (Stats& s : stats) {
    total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(),
                              s.latencies_us.end());
    total.calls += s.calls;
    total.decisions += s.decisions;
    total.errors += s.errors;
    total.mismatches += s.mismatches;
    if (total.first_error.empty()) total.first_error = s.first_error;
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  std::printf(
      "mode=%s connections=%d inflight=%d duration=%.1fs\n"
      "calls=%llu calls/s=%.0f decisions/s=%.0f\n"
      "latency_ms p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f max=%.3f\n"
      "errors=%llu mismatches=%llu\n",
      options.plan        ? "PlanResources"
      : options.batch > 0 ? "BatchCheck"
                          : "Check",
      options.connections, options.inflight, elapsed,
      static_cast<unsigned long long>(total.calls), total.calls / elapsed,
      total.decisions / elapsed, Percentile(total.latencies_us, 50),
      Percentile(total.latencies_us, 90), Percentile(total.latencies_us, 99),
      Percentile(total.latencies_us, 99.9),
      total.latencies_us.empty() ? 0.0 : total.latencies_us.back() / 1000.0,
      static_cast<unsigned long long>(total.errors),
      static_cast<unsigned long long>(total.mismatches));
  if (!total.first_error.empty()) {
    std::printf("first error: %s\n", total.first_error.c_str());
  }
  return total.errors == 0 && total.mismatches == 0 ? 0 : 1;
}
