#include "server/grpc/admin_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "policy/analysis.h"
#include "policy/compiler.h"
#include "policy/test_runner.h"
#include "proto/steward/v1/validation.h"
#include "server/auth/totp.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/proto_convert.h"
#include "server/store/limits.h"

namespace steward::server {
namespace {

using Json = nlohmann::json;
using policy::ExpandAll;
using policy::PermissionRow;

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0 || requested > store::kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", store::kMaxPageSize));
  }
  return requested == 0 ? store::kDefaultPageSize : requested;
}

absl::Status Required(absl::string_view field, absl::string_view value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  }
  if (value.size() > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most 256 bytes"));
  }
  return absl::OkStatus();
}

std::string PolicyNameOf(const store::SnapshotPublisher& snapshots,
                         int64_t version) {
  std::shared_ptr<const store::Snapshot> snapshot = snapshots.snapshot();
  if (snapshot->policy_version() == version && snapshot->program()) {
    return std::string(snapshot->program()->name());
  }
  return "";
}

void FillTests(const policy::TestReport& report, v1::TestSummary* out) {
  out->set_passed(report.passed);
  out->set_failed(report.failed);
  for (const policy::TestFailure& failure : report.failures) {
    out->add_failures(failure.ToString());
  }
}

Json BindingJson(const store::Binding& binding) {
  Json out = {{"principal", binding.principal},
              {"role", binding.role},
              {"scope", binding.scope},
              {"reason", binding.reason}};
  if (binding.expires_at.has_value()) {
    out["expires_at"] = absl::FormatTime(*binding.expires_at);
  }
  return out;
}

// Compiles candidate sources for a diff; errors carry the diagnostics.
absl::StatusOr<std::shared_ptr<const policy::Program>> CompileOrError(
    const std::vector<policy::SourceFile>& sources) {
  policy::CompileResult result = policy::Compile(sources);
  if (result.ok()) return result.program;
  std::string message = "policy does not compile:";
  for (const policy::Diagnostic& d : result.diagnostics) {
    if (d.severity == policy::Severity::kError) {
      absl::StrAppend(&message, "\n", d.ToString());
    }
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(store::PolicyRepository* policies,
                                   store::PrincipalRepository* principals,
                                   store::KeyRepository* keys,
                                   const store::SnapshotPublisher* snapshots,
                                   Authenticator* authenticator,
                                   AuditSink* audit, Metrics* metrics)
    : policies_(policies),
      principals_(principals),
      keys_(keys),
      snapshots_(snapshots),
      authenticator_(authenticator),
      audit_(audit),
      metrics_(metrics) {
  Serve("ValidatePolicy", &AdminServiceImpl::ValidatePolicy);
  Serve("ApplyPolicy", &AdminServiceImpl::ApplyPolicy);
  Serve("ListPolicyVersions", &AdminServiceImpl::ListPolicyVersions);
  Serve("GetPolicy", &AdminServiceImpl::GetPolicy);
  Serve("ActivatePolicyVersion", &AdminServiceImpl::ActivatePolicyVersion);
  Serve("DiffPolicyVersions", &AdminServiceImpl::DiffPolicyVersions);
  Serve("UpsertPrincipal", &AdminServiceImpl::UpsertPrincipal);
  Serve("GetPrincipal", &AdminServiceImpl::GetPrincipal);
  Serve("ListPrincipals", &AdminServiceImpl::ListPrincipals);
  Serve("SetPrincipalDisabled", &AdminServiceImpl::SetPrincipalDisabled);
  Serve("DeletePrincipal", &AdminServiceImpl::DeletePrincipal);
  Serve("Grant", &AdminServiceImpl::Grant);
  Serve("Revoke", &AdminServiceImpl::Revoke);
  Serve("ListBindings", &AdminServiceImpl::ListBindings);
  Serve("CreateApiKey", &AdminServiceImpl::CreateApiKey);
  Serve("ListApiKeys", &AdminServiceImpl::ListApiKeys);
  Serve("RevokeApiKey", &AdminServiceImpl::RevokeApiKey);
}

template <typename Fn>
void AdminServiceImpl::Read(const std::shared_ptr<UnaryCall>& call, Fn fn) {
  absl::StatusOr<Caller> caller =
      call->Authorize(*authenticator_, Permission::kAdminRead);
  if (!caller.ok()) {
    call->Finish(caller.status());
    return;
  }
  call->Finish(fn(*caller));
}

template <typename Fn>
void AdminServiceImpl::Mutate(const std::shared_ptr<UnaryCall>& call,
                              absl::string_view method, Fn fn) {
  absl::StatusOr<Caller> caller =
      call->Authorize(*authenticator_, Permission::kAdminMutate);
  if (!caller.ok()) {
    call->Finish(caller.status());
    return;
  }
  absl::StatusOr<Change> change = fn(*caller);
  if (!change.ok()) {
    call->Finish(change.status());
    return;
  }
  int64_t revision = change->store_revision;
  absl::Status queued = audit_->RecordAdminChange(
      *caller, method, change->principal, std::move(change->details_json),
      revision, [call, revision](absl::Status status) {
        if (status.ok()) {
          call->Finish(absl::OkStatus());
          return;
        }
        call->Finish(absl::InternalError(
            absl::StrCat("change committed at store revision ", revision,
                         " but its audit record failed: ", status.ToString())));
      });
  if (!queued.ok()) {
    call->Finish(absl::InternalError(absl::StrCat(
        "change committed at store revision ", revision,
        " but its audit record was refused: ", queued.ToString())));
  }
}

void AdminServiceImpl::ValidatePolicy(const std::shared_ptr<UnaryCall>& call,
                                      const v1::ValidatePolicyRequest* request,
                                      v1::ValidatePolicyResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    absl::StatusOr<std::vector<policy::SourceFile>> sources =
        FromProtoSources(request->sources(), "sources");
    if (!sources.ok()) return sources.status();
    policy::CompileOptions options;
    options.strict = request->strict();
    policy::CompileResult result = policy::Compile(*sources, options);
    response->set_ok(result.ok());
    for (const policy::Diagnostic& d : result.diagnostics) {
      *response->add_diagnostics() = ToProto(d);
    }
    if (result.ok()) {
      FillTests(policy::RunTests(*result.program, absl::Now()),
                response->mutable_tests());
    }
    return absl::OkStatus();
  });
}

