// Analyses of a compiled Program (see analysis.h).
#include "policy/analysis.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/program_internal.h"

namespace steward::policy {

bool ResolveEffectiveRoles(const Program& program,
                           absl::Span<const RoleBinding> bindings,
                           absl::string_view scope, absl::Time now,
                           absl::Span<uint64_t> roles) {
  std::fill(roles.begin(), roles.end(), 0);
  const int role_count = program.role_count();
  bool all_known = true;
  for (const RoleBinding& binding : bindings) {
    if (binding.role < 0 || binding.role >= role_count) {
      all_known = false;
      continue;
    }
    if (!BindingUnexpired(binding.expires_at, now)) continue;
    if (!ScopeCovers(binding.scope, scope)) continue;
    AddRoleClosure(program, binding.role, roles);
  }
  return all_known;
}

namespace {

// The chain of `extends` from `from` down to `to`, as "a > b > c".
std::string InheritancePath(const Program& program, RoleId from, RoleId to) {
  if (from == to) return "";
  // Breadth-first over parents; policies are small and acyclic.
  std::vector<std::pair<RoleId, std::string>> frontier = {
      {from, std::string(program.role_name(from))}};
  for (size_t i = 0; i < frontier.size() && i < 100000; ++i) {
    auto [role, path] = frontier[i];
    for (RoleId parent : program.RoleParents(role)) {
      std::string next = absl::StrCat(path, " > ", program.role_name(parent));
      if (parent == to) return next;
      frontier.emplace_back(parent, std::move(next));
    }
  }
  return "";
}

bool Declares(const Program::KindInfo& kind, const std::string& action) {
  return std::find(kind.actions.begin(), kind.actions.end(), action) !=
         kind.actions.end();
}

std::vector<int> Sorted(const std::vector<bool>& marked) {
  std::vector<int> out;
  for (size_t i = 0; i < marked.size(); ++i) {
    if (marked[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace

std::string PermissionRow::Key() const {
  return absl::StrCat(role, "|", kind, "|", action, "|",
                      allow ? "allow" : "deny", "|",
                      absl::StrJoin(purposes, ","), "|", condition, "|",
                      absl::StrJoin(fields, ","), "|",
                      removes_fields_only ? "fields-only" : "");
}

std::vector<PermissionRow> ExpandRole(const Program& program, RoleId role) {
  std::vector<PermissionRow> rows;
  absl::Span<const RoleId> closure = program.RoleClosure(role);
  for (const Program::RuleInfo& rule : program.rules()) {
    if (std::find(closure.begin(), closure.end(), rule.role) == closure.end()) {
      continue;
    }
    for (const Program::KindInfo& kind : program.kinds()) {
      if (!rule.all_kinds && std::find(rule.kinds.begin(), rule.kinds.end(),
                                       kind.name) == rule.kinds.end()) {
        continue;
      }
      std::vector<std::string> actions =
          rule.all_actions ? kind.actions : rule.actions;
      for (const std::string& action : actions) {
        if (!Declares(kind, action)) continue;
        PermissionRow row;
        row.role = std::string(program.role_name(role));
        row.source_role = std::string(program.role_name(rule.role));
        row.inherited_via = InheritancePath(program, role, rule.role);
        row.kind = kind.name;
        row.action = action;
        row.allow = rule.effect == Effect::kAllow;
        row.rule_id = rule.id;
        row.purposes = rule.purposes;
        if (rule.condition_mode == ConditionMode::kWhen) {
          row.condition = absl::StrCat("when ", rule.condition_text);
        } else if (rule.condition_mode == ConditionMode::kUnless) {
          row.condition = absl::StrCat("unless ", rule.condition_text);
        }
        for (const Program::FieldDecl& field : kind.fields) {
          bool covered = false;
          switch (rule.fields_clause) {
            case FieldsClause::kNone:
              covered = !field.pii;
              break;
            case FieldsClause::kAll:
              covered = true;
              break;
            case FieldsClause::kList:
              covered = std::find(rule.fields.begin(), rule.fields.end(),
                                  field.name) != rule.fields.end();
              break;
          }
          if (!covered) continue;
          row.fields.push_back(field.name);
          if (field.pii) row.pii_fields.push_back(field.name);
        }
        row.removes_fields_only =
            !row.allow && rule.fields_clause != FieldsClause::kNone;
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

std::vector<PermissionRow> ExpandAll(const Program& program) {
  std::vector<PermissionRow> rows;
  for (RoleId role = 0; role < program.role_count(); ++role) {
    std::vector<PermissionRow> more = ExpandRole(program, role);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  return rows;
}

ReferencedAttributes FindReferencedAttributes(const Program& program,
                                              KindId kind) {
  using internal::OperandSource;
  const internal::ExecTables& x = internal::Tables(program).exec;
  const internal::KindExec& ke = x.kinds[kind];
  // Conditions read resource attributes by their interned (cross-kind)
  // slot; mapped back to the kind's own attribute indexes below.
  std::vector<bool> resource_slots(x.resource_attribute_count, false);
  std::vector<bool> principal(program.principal_attributes().size(), false);
  std::vector<bool> context(program.context_attributes().size(), false);
  auto scan = [&](const std::vector<internal::BucketRule>& rules) {
    for (const internal::BucketRule& rule : rules) {
      if (rule.condition < 0) continue;
      const internal::Condition& c = x.conditions[rule.condition];
      for (int32_t pc = c.begin; pc < c.end; ++pc) {
        for (const internal::Operand* o : {&x.code[pc].a, &x.code[pc].b}) {
          switch (o->source) {
            case OperandSource::kResourceAttr:
              resource_slots[o->index] = true;
              break;
            case OperandSource::kPrincipalAttr:
              principal[o->index] = true;
              break;
            case OperandSource::kContextAttr:
              context[o->index] = true;
              break;
            default:
              break;
          }
        }
      }
    }
  };
  for (int32_t b : ke.action_bucket) {
    if (b < 0) continue;
    const internal::Bucket& bucket = x.buckets[b];
    scan(bucket.denies);
    scan(bucket.field_denies);
    scan(bucket.allows);
  }
  ReferencedAttributes out;
  for (size_t a = 0; a < ke.attribute_global_slot.size(); ++a) {
    if (resource_slots[ke.attribute_global_slot[a]]) {
      out.resource.push_back(static_cast<int>(a));
    }
  }
  out.principal = Sorted(principal);
  out.context = Sorted(context);
  return out;
}

}  // namespace steward::policy
