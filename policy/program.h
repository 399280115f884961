// Program: the immutable compiled form of a policy set.
//
// Produced by Compile() (compiler.h), consumed by Evaluate() (evaluator.h),
// RunTests() (test_runner.h), Lint() (lint.h) and by reports that need to
// list who may do what. Public.
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
#include "policy/name_table.h"
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

namespace internal {

// ---- Execution tables: the evaluator's view of the Program. --------------
// Not part of the stable API; reports should use the accessors of Program.

enum class OperandSource : uint8_t {
  kConst,          // index into ExecTables::constants
  kPrincipalAttr,  // slot into Request::principal_attributes
  kResourceAttr,   // slot into the kind's attribute table
  kContextAttr,    // slot into Program::context_attributes()
  kPrincipalId,
  kResourceId,
  kResourceScope,
};

struct Operand {
  OperandSource source = OperandSource::kConst;
  int32_t index = 0;
};

enum class OpCode : uint8_t {
  kPushConst,  // a: bool constant (index 0 = false, 1 = true)
  kPushBool,   // a: bool reference; absent -> unknown
  kHas,        // a: reference; true iff present
  kCompare,    // a OP b on type; absent -> unknown
  kInList,     // a in constants-list b
  kInSet,      // a in set reference b
  kNot,
  kAnd,
  kOr,
  kEqBool,  // pops two tri-values; unknown if either is unknown
  kNeBool,
};

enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

struct Instr {
  OpCode op = OpCode::kPushConst;
  CmpOp cmp = CmpOp::kEq;
  ValueType type = ValueType::kString;  // operand type for kCompare
  Operand a;
  Operand b;
};

// One rule as seen from one bucket.
struct BucketRule {
  int32_t rule = 0;  // index into Program::rules()
  RoleId role = 0;
  uint64_t purposes = ~uint64_t{0};  // bit p set = matches purpose p
  bool requires_purpose = false;     // rule has `for`: no purpose never matches
  int32_t condition = -1;            // index into ExecTables::conditions
  bool unless = false;
  FieldSet fields;  // allow: fields granted; field-deny: fields removed
};

// The rules of one (kind, action) pair, each list in source order.
struct Bucket {
  std::vector<BucketRule> denies;        // deny without a fields clause
  std::vector<BucketRule> field_denies;  // deny with a fields clause
  std::vector<BucketRule> allows;
  std::vector<uint64_t> any_role;  // roles owning a rule here (bitset)
  bool has_conditions = false;
};

struct Condition {
  int32_t begin = 0;  // [begin, end) in ExecTables::code
  int32_t end = 0;
};

struct KindExec {
  // Resource attribute name -> index into KindInfo::attributes.
  NameTable attribute_slots;
  // Per attribute of the kind: its interned resource-attribute slot, the
  // one conditions refer to (shared by every kind declaring the name).
  std::vector<int> attribute_global_slot;
  NameTable field_index;
  // Global action id -> bucket index, -1 when the kind lacks the action.
  std::vector<int32_t> action_bucket;
};

struct ExecTables {
  int role_words = 0;                // words per role bitset
  int resource_attribute_count = 0;  // interned resource attribute names
  NameTable kind_index;
  NameTable action_index;  // global action ids
  NameTable purpose_index;
  NameTable context_slots;
  std::vector<KindExec> kinds;
  std::vector<Bucket> buckets;
  std::vector<Condition> conditions;
  std::vector<Instr> code;
  std::vector<OwnedValue> constants;                     // strings and ints
  std::vector<std::vector<std::string>> constant_lists;  // for `in [...]`
  // (kind name, action name) -> bucket index: one probe on the check path.
  NameTable kind_action_bucket;
  std::vector<KindId> bucket_kind;  // bucket index -> kind
  // Per role r: the role and its transitive ancestors (flattened extends)
  // are closure_roles[closure_begin[r] .. closure_begin[r + 1]).
  std::vector<RoleId> closure_roles;
  std::vector<int32_t> closure_begin;
  absl::Span<const RoleId> Closure(RoleId r) const {
    return absl::MakeConstSpan(closure_roles)
        .subspan(closure_begin[r], closure_begin[r + 1] - closure_begin[r]);
  }
};

// A test expectation, resolved against the Program at compile time.
struct TestExpect {
  int line = 0;
  bool allow = true;
  std::string action, kind, resource_id, scope, purpose;
  std::vector<std::string> fields;
  std::vector<std::pair<std::string, OwnedValue>> resource_attributes;
  std::vector<std::pair<std::string, OwnedValue>> context;
};
struct TestGiven {
  std::string principal_id;
  std::vector<std::pair<RoleId, std::string>> bindings;  // role, scope
  std::vector<OwnedValue> attributes;  // by principal attribute slot
};
struct TestStep {
  std::optional<TestGiven> given;
  std::optional<TestExpect> expect;
};
struct TestCase {
  std::string name;
  std::string file;
  int line = 0;
  std::vector<TestStep> steps;
};

class ProgramBuilder;

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
  explicit Program(internal::ProgramKey) {}
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
  // The role and every role it extends, transitively (role first).
  absl::Span<const RoleId> RoleClosure(RoleId role) const {
    return exec_.Closure(role);
  }

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

  // ---- Embedded tests, for RunTests().
  absl::Span<const internal::TestCase> tests() const { return tests_; }

  // Internal: the evaluator's tables.
  const internal::ExecTables& exec() const { return exec_; }

 private:
  friend class internal::ProgramBuilder;

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
  std::vector<internal::TestCase> tests_;
  internal::ExecTables exec_;
};

}  // namespace steward::policy

#endif  // STEWARD_POLICY_PROGRAM_H_
