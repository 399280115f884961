#include "tests/testing/policy_workload.h"

#include <map>
#include <optional>
#include <variant>

#include "absl/strings/str_cat.h"
#include "policy/compiler.h"

namespace steward::policy::testing {
namespace {

using ::steward::testing::WorkloadValue;

OwnedValue ToOwnedValue(const WorkloadValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    return OwnedValue::String(*s);
  }
  if (const auto* i = std::get_if<int64_t>(&value)) return OwnedValue::Int(*i);
  if (const auto* b = std::get_if<bool>(&value)) return OwnedValue::Bool(*b);
  return OwnedValue::StringSet(std::get<std::vector<std::string>>(value));
}

}  // namespace

absl::Status Workload::Load(const std::string& dir) {
  absl::StatusOr<std::string> policy =
      steward::testing::ReadWorkloadPolicy(dir);
  if (!policy.ok()) return policy.status();
  auto principals = steward::testing::ReadWorkloadPrincipals(dir);
  if (!principals.ok()) return principals.status();
  auto checks = steward::testing::ReadWorkloadChecks(dir);
  if (!checks.ok()) return checks.status();

  policy_text_ = *std::move(policy);
  const SourceFile file{"crm.policy", policy_text_};
  CompileResult compiled = Compile({&file, 1});
  if (!compiled.ok()) {
    std::string message;
    for (const Diagnostic& d : compiled.diagnostics) {
      absl::StrAppend(&message, d.ToString(), "\n");
    }
    return absl::InvalidArgumentError(message);
  }
  program_ = compiled.program;

  std::map<std::string, const Principal*> by_id;
  for (const steward::testing::WorkloadPrincipal& in : *principals) {
    Principal& p = principals_.emplace_back();
    p.id = in.id;
    for (const std::string& role : in.roles) {
      std::optional<RoleId> id = program_->FindRole(role);
      if (!id.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("principal ", in.id, ": unknown role ", role));
      }
      p.bindings.push_back(RoleBinding{*id, ""});
    }
    p.owned_attributes.resize(program_->principal_attributes().size());
    for (const auto& [name, value] : in.attributes) {
      std::optional<int> slot = program_->FindPrincipalAttribute(name);
      if (slot.has_value()) p.owned_attributes[*slot] = ToOwnedValue(value);
    }
    for (const OwnedValue& v : p.owned_attributes) {
      p.attributes.push_back(v.view());
    }
    by_id[p.id] = &p;
  }
  for (const steward::testing::WorkloadCheck& in : *checks) {
    Check& c = checks_.emplace_back();
    c.principal_id = in.principal_id;
    c.action = in.action;
    c.kind = in.kind;
    c.resource_id = in.resource_id;
    for (const auto& [name, value] : in.attributes) {
      c.owned_attributes.emplace_back(name, ToOwnedValue(value));
    }
    for (const auto& [name, value] : c.owned_attributes) {
      c.attributes.push_back(NamedValue{name, value.view()});
    }
    c.expected_allow = in.expect_allow;
    auto it = by_id.find(c.principal_id);
    c.principal = it == by_id.end() ? nullptr : it->second;
  }
  return absl::OkStatus();
}

Request Workload::MakeRequest(const Check& check, absl::Time now) const {
  Request r;
  r.principal_id = check.principal_id;
  r.principal_known = check.principal != nullptr;
  if (check.principal != nullptr) {
    r.bindings = check.principal->bindings;
    r.principal_attributes = check.principal->attributes;
  }
  r.action = check.action;
  r.kind = check.kind;
  r.resource_id = check.resource_id;
  r.resource_attributes = check.attributes;
  r.now = now;
  return r;
}

}  // namespace steward::policy::testing
