// The effective permissions a policy grants, expanded to one row per role ×
// kind × action × rule: inheritance resolved (with the chain shown), `*`
// expanded to declared names, and the fields each rule reaches (PII marked).
// The admin policy diff and the auditor reports are computed from it.
#ifndef STEWARD_SERVER_PERMISSION_MATRIX_H_
#define STEWARD_SERVER_PERMISSION_MATRIX_H_

#include <string>
#include <vector>

#include "policy/program.h"

namespace steward::server {

struct PermissionRow {
  std::string role;           // the role asked about (the bound role)
  std::string source_role;    // the role whose rule it is
  std::string inherited_via;  // "account_manager > sales_rep", "" if direct
  std::string kind;
  std::string action;
  bool allow = true;
  std::string rule_id;
  std::vector<std::string> purposes;  // empty: any purpose
  std::string condition;  // "when …" / "unless …", "" if unconditional
  std::vector<std::string> fields;      // every field the rule covers
  std::vector<std::string> pii_fields;  // the PII ones among them
  // Deny rules with a fields clause remove fields instead of the action.
  bool removes_fields_only = false;

  // Identity for diffs: everything but provenance.
  std::string Key() const;
};

// Every row for `role`, in source order of the rules.
std::vector<PermissionRow> ExpandRole(const policy::Program& program,
                                      policy::RoleId role);

// Every row for every role.
std::vector<PermissionRow> ExpandAll(const policy::Program& program);

}  // namespace steward::server

#endif  // STEWARD_SERVER_PERMISSION_MATRIX_H_
