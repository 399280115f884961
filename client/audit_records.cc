// Audit record filters and columns (see audit_records.h).
#include "client/audit_records.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/arguments.h"
#include "client/output.h"

namespace steward::client {

namespace v1 = ::steward::v1;

void AddRecordFilterOptions(CLI::App& command, RecordFilterOptions& options) {
  command.add_option("--principal", options.principal, "principal id");
  command.add_option("--action", options.action, "action (read, Grant, ...)");
  command.add_option("--kind", options.kind, "resource kind (customer)");
  command.add_option("--resource", options.resource, "resource id (c-1042)");
  command.add_option("--effect", options.effect, "allow or deny")
      ->check(CLI::IsMember({"allow", "deny"}, CLI::ignore_case));
  command.add_option("--rule", options.rule, "deciding rule id");
  command.add_option("--purpose", options.purpose, "declared purpose");
  command.add_option("--since", options.since,
                     "from: a duration ago (24h, 7d) or RFC 3339");
  command.add_option("--until", options.until,
                     "to (exclusive): a duration ago or RFC 3339");
  command
      .add_option("--record-kind", options.record_kind,
                  "decision, admin_change, auth_failure, "
                  "retention_purge or plan")
      ->check(CLI::IsMember({"decision", "admin_change", "auth_failure",
                             "retention_purge", "plan"},
                            CLI::ignore_case));
}

absl::StatusOr<v1::RecordFilter> BuildRecordFilter(
    const RecordFilterOptions& options, absl::Time now) {
  v1::RecordFilter filter;
  if (absl::Status s = CheckPrincipalFilter("--principal", options.principal);
      !s.ok()) {
    return s;
  }
  filter.set_principal_id(options.principal);
  filter.set_action(options.action);
  filter.set_resource_kind(options.kind);
  filter.set_resource_id(options.resource);
  filter.set_rule_id(options.rule);
  filter.set_purpose(options.purpose);
  const std::string effect = absl::AsciiStrToLower(options.effect);
  if (effect == "allow") filter.set_effect(v1::ALLOW);
  if (effect == "deny") filter.set_effect(v1::DENY);
  if (!options.record_kind.empty()) {
    v1::RecordKind kind;
    if (!v1::RecordKind_Parse(absl::AsciiStrToUpper(options.record_kind),
                              &kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid --record-kind ", options.record_kind));
    }
    filter.set_kind(kind);
  }
  if (!options.since.empty()) {
    absl::StatusOr<absl::Time> since = ParsePastTime(options.since, now);
    if (!since.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--since: ", since.status().message()));
    }
    *filter.mutable_since() = ToProtoTime(*since);
  }
  if (!options.until.empty()) {
    absl::StatusOr<absl::Time> until = ParsePastTime(options.until, now);
    if (!until.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--until: ", until.status().message()));
    }
    *filter.mutable_until() = ToProtoTime(*until);
  }
  return filter;
}

std::vector<std::string> RecordExportHeaders() {
  return {"seq",           "time",           "kind",           "decision_id",
          "caller",        "principal_id",   "action",         "resource_kind",
          "resource_id",   "resource_scope", "effect",         "reason",
          "rule_id",       "policy_version", "store_revision", "request_id",
          "fields",        "purpose",        "justification",  "details_json",
          "totp_verified", "hash",           "plan_kind"};
}

std::vector<std::string> RecordExportCells(const v1::AuditRecord& record) {
  return {
      absl::StrCat(record.seq()),
      FormatTimestamp(record.time()),
      v1::RecordKind_Name(record.kind()),
      record.decision_id(),
      record.caller(),
      record.principal_id(),
      record.action(),
      record.resource_kind(),
      record.resource_id(),
      record.resource_scope(),
      v1::Effect_Name(record.effect()),
      v1::Reason_Name(record.reason()),
      record.rule_id(),
      absl::StrCat(record.policy_version()),
      absl::StrCat(record.store_revision()),
      record.request_id(),
      absl::StrJoin(record.fields(), " "),
      record.purpose(),
      record.justification(),
      record.details_json(),
      record.totp_verified() ? "true" : "false",
      record.hash(),
      record.kind() == v1::PLAN ? v1::PlanKind_Name(record.plan_kind()) : ""};
}

std::vector<std::string> RecordSummaryHeaders() {
  return {"seq",      "time",  "kind",   "caller", "principal", "action",
          "resource", "scope", "effect", "reason", "rule"};
}

std::vector<std::string> RecordSummaryCells(const v1::AuditRecord& record) {
  std::string resource = record.resource_kind();
  if (!record.resource_id().empty()) {
    absl::StrAppend(&resource, "/", record.resource_id());
  }
  const bool has_effect = record.effect() != v1::EFFECT_UNSPECIFIED;
  return {absl::StrCat(record.seq()),
          FormatTimestamp(record.time()),
          absl::AsciiStrToLower(v1::RecordKind_Name(record.kind())),
          record.caller(),
          record.principal_id(),
          record.action(),
          resource,
          record.resource_scope(),
          has_effect                  ? v1::Effect_Name(record.effect())
          : record.kind() == v1::PLAN ? v1::PlanKind_Name(record.plan_kind())
                                      : "",
          !record.failure_reason().empty() ? record.failure_reason()
          : record.reason() != v1::REASON_UNSPECIFIED
              ? v1::Reason_Name(record.reason())
              : "",
          record.rule_id()};
}

}  // namespace steward::client