void AdminServiceImpl::ApplyPolicy(const std::shared_ptr<UnaryCall>& call,
                                   const v1::ApplyPolicyRequest* request,
                                   v1::ApplyPolicyResponse* response) {
  Mutate(call, "ApplyPolicy",
         [&](const Caller& caller) -> absl::StatusOr<Change> {
           absl::StatusOr<std::vector<policy::SourceFile>> sources =
               FromProtoSources(request->sources(), "sources");
           if (!sources.ok()) return sources.status();
           if (request->message().empty() ||
               request->message().size() > store::kMaxPolicyMessageBytes) {
             return absl::InvalidArgumentError(
                 absl::StrCat("message: required (stewardctl -m), at most ",
                              store::kMaxPolicyMessageBytes, " bytes"));
           }
           const absl::Time start = absl::Now();
           absl::StatusOr<store::ApplyPolicyResult> applied =
               policies_->ApplyPolicy(std::move(*sources), caller.key_name,
                                      request->message());
           if (!applied.ok()) return applied.status();
           metrics_->RecordSnapshotBuild(absl::Now() - start);
           *response->mutable_version() =
               ToProto(applied->version,
                       PolicyNameOf(*snapshots_, applied->version.version));
           for (const policy::Diagnostic& d : applied->warnings) {
             *response->add_warnings() = ToProto(d);
           }
           response->mutable_tests()->set_passed(applied->tests_passed);
           response->set_store_revision(applied->store_revision);
           Json details = {{"version", applied->version.version},
                           {"sha256", applied->version.sha256},
                           {"message", request->message()}};
           return Change{"", details.dump(), applied->store_revision};
         });
}

