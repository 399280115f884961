// Test-side gRPC access to a running stewardd: stubs with the dev keys the
// server wrote into its data dir, and the shared workload (read by
// tests/testing/grpc_workload.h) as requests and loaded principals.
#ifndef STEWARD_TESTS_SERVER_GRPC_CLIENT_H_
#define STEWARD_TESTS_SERVER_GRPC_CLIENT_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/types/span.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/audit.grpc.pb.h"
#include "steward/v1/authorization.grpc.pb.h"
#include "tests/testing/grpc_workload.h"
#include "tests/testing/workload.h"

namespace steward::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::string ReadKey(const std::string& data_dir,
                           const std::string& role) {
  return std::string(
      absl::StripAsciiWhitespace(ReadFile(data_dir + "/dev-" + role + ".key")));
}

// A client context carrying `key` as the bearer credential.
inline std::unique_ptr<grpc::ClientContext> Context(const std::string& key) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

// Sends `wire` as the body of `method` ("/steward.v1.AdminService/Grant"),
// bypassing the client's encoder the way a hostile or buggy client would.
inline grpc::Status SendRaw(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& key, const std::string& method,
                            const std::string& wire) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  std::unique_ptr<grpc::ClientContext> context = Context(key);
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(s); });
  return done.get_future().get();
}

// Every workload check as a CheckRequest with its known answer; a test
// failure, and no requests, when the files cannot be read.
inline std::vector<WorkloadRequest> LoadWorkloadRequests(
    const std::string& dir) {
  absl::StatusOr<std::vector<WorkloadRequest>> requests =
      ReadWorkloadRequests(dir);
  if (!requests.ok()) {
    ADD_FAILURE() << requests.status();
    return {};
  }
  return *std::move(requests);
}

// Loads the first `count` workload principals (all by default) into the
// server: one UpsertPrincipal and one global Grant per role, recorded with
// `reason`. Returns the first failure, if any (a test failure too when the
// files cannot be read).
inline grpc::Status LoadWorkloadPrincipals(
    steward::v1::AdminService::Stub& admin, const std::string& admin_key,
    const std::string& dir, size_t count = SIZE_MAX,
    const std::string& reason = "workload") {
  absl::StatusOr<std::vector<WorkloadPrincipal>> principals =
      ReadWorkloadPrincipals(dir);
  if (!principals.ok()) {
    ADD_FAILURE() << principals.status();
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        principals.status().ToString());
  }
  if (principals->size() < count && count != SIZE_MAX) {
    ADD_FAILURE() << "the workload has only " << principals->size()
                  << " principals, " << count << " wanted";
  }
  PrincipalLoadOptions options;
  options.admin_key = admin_key;
  options.reason = reason;
  return LoadPrincipals(admin,
                        absl::MakeConstSpan(*principals)
                            .first(std::min(count, principals->size())),
                        options);
}

// `message` as a hostile or buggy client would send it: serialized, with
// the 4-byte marker "@@@@" (set in one of its strings) replaced by bytes
// that are not UTF-8. Empty if the marker is missing.
inline std::string WithInvalidUtf8(const google::protobuf::Message& message) {
  std::string wire = message.SerializeAsString();
  size_t at = wire.find("@@@@");
  if (at == std::string::npos) return "";
  wire.replace(at, 4, "\xff\xfe\xc0\x80");
  return wire;
}

}  // namespace steward::testing

#endif  // STEWARD_TESTS_SERVER_GRPC_CLIENT_H_
