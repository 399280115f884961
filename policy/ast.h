// Abstract syntax tree of a policy set (spec §2-§7).
//
// Produced by the parser, annotated in place by the checker (resolved slots
// and types on expressions), lowered by the compiler into a Program, and
// kept alive only during Compile(). Internal to policy/. Nodes own their
// children through std::unique_ptr; the tree is thread-compatible.
#ifndef STEWARD_POLICY_AST_H_
#define STEWARD_POLICY_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/program.h"
#include "policy/request.h"
#include "policy/source.h"

namespace steward::policy::internal {

// A name as written, with where it was written.
struct Ident {
  std::string name;
  Location loc;
};

struct TypeRef {
  ValueType type = ValueType::kString;
  bool optional = false;  // `?`
};

struct AttributeAst {
  Ident name;
  TypeRef type;
};

struct FieldAst {
  Ident name;
  bool pii = false;
};

// A comma list of names or `*`.
struct NameList {
  bool star = false;
  Location star_loc;
  std::vector<Ident> names;
};

// ---- Expressions -----------------------------------------------------------

enum class ExprKind {
  kString,
  kInt,
  kBool,
  kList,  // list literal of strings
  kRef,   // principal.x, resource.x, context.x
  kHas,   // has(ref); the ref is child 0
  kNot,
  kAnd,      // two or more children: a whole `a && b && c` chain is one node
  kOr,       // likewise for `||`
  kCompare,  // ==, !=, <, <=, >, >=
  kIn,
};

enum class RefRoot { kPrincipal, kResource, kContext };
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

// What a reference resolved to (filled by the checker).
enum class RefTarget {
  kUnresolved,
  kPrincipalId,
  kResourceId,
  kResourceScope,
  kPrincipalAttr,  // slot into Program::principal_attributes()
  kResourceAttr,   // slot into the resource-attribute table of the Program
  kContextAttr,    // slot into Program::context_attributes()
};

struct Expr {
  ExprKind kind = ExprKind::kBool;
  Location loc;
  int begin_offset = 0;  // source span, for condition text
  int end_offset = 0;
  // Literals.
  std::string string_value;
  int64_t int_value = 0;
  bool bool_value = false;
  std::vector<std::string> list_values;
  // References.
  RefRoot root = RefRoot::kPrincipal;
  Ident member;
  // Operators.
  CompareOp op = CompareOp::kEq;
  std::vector<std::unique_ptr<Expr>> children;
  // Checker annotations.
  RefTarget target = RefTarget::kUnresolved;
  int slot = -1;
  ValueType type = ValueType::kBool;
  bool optional_attr = false;
};

// ---- Declarations, roles, rules --------------------------------------------

struct ResourceAst {
  Ident name;
  std::vector<AttributeAst> attributes;
  std::vector<FieldAst> fields;
  std::vector<Ident> actions;
};

struct RuleAst {
  bool allow = true;
  Location loc;
  NameList actions;
  NameList kinds;
  bool has_fields = false;
  NameList fields;
  std::vector<Ident> purposes;  // `for`; empty = ignores the purpose
  std::optional<Ident> label;   // `as "..."`
  ConditionMode mode = ConditionMode::kNone;
  std::unique_ptr<Expr> condition;
  std::string condition_text;
};

struct RoleAst {
  Ident name;
  std::string description;
  std::vector<Ident> parents;
  std::vector<RuleAst> rules;
};

struct SeparateAst {
  Location loc;
  std::vector<Ident> roles;
};

// A literal in a test: string, int, bool or list of strings.
struct LiteralAst {
  Location loc;
  ValueType type = ValueType::kString;
  std::string string_value;
  int64_t int_value = 0;
  bool bool_value = false;
  std::vector<std::string> list_values;
};

struct NamedLiteral {
  Ident name;
  LiteralAst value;
};

struct BindingAst {
  Ident role;
  std::string scope;
};

struct GivenAst {
  Location loc;
  std::string principal_id;
  std::vector<BindingAst> roles;
  std::vector<NamedLiteral> attributes;
};

struct ExpectAst {
  Location loc;
  bool allow = true;
  Ident action;
  Ident kind;
  std::string resource_id;
  std::string scope;
  std::vector<Ident> fields;
  std::optional<Ident> purpose;
  std::vector<NamedLiteral> resource_attributes;
  std::vector<NamedLiteral> context;
};

// One statement of a test block: a `given` or an `expect`.
struct TestStepAst {
  std::optional<GivenAst> given;
  std::optional<ExpectAst> expect;
};

struct TestAst {
  Location loc;
  std::string name;
  std::vector<TestStepAst> steps;
};

// One parsed file. A policy set is a vector of these.
struct FileAst {
  std::optional<Ident> policy_name;
  std::vector<AttributeAst> principal_attributes;
  std::vector<AttributeAst> context_attributes;
  std::vector<Ident> purposes;
  std::vector<ResourceAst> resources;
  std::vector<RoleAst> roles;
  std::vector<SeparateAst> separates;
  std::vector<TestAst> tests;
};

// A stable, indented text dump of the tree, for parser tests.
std::string DumpAst(const FileAst& file);
std::string DumpExpr(const Expr& expr);

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_AST_H_
