// Program: the immutable compiled form of a policy set.
//
// Produced by Compile() (compiler.h), consumed by Evaluate() (evaluator.h),
// RunTests() (test_runner.h), Lint() (lint.h) and the analyses of
// analysis.h (role expansion, referenced attributes, effective roles).
// Public; the execution tables and embedded tests behind it are internal to
// policy/ (program_internal.h).
//
// Layout, chosen for the check path (ARCHITECTURE.md "The hot path"):
// inheritance is flattened at compile time (each role carries its ancestor
// closure), rules are grouped per (kind, action) bucket in source order,
// buckets carry role bitsets for a one-AND "can anything match" test and for
// unconditional denies, and conditions are lowered to a flat postfix program
// over interned attribute slots. Nothing on the check path compares names
// except one hash lookup per request attribute.
#ifndef STEWARD_POLICY_PROGRAM_H_
#define STEWARD_POLICY_PROGRAM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/decision.h"
#include "policy/request.h"

namespace steward::policy {

// Hard ceilings that size the evaluator's stack buffers. CompileOptions
// limits are clamped to these.
inline constexpr int kMaxRoles = 16384;
inline constexpr int kMaxPurposes = 64;
inline constexpr int kMaxAttributesPerScope = 256;       // per kind, principal
                                                         // or context
inline constexpr int kMaxResourceAttributeNames = 1024;  // across kinds
inline constexpr int kMaxConditionStack = 256;
// Rules times the (kind, action) pairs each covers: bounds Program memory
// (~50 bytes each) whatever `*` rules a policy holds.
inline constexpr int kMaxRuleEntries = 2000000;

enum class FieldsClause { kNone, kList, kAll };
enum class ConditionMode { kNone, kWhen, kUnless };

class Program;

namespace internal {

// The evaluator's tables and the embedded tests: internal to policy/, see
// program_internal.h.
struct ProgramTables;
class ProgramBuilder;
inline const ProgramTables& Tables(const Program& program);

// Passkey: only the compiler can construct a Program.
class ProgramKey {
 private:
  friend class ProgramBuilder;
  ProgramKey() = default;
};

}  // namespace internal

// Immutable compiled policy set. Construct only through Compile(); share as
// std::shared_ptr<const Program>. Thread-safe: every method is const and the
// object never changes after construction.
class Program {
 public:
  struct AttributeDecl {
    std::string name;
    ValueType type = ValueType::kString;
    bool optional = false;
  };
  struct FieldDecl {
    std::string name;
    bool pii = false;
  };
  struct KindInfo {
    std::string name;
    std::vector<AttributeDecl> attributes;
    std::vector<FieldDecl> fields;
    std::vector<std::string> actions;  // declaration order
  };
  struct RoleInfo {
    std::string name;
    std::string description;
    std::vector<RoleId> parents;  // direct, declaration order
    std::string file;
    int line = 0;
  };
  // One rule as written, for reports, lint and explanations.
  struct RuleInfo {
    std::string id;  // label, or ROLE/N
    RoleId role = 0;
    Effect effect = Effect::kAllow;
    bool all_actions = false;  // `*`
    std::vector<std::string> actions;
    bool all_kinds = false;  // `*`
    std::vector<std::string> kinds;
    FieldsClause fields_clause = FieldsClause::kNone;
    std::vector<std::string> fields;    // kList only
    std::vector<std::string> purposes;  // empty = no `for`
    ConditionMode condition_mode = ConditionMode::kNone;
    std::string condition_text;  // "" if unconditional
    std::string file;
    int line = 0;
    int column = 0;
    std::string source_line;  // for diagnostics about the rule
  };

  // Internal: use Compile().
  explicit Program(internal::ProgramKey);
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  absl::string_view name() const { return name_; }  // may be empty

  // ---- Roles.
  int role_count() const { return static_cast<int>(roles_.size()); }
  std::optional<RoleId> FindRole(absl::string_view name) const;
  // REQUIRES: 0 <= role < role_count() for the accessors below.
  absl::string_view role_name(RoleId role) const { return roles_[role].name; }
  absl::string_view role_description(RoleId role) const {
    return roles_[role].description;
  }
  const RoleInfo& role(RoleId role) const { return roles_[role]; }
  std::vector<RoleId> RoleParents(RoleId role) const {
    return roles_[role].parents;
  }
  // The role and every role it extends, transitively: the role first, then
  // its ancestors breadth-first over `extends` (parents in declaration
  // order). Valid as long as the Program; spans of different roles may
  // overlap (closures share storage, see role_closure.h).
  absl::Span<const RoleId> RoleClosure(RoleId role) const;

  // ---- Principal and context schema (slot = index).
  absl::Span<const AttributeDecl> principal_attributes() const {
    return principal_attributes_;
  }
  std::optional<int> FindPrincipalAttribute(absl::string_view name) const;
  absl::Span<const AttributeDecl> context_attributes() const {
    return context_attributes_;
  }

  // ---- Kinds, purposes, rules.
  absl::Span<const KindInfo> kinds() const { return kinds_; }
  std::optional<KindId> FindKind(absl::string_view name) const;
  absl::Span<const std::string> purposes() const { return purposes_; }
  absl::Span<const RuleInfo> rules() const { return rules_; }
  // Rule ids appear in decisions; this finds the rule behind one.
  std::optional<int> FindRule(absl::string_view id) const;

  // ---- Separation of duties.
  // The `separate` constraints, as role lists.
  absl::Span<const std::vector<RoleId>> separations() const {
    return separations_;
  }
  // If one principal holding roles `a` and `b` (in overlapping scopes)
  // would hold two roles of one `separate` constraint, directly or through
  // extends, returns those two role names; nullopt when compatible.
  // REQUIRES: both ids in range.
  std::optional<std::pair<std::string, std::string>> SeparationConflict(
      RoleId a, RoleId b) const;

  // ---- Embedded tests: how many `test` blocks the sources hold (RunTests()
  // runs them).
  int test_count() const;

 private:
  friend class internal::ProgramBuilder;
  friend const internal::ProgramTables& internal::Tables(const Program&);

  std::string name_;
  std::vector<RoleInfo> roles_;
  absl::flat_hash_map<std::string, RoleId> role_index_;
  std::vector<AttributeDecl> principal_attributes_;
  absl::flat_hash_map<std::string, int> principal_slots_;
  std::vector<AttributeDecl> context_attributes_;
  std::vector<KindInfo> kinds_;
  std::vector<std::string> purposes_;
  std::vector<RuleInfo> rules_;
  absl::flat_hash_map<std::string, int> rule_index_;
  std::vector<std::vector<RoleId>> separations_;
  // Never null. Behind a pointer so this header need not expose them.
  std::unique_ptr<internal::ProgramTables> tables_;
};

}  // namespace steward::policy

#endif  // STEWARD_POLICY_PROGRAM_H_
