#include "tests/testing/grpc_workload.h"

#include <chrono>
#include <memory>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace steward::testing {
namespace {

std::unique_ptr<grpc::ClientContext> Context(
    const PrincipalLoadOptions& options) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!options.admin_key.empty()) {
    context->AddMetadata("authorization", "Bearer " + options.admin_key);
  }
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.rpc_timeout));
  return context;
}

grpc::Status WithContext(const grpc::Status& status, absl::string_view what) {
  return grpc::Status(status.error_code(),
                      absl::StrCat(what, ": ", status.error_message()));
}

}  // namespace

google::protobuf::Value ToProtoValue(const WorkloadValue& value) {
  google::protobuf::Value out;
  if (const auto* s = std::get_if<std::string>(&value)) {
    out.set_string_value(*s);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    out.set_number_value(static_cast<double>(*i));
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out.set_bool_value(*b);
  } else {
    auto* list = out.mutable_list_value();
    for (const std::string& element :
         std::get<std::vector<std::string>>(value)) {
      list->add_values()->set_string_value(element);
    }
  }
  return out;
}

WorkloadRequest ToWorkloadRequest(const WorkloadCheck& check) {
  WorkloadRequest out;
  out.request.set_principal_id(check.principal_id);
  out.request.set_action(check.action);
  v1::Resource* resource = out.request.mutable_resource();
  resource->set_kind(check.kind);
  resource->set_id(check.resource_id);
  for (const auto& [name, value] : check.attributes) {
    (*resource->mutable_attributes())[name] = ToProtoValue(value);
  }
  out.expect_allow = check.expect_allow;
  return out;
}

absl::StatusOr<std::vector<WorkloadRequest>> ReadWorkloadRequests(
    const std::string& dir) {
  absl::StatusOr<std::vector<WorkloadCheck>> checks = ReadWorkloadChecks(dir);
  if (!checks.ok()) return checks.status();
  std::vector<WorkloadRequest> out;
  out.reserve(checks->size());
  for (const WorkloadCheck& check : *checks) {
    out.push_back(ToWorkloadRequest(check));
  }
  return out;
}

grpc::Status LoadPrincipals(v1::AdminService::Stub& admin,
                            absl::Span<const WorkloadPrincipal> principals,
                            const PrincipalLoadOptions& options) {
  for (const WorkloadPrincipal& principal : principals) {
    v1::UpsertPrincipalRequest upsert;
    upsert.mutable_principal()->set_id(principal.id);
    for (const auto& [name, value] : principal.attributes) {
      (*upsert.mutable_principal()->mutable_attributes())[name] =
          ToProtoValue(value);
    }
    v1::UpsertPrincipalResponse upserted;
    grpc::Status status =
        admin.UpsertPrincipal(Context(options).get(), upsert, &upserted);
    if (!status.ok()) {
      return WithContext(status,
                         absl::StrCat("UpsertPrincipal ", principal.id));
    }
    for (const std::string& role : principal.roles) {
      v1::GrantRequest grant;
      grant.set_principal_id(principal.id);
      grant.set_role(role);
      grant.set_reason(options.reason);
      v1::GrantResponse granted;
      status = admin.Grant(Context(options).get(), grant, &granted);
      if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS &&
          options.allow_existing_grants) {
        continue;
      }
      if (!status.ok()) {
        return WithContext(status,
                           absl::StrCat("Grant ", principal.id, " ", role));
      }
    }
  }
  return grpc::Status::OK;
}

}  // namespace steward::testing
