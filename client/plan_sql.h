// SQL rendering of query plans: turns the condition of a
// PlanResourcesResponse (authorization.proto) into a boolean SQL expression
// for a list endpoint's WHERE clause, in SQLite's or PostgreSQL's dialect,
// either with quoted literals or with placeholders and a parameter list.
//
// Public, client side. It works on the wire form that applications receive,
// so it depends on steward_proto only (its own library, steward_plan_sql),
// never on policy/ or server/. `stewardctl plan --sql` is one user; the
// mapping, per operator and dialect, is documented with worked examples in
// docs/query-plans.md.
//
// Semantics: a plan condition is three-valued (Kleene, as SQL's NULL): a
// reference to an attribute the resource does not have is unknown, and a
// resource is allowed exactly when the condition is TRUE. The rendering maps
// a missing attribute to a NULL column and keeps NULL propagating exactly as
// the policy language does at every operator (the idioms that would turn
// NULL into FALSE, such as EXISTS over a set or `IN ()`, are wrapped), so
// `WHERE <expression>`, which keeps only TRUE rows, selects exactly the
// allowed resources; deny rules arrive as NOT(...) inside the tree and need
// nothing more.
//
// Table layout the rendering assumes (docs/query-plans.md, "Columns"):
// one column per mapped attribute, NULL when the resource lacks it, of the
// attribute's type: string TEXT, int INTEGER/bigint, bool INTEGER 0/1
// (SQLite) or boolean (PostgreSQL), set<string> a JSON array of strings in
// TEXT (SQLite) or text[] (PostgreSQL). String comparisons are bytewise:
// SQLite columns keep the default BINARY collation; PostgreSQL orderings
// are rendered with COLLATE "C".
#ifndef STEWARD_CLIENT_PLAN_SQL_H_
#define STEWARD_CLIENT_PLAN_SQL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/authorization.pb.h"

namespace steward::client {

enum class SqlDialect { kSqlite, kPostgres };

// "sqlite" / "postgres" (also "postgresql"); InvalidArgument otherwise.
absl::StatusOr<SqlDialect> ParseSqlDialect(absl::string_view name);

// Where the resource's parts live in the caller's table. Column names are
// quoted as identifiers ("owner", with embedded quotes doubled); a name
// with dots (`c.owner`) is a qualified name and each part is quoted.
struct ColumnMap {
  std::string id_column;     // resource.id; needed only if the plan uses it
  std::string scope_column;  // resource.scope; likewise
  // Declared attribute name -> column.
  std::map<std::string, std::string> attributes;
  // A reference to an attribute with no entry above is an error naming it
  // (the safe default: a forgotten mapping never widens access). When
  // true, it is rendered as a NULL of its type instead, which is exact for
  // a table that does not store the attribute at all: every row lacks it,
  // so comparisons with it are unknown and has() is FALSE.
  bool unmapped_attributes_are_null = false;
};

// A placeholder's value, in placeholder order.
struct SqlParameter {
  enum class Type { kText, kInteger, kBoolean };
  Type type = Type::kText;
  std::string text;      // kText
  int64_t integer = 0;   // kInteger
  bool boolean = false;  // kBoolean; SQLite binds it as the integer 0/1
  friend bool operator==(const SqlParameter& a, const SqlParameter& b) {
    return a.type == b.type && a.text == b.text && a.integer == b.integer &&
           a.boolean == b.boolean;
  }
};

// An expression with placeholders: `?` for SQLite (bind in order, 1-based),
// `$1`, `$2`, … for PostgreSQL (`$2::bigint`, `$3::boolean`: integers and
// booleans carry their type, so two parameters never compare as text).
// Each literal of the tree is one parameter, in tree order (a list literal
// one per element).
struct ParameterizedSql {
  std::string sql;
  std::vector<SqlParameter> params;
};

// Renders `condition` with its literals quoted inline: strings in single
// quotes with quotes doubled (PostgreSQL: E'…' with backslashes doubled
// when the string holds one, so the text means the same whatever
// standard_conforming_strings says), integers in decimal, booleans as 1/0
// (SQLite) or TRUE/FALSE (PostgreSQL).
//
// InvalidArgument naming the node ("condition.operation.operands[1]: …")
// when the tree breaks the contract of PlanOperator in authorization.proto:
// an empty node, an unknown operator, a wrong operand count or type, a
// reference whose path is not resource.id, resource.scope or
// resource.<attribute> (or disagrees with its attribute or type), a literal
// with no value, a string holding a NUL byte or invalid UTF-8, or nesting
// deeper than kMaxPlanDepth. InvalidArgument naming the reference when a
// part has no column (see ColumnMap) or a column name is empty, holds a NUL
// byte or (PostgreSQL) exceeds 63 bytes.
absl::StatusOr<std::string> RenderSql(const v1::PlanExpression& condition,
                                      SqlDialect dialect,
                                      const ColumnMap& columns);

// As RenderSql, with every literal a placeholder.
absl::StatusOr<ParameterizedSql> RenderParameterizedSql(
    const v1::PlanExpression& condition, SqlDialect dialect,
    const ColumnMap& columns);

// The expression for one plan outcome: ALWAYS_ALLOWED is TRUE (SQLite 1),
// ALWAYS_DENIED, PLAN_KIND_UNSPECIFIED and any value this client does not
// know are FALSE (0), so a client never fails open; CONDITIONAL renders
// `condition`, which must then be set (InvalidArgument otherwise). `where`
// names the plan in errors ("condition", "field_conditions[0].condition").
absl::StatusOr<std::string> RenderPlanSql(v1::PlanKind kind,
                                          const v1::PlanExpression* condition,
                                          absl::string_view where,
                                          SqlDialect dialect,
                                          const ColumnMap& columns);
absl::StatusOr<ParameterizedSql> RenderParameterizedPlanSql(
    v1::PlanKind kind, const v1::PlanExpression* condition,
    absl::string_view where, SqlDialect dialect, const ColumnMap& columns);

// RenderPlanSql for a response's row condition (kind, condition).
absl::StatusOr<std::string> RenderPlanSql(const v1::PlanResourcesResponse& plan,
                                          SqlDialect dialect,
                                          const ColumnMap& columns);

// The condition as one line for people, with the validation of RenderSql:
// `resource.owner = "u1" AND NOT has(resource.locked)`; strings as JSON
// strings, lists as ["a", "b"], IN_SCOPE as in_scope(resource.scope, "S").
absl::StatusOr<std::string> FormatPlanCondition(
    const v1::PlanExpression& condition);

// Deeper trees are refused: a plan read from a file is untrusted input, and
// the rendering recurses. The planner's trees are shallow (AND/OR are
// n-ary).
inline constexpr int kMaxPlanDepth = 64;

}  // namespace steward::client

#endif  // STEWARD_CLIENT_PLAN_SQL_H_
