// See access_reports.h.
#include "server/audit/access_reports.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/analysis.h"
#include "server/store/scope.h"

namespace steward::audit {
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

PermissionEntry ToEntry(const PermissionRow& row, absl::string_view scope) {
  PermissionEntry entry;
  entry.resource_kind = row.kind;
  entry.action = row.action;
  entry.allow = row.allow;
  entry.rule_id = row.rule_id;
  entry.source_role = row.source_role;
  entry.inherited_via = row.inherited_via;
  entry.condition = row.condition;
  entry.purposes = row.purposes;
  // A deny without a fields clause denies the action: no field list. A
  // field deny lists the fields it removes.
  if (row.allow || row.removes_fields_only) {
    entry.fields = row.fields;
    entry.pii_fields = row.pii_fields;
  }
  entry.scope = std::string(scope);
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

}  // namespace

AccessReports::AccessReports(store::PrincipalRepository* store,
                             const store::SnapshotPublisher* snapshots,
                             AuditQueries* queries, const store::Clock* clock,
                             TrailUsage* usage)
    : store_(store),
      snapshots_(snapshots),
      queries_(queries),
      clock_(clock),
      usage_(usage) {}

AccessReports::AccessReports(store::PrincipalRepository* store,
                             const store::SnapshotPublisher* snapshots,
                             AuditReader* reader, const store::Clock* clock,
                             TrailUsage* usage)
    : store_(store),
      snapshots_(snapshots),
      owned_queries_(std::make_unique<SqliteAuditQueries>(reader)),
      queries_(owned_queries_.get()),
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

absl::StatusOr<std::vector<WhoCanEntry>> AccessReports::WhoCan(
    const WhoCanQuery& request) {
  if (request.action.empty()) {
    return absl::InvalidArgumentError("action: required");
  }
  if (request.resource_kind.empty()) {
    return absl::InvalidArgumentError("resource_kind: required");
  }
  if (absl::Status s = store::ValidateScope(request.scope); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("scope: ", s.message()));
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  std::optional<policy::KindId> kind_id =
      program.FindKind(request.resource_kind);
  if (!kind_id.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource_kind: '", request.resource_kind,
                     "' is not declared by the active policy"));
  }
  const Program::KindInfo& kind = program.kinds()[*kind_id];
  if (!Contains(kind.actions, request.action)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "action: '", request.action, "' is not declared on '", kind.name, "'"));
  }
  // The deny rules for (kind, action), split as the evaluator applies them.
  std::vector<int> denies, field_denies;
  for (int i = 0; i < static_cast<int>(program.rules().size()); ++i) {
    const Program::RuleInfo& rule = program.rules()[i];
    if (rule.effect != policy::Effect::kDeny ||
        !RuleCovers(rule, kind.name, request.action)) {
      continue;
    }
    (rule.fields_clause == policy::FieldsClause::kNone ? denies : field_denies)
        .push_back(i);
  }

  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings({});
  if (!bindings.ok()) return bindings.status();
  const absl::Time now = clock_->Now();
  RowCache cache(program);
  std::vector<WhoCanEntry> entries;
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
          store::ScopeCovers(b.scope, request.scope)) {
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
            row.action != request.action) {
          continue;
        }
        WhoCanEntry& out = entries.emplace_back();
        out.principal_id = principal;
        out.binding = *binding;
        out.via_role = row.source_role;
        out.rule_id = row.rule_id;
        std::vector<std::string> condition;
        if (!row.condition.empty()) condition.push_back(row.condition);
        condition.insert(condition.end(), caveats.begin(), caveats.end());
        out.conditional = !condition.empty();
        out.condition = absl::StrJoin(condition, "; ");
        out.purposes = row.purposes;
        for (const std::string& field : row.pii_fields) {
          if (!removed.contains(field)) out.pii_fields.push_back(field);
        }
      }
    }
  }
  return entries;
}

absl::StatusOr<std::vector<PermissionEntry>> AccessReports::RolePermissions(
    absl::string_view role_name) {
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  std::optional<RoleId> role = program.FindRole(role_name);
  if (!role.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("role '", role_name, "' is not in the active policy"));
  }
  std::vector<PermissionRow> rows = ExpandRole(program, *role);
  std::vector<PermissionEntry> entries;
  for (const PermissionRow* row : MatrixOrder(program, rows)) {
    entries.push_back(ToEntry(*row, ""));
  }
  return entries;
}

