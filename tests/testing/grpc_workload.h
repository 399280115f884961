// The shared CRM workload (workload.h) as wire requests: each check as a
// v1::CheckRequest, and its principals loaded into a running stewardd
// through AdminService. For the server tests and steward_loadgen; test and
// benchmark support only (no GoogleTest).
#ifndef STEWARD_TESTS_TESTING_GRPC_WORKLOAD_H_
#define STEWARD_TESTS_TESTING_GRPC_WORKLOAD_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/authorization.pb.h"
#include "tests/testing/workload.h"

namespace steward::testing {

// A workload value as the wire carries it (integers as number_value).
google::protobuf::Value ToProtoValue(const WorkloadValue& value);

// A workload check as a CheckRequest, and its known answer.
struct WorkloadRequest {
  v1::CheckRequest request;
  bool expect_allow = false;
};
WorkloadRequest ToWorkloadRequest(const WorkloadCheck& check);

// Every check of DIR/requests.jsonl as a WorkloadRequest; the reader's
// errors (workload.h).
absl::StatusOr<std::vector<WorkloadRequest>> ReadWorkloadRequests(
    const std::string& dir);

struct PrincipalLoadOptions {
  std::string admin_key;            // sent as "authorization: Bearer KEY"
  std::string reason = "workload";  // recorded with each Grant
  // A Grant the server already holds (ALREADY_EXISTS) is fine, as when
  // loading into a server that was loaded before.
  bool allow_existing_grants = false;
  absl::Duration rpc_timeout = absl::Seconds(30);  // per call
};

// Upserts each of `principals` with its attributes, then grants each of
// its roles globally. OK when every call succeeded; otherwise the first
// failing call's status, its message prefixed with the call and principal
// ("Grant u0001 auditor: ..."), and nothing after it is attempted.
grpc::Status LoadPrincipals(v1::AdminService::Stub& admin,
                            absl::Span<const WorkloadPrincipal> principals,
                            const PrincipalLoadOptions& options);

}  // namespace steward::testing

#endif  // STEWARD_TESTS_TESTING_GRPC_WORKLOAD_H_
