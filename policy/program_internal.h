// The internals of a compiled Program: the evaluator's execution tables
// (interned names, per-(kind, action) rule buckets, condition code) and the
// embedded policy tests, resolved against the Program.
//
// Internal to policy/: written by the compiler (ProgramBuilder), read by the
// evaluator, the test runner and lint, and by analysis.cc, which turns what
// other components need from them into public functions (analysis.h).
// Nothing outside policy/ and tests/policy may include this header
// (scripts/check-layering enforces it): the layout changes whenever the
// evaluator needs it to.
#ifndef STEWARD_POLICY_PROGRAM_INTERNAL_H_
#define STEWARD_POLICY_PROGRAM_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/decision.h"
#include "policy/name_table.h"
#include "policy/program.h"
#include "policy/request.h"
#include "policy/role_closure.h"

namespace steward::policy::internal {

// ---- Execution tables: the evaluator's view of the Program. --------------

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

// What a Program holds behind its pointer. Written once by the compiler,
// immutable afterwards like the Program itself.
struct ProgramTables {
  ExecTables exec;
  RoleClosures closures;  // Program::RoleClosure() reads these
  std::vector<TestCase> tests;
};

// The tables of `program`; valid as long as the Program.
inline const ProgramTables& Tables(const Program& program) {
  return *program.tables_;
}

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_PROGRAM_INTERNAL_H_
