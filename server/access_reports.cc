// See access_reports.h.
#include "server/access_reports.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "policy/analysis.h"
#include "proto/steward/v1/validation.h"
#include "server/proto_convert.h"
#include "server/store/scope.h"

namespace steward::server {
namespace {

using policy::ExpandRole;
using policy::PermissionRow;
using policy::Program;
using policy::RoleId;

absl::Status NoPolicy() {
  return absl::FailedPreconditionError("no policy is active yet");
}

bool Live(const store::Binding& binding, absl::Time now) {
  return !binding.expires_at.has_value() || *binding.expires_at > now;
}

bool InClosure(const Program& program, RoleId role, RoleId ancestor) {
  absl::Span<const RoleId> closure = program.RoleClosure(role);
  return std::find(closure.begin(), closure.end(), ancestor) != closure.end();
}

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether `rule` covers (kind, action). REQUIRES: the kind declares the
// action (rules with named actions only name declared ones).
bool RuleCovers(const Program::RuleInfo& rule, absl::string_view kind,
                absl::string_view action) {
  return (rule.all_kinds || Contains(rule.kinds, kind)) &&
         (rule.all_actions || Contains(rule.actions, action));
}

std::string ConditionText(const Program::RuleInfo& rule) {
  switch (rule.condition_mode) {
    case policy::ConditionMode::kWhen:
      return absl::StrCat("when ", rule.condition_text);
    case policy::ConditionMode::kUnless:
      return absl::StrCat("unless ", rule.condition_text);
    case policy::ConditionMode::kNone:
      break;
  }
  return "";
}

// "denied by RULE (ROLE) for p1, p2 unless …": a deny that may or may not
// apply to a given request.
std::string DenyCaveat(const Program& program, const Program::RuleInfo& rule,
                       const std::vector<std::string>& removed_fields) {
  std::string out =
      removed_fields.empty()
          ? absl::StrCat("denied by ", rule.id)
          : absl::StrCat("fields {", absl::StrJoin(removed_fields, ", "),
                         "} denied by ", rule.id);
  absl::StrAppend(&out, " (", program.role_name(rule.role), ")");
  if (!rule.purposes.empty()) {
    absl::StrAppend(&out, " for ", absl::StrJoin(rule.purposes, ", "));
  }
  std::string condition = ConditionText(rule);
  if (!condition.empty()) absl::StrAppend(&out, " ", condition);
  return out;
}

// Fields a field-deny rule removes on `kind`.
std::vector<std::string> FieldsRemoved(const Program::RuleInfo& rule,
                                       const Program::KindInfo& kind) {
  std::vector<std::string> out;
  for (const Program::FieldDecl& field : kind.fields) {
    if (rule.fields_clause == policy::FieldsClause::kAll ||
        Contains(rule.fields, field.name)) {
      out.push_back(field.name);
    }
  }
  return out;
}

void AddAll(const std::vector<std::string>& from,
            google::protobuf::RepeatedPtrField<std::string>* to) {
  for (const std::string& s : from) *to->Add() = s;
}

// Per-call cache of ExpandRole.
class RowCache {
 public:
  explicit RowCache(const Program& program) : program_(program) {}
  const std::vector<PermissionRow>& Rows(RoleId role) {
    auto [it, inserted] = rows_.try_emplace(role);
    if (inserted) it->second = ExpandRole(program_, role);
    return it->second;
  }
  bool ReachesPii(RoleId role) {
    auto [it, inserted] = pii_.try_emplace(role, false);
    if (inserted) {
      for (const PermissionRow& row : Rows(role)) {
        if (row.allow && !row.pii_fields.empty()) it->second = true;
      }
    }
    return it->second;
  }

