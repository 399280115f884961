// Analyses of a compiled Program: what a policy grants, what its conditions
// read, and which roles a principal's bindings give it.
//
// Public. Sits beside the evaluator at the end of the pipeline: it reads
// the immutable Program (and its internal tables), never the source, so
// its answers are exactly what Evaluate() will do. Components outside
// policy/ (reports, the admin policy diff, audit minimization, the role
// store's snapshot) use these functions instead of re-deriving them from
// Program internals. Everything here is a pure function of its arguments
// and safe to call concurrently on one shared Program.
#ifndef STEWARD_POLICY_ANALYSIS_H_
#define STEWARD_POLICY_ANALYSIS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::policy {

// ---- Effective roles (spec §6 step 2) -------------------------------------
// The evaluator resolves a request's bindings with these; callers that
// resolve roles themselves (the role store's snapshot) must give the same
// answers, so they use these too.

// Whether a binding at `binding_scope` applies to a resource at
// `resource_scope`: the binding is global (""), its scope equals the
// resource's, or it is an ancestor by whole '/'-segments ("acme" covers
// "acme/eu", not "acmex"; nothing but "" covers "").
inline bool ScopeCovers(absl::string_view binding_scope,
                        absl::string_view resource_scope) {
  if (binding_scope.empty()) return true;
  if (resource_scope.size() < binding_scope.size()) return false;
  if (resource_scope.substr(0, binding_scope.size()) != binding_scope) {
    return false;
  }
  return resource_scope.size() == binding_scope.size() ||
         resource_scope[binding_scope.size()] == '/';
}

// Whether a binding expiring at `expires_at` still holds at `now`. Expiry
// is exclusive: at the instant `expires_at` the binding no longer holds.
inline bool BindingUnexpired(absl::Time expires_at, absl::Time now) {
  return expires_at > now;
}

// Sets in `roles` (bit r of word r / 64) the bit of `role` and of every
// role it extends, transitively.
// REQUIRES: 0 <= role < program.role_count();
// roles.size() * 64 >= program.role_count().
inline void AddRoleClosure(const Program& program, RoleId role,
                           absl::Span<uint64_t> roles) {
  for (RoleId r : program.RoleClosure(role)) {
    roles[r >> 6] |= uint64_t{1} << (r & 63);
  }
}

// Writes into `roles` (every word overwritten) the effective roles that
// `bindings` give at resource scope `scope` and time `now`: the roles of
// the bindings that are unexpired (BindingUnexpired) and whose scope covers
// `scope` (ScopeCovers), closed under `extends`. A binding naming a role
// outside the Program is skipped; returns false when there was one
// (expired or not), true otherwise. The evaluator turns false into DENY
// EVALUATION_ERROR; callers whose role ids come from the Program may
// ignore it. Allocation-free.
// REQUIRES: roles.size() * 64 >= program.role_count().
bool ResolveEffectiveRoles(const Program& program,
                           absl::Span<const RoleBinding> bindings,
                           absl::string_view scope, absl::Time now,
                           absl::Span<uint64_t> roles);

// ---- Role expansion: the permission matrix --------------------------------

// One thing a role may (or may not) do: one rule, reached by the role
// directly or through `extends`, on one declared (kind, action) pair. A
// plain value type.
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

  // Identity for diffs: everything but provenance (source role, path and
  // rule id).
  std::string Key() const;
};

// Every row for `role`: each rule of the role or of a role it extends, for
// each kind it names (`*` = every declared kind) and each of its actions
// that the kind declares (`*` = the kind's actions in declaration order).
// Rows follow the rules' source order, then kinds and actions in
// declaration order. A rule without a fields clause covers the kind's
// non-PII fields; `fields *` covers all of them. REQUIRES: 0 <= role <
// program.role_count().
std::vector<PermissionRow> ExpandRole(const Program& program, RoleId role);

// ExpandRole for every role, in role id order.
std::vector<PermissionRow> ExpandAll(const Program& program);

// ---- Attributes the conditions read ---------------------------------------

// Which declared attributes the rule conditions that can apply to one
// resource kind read (any reference: comparison, `in`, `has()`). Each list
// is ascending and without duplicates.
struct ReferencedAttributes {
  std::vector<int> resource;   // indexes into kinds()[kind].attributes
  std::vector<int> principal;  // slots of Program::principal_attributes()
  std::vector<int> context;    // slots of Program::context_attributes()
};

// The attributes read by the conditions of the rules in `kind`'s (kind,
// action) pairs, i.e. of every rule the evaluator may run for a request on
// that kind. A rule's condition counts even when its role or purpose would
// not match. REQUIRES: 0 <= kind < program.kinds().size().
ReferencedAttributes FindReferencedAttributes(const Program& program,
                                              KindId kind);

}  // namespace steward::policy

#endif  // STEWARD_POLICY_ANALYSIS_H_