void AdminServiceImpl::ListPolicyVersions(
    const std::shared_ptr<UnaryCall>& call,
    const v1::ListPolicyVersionsRequest* request,
    v1::ListPolicyVersionsResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    absl::StatusOr<int> page_size = PageSize(request->page_size());
    if (!page_size.ok()) return page_size.status();
    int64_t before = INT64_MAX;
    if (!request->page_token().empty() &&
        !absl::SimpleAtoi(request->page_token(), &before)) {
      return absl::InvalidArgumentError("page_token: not a token we issued");
    }
    absl::StatusOr<std::vector<store::PolicyVersionInfo>> versions =
        policies_->ListPolicyVersions();
    if (!versions.ok()) return versions.status();
    std::sort(
        versions->begin(), versions->end(),
        [](const auto& a, const auto& b) { return a.version > b.version; });
    for (const store::PolicyVersionInfo& v : *versions) {
      if (v.version >= before) continue;
      if (response->versions_size() == *page_size) {
        response->set_next_page_token(
            absl::StrCat(response->versions(*page_size - 1).version()));
        break;
      }
      *response->add_versions() =
          ToProto(v, PolicyNameOf(*snapshots_, v.version));
    }
    return absl::OkStatus();
  });
}

void AdminServiceImpl::GetPolicy(const std::shared_ptr<UnaryCall>& call,
                                 const v1::GetPolicyRequest* request,
                                 v1::GetPolicyResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    std::optional<int64_t> version;
    if (request->version() != 0) version = request->version();
    absl::StatusOr<store::PolicyVersion> policy = policies_->GetPolicy(version);
    if (!policy.ok()) return policy.status();
    *response->mutable_version() =
        ToProto(policy->info, PolicyNameOf(*snapshots_, policy->info.version));
    for (const policy::SourceFile& source : policy->sources) {
      v1::PolicySource* out = response->add_sources();
      out->set_path(source.path);
      out->set_text(source.text);
    }
    return absl::OkStatus();
  });
}

void AdminServiceImpl::ActivatePolicyVersion(
    const std::shared_ptr<UnaryCall>& call,
    const v1::ActivatePolicyVersionRequest* request,
    v1::ActivatePolicyVersionResponse* response) {
  Mutate(call, "ActivatePolicyVersion",
         [&](const Caller&) -> absl::StatusOr<Change> {
           if (request->version() <= 0) {
             return absl::InvalidArgumentError(
                 "version: must be a stored version number");
           }
           const std::shared_ptr<const store::Snapshot> before =
               snapshots_->snapshot();
           const absl::Time start = absl::Now();
           absl::StatusOr<int64_t> revision =
               policies_->ActivatePolicyVersion(request->version());
           if (!revision.ok()) return revision.status();
           // Activating the active version builds nothing.
           if (snapshots_->snapshot() != before) {
             metrics_->RecordSnapshotBuild(absl::Now() - start);
           }
           absl::StatusOr<store::PolicyVersion> policy =
               policies_->GetPolicy(request->version());
           if (policy.ok()) {
             *response->mutable_version() = ToProto(
                 policy->info, PolicyNameOf(*snapshots_, policy->info.version));
           }
           response->set_store_revision(*revision);
           Json details = {{"version", request->version()}};
           return Change{"", details.dump(), *revision};
         });
}