 private:
  const Program& program_;
  absl::flat_hash_map<RoleId, std::vector<PermissionRow>> rows_;
  absl::flat_hash_map<RoleId, bool> pii_;
};

v1::PermissionEntry ToEntry(const PermissionRow& row, absl::string_view scope) {
  v1::PermissionEntry entry;
  entry.set_resource_kind(row.kind);
  entry.set_action(row.action);
  entry.set_effect(row.allow ? "allow" : "deny");
  entry.set_rule_id(row.rule_id);
  entry.set_source_role(row.source_role);
  entry.set_inherited_via(row.inherited_via);
  entry.set_condition(row.condition);
  AddAll(row.purposes, entry.mutable_purposes());
  // A deny without a fields clause denies the action: no field list. A
  // field deny lists the fields it removes.
  if (row.allow || row.removes_fields_only) {
    AddAll(row.fields, entry.mutable_fields());
    AddAll(row.pii_fields, entry.mutable_pii_fields());
  }
  entry.set_scope(std::string(scope));
  return entry;
}

// Sorts one role's rows by kind and action in declaration order, keeping
// rule order inside a cell.
std::vector<const PermissionRow*> MatrixOrder(
    const Program& program, const std::vector<PermissionRow>& rows) {
  absl::flat_hash_map<std::pair<std::string, std::string>, int> rank;
  int next = 0;
  for (const Program::KindInfo& kind : program.kinds()) {
    for (const std::string& action : kind.actions) {
      rank[{kind.name, action}] = next++;
    }
  }
  std::vector<const PermissionRow*> out;
  for (const PermissionRow& row : rows) out.push_back(&row);
  std::stable_sort(
      out.begin(), out.end(),
      [&rank](const PermissionRow* a, const PermissionRow* b) {
        return rank[{a->kind, a->action}] < rank[{b->kind, b->action}];
      });
  return out;
}

absl::StatusOr<absl::Duration> FromProtoDuration(
    const google::protobuf::Duration& d, absl::string_view field) {
  if (d.seconds() < 0 || d.nanos() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must not be negative"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

AccessReports::AccessReports(store::PrincipalRepository* store,
                             const store::SnapshotPublisher* snapshots,
                             audit::AuditReader* reader,
                             const store::Clock* clock,
                             audit::UsageIndex* usage)
    : store_(store),
      snapshots_(snapshots),
      reader_(reader),
      clock_(clock),
      usage_(usage) {}

absl::StatusOr<std::vector<store::Binding>> AccessReports::AllBindings(
    const store::BindingFilter& filter) {
  std::vector<store::Binding> out;
  std::string token;
  do {
    absl::StatusOr<store::BindingPage> page =
        store_->ListBindings(filter, 1000, token);
    if (!page.ok()) return page.status();
    for (store::Binding& b : page->bindings) out.push_back(std::move(b));
    token = std::move(page->next_page_token);
  } while (!token.empty());
  return out;
}

absl::Status AccessReports::WhoCan(const v1::WhoCanRequest& request,
                                   v1::WhoCanResponse* response) {
  if (request.action().empty()) {
    return absl::InvalidArgumentError("action: required");
  }
  if (request.resource_kind().empty()) {
    return absl::InvalidArgumentError("resource_kind: required");
  }
  if (absl::Status s = store::ValidateScope(request.scope()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("scope: ", s.message()));
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  std::optional<policy::KindId> kind_id =
      program.FindKind(request.resource_kind());
  if (!kind_id.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource_kind: '", request.resource_kind(),
                     "' is not declared by the active policy"));
  }
  const Program::KindInfo& kind = program.kinds()[*kind_id];
  if (!Contains(kind.actions, request.action())) {
    return absl::InvalidArgumentError(
        absl::StrCat("action: '", request.action(), "' is not declared on '",
                     kind.name, "'"));
  }
  // The deny rules for (kind, action), split as the evaluator applies them.
  std::vector<int> denies, field_denies;
  for (int i = 0; i < static_cast<int>(program.rules().size()); ++i) {
    const Program::RuleInfo& rule = program.rules()[i];
    if (rule.effect != policy::Effect::kDeny ||
        !RuleCovers(rule, kind.name, request.action())) {
      continue;
    }
    (rule.fields_clause == policy::FieldsClause::kNone ? denies : field_denies)
        .push_back(i);
  }

  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings({});
  if (!bindings.ok()) return bindings.status();
  const absl::Time now = clock_->Now();
  RowCache cache(program);
  std::vector<bool> effective(program.role_count());
  // Bindings arrive grouped by principal; handle one group at a time.
  for (size_t begin = 0; begin < bindings->size();) {
    size_t end = begin;
    const std::string& principal = (*bindings)[begin].principal;
    while (end < bindings->size() && (*bindings)[end].principal == principal) {
      ++end;
    }
    std::vector<std::pair<const store::Binding*, RoleId>> covering;
    for (size_t i = begin; i < end; ++i) {
      const store::Binding& b = (*bindings)[i];
      std::optional<RoleId> role = program.FindRole(b.role);
      if (role.has_value() && Live(b, now) &&
          store::ScopeCovers(b.scope, request.scope())) {
        covering.emplace_back(&b, *role);
      }
    }
    begin = end;
    if (covering.empty()) continue;
    const store::PrincipalEntry* entry = snapshot->FindPrincipal(principal);
    if (entry == nullptr || entry->disabled()) continue;

    std::fill(effective.begin(), effective.end(), false);
    for (const auto& [binding, role] : covering) {
      for (RoleId r : program.RoleClosure(role)) effective[r] = true;
    }
    bool denied = false;
    std::vector<std::string> caveats;
    absl::flat_hash_set<std::string> removed;
    for (int i : denies) {
      const Program::RuleInfo& rule = program.rules()[i];
      if (!effective[rule.role]) continue;
      if (rule.condition_mode == policy::ConditionMode::kNone &&
          rule.purposes.empty()) {
        denied = true;
        break;
      }
      caveats.push_back(DenyCaveat(program, rule, {}));
    }
    if (denied) continue;
    for (int i : field_denies) {
      const Program::RuleInfo& rule = program.rules()[i];
      if (!effective[rule.role]) continue;
      std::vector<std::string> fields = FieldsRemoved(rule, kind);
      if (rule.condition_mode == policy::ConditionMode::kNone &&
          rule.purposes.empty()) {
        removed.insert(fields.begin(), fields.end());
      } else {
        caveats.push_back(DenyCaveat(program, rule, fields));
      }
    }
    for (const auto& [binding, role] : covering) {
      for (const PermissionRow& row : cache.Rows(role)) {
        if (!row.allow || row.kind != kind.name ||
            row.action != request.action()) {
          continue;
        }
        v1::WhoCanEntry* out = response->add_entries();
        out->set_principal_id(principal);
        *out->mutable_binding() = ToProto(*binding);
        out->set_via_role(row.source_role);
        out->set_rule_id(row.rule_id);
        std::vector<std::string> condition;
        if (!row.condition.empty()) condition.push_back(row.condition);
        condition.insert(condition.end(), caveats.begin(), caveats.end());
        out->set_conditional(!condition.empty());
        out->set_condition(absl::StrJoin(condition, "; "));
        AddAll(row.purposes, out->mutable_purposes());
        for (const std::string& field : row.pii_fields) {
          if (!removed.contains(field)) out->add_pii_fields(field);
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status AccessReports::EffectivePermissions(
    const v1::EffectivePermissionsRequest& request,
    v1::EffectivePermissionsResponse* response) {
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  switch (request.subject_case()) {
    case v1::EffectivePermissionsRequest::kRole: {
      if (snapshot->program() == nullptr) return NoPolicy();
      const Program& program = *snapshot->program();
      std::optional<RoleId> role = program.FindRole(request.role());
      if (!role.has_value()) {
        return absl::NotFoundError(absl::StrCat(
            "role '", request.role(), "' is not in the active policy"));
      }
      std::vector<PermissionRow> rows = ExpandRole(program, *role);
      for (const PermissionRow* row : MatrixOrder(program, rows)) {
        *response->add_entries() = ToEntry(*row, "");
      }
      return absl::OkStatus();
    }
    case v1::EffectivePermissionsRequest::kPrincipalId: {
      if (absl::Status s =
              v1::ValidateId("principal_id", request.principal_id());
          !s.ok()) {
        return s;
      }
      if (snapshot->program() == nullptr) return NoPolicy();
      const Program& program = *snapshot->program();
      if (snapshot->FindPrincipal(request.principal_id()) == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("principal '", request.principal_id(), "' not found"));
      }
      store::BindingFilter filter;
      filter.principal = request.principal_id();
      absl::StatusOr<std::vector<store::Binding>> bindings =
          AllBindings(filter);
      if (!bindings.ok()) return bindings.status();
      const absl::Time now = clock_->Now();
      RowCache cache(program);
      for (const store::Binding& b : *bindings) {
        std::optional<RoleId> role = program.FindRole(b.role);
        if (!role.has_value() || !Live(b, now)) continue;
        for (const PermissionRow* row :
             MatrixOrder(program, cache.Rows(*role))) {
          *response->add_entries() = ToEntry(*row, b.scope);
        }
      }
      return absl::OkStatus();
    }
    case v1::EffectivePermissionsRequest::SUBJECT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "subject: one of principal_id or role is required");
}

absl::StatusOr<std::optional<absl::Time>> AccessReports::NewestAllowInScope(
    const std::string& principal, const std::string& rule_id,
    absl::string_view scope) {
  audit::QueryFilter filter;
  filter.principal = principal;
  filter.rule_id = rule_id;
  filter.effect = audit::RecordEffect::kAllow;
  filter.kinds = {audit::RecordKind::kDecision};
  // Newest first (the principal's records through audit_idx_principal,
  // the rule, effect and kind tested on each row, plus the records not
  // indexed yet: server/audit/reader.cc): the first record in a scope the
  // binding covers is the answer. Only used without a usage index
  // (stewardd always has one). Records in other
  // scopes went through another binding of the same role.
  std::string token;
  do {
    absl::StatusOr<audit::QueryPage> page = reader_->Query(filter, 4, token);
    if (!page.ok()) return page.status();
    for (const audit::AuditRecord& record : page->records) {
      if (store::ScopeCovers(scope, record.resource_scope)) {
        return std::optional<absl::Time>(record.time);
      }
    }
    token = std::move(page->next_page_token);
  } while (!token.empty());
  return std::optional<absl::Time>();
}

absl::Status AccessReports::UnusedGrants(const v1::UnusedGrantsRequest& request,
                                         v1::UnusedGrantsResponse* response) {
  if (request.days() < 0 || request.days() > kMaxUnusedDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("days: must be between 0 and ", kMaxUnusedDays));
  }
  const int days = request.days() == 0 ? kDefaultUnusedDays : request.days();
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  const absl::Time now = clock_->Now();
  const absl::Time window_start = now - absl::Hours(24) * days;

  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings({});
  if (!bindings.ok()) return bindings.status();

  std::vector<v1::UnusedGrant> unused;
  auto report = [&](const audit::UsageMap* usage) -> absl::Status {
    // One principal's uses through rules of the active policy.
    struct Use {
      RoleId rule_role;
      absl::string_view scope;
      absl::Time time;
    };
    std::vector<Use> uses;
    for (size_t begin = 0; begin < bindings->size();) {
      size_t end = begin;
      const std::string& principal = (*bindings)[begin].principal;
      while (end < bindings->size() &&
             (*bindings)[end].principal == principal) {
        ++end;
      }
      // The principal's live bindings, with role ids (-1: not in the
      // policy).
      std::vector<std::pair<const store::Binding*, int>> live;
      for (size_t i = begin; i < end; ++i) {
        const store::Binding& b = (*bindings)[i];
        if (!Live(b, now)) continue;
        std::optional<RoleId> role = program.FindRole(b.role);
        live.emplace_back(&b, role.has_value() ? *role : -1);
      }
      begin = end;
      if (live.empty()) continue;
      uses.clear();
      if (usage != nullptr) {
        auto it = usage->find(principal);
        if (it != usage->end()) {
          for (const audit::ScopedUse& use : it->second) {
            std::optional<int> rule = program.FindRule(use.rule_id);
            if (!rule.has_value()) continue;
            uses.push_back(Use{program.rules()[*rule].role, use.resource_scope,
                               use.last_allow});
          }
        }
      }
      for (const auto& [binding, role] : live) {
        std::optional<absl::Time> last;
        auto consider = [&](const std::optional<absl::Time>& t) {
          if (t.has_value() && (!last.has_value() || *t > *last)) last = t;
        };
        if (role >= 0 && usage != nullptr) {
          for (const Use& use : uses) {
            if (!InClosure(program, role, use.rule_role)) continue;
            // When another live binding of the principal reaches the same
            // rule, the scope of each use decides which one it went
            // through.
            bool shared = false;
            for (const auto& [other, other_role] : live) {
              if (other != binding && other_role >= 0 &&
                  InClosure(program, other_role, use.rule_role)) {
                shared = true;
                break;
              }
            }
            if (!shared || store::ScopeCovers(binding->scope, use.scope)) {
              consider(use.time);
            }
          }
        } else if (role >= 0) {
          // No usage index: probe each allow rule the binding reaches
          // until one was used in the window.
          for (const Program::RuleInfo& rule : program.rules()) {
            if (rule.effect != policy::Effect::kAllow ||
                !InClosure(program, role, rule.role)) {
              continue;
            }
            absl::StatusOr<std::optional<absl::Time>> t =
                NewestAllowInScope(principal, rule.id, binding->scope);
            if (!t.ok()) return t.status();
            consider(*t);
            if (last.has_value() && *last >= window_start) break;
          }
        }
        if (last.has_value() && *last >= window_start) continue;
        v1::UnusedGrant grant;
        *grant.mutable_binding() = ToProto(*binding);
        if (last.has_value()) *grant.mutable_last_used() = ToProtoTime(*last);
        unused.push_back(std::move(grant));
      }
    }
    return absl::OkStatus();
  };
  absl::Status status;
  if (usage_ != nullptr) {
    // The aggregate is read under the index's lock, after folding in what
    // the trail gained since the last report.
    absl::Status read = usage_->Read(
        [&](const audit::UsageMap& usage) { status = report(&usage); });
    if (!read.ok()) return read;
  } else {
    status = report(nullptr);
  }
  if (!status.ok()) return status;
  // Bindings came in (principal, role, scope) order; a stable sort on the
  // grant time keeps it as the tie-break.
  std::stable_sort(unused.begin(), unused.end(),
                   [](const v1::UnusedGrant& a, const v1::UnusedGrant& b) {
                     return FromProtoTime(a.binding().granted_at()) <
                            FromProtoTime(b.binding().granted_at());
                   });
  for (v1::UnusedGrant& grant : unused) {
    *response->add_grants() = std::move(grant);
  }
  return absl::OkStatus();
}

absl::Status AccessReports::SeparationViolations(
    const v1::SeparationViolationsRequest&,
    v1::SeparationViolationsResponse* response) {
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  if (program.separations().empty()) return absl::OkStatus();
  // Roles whose closure touches some `separate` group: only their bindings
  // can take part in a violation.
  std::vector<bool> separated(program.role_count(), false);
  for (RoleId r = 0; r < program.role_count(); ++r) {
    for (RoleId x : program.RoleClosure(r)) {
      for (const std::vector<RoleId>& group : program.separations()) {
        if (std::find(group.begin(), group.end(), x) != group.end()) {
          separated[r] = true;
        }
      }
    }
  }
  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings({});
  if (!bindings.ok()) return bindings.status();
  const absl::Time now = clock_->Now();
  for (size_t begin = 0; begin < bindings->size();) {
    size_t end = begin;
    const std::string& principal = (*bindings)[begin].principal;
    while (end < bindings->size() && (*bindings)[end].principal == principal) {
      ++end;
    }
    std::vector<std::pair<const store::Binding*, RoleId>> candidates;
    for (size_t i = begin; i < end; ++i) {
      const store::Binding& b = (*bindings)[i];
      std::optional<RoleId> role = program.FindRole(b.role);
      if (role.has_value() && separated[*role] && Live(b, now)) {
        candidates.emplace_back(&b, *role);
      }
    }
    begin = end;
    for (size_t i = 0; i < candidates.size(); ++i) {
      for (size_t j = i + 1; j < candidates.size(); ++j) {
        const auto& [a, role_a] = candidates[i];
        const auto& [b, role_b] = candidates[j];
        if (!store::ScopesOverlap(a->scope, b->scope)) continue;
        std::optional<std::pair<std::string, std::string>> conflict =
            program.SeparationConflict(role_a, role_b);
        if (!conflict.has_value()) continue;
        v1::SeparationViolation* out = response->add_violations();
        out->set_principal_id(principal);
        out->set_role_a(conflict->first);
        out->set_role_b(conflict->second);
        *out->mutable_binding_a() = ToProto(*a);
        *out->mutable_binding_b() = ToProto(*b);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status AccessReports::ExpiringGrants(
    const v1::ExpiringGrantsRequest& request,
    v1::ExpiringGrantsResponse* response) {
  absl::Duration within = kDefaultExpiringWithin;
  if (request.has_within()) {
    absl::StatusOr<absl::Duration> d =
        FromProtoDuration(request.within(), "within");
    if (!d.ok()) return d.status();
    within = *d;
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings({});
  if (!bindings.ok()) return bindings.status();
  const absl::Time now = clock_->Now();
  const absl::Time horizon = now + within;
  RowCache cache(program);
  std::vector<const store::Binding*> expiring, flagged;
  for (const store::Binding& b : *bindings) {
    if (!Live(b, now)) continue;
    if (b.expires_at.has_value()) {
      if (*b.expires_at <= horizon) expiring.push_back(&b);
      continue;
    }
    std::optional<RoleId> role = program.FindRole(b.role);
    if (role.has_value() && cache.ReachesPii(*role)) flagged.push_back(&b);
  }
  std::stable_sort(expiring.begin(), expiring.end(),
                   [](const store::Binding* a, const store::Binding* b) {
                     return *a->expires_at < *b->expires_at;
                   });
  for (const store::Binding* b : expiring) {
    *response->add_grants()->mutable_binding() = ToProto(*b);
  }
  for (const store::Binding* b : flagged) {
    v1::ExpiringGrant* out = response->add_grants();
    *out->mutable_binding() = ToProto(*b);
    out->set_pii_without_expiry(true);
  }
  return absl::OkStatus();
}

absl::Status AccessReports::DecisionSummary(
    const v1::DecisionSummaryRequest& request,
    v1::DecisionSummaryResponse* response) {
  if (request.top_denied() < 0 || request.top_denied() > kMaxTopDenied) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_denied: must be 0..", kMaxTopDenied));
  }
  audit::DecisionWindow window;
  window.top_denied = request.top_denied() == 0
                          ? kDefaultTopDenied
                          : static_cast<size_t>(request.top_denied());
  if (request.has_since()) {
    absl::StatusOr<absl::Time> since = FromProtoTime(request.since(), "since");
    if (!since.ok()) return since.status();
    window.since = *since;
  }
  if (request.has_until()) {
    absl::StatusOr<absl::Time> until = FromProtoTime(request.until(), "until");
    if (!until.ok()) return until.status();
    window.until = *until;
  }
  if (window.since && window.until && *window.until <= *window.since) {
    return absl::InvalidArgumentError("until: must be after since");
  }
  if (usage_ == nullptr) {
    return absl::FailedPreconditionError(
        "DecisionSummary needs the usage index of the trail");
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  absl::StatusOr<audit::DecisionSummary> summary = usage_->Summarize(window);
  if (!summary.ok()) return summary.status();
  for (const audit::DecisionSummary::Day& day : summary->days) {
    v1::DayDecisions* out = response->add_days();
    out->set_day(absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + day.day));
    out->set_allow(day.allow);
    out->set_deny(day.deny);
  }
  for (const auto& [principal, denies] : summary->top_denied) {
    v1::DeniedPrincipal* out = response->add_top_denied();
    out->set_principal_id(principal);
    out->set_denies(denies);
  }
  response->set_total_allow(summary->total_allow);
  response->set_total_deny(summary->total_deny);
  response->set_denied_principals(summary->denied_principals);
  response->set_first_seq(summary->first_seq);
  response->set_last_seq(summary->last_seq);
  if (snapshot->program() != nullptr) {
    const Program& program = *snapshot->program();
    response->set_policy_version(snapshot->policy_version());
    for (int role = 0; role < program.role_count(); ++role) {
      response->add_policy_roles(std::string(program.role_name(role)));
    }
  }
  return absl::OkStatus();
}

}  // namespace steward::server
