// Checker: name resolution and type checking of a parsed policy set.
//
// Fourth stage of the pipeline (parser -> checker -> compiler). Merges the
// declarations of every file of the set, resolves every name (kinds,
// actions, fields, attributes, purposes, roles), type-checks conditions and
// test literals, detects extends cycles and separation-of-duties breaches,
// and annotates expression nodes with their resolved slots and types. The
// result is a symbol table the compiler lowers into a Program. Internal to
// policy/.
#ifndef STEWARD_POLICY_CHECKER_H_
#define STEWARD_POLICY_CHECKER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy/ast.h"
#include "policy/program.h"
#include "policy/program_internal.h"
#include "policy/role_closure.h"
#include "policy/source.h"

namespace steward::policy::internal {

struct CheckOptions {
  int max_rules = 100000;
  int max_roles = 10000;
};

struct KindSymbol {
  Program::KindInfo info;
  std::vector<int> actions;  // global action ids, declaration order
  absl::flat_hash_map<std::string, int> attribute_slots;  // local slot
  absl::flat_hash_map<std::string, int> field_index;
  Location loc;
};

struct RoleSymbol {
  const RoleAst* ast = nullptr;
  int file = 0;
  std::vector<RoleId> parents;
};

// What one rule covers on one kind.
struct RuleCoverage {
  KindId kind = 0;
  std::vector<int> actions;  // global action ids
  FieldSet fields;
};

struct RuleSymbol {
  const RuleAst* ast = nullptr;
  int file = 0;
  RoleId role = 0;
  std::string id;
  std::vector<RuleCoverage> coverage;
  uint64_t purposes = ~uint64_t{0};
};

// The checked policy set. Points into the FileAsts it was built from, which
// must outlive it.
struct CheckedPolicy {
  std::string name;
  std::vector<Program::AttributeDecl> principal_attributes;
  absl::flat_hash_map<std::string, int> principal_slots;
  std::vector<Program::AttributeDecl> context_attributes;
  absl::flat_hash_map<std::string, int> context_slots;
  std::vector<std::string> purposes;
  absl::flat_hash_map<std::string, int> purpose_index;
  std::vector<KindSymbol> kinds;
  absl::flat_hash_map<std::string, int> kind_index;
  std::vector<std::string> actions;  // global action names
  absl::flat_hash_map<std::string, int> action_index;
  // Resource attribute names across kinds, interned: a condition that
  // covers several kinds refers to one global slot.
  std::vector<std::string> resource_attribute_names;
  absl::flat_hash_map<std::string, int> resource_attribute_index;
  std::vector<RoleSymbol> roles;
  absl::flat_hash_map<std::string, RoleId> role_index;
  RoleClosures closures;  // of every role, by role id
  std::vector<RuleSymbol> rules;
  std::vector<std::vector<RoleId>> separations;
  std::vector<TestCase> tests;
};

// Checks `files` (parsed from `sources`, same order). Reports every problem
// to `sink`; the result is meaningful only when the sink has no errors.
CheckedPolicy Check(const std::vector<Source>& sources,
                    std::vector<FileAst>& files, const CheckOptions& options,
                    DiagnosticSink& sink);

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_CHECKER_H_