void AdminServiceImpl::DiffPolicyVersions(
    const std::shared_ptr<UnaryCall>& call,
    const v1::DiffPolicyVersionsRequest* request,
    v1::DiffPolicyVersionsResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    auto load = [&](std::optional<int64_t> version)
        -> absl::StatusOr<std::shared_ptr<const policy::Program>> {
      absl::StatusOr<store::PolicyVersion> policy =
          policies_->GetPolicy(version);
      if (!policy.ok()) return policy.status();
      return CompileOrError(policy->sources);
    };
    std::optional<int64_t> from;
    if (request->from_version() != 0) from = request->from_version();
    absl::StatusOr<std::shared_ptr<const policy::Program>> before = load(from);
    if (!before.ok()) return before.status();
    absl::StatusOr<std::shared_ptr<const policy::Program>> after;
    switch (request->to_case()) {
      case v1::DiffPolicyVersionsRequest::kToVersion:
        after = load(request->to_version());
        break;
      case v1::DiffPolicyVersionsRequest::kToSources: {
        absl::StatusOr<std::vector<policy::SourceFile>> sources =
            FromProtoSources(request->to_sources().sources(),
                             "to_sources.sources");
        if (!sources.ok()) return sources.status();
        after = CompileOrError(*sources);
        break;
      }
      default:
        return absl::InvalidArgumentError("to: give to_version or to_sources");
    }
    if (!after.ok()) return after.status();
    std::vector<PermissionRow> old_rows = ExpandAll(**before);
    std::vector<PermissionRow> new_rows = ExpandAll(**after);
    absl::flat_hash_set<std::string> old_keys, new_keys;
    for (const PermissionRow& row : old_rows) old_keys.insert(row.Key());
    for (const PermissionRow& row : new_rows) new_keys.insert(row.Key());
    auto emit = [&](const PermissionRow& row, v1::PermissionChange::Change c) {
      v1::PermissionChange* change = response->add_changes();
      change->set_change(c);
      change->set_role(row.role);
      change->set_kind(row.kind);
      change->set_action(row.action);
      change->set_effect(row.allow ? "allow" : "deny");
      for (const std::string& p : row.purposes) change->add_purposes(p);
      change->set_condition(row.condition);
      for (const std::string& f : row.fields) change->add_fields(f);
      for (const std::string& f : row.pii_fields) change->add_pii_fields(f);
    };
    absl::flat_hash_set<std::string> emitted;
    for (const PermissionRow& row : old_rows) {
      if (!new_keys.contains(row.Key()) && emitted.insert(row.Key()).second) {
        emit(row, v1::PermissionChange::REMOVED);
        // Losing a deny can open access as surely as gaining an allow.
        if (!row.allow) response->set_new_access(true);
      }
    }
    for (const PermissionRow& row : new_rows) {
      if (!old_keys.contains(row.Key()) && emitted.insert(row.Key()).second) {
        emit(row, v1::PermissionChange::ADDED);
        if (row.allow) response->set_new_access(true);
      }
    }
    return absl::OkStatus();
  });
}

void AdminServiceImpl::UpsertPrincipal(
    const std::shared_ptr<UnaryCall>& call,
    const v1::UpsertPrincipalRequest* request,
    v1::UpsertPrincipalResponse* response) {
  Mutate(call, "UpsertPrincipal", [&](const Caller&) -> absl::StatusOr<Change> {
    const v1::Principal& principal = request->principal();
    if (absl::Status s = v1::ValidateId("principal.id", principal.id());
        !s.ok()) {
      return s;
    }
    if (principal.display_name().size() > 256) {
      return absl::InvalidArgumentError(
          "principal.display_name: at most 256 bytes");
    }
    if (principal.attributes_size() > store::kMaxAttributes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "principal.attributes: at most ", store::kMaxAttributes, " entries"));
    }
    absl::StatusOr<store::AttributeMap> attributes =
        FromProtoAttributes(principal.attributes(), "principal.attributes");
    if (!attributes.ok()) return attributes.status();
    absl::StatusOr<store::UpsertPrincipalResult> result =
        principals_->UpsertPrincipal(principal.id(), principal.display_name(),
                                     *attributes);
    if (!result.ok()) return result.status();
    *response->mutable_principal() = ToProto(result->principal);
    response->set_created(result->created);
    response->set_store_revision(result->store_revision);
    // Attribute values may be personal data: the trail records names.
    Json names = Json::array();
    for (const auto& [name, value] : *attributes) names.push_back(name);
    Json details = {{"created", result->created}, {"attributes", names}};
    return Change{principal.id(), details.dump(), result->store_revision};
  });
}

void AdminServiceImpl::GetPrincipal(const std::shared_ptr<UnaryCall>& call,
                                    const v1::GetPrincipalRequest* request,
                                    v1::GetPrincipalResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    // Any id the store may hold: principals stored before ids were held to
    // v1::ValidateId must stay readable.
    if (absl::Status s = v1::ValidateStoredId("id", request->id()); !s.ok()) {
      return s;
    }
    absl::StatusOr<store::Principal> principal =
        principals_->GetPrincipal(request->id());
    if (!principal.ok()) return principal.status();
    *response->mutable_principal() = ToProto(*principal);
    std::string token;
    do {
      absl::StatusOr<store::BindingPage> page = principals_->ListBindings(
          {request->id(), ""}, store::kMaxPageSize, token);
      if (!page.ok()) return page.status();
      for (const store::Binding& b : page->bindings) {
        *response->add_bindings() = ToProto(b);
      }
      token = page->next_page_token;
    } while (!token.empty());
    return absl::OkStatus();
  });
}