absl::StatusOr<std::vector<PermissionEntry>>
AccessReports::PrincipalPermissions(absl::string_view principal_id) {
  if (principal_id.empty()) {
    return absl::InvalidArgumentError("principal_id: must not be empty");
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  if (snapshot->FindPrincipal(principal_id) == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("principal '", principal_id, "' not found"));
  }
  store::BindingFilter filter;
  filter.principal = std::string(principal_id);
  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings(filter);
  if (!bindings.ok()) return bindings.status();
  const absl::Time now = clock_->Now();
  RowCache cache(program);
  std::vector<PermissionEntry> entries;
  for (const store::Binding& b : *bindings) {
    std::optional<RoleId> role = program.FindRole(b.role);
    if (!role.has_value() || !Live(b, now)) continue;
    for (const PermissionRow* row : MatrixOrder(program, cache.Rows(*role))) {
      entries.push_back(ToEntry(*row, b.scope));
    }
  }
  return entries;
}

absl::StatusOr<std::optional<absl::Time>> AccessReports::NewestAllowInScope(
    const std::string& principal, const std::string& rule_id,
    absl::string_view scope) {
  QueryFilter filter;
  filter.principal = principal;
  filter.rule_id = rule_id;
  filter.effect = RecordEffect::kAllow;
  filter.kinds = {RecordKind::kDecision};
  // Newest first (the principal's records through audit_idx_principal,
  // the rule, effect and kind tested on each row, plus the records not
  // indexed yet: server/audit/reader.cc; on PostgreSQL the (principal,
  // time) index): the first record in a scope the
  // binding covers is the answer. Only used without a usage index
  // (stewardd always has one). Records in other
  // scopes went through another binding of the same role.
  std::string token;
  do {
    absl::StatusOr<QueryPage> page = queries_->Query(filter, 4, token);
    if (!page.ok()) return page.status();
    for (const AuditRecord& record : page->records) {
      if (store::ScopeCovers(scope, record.resource_scope)) {
        return std::optional<absl::Time>(record.time);
      }
    }
    token = std::move(page->next_page_token);
  } while (!token.empty());
  return std::optional<absl::Time>();
}

absl::StatusOr<std::vector<UnusedGrant>> AccessReports::UnusedGrants(int days) {
  if (days < 1 || days > kMaxUnusedDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("days: must be between 1 and ", kMaxUnusedDays));
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  const absl::Time now = clock_->Now();
  const absl::Time window_start = now - absl::Hours(24) * days;

  absl::StatusOr<std::vector<store::Binding>> bindings = AllBindings({});
  if (!bindings.ok()) return bindings.status();

  std::vector<UnusedGrant> unused;
  auto report = [&](const UsageMap* usage) -> absl::Status {
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
          for (const ScopedUse& use : it->second) {
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
        unused.push_back(UnusedGrant{*binding, last});
      }
    }
    return absl::OkStatus();
  };
  absl::Status status;
  if (usage_ != nullptr) {
    // The aggregate is read under the index's lock, after folding in what
    // the trail gained since the last report.
    absl::Status read =
        usage_->Read([&](const UsageMap& usage) { status = report(&usage); });
    if (!read.ok()) return read;
  } else {
    status = report(nullptr);
  }
  if (!status.ok()) return status;
  // Bindings came in (principal, role, scope) order; a stable sort on the
  // grant time keeps it as the tie-break.
  std::stable_sort(unused.begin(), unused.end(),
                   [](const UnusedGrant& a, const UnusedGrant& b) {
                     return a.binding.granted_at < b.binding.granted_at;
                   });
  return unused;
}

absl::StatusOr<std::vector<SeparationViolation>>
AccessReports::SeparationViolations() {
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  if (snapshot->program() == nullptr) return NoPolicy();
  const Program& program = *snapshot->program();
  std::vector<SeparationViolation> violations;
  if (program.separations().empty()) return violations;
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
        violations.push_back(SeparationViolation{principal, conflict->first,
                                                 conflict->second, *a, *b});
      }
    }
  }
  return violations;
}

absl::StatusOr<std::vector<ExpiringGrant>> AccessReports::ExpiringGrants(
    absl::Duration within) {
  if (within < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("within: must not be negative");
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
  std::vector<ExpiringGrant> grants;
  for (const store::Binding* b : expiring) grants.push_back({*b, false});
  for (const store::Binding* b : flagged) grants.push_back({*b, true});
  return grants;
}

absl::StatusOr<DecisionSummaryReport> AccessReports::Summarize(
    const DecisionWindow& window) {
  if (window.since && window.until && *window.until <= *window.since) {
    return absl::InvalidArgumentError("until: must be after since");
  }
  if (usage_ == nullptr) {
    return absl::FailedPreconditionError(
        "DecisionSummary needs the usage aggregates of the trail");
  }
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->snapshot();
  absl::StatusOr<DecisionSummary> summary = usage_->Summarize(window);
  if (!summary.ok()) return summary.status();
  DecisionSummaryReport report;
  report.decisions = std::move(*summary);
  if (snapshot->program() != nullptr) {
    const Program& program = *snapshot->program();
    report.policy_version = snapshot->policy_version();
    for (int role = 0; role < program.role_count(); ++role) {
      report.policy_roles.emplace_back(program.role_name(role));
    }
  }
  return report;
}

}  // namespace steward::audit
