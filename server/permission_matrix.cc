#include "server/permission_matrix.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::server {
namespace {

using Program = policy::Program;

// The chain of `extends` from `from` down to `to`, as "a > b > c".
std::string InheritancePath(const Program& program, policy::RoleId from,
                            policy::RoleId to) {
  if (from == to) return "";
  // Breadth-first over parents; policies are small and acyclic.
  std::vector<std::pair<policy::RoleId, std::string>> frontier = {
      {from, std::string(program.role_name(from))}};
  for (size_t i = 0; i < frontier.size() && i < 100000; ++i) {
    auto [role, path] = frontier[i];
    for (policy::RoleId parent : program.RoleParents(role)) {
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

}  // namespace

std::string PermissionRow::Key() const {
  return absl::StrCat(role, "|", kind, "|", action, "|",
                      allow ? "allow" : "deny", "|",
                      absl::StrJoin(purposes, ","), "|", condition, "|",
                      absl::StrJoin(fields, ","), "|",
                      removes_fields_only ? "fields-only" : "");
}

std::vector<PermissionRow> ExpandRole(const Program& program,
                                      policy::RoleId role) {
  std::vector<PermissionRow> rows;
  absl::Span<const policy::RoleId> closure = program.RoleClosure(role);
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
        row.allow = rule.effect == policy::Effect::kAllow;
        row.rule_id = rule.id;
        row.purposes = rule.purposes;
        if (rule.condition_mode == policy::ConditionMode::kWhen) {
          row.condition = absl::StrCat("when ", rule.condition_text);
        } else if (rule.condition_mode == policy::ConditionMode::kUnless) {
          row.condition = absl::StrCat("unless ", rule.condition_text);
        }
        for (const Program::FieldDecl& field : kind.fields) {
          bool covered = false;
          switch (rule.fields_clause) {
            case policy::FieldsClause::kNone:
              covered = !field.pii;
              break;
            case policy::FieldsClause::kAll:
              covered = true;
              break;
            case policy::FieldsClause::kList:
              covered = std::find(rule.fields.begin(), rule.fields.end(),
                                  field.name) != rule.fields.end();
              break;
          }
          if (!covered) continue;
          row.fields.push_back(field.name);
          if (field.pii) row.pii_fields.push_back(field.name);
        }
        row.removes_fields_only =
            !row.allow && rule.fields_clause != policy::FieldsClause::kNone;
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

std::vector<PermissionRow> ExpandAll(const Program& program) {
  std::vector<PermissionRow> rows;
  for (policy::RoleId role = 0; role < program.role_count(); ++role) {
    std::vector<PermissionRow> more = ExpandRole(program, role);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  return rows;
}

}  // namespace steward::server