void AdminServiceImpl::ListPrincipals(const std::shared_ptr<UnaryCall>& call,
                                      const v1::ListPrincipalsRequest* request,
                                      v1::ListPrincipalsResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    absl::StatusOr<int> page_size = PageSize(request->page_size());
    if (!page_size.ok()) return page_size.status();
    absl::StatusOr<store::PrincipalPage> page =
        principals_->ListPrincipals(*page_size, request->page_token());
    if (!page.ok()) return page.status();
    for (const store::Principal& p : page->principals) {
      *response->add_principals() = ToProto(p);
    }
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void AdminServiceImpl::SetPrincipalDisabled(
    const std::shared_ptr<UnaryCall>& call,
    const v1::SetPrincipalDisabledRequest* request,
    v1::SetPrincipalDisabledResponse* response) {
  Mutate(call, "SetPrincipalDisabled",
         [&](const Caller&) -> absl::StatusOr<Change> {
           if (absl::Status s = v1::ValidateId("id", request->id()); !s.ok()) {
             return s;
           }
           absl::StatusOr<int64_t> revision = principals_->SetPrincipalDisabled(
               request->id(), request->disabled());
           if (!revision.ok()) return revision.status();
           absl::StatusOr<store::Principal> principal =
               principals_->GetPrincipal(request->id());
           if (principal.ok()) {
             *response->mutable_principal() = ToProto(*principal);
           }
           response->set_store_revision(*revision);
           Json details = {{"disabled", request->disabled()}};
           return Change{request->id(), details.dump(), *revision};
         });
}

void AdminServiceImpl::DeletePrincipal(
    const std::shared_ptr<UnaryCall>& call,
    const v1::DeletePrincipalRequest* request,
    v1::DeletePrincipalResponse* response) {
  Mutate(call, "DeletePrincipal", [&](const Caller&) -> absl::StatusOr<Change> {
    // Like GetPrincipal: principals stored before ids were held to
    // v1::ValidateId must stay deletable.
    if (absl::Status s = v1::ValidateStoredId("id", request->id()); !s.ok()) {
      return s;
    }
    absl::StatusOr<store::BindingPage> bindings =
        principals_->ListBindings({request->id(), ""}, store::kMaxPageSize, "");
    Json removed = Json::array();
    if (bindings.ok()) {
      for (const store::Binding& b : bindings->bindings) {
        removed.push_back(BindingJson(b));
      }
    }
    absl::StatusOr<int64_t> revision =
        principals_->DeletePrincipal(request->id());
    if (!revision.ok()) return revision.status();
    response->set_bindings_removed(static_cast<int32_t>(removed.size()));
    response->set_store_revision(*revision);
    Json details = {{"bindings_removed", removed}};
    return Change{request->id(), details.dump(), *revision};
  });
}

void AdminServiceImpl::Grant(const std::shared_ptr<UnaryCall>& call,
                             const v1::GrantRequest* request,
                             v1::GrantResponse* response) {
  Mutate(call, "Grant", [&](const Caller& caller) -> absl::StatusOr<Change> {
    if (absl::Status s =
            v1::ValidateId("principal_id", request->principal_id());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Required("role", request->role()); !s.ok()) {
      return s;
    }
    if (request->scope().size() > 256) {
      return absl::InvalidArgumentError("scope: at most 256 bytes");
    }
    if (request->reason().size() > 1024) {
      return absl::InvalidArgumentError("reason: at most 1024 bytes");
    }
    store::GrantRequest grant;
    grant.principal = request->principal_id();
    grant.role = request->role();
    grant.scope = request->scope();
    if (request->has_expires_at()) {
      absl::StatusOr<absl::Time> expires_at =
          FromProtoTime(request->expires_at(), "expires_at");
      if (!expires_at.ok()) return expires_at.status();
      grant.expires_at = *expires_at;
    }
    grant.reason = request->reason();
    grant.granted_by = caller.key_name;
    absl::StatusOr<store::GrantResult> result = principals_->Grant(grant);
    if (!result.ok()) return result.status();
    *response->mutable_binding() = ToProto(result->binding);
    response->set_store_revision(result->store_revision);
    return Change{grant.principal, BindingJson(result->binding).dump(),
                  result->store_revision};
  });
}

void AdminServiceImpl::Revoke(const std::shared_ptr<UnaryCall>& call,
                              const v1::RevokeRequest* request,
                              v1::RevokeResponse* response) {
  Mutate(call, "Revoke", [&](const Caller&) -> absl::StatusOr<Change> {
    if (absl::Status s =
            v1::ValidateId("principal_id", request->principal_id());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Required("role", request->role()); !s.ok()) return s;
    absl::StatusOr<int64_t> revision = principals_->Revoke(
        request->principal_id(), request->role(), request->scope());
    if (!revision.ok()) return revision.status();
    response->set_store_revision(*revision);
    Json details = {{"role", request->role()}, {"scope", request->scope()}};
    return Change{request->principal_id(), details.dump(), *revision};
  });
}

void AdminServiceImpl::ListBindings(const std::shared_ptr<UnaryCall>& call,
                                    const v1::ListBindingsRequest* request,
                                    v1::ListBindingsResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    absl::StatusOr<int> page_size = PageSize(request->page_size());
    if (!page_size.ok()) return page_size.status();
    if (!request->principal_id().empty()) {
      if (absl::Status s =
              v1::ValidateId("principal_id", request->principal_id());
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<store::BindingPage> page =
        principals_->ListBindings({request->principal_id(), request->role()},
                                  *page_size, request->page_token());
    if (!page.ok()) return page.status();
    for (const store::Binding& b : page->bindings) {
      *response->add_bindings() = ToProto(b);
    }
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void AdminServiceImpl::CreateApiKey(const std::shared_ptr<UnaryCall>& call,
                                    const v1::CreateApiKeyRequest* request,
                                    v1::CreateApiKeyResponse* response) {
  Mutate(call, "CreateApiKey",
         [&](const Caller& caller) -> absl::StatusOr<Change> {
           if (absl::Status s = Required("name", request->name()); !s.ok()) {
             return s;
           }
           std::optional<store::ServiceRole> role = FromProto(request->role());
           if (!role.has_value()) {
             return absl::InvalidArgumentError(
                 "role: must be CLIENT, AUDITOR or ADMIN");
           }
           absl::StatusOr<store::NewApiKey> key =
               keys_->CreateApiKey(request->name(), *role, caller.key_name);
           if (!key.ok()) return key.status();
           *response->mutable_key() = ToProto(key->info);
           response->set_secret(key->key);
           if (!key->totp_secret.empty()) {
             response->set_totp_uri(TotpUri(key->info.name, key->totp_secret));
           }
           Json details = {{"name", key->info.name},
                           {"role", store::ServiceRoleName(key->info.role)}};
           return Change{"", details.dump(), key->store_revision};
         });
}

void AdminServiceImpl::ListApiKeys(const std::shared_ptr<UnaryCall>& call,
                                   const v1::ListApiKeysRequest*,
                                   v1::ListApiKeysResponse* response) {
  Read(call, [&](const Caller&) -> absl::Status {
    absl::StatusOr<std::vector<store::ApiKeyInfo>> keys = keys_->ListApiKeys();
    if (!keys.ok()) return keys.status();
    for (const store::ApiKeyInfo& key : *keys) {
      *response->add_keys() = ToProto(key);
    }
    return absl::OkStatus();
  });
}

void AdminServiceImpl::RevokeApiKey(const std::shared_ptr<UnaryCall>& call,
                                    const v1::RevokeApiKeyRequest* request,
                                    v1::RevokeApiKeyResponse* response) {
  Mutate(call, "RevokeApiKey",
         [&](const Caller& caller) -> absl::StatusOr<Change> {
           if (absl::Status s = Required("name", request->name()); !s.ok()) {
             return s;
           }
           if (request->name() == caller.key_name) {
             return absl::FailedPreconditionError(
                 "name: a key cannot revoke itself; use another "
                 "admin key");
           }
           absl::StatusOr<int64_t> revision =
               keys_->RevokeApiKey(request->name());
           if (!revision.ok()) return revision.status();
           absl::StatusOr<std::vector<store::ApiKeyInfo>> keys =
               keys_->ListApiKeys();
           if (keys.ok()) {
             for (const store::ApiKeyInfo& key : *keys) {
               if (key.name == request->name()) {
                 *response->mutable_key() = ToProto(key);
               }
             }
           }
           Json details = {{"name", request->name()}};
           return Change{"", details.dump(), *revision};
         });
}

}  // namespace steward::server
