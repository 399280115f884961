// Test-side gRPC access to a running stewardd: stubs with the dev keys the
// server wrote into its data dir, and loaders for the shared workload.
#ifndef STEWARD_TESTS_SERVER_GRPC_CLIENT_H_
#define STEWARD_TESTS_SERVER_GRPC_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/audit.grpc.pb.h"
#include "steward/v1/authorization.grpc.pb.h"

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

inline google::protobuf::Value ToValue(const nlohmann::json& json) {
  google::protobuf::Value value;
  if (json.is_string()) {
    value.set_string_value(json.get<std::string>());
  } else if (json.is_boolean()) {
    value.set_bool_value(json.get<bool>());
  } else if (json.is_number()) {
    value.set_number_value(json.get<double>());
  } else if (json.is_array()) {
    for (const auto& element : json) {
      *value.mutable_list_value()->add_values() = ToValue(element);
    }
  }
  return value;
}

struct WorkloadRequest {
  steward::v1::CheckRequest request;
  bool expect_allow = false;
};

inline std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

inline std::vector<WorkloadRequest> LoadWorkloadRequests(
    const std::string& dir) {
  std::vector<WorkloadRequest> out;
  for (const nlohmann::json& json : ReadJsonLines(dir + "/requests.jsonl")) {
    WorkloadRequest item;
    item.request.set_principal_id(json["principal_id"].get<std::string>());
    item.request.set_action(json["action"].get<std::string>());
    const nlohmann::json& resource = json["resource"];
    item.request.mutable_resource()->set_kind(
        resource["kind"].get<std::string>());
    item.request.mutable_resource()->set_id(resource["id"].get<std::string>());
    if (resource.contains("attributes")) {
      for (const auto& [name, value] : resource["attributes"].items()) {
        (*item.request.mutable_resource()->mutable_attributes())[name] =
            ToValue(value);
      }
    }
    item.expect_allow = json["expected"].get<std::string>() == "ALLOW";
    out.push_back(std::move(item));
  }
  return out;
}

// Loads the workload's principals into the server: one UpsertPrincipal and
// one global Grant per role. Returns the first failure, if any.
inline grpc::Status LoadWorkloadPrincipals(
    steward::v1::AdminService::Stub& admin, const std::string& admin_key,
    const std::string& dir) {
  for (const nlohmann::json& json : ReadJsonLines(dir + "/principals.jsonl")) {
    steward::v1::UpsertPrincipalRequest upsert;
    upsert.mutable_principal()->set_id(json["id"].get<std::string>());
    for (const auto& [name, value] : json["attributes"].items()) {
      (*upsert.mutable_principal()->mutable_attributes())[name] =
          ToValue(value);
    }
    steward::v1::UpsertPrincipalResponse upserted;
    grpc::Status status =
        admin.UpsertPrincipal(Context(admin_key).get(), upsert, &upserted);
    if (!status.ok()) return status;
    for (const auto& role : json["roles"]) {
      steward::v1::GrantRequest grant;
      grant.set_principal_id(json["id"].get<std::string>());
      grant.set_role(role.get<std::string>());
      grant.set_reason("workload");
      steward::v1::GrantResponse granted;
      status = admin.Grant(Context(admin_key).get(), grant, &granted);
      if (!status.ok()) return status;
    }
  }
  return grpc::Status::OK;
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
