#include "server/grpc/audit_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "proto/steward/v1/validation.h"
#include "server/audit/access_reports.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/proto_convert.h"

namespace steward::server {
namespace {

void AddAll(const std::vector<std::string>& from,
            google::protobuf::RepeatedPtrField<std::string>* to) {
  for (const std::string& s : from) *to->Add() = s;
}

v1::PermissionEntry ToProto(const audit::PermissionEntry& entry) {
  v1::PermissionEntry out;
  out.set_resource_kind(entry.resource_kind);
  out.set_action(entry.action);
  out.set_effect(entry.allow ? "allow" : "deny");
  out.set_rule_id(entry.rule_id);
  out.set_source_role(entry.source_role);
  out.set_inherited_via(entry.inherited_via);
  out.set_condition(entry.condition);
  AddAll(entry.purposes, out.mutable_purposes());
  AddAll(entry.fields, out.mutable_fields());
  AddAll(entry.pii_fields, out.mutable_pii_fields());
  out.set_scope(entry.scope);
  return out;
}

absl::StatusOr<int> AuditPageSize(int requested) {
  if (requested < 0 || requested > audit::kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", audit::kMaxPageSize));
  }
  return requested == 0 ? audit::kDefaultPageSize : requested;
}

v1::RecordKind ToProto(audit::RecordKind kind) {
  switch (kind) {
    case audit::RecordKind::kDecision:
      return v1::DECISION;
    case audit::RecordKind::kAdminChange:
      return v1::ADMIN_CHANGE;
    case audit::RecordKind::kAuthFailure:
      return v1::AUTH_FAILURE;
    case audit::RecordKind::kRetentionPurge:
      return v1::RETENTION_PURGE;
    case audit::RecordKind::kPlan:
      return v1::PLAN;
  }
  return v1::RECORD_KIND_UNSPECIFIED;
}

absl::StatusOr<audit::QueryFilter> FromProto(const v1::RecordFilter& filter) {
  audit::QueryFilter out;
  if (!filter.principal_id().empty()) {
    if (absl::Status s =
            v1::ValidateId("filter.principal_id", filter.principal_id());
        !s.ok()) {
      return s;
    }
  }
  out.principal = filter.principal_id();
  out.action = filter.action();
  out.resource_kind = filter.resource_kind();
  out.resource_id = filter.resource_id();
  switch (filter.effect()) {
    case v1::ALLOW:
      out.effect = audit::RecordEffect::kAllow;
      break;
    case v1::DENY:
      out.effect = audit::RecordEffect::kDeny;
      break;
    case v1::EFFECT_UNSPECIFIED:
      break;
    default:
      return absl::InvalidArgumentError("filter.effect: unknown value");
  }
  out.rule_id = filter.rule_id();
  out.purpose = filter.purpose();
  if (filter.has_since()) {
    absl::StatusOr<absl::Time> since =
        FromProtoTime(filter.since(), "filter.since");
    if (!since.ok()) return since.status();
    out.since = *since;
  }
  if (filter.has_until()) {
    absl::StatusOr<absl::Time> until =
        FromProtoTime(filter.until(), "filter.until");
    if (!until.ok()) return until.status();
    out.until = *until;
  }
  switch (filter.kind()) {
    case v1::DECISION:
      out.kinds = {audit::RecordKind::kDecision};
      break;
    case v1::ADMIN_CHANGE:
      out.kinds = {audit::RecordKind::kAdminChange};
      break;
    case v1::AUTH_FAILURE:
      out.kinds = {audit::RecordKind::kAuthFailure};
      break;
    case v1::RETENTION_PURGE:
      out.kinds = {audit::RecordKind::kRetentionPurge};
      break;
    case v1::PLAN:
      out.kinds = {audit::RecordKind::kPlan};
      break;
    case v1::RECORD_KIND_UNSPECIFIED:
      break;
    default:
      return absl::InvalidArgumentError("filter.kind: unknown value");
  }
  return out;
}

v1::CheckpointState ToProtoCheckpointState(audit::CheckpointState state) {
  switch (state) {
    case audit::CheckpointState::kNotReached:
      return v1::CHECKPOINT_STATE_NOT_REACHED;
    case audit::CheckpointState::kMatches:
      return v1::CHECKPOINT_STATE_MATCHES;
    case audit::CheckpointState::kMismatch:
      return v1::CHECKPOINT_STATE_MISMATCH;
    case audit::CheckpointState::kPurged:
      return v1::CHECKPOINT_STATE_PURGED;
    case audit::CheckpointState::kBeyondTrail:
      return v1::CHECKPOINT_STATE_BEYOND_TRAIL;
  }
  return v1::CHECKPOINT_STATE_UNSPECIFIED;
}

}  // namespace

v1::AuditRecord ToProto(const audit::AuditRecord& record) {
  v1::AuditRecord out;
  out.set_seq(record.seq);
  *out.mutable_time() = ToProtoTime(record.time);
  out.set_kind(ToProto(record.kind));
  out.set_decision_id(record.decision_id);
  out.set_caller(record.caller);
  out.set_principal_id(record.principal);
  out.set_action(record.action);
  out.set_resource_kind(record.resource_kind);
  out.set_resource_id(record.resource_id);
  out.set_resource_scope(record.resource_scope);
  switch (record.effect) {
    case audit::RecordEffect::kAllow:
      out.set_effect(v1::ALLOW);
      break;
    case audit::RecordEffect::kDeny:
      out.set_effect(v1::DENY);
      break;
    default:
      break;  // admin and system records have no decision effect
  }
  v1::Reason reason;
  v1::PlanKind plan_kind;
  if (record.kind == audit::RecordKind::kAuthFailure) {
    out.set_failure_reason(record.reason);
  } else if (record.kind == audit::RecordKind::kPlan) {
    // A plan record's reason column is "KIND" or "KIND/REASON"
    // (TrailAuditSink::RecordPlan).
    const size_t slash = record.reason.find('/');
    if (v1::PlanKind_Parse(record.reason.substr(0, slash), &plan_kind)) {
      out.set_plan_kind(plan_kind);
    }
    if (slash != std::string::npos &&
        v1::Reason_Parse(record.reason.substr(slash + 1), &reason)) {
      out.set_reason(reason);
    }
  } else if (v1::Reason_Parse(record.reason, &reason)) {
    out.set_reason(reason);
  }
  out.set_rule_id(record.rule_id);
  out.set_policy_version(record.policy_version.value_or(0));
  out.set_store_revision(record.store_revision.value_or(0));
  out.set_request_id(record.request_id);
  for (const std::string& field : record.fields) out.add_fields(field);
  out.set_purpose(record.purpose);
  out.set_justification(record.justification);
  if (record.attributes.has_value()) {
    out.set_details_json(*record.attributes);
  } else if (record.details.has_value()) {
    out.set_details_json(*record.details);
  }
  out.set_totp_verified(record.totp_verified.value_or(false));
  out.set_hash(audit::HashHex(record.hash));
  return out;
}

AuditServiceImpl::AuditServiceImpl(store::PrincipalRepository* store,
                                   const store::SnapshotPublisher* snapshots,
                                   audit::AuditQueries* queries,
                                   Authenticator* authenticator,
                                   const store::Clock* clock,
                                   audit::TrailUsage* usage)
    : store_(store),
      snapshots_(snapshots),
      queries_(queries),
      authenticator_(authenticator),
      clock_(clock),
      usage_(usage) {
  Serve("QueryDecisions", &AuditServiceImpl::QueryDecisions);
  Serve("VerifyChain", &AuditServiceImpl::VerifyChain);
  Serve("SubjectAccess", &AuditServiceImpl::SubjectAccess);
  Serve("WhoCan", &AuditServiceImpl::WhoCan);
  Serve("EffectivePermissions", &AuditServiceImpl::EffectivePermissions);
  Serve("UnusedGrants", &AuditServiceImpl::UnusedGrants);
  Serve("SeparationViolations", &AuditServiceImpl::SeparationViolations);
  Serve("ExpiringGrants", &AuditServiceImpl::ExpiringGrants);
  Serve("DecisionSummary", &AuditServiceImpl::DecisionSummary);
}

template <typename Fn>
void AuditServiceImpl::Run(const std::shared_ptr<UnaryCall>& call, Fn fn) {
  absl::StatusOr<Caller> caller =
      call->Authorize(*authenticator_, Permission::kAudit);
  if (!caller.ok()) {
    call->Finish(caller.status());
    return;
  }
  call->Finish(fn());
}

void AuditServiceImpl::QueryDecisions(const std::shared_ptr<UnaryCall>& call,
                                      const v1::QueryDecisionsRequest* request,
                                      v1::QueryDecisionsResponse* response) {
  Run(call, [&]() -> absl::Status {
    absl::StatusOr<int> page_size = AuditPageSize(request->page_size());
    if (!page_size.ok()) return page_size.status();
    absl::StatusOr<audit::QueryFilter> filter = FromProto(request->filter());
    if (!filter.ok()) return filter.status();
    absl::StatusOr<audit::QueryPage> page =
        queries_->Query(*filter, *page_size, request->page_token());
    if (!page.ok()) return page.status();
    for (const audit::AuditRecord& record : page->records) {
      *response->add_records() = ToProto(record);
    }
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void AuditServiceImpl::VerifyChain(const std::shared_ptr<UnaryCall>& call,
                                   const v1::VerifyChainRequest*,
                                   v1::VerifyChainResponse* response) {
  Run(call, [&]() -> absl::Status {
    absl::StatusOr<audit::VerifyResult> result = queries_->VerifyChain();
    if (!result.ok()) return result.status();
    response->set_ok(result->ok);
    response->set_records_checked(result->records_checked);
    response->set_first_bad_seq(result->first_bad_seq);
    response->set_message(result->message);
    response->set_first_seq(result->first_seq);
    response->set_last_seq(result->last_seq);
    for (int64_t seq : result->possible_gaps) {
      response->add_possible_gap_seqs(seq);
    }
    for (const audit::CheckpointCheck& check : result->checkpoints) {
      const audit::SignedCheckpoint& c = check.checkpoint;
      v1::SignedCheckpoint* out = response->add_checkpoints();
      out->set_seq(c.seq);
      out->set_head(std::string(reinterpret_cast<const char*>(c.head.data()),
                                c.head.size()));
      *out->mutable_time() = ToProtoTime(absl::FromUnixMicros(c.time_micros));
      out->set_key_id(c.key_id);
      out->set_signature(c.signature);
      out->set_state(ToProtoCheckpointState(check.state));
      out->set_chain(check.chain);
    }
    for (const audit::ChainOutcome& chain : result->chains) {
      v1::ChainVerification* out = response->add_chains();
      out->set_chain(chain.chain);
      out->set_ok(chain.ok);
      out->set_records_checked(chain.records_checked);
      out->set_first_seq(chain.first_seq);
      out->set_last_seq(chain.last_seq);
      out->set_first_bad_seq(chain.first_bad_seq);
      out->set_message(chain.message);
      for (int64_t seq : chain.possible_gaps) out->add_possible_gap_seqs(seq);
    }
    return absl::OkStatus();
  });
}

void AuditServiceImpl::SubjectAccess(const std::shared_ptr<UnaryCall>& call,
                                     const v1::SubjectAccessRequest* request,
                                     v1::SubjectAccessResponse* response) {
  Run(call, [&]() -> absl::Status {
    if (request->resource_kind().empty() || request->resource_id().empty()) {
      return absl::InvalidArgumentError(
          "resource_kind and resource_id: both are required");
    }
    absl::StatusOr<int> page_size = AuditPageSize(request->page_size());
    if (!page_size.ok()) return page_size.status();
    std::optional<absl::Time> since, until;
    if (request->has_since()) {
      absl::StatusOr<absl::Time> t = FromProtoTime(request->since(), "since");
      if (!t.ok()) return t.status();
      since = *t;
    }
    if (request->has_until()) {
      absl::StatusOr<absl::Time> t = FromProtoTime(request->until(), "until");
      if (!t.ok()) return t.status();
      until = *t;
    }
    absl::StatusOr<audit::QueryPage> page = queries_->SubjectAccess(
        request->resource_kind(), request->resource_id(), since, until,
        *page_size, request->page_token());
    if (!page.ok()) return page.status();
    for (const audit::AuditRecord& record : page->records) {
      *response->add_records() = ToProto(record);
    }
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

// The access reports: computed by audit::AccessReports, which holds no
// state, so each call builds one over the borrowed store, trail and clock.
// Here requests become queries (protocol defaults and ranges) and reports
// become protos.
audit::AccessReports AuditServiceImpl::Reports() const {
  return audit::AccessReports(store_, snapshots_, queries_, clock_, usage_);
}

void AuditServiceImpl::WhoCan(const std::shared_ptr<UnaryCall>& call,
                              const v1::WhoCanRequest* request,
                              v1::WhoCanResponse* response) {
  Run(call, [&]() -> absl::Status {
    absl::StatusOr<std::vector<audit::WhoCanEntry>> entries = Reports().WhoCan(
        {request->action(), request->resource_kind(), request->scope()});
    if (!entries.ok()) return entries.status();
    for (const audit::WhoCanEntry& entry : *entries) {
      v1::WhoCanEntry* out = response->add_entries();
      out->set_principal_id(entry.principal_id);
      *out->mutable_binding() = ToProto(entry.binding);
      out->set_via_role(entry.via_role);
      out->set_rule_id(entry.rule_id);
      out->set_conditional(entry.conditional);
      out->set_condition(entry.condition);
      AddAll(entry.purposes, out->mutable_purposes());
      AddAll(entry.pii_fields, out->mutable_pii_fields());
    }
    return absl::OkStatus();
  });
}

void AuditServiceImpl::EffectivePermissions(
    const std::shared_ptr<UnaryCall>& call,
    const v1::EffectivePermissionsRequest* request,
    v1::EffectivePermissionsResponse* response) {
  Run(call, [&]() -> absl::Status {
    absl::StatusOr<std::vector<audit::PermissionEntry>> entries;
    switch (request->subject_case()) {
      case v1::EffectivePermissionsRequest::kRole:
        entries = Reports().RolePermissions(request->role());
        break;
      case v1::EffectivePermissionsRequest::kPrincipalId:
        if (absl::Status s =
                v1::ValidateId("principal_id", request->principal_id());
            !s.ok()) {
          return s;
        }
        entries = Reports().PrincipalPermissions(request->principal_id());
        break;
      case v1::EffectivePermissionsRequest::SUBJECT_NOT_SET:
        return absl::InvalidArgumentError(
            "subject: one of principal_id or role is required");
    }
    if (!entries.ok()) return entries.status();
    for (const audit::PermissionEntry& entry : *entries) {
      *response->add_entries() = ToProto(entry);
    }
    return absl::OkStatus();
  });
}

void AuditServiceImpl::UnusedGrants(const std::shared_ptr<UnaryCall>& call,
                                    const v1::UnusedGrantsRequest* request,
                                    v1::UnusedGrantsResponse* response) {
  Run(call, [&]() -> absl::Status {
    if (request->days() < 0 || request->days() > audit::kMaxUnusedDays) {
      return absl::InvalidArgumentError(
          absl::StrCat("days: must be between 0 and ", audit::kMaxUnusedDays));
    }
    absl::StatusOr<std::vector<audit::UnusedGrant>> grants =
        Reports().UnusedGrants(request->days() == 0 ? audit::kDefaultUnusedDays
                                                    : request->days());
    if (!grants.ok()) return grants.status();
    for (const audit::UnusedGrant& grant : *grants) {
      v1::UnusedGrant* out = response->add_grants();
      *out->mutable_binding() = ToProto(grant.binding);
      if (grant.last_used.has_value()) {
        *out->mutable_last_used() = ToProtoTime(*grant.last_used);
      }
    }
    return absl::OkStatus();
  });
}

void AuditServiceImpl::SeparationViolations(
    const std::shared_ptr<UnaryCall>& call,
    const v1::SeparationViolationsRequest*,
    v1::SeparationViolationsResponse* response) {
  Run(call, [&]() -> absl::Status {
    absl::StatusOr<std::vector<audit::SeparationViolation>> violations =
        Reports().SeparationViolations();
    if (!violations.ok()) return violations.status();
    for (const audit::SeparationViolation& violation : *violations) {
      v1::SeparationViolation* out = response->add_violations();
      out->set_principal_id(violation.principal_id);
      out->set_role_a(violation.role_a);
      out->set_role_b(violation.role_b);
      *out->mutable_binding_a() = ToProto(violation.binding_a);
      *out->mutable_binding_b() = ToProto(violation.binding_b);
    }
    return absl::OkStatus();
  });
}

void AuditServiceImpl::ExpiringGrants(const std::shared_ptr<UnaryCall>& call,
                                      const v1::ExpiringGrantsRequest* request,
                                      v1::ExpiringGrantsResponse* response) {
  Run(call, [&]() -> absl::Status {
    absl::Duration within = audit::kDefaultExpiringWithin;
    if (request->has_within()) {
      const google::protobuf::Duration& d = request->within();
      if (d.seconds() < 0 || d.nanos() < 0) {
        return absl::InvalidArgumentError("within: must not be negative");
      }
      within = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    }
    absl::StatusOr<std::vector<audit::ExpiringGrant>> grants =
        Reports().ExpiringGrants(within);
    if (!grants.ok()) return grants.status();
    for (const audit::ExpiringGrant& grant : *grants) {
      v1::ExpiringGrant* out = response->add_grants();
      *out->mutable_binding() = ToProto(grant.binding);
      out->set_pii_without_expiry(grant.pii_without_expiry);
    }
    return absl::OkStatus();
  });
}

void AuditServiceImpl::DecisionSummary(
    const std::shared_ptr<UnaryCall>& call,
    const v1::DecisionSummaryRequest* request,
    v1::DecisionSummaryResponse* response) {
  Run(call, [&]() -> absl::Status {
    if (request->top_denied() < 0 ||
        request->top_denied() > audit::kMaxTopDenied) {
      return absl::InvalidArgumentError(
          absl::StrCat("top_denied: must be 0..", audit::kMaxTopDenied));
    }
    audit::DecisionWindow window;
    window.top_denied = request->top_denied() == 0
                            ? audit::kDefaultTopDenied
                            : static_cast<size_t>(request->top_denied());
    if (request->has_since()) {
      absl::StatusOr<absl::Time> since =
          FromProtoTime(request->since(), "since");
      if (!since.ok()) return since.status();
      window.since = *since;
    }
    if (request->has_until()) {
      absl::StatusOr<absl::Time> until =
          FromProtoTime(request->until(), "until");
      if (!until.ok()) return until.status();
      window.until = *until;
    }
    absl::StatusOr<audit::DecisionSummaryReport> report =
        Reports().Summarize(window);
    if (!report.ok()) return report.status();
    const audit::DecisionSummary& summary = report->decisions;
    for (const audit::DecisionSummary::Day& day : summary.days) {
      v1::DayDecisions* out = response->add_days();
      out->set_day(absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + day.day));
      out->set_allow(day.allow);
      out->set_deny(day.deny);
    }
    for (const auto& [principal, denies] : summary.top_denied) {
      v1::DeniedPrincipal* out = response->add_top_denied();
      out->set_principal_id(principal);
      out->set_denies(denies);
    }
    response->set_total_allow(summary.total_allow);
    response->set_total_deny(summary.total_deny);
    response->set_denied_principals(summary.denied_principals);
    response->set_first_seq(summary.first_seq);
    response->set_last_seq(summary.last_seq);
    if (report->policy_version != 0) {
      response->set_policy_version(report->policy_version);
      for (const std::string& role : report->policy_roles) {
        response->add_policy_roles(role);
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace steward::server
