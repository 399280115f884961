// steward_plan_sql: exact SQL per operator and dialect, quoting, tree
// validation, and the property that matters: over random plan trees and
// random rows (NULLs included), the rendered expression evaluated by a real
// SQLite and a real PostgreSQL (a throwaway cluster) give, row by row, the same
// three-valued answer as the policy's own evaluator of plan conditions
// (policy::EvaluatePlanExpr) and as a second reference written here from
// the contract in authorization.proto; inline and parameterized.
#include "client/plan_sql.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/plan.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- Tree builders ----------------------------------------------------------

v1::PlanExpression Ref(const std::string& attribute, v1::ValueType type) {
  v1::PlanExpression e;
  e.mutable_reference()->set_path(absl::StrCat("resource.", attribute));
  e.mutable_reference()->set_attribute(attribute);
  e.mutable_reference()->set_type(type);
  return e;
}
v1::PlanExpression StrRef(const std::string& a) {
  return Ref(a, v1::VALUE_TYPE_STRING);
}
v1::PlanExpression IntRef(const std::string& a) {
  return Ref(a, v1::VALUE_TYPE_INT);
}
v1::PlanExpression BoolRef(const std::string& a) {
  return Ref(a, v1::VALUE_TYPE_BOOL);
}
v1::PlanExpression SetRef(const std::string& a) {
  return Ref(a, v1::VALUE_TYPE_STRING_SET);
}
v1::PlanExpression Part(const std::string& path) {
  v1::PlanExpression e;
  e.mutable_reference()->set_path(path);
  e.mutable_reference()->set_type(v1::VALUE_TYPE_STRING);
  return e;
}
v1::PlanExpression Str(const std::string& value) {
  v1::PlanExpression e;
  e.mutable_literal()->set_string_value(value);
  return e;
}
v1::PlanExpression Int(int64_t value) {
  v1::PlanExpression e;
  e.mutable_literal()->set_int_value(value);
  return e;
}
v1::PlanExpression Bool(bool value) {
  v1::PlanExpression e;
  e.mutable_literal()->set_bool_value(value);
  return e;
}
v1::PlanExpression List(const std::vector<std::string>& values) {
  v1::PlanExpression e;
  auto* list = e.mutable_literal()->mutable_string_list_value();
  for (const std::string& v : values) list->add_values(v);
  return e;
}
v1::PlanExpression Op(v1::PlanOperator op,
                      const std::vector<v1::PlanExpression>& operands) {
  v1::PlanExpression e;
  e.mutable_operation()->set_operator_(op);
  for (const auto& operand : operands) {
    *e.mutable_operation()->add_operands() = operand;
  }
  return e;
}

ColumnMap Columns() {
  ColumnMap columns;
  columns.id_column = "id";
  columns.scope_column = "scope";
  columns.attributes = {{"owner", "owner"}, {"region", "region"},
                        {"total", "total"}, {"vip", "vip"},
                        {"teams", "teams"}, {"name", "c.name"},
                        {"value", "value"}};
  return columns;
}

std::string Sql(const v1::PlanExpression& e, SqlDialect dialect,
                const ColumnMap& columns = Columns()) {
  absl::StatusOr<std::string> sql = RenderSql(e, dialect, columns);
  EXPECT_THAT(sql, IsOk());
  return sql.ok() ? *sql : "";
}
std::string Lite(const v1::PlanExpression& e) {
  return Sql(e, SqlDialect::kSqlite);
}
std::string Pg(const v1::PlanExpression& e) {
  return Sql(e, SqlDialect::kPostgres);
}

// ---- Exact renderings
// --------------------------------------------------------

TEST(PlanSqlTest, Comparisons) {
  auto eq = Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("u1")});
  EXPECT_EQ(Lite(eq), "\"owner\" = 'u1'");
  EXPECT_EQ(Pg(eq), "\"owner\" = 'u1'");
  auto ne = Op(v1::OPERATOR_NE, {IntRef("total"), Int(-5)});
  EXPECT_EQ(Lite(ne), "\"total\" <> -5");
  auto lt = Op(v1::OPERATOR_LT, {IntRef("total"), Int(100)});
  EXPECT_EQ(Lite(lt), "\"total\" < 100");
  EXPECT_EQ(Pg(lt), "\"total\" < 100");
  // Bytewise string order: PostgreSQL needs the "C" collation.
  auto ge = Op(v1::OPERATOR_GE, {StrRef("name"), Str("m")});
  EXPECT_EQ(Lite(ge), "\"c\".\"name\" >= 'm'");
  EXPECT_EQ(Pg(ge), "\"c\".\"name\" COLLATE \"C\" >= 'm'");
  auto le = Op(v1::OPERATOR_LE, {Str("a"), Part("resource.id")});
  EXPECT_EQ(Pg(le), "'a' COLLATE \"C\" <= \"id\"");
  auto gt = Op(v1::OPERATOR_GT, {IntRef("total"), Int(0)});
  EXPECT_EQ(Pg(gt), "\"total\" > 0");
}

TEST(PlanSqlTest, BooleansPerDialect) {
  auto vip = Op(v1::OPERATOR_EQ, {BoolRef("vip"), Bool(true)});
  EXPECT_EQ(Lite(vip), "\"vip\" = 1");
  EXPECT_EQ(Pg(vip), "\"vip\" = TRUE");
  // EQ over boolean operations: both operands wrapped.
  auto same =
      Op(v1::OPERATOR_EQ, {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("u1")}),
                           Op(v1::OPERATOR_HAS, {StrRef("region")})});
  EXPECT_EQ(Lite(same), "(\"owner\" = 'u1') = (\"region\" IS NOT NULL)");
}

TEST(PlanSqlTest, LogicParenthesizesOnlyWhereNeeded) {
  auto a = Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("u1")});
  auto b = Op(v1::OPERATOR_EQ, {StrRef("region"), Str("emea")});
  auto c = Op(v1::OPERATOR_HAS, {BoolRef("vip")});
  auto tree = Op(v1::OPERATOR_OR,
                 {Op(v1::OPERATOR_AND, {a, b}), Op(v1::OPERATOR_NOT, {c})});
  EXPECT_EQ(Lite(tree),
            "(\"owner\" = 'u1' AND \"region\" = 'emea') OR NOT (\"vip\" IS "
            "NOT NULL)");
  auto nested = Op(v1::OPERATOR_AND, {Op(v1::OPERATOR_OR, {a, b}), c});
  EXPECT_EQ(Pg(nested),
            "(\"owner\" = 'u1' OR \"region\" = 'emea') AND \"vip\" IS NOT "
            "NULL");
  EXPECT_EQ(*FormatPlanCondition(tree),
            "(resource.owner = \"u1\" AND resource.region = \"emea\") OR "
            "NOT has(resource.vip)");
}

TEST(PlanSqlTest, InOverAListLiteral) {
  auto in = Op(v1::OPERATOR_IN, {StrRef("region"), List({"emea", "apac"})});
  EXPECT_EQ(Lite(in), "\"region\" IN ('emea', 'apac')");
  EXPECT_EQ(Pg(in), "\"region\" IN ('emea', 'apac')");
  // SQLite's `NULL IN ()` is 0 and PostgreSQL has no empty list.
  auto none = Op(v1::OPERATOR_IN, {StrRef("region"), List({})});
  EXPECT_EQ(Lite(none), "CASE WHEN \"region\" IS NULL THEN NULL ELSE 0 END");
  EXPECT_EQ(Pg(none), "CASE WHEN \"region\" IS NULL THEN NULL ELSE FALSE END");
  EXPECT_EQ(Lite(Op(v1::OPERATOR_IN, {Str("x"), List({})})), "0");
}

TEST(PlanSqlTest, InOverASetColumn) {
  auto in = Op(v1::OPERATOR_IN, {StrRef("owner"), SetRef("teams")});
  EXPECT_EQ(Lite(in),
            "CASE WHEN \"owner\" IS NULL OR \"teams\" IS NULL THEN NULL ELSE "
            "\"owner\" IN (SELECT value FROM json_each(\"teams\") WHERE type "
            "= 'text') END");
  EXPECT_EQ(Pg(in),
            "CASE WHEN \"owner\" IS NULL OR \"teams\" IS NULL THEN NULL ELSE "
            "\"owner\" = ANY(\"teams\") END");
  auto literal = Op(v1::OPERATOR_IN, {Str("sales"), SetRef("teams")});
  EXPECT_EQ(Pg(literal),
            "CASE WHEN \"teams\" IS NULL THEN NULL ELSE 'sales' = "
            "ANY(\"teams\") END");
}

TEST(PlanSqlTest, HasAndScope) {
  EXPECT_EQ(Lite(Op(v1::OPERATOR_HAS, {StrRef("owner")})),
            "\"owner\" IS NOT NULL");
  // resource.id and resource.scope are always present.
  EXPECT_EQ(Lite(Op(v1::OPERATOR_HAS, {Part("resource.scope")})), "1");
  EXPECT_EQ(Pg(Op(v1::OPERATOR_HAS, {Part("resource.id")})), "TRUE");
  auto scope =
      Op(v1::OPERATOR_IN_SCOPE, {Part("resource.scope"), Str("acme/eu")});
  EXPECT_EQ(Lite(scope),
            "\"scope\" = 'acme/eu' OR substr(\"scope\", 1, 8) = 'acme/eu/'");
  EXPECT_EQ(Pg(scope),
            "\"scope\" = 'acme/eu' OR starts_with(\"scope\", 'acme/eu/')");
  // The global scope covers every scope (policy::ScopeCovers).
  auto global = Op(v1::OPERATOR_IN_SCOPE, {Part("resource.scope"), Str("")});
  EXPECT_EQ(Lite(global), "1");
  EXPECT_EQ(Pg(global), "TRUE");
  // substr counts characters: "Zoë/" is 4 of them (5 bytes). LIKE's
  // wildcards mean nothing here.
  EXPECT_EQ(
      Lite(Op(v1::OPERATOR_IN_SCOPE, {Part("resource.scope"), Str("Zoë")})),
      "\"scope\" = 'Zoë' OR substr(\"scope\", 1, 4) = 'Zoë/'");
  auto both = Op(v1::OPERATOR_AND,
                 {scope, Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("u1")})});
  EXPECT_EQ(Pg(both),
            "(\"scope\" = 'acme/eu' OR starts_with(\"scope\", 'acme/eu/')) "
            "AND \"owner\" = 'u1'");
}

TEST(PlanSqlTest, QuotingOfLiterals) {
  auto eq = [](const std::string& s) {
    return Op(v1::OPERATOR_EQ, {StrRef("owner"), Str(s)});
  };
  EXPECT_EQ(Lite(eq("o'brien")), "\"owner\" = 'o''brien'");
  EXPECT_EQ(Lite(eq("''")), "\"owner\" = ''''''");
  // SQLite strings have no escapes; PostgreSQL's E'' means the same
  // whatever standard_conforming_strings says.
  EXPECT_EQ(Lite(eq("a\\b")), "\"owner\" = 'a\\b'");
  EXPECT_EQ(Pg(eq("a\\b'")), "\"owner\" = E'a\\\\b'''");
  EXPECT_EQ(Pg(eq("50%_off")), "\"owner\" = '50%_off'");
  EXPECT_EQ(Pg(eq("日本\n")), "\"owner\" = '日本\n'");
  EXPECT_EQ(Lite(eq("")), "\"owner\" = ''");
}

TEST(PlanSqlTest, QuotingOfIdentifiers) {
  ColumnMap columns;
  columns.attributes = {{"owner", "we\"ird col"}, {"region", "t.Region"}};
  EXPECT_EQ(Sql(Op(v1::OPERATOR_EQ, {StrRef("owner"), StrRef("region")}),
                SqlDialect::kSqlite, columns),
            "\"we\"\"ird col\" = \"t\".\"Region\"");
  for (const std::string& bad : {std::string("t..c"), std::string(".c"),
                                 std::string("c\0d", 3), std::string("\xff")}) {
    columns.attributes["owner"] = bad;
    EXPECT_THAT(RenderSql(Op(v1::OPERATOR_HAS, {StrRef("owner")}),
                          SqlDialect::kSqlite, columns),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("resource.owner")))
        << absl::CHexEscape(bad);
  }
  columns.attributes["owner"] = std::string(64, 'c');
  EXPECT_THAT(
      RenderSql(Op(v1::OPERATOR_HAS, {StrRef("owner")}), SqlDialect::kPostgres,
                columns),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("63-byte")));
  EXPECT_THAT(RenderSql(Op(v1::OPERATOR_HAS, {StrRef("owner")}),
                        SqlDialect::kSqlite, columns),
              IsOk());
}

TEST(PlanSqlTest, Int64Extremes) {
  auto lt = [](int64_t v) {
    return Op(v1::OPERATOR_LT, {IntRef("total"), Int(v)});
  };
  EXPECT_EQ(Lite(lt(std::numeric_limits<int64_t>::max())),
            "\"total\" < 9223372036854775807");
  EXPECT_EQ(Pg(lt(std::numeric_limits<int64_t>::min())),
            "\"total\" < (-9223372036854775807 - 1)");
}

TEST(PlanSqlTest, UnmappedAttributesAreAnErrorUnlessNullIsAsked) {
  ColumnMap columns;
  auto tree =
      Op(v1::OPERATOR_AND,
         {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("u1")}),
          Op(v1::OPERATOR_NOT, {Op(v1::OPERATOR_HAS, {BoolRef("vip")})}),
          Op(v1::OPERATOR_IN, {Str("x"), SetRef("teams")})});
  EXPECT_THAT(RenderSql(tree, SqlDialect::kSqlite, columns),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "condition.operation.operands[0].operation.operands[0]."
                       "reference: the plan reads resource.owner but attribute "
                       "\"owner\" has no column"));
  columns.unmapped_attributes_are_null = true;
  EXPECT_EQ(Sql(tree, SqlDialect::kSqlite, columns),
            "NULL = 'u1' AND NOT 0 AND CASE WHEN NULL IS NULL THEN NULL ELSE "
            "'x' IN (SELECT value FROM json_each(NULL) WHERE type = 'text') "
            "END");
  EXPECT_EQ(Sql(tree, SqlDialect::kPostgres, columns),
            "CAST(NULL AS text) = 'u1' AND NOT FALSE AND CASE WHEN CAST(NULL "
            "AS text[]) IS NULL THEN NULL ELSE 'x' = ANY(CAST(NULL AS "
            "text[])) END");
  EXPECT_THAT(
      RenderSql(Op(v1::OPERATOR_EQ, {Part("resource.id"), Str("a")}),
                SqlDialect::kSqlite, columns),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no id column")));
  EXPECT_THAT(
      RenderSql(Op(v1::OPERATOR_IN_SCOPE, {Part("resource.scope"), Str("a")}),
                SqlDialect::kSqlite, columns),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("no scope column")));
}

TEST(PlanSqlTest, PlanKinds) {
  v1::PlanResourcesResponse plan;
  ColumnMap columns = Columns();
  plan.set_kind(v1::ALWAYS_ALLOWED);
  EXPECT_EQ(*RenderPlanSql(plan, SqlDialect::kSqlite, columns), "1");
  EXPECT_EQ(*RenderPlanSql(plan, SqlDialect::kPostgres, columns), "TRUE");
  for (int kind : {0, 2, 99}) {
    plan.set_kind(static_cast<v1::PlanKind>(kind));
    EXPECT_EQ(*RenderPlanSql(plan, SqlDialect::kSqlite, columns), "0") << kind;
    EXPECT_EQ(*RenderPlanSql(plan, SqlDialect::kPostgres, columns), "FALSE");
  }
  plan.set_kind(v1::CONDITIONAL);
  EXPECT_THAT(RenderPlanSql(plan, SqlDialect::kSqlite, columns),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "condition: a CONDITIONAL plan has no condition"));
  *plan.mutable_condition() = Op(v1::OPERATOR_HAS, {StrRef("owner")});
  EXPECT_EQ(*RenderPlanSql(plan, SqlDialect::kSqlite, columns),
            "\"owner\" IS NOT NULL");
}

TEST(PlanSqlTest, Parameterized) {
  auto tree =
      Op(v1::OPERATOR_AND,
         {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("o'b")}),
          Op(v1::OPERATOR_IN_SCOPE, {Part("resource.scope"), Str("acme")}),
          Op(v1::OPERATOR_IN, {Str("t"), SetRef("teams")}),
          Op(v1::OPERATOR_IN, {StrRef("region"), List({"a", "b"})}),
          Op(v1::OPERATOR_NE, {BoolRef("vip"), Bool(false)}),
          Op(v1::OPERATOR_GT, {IntRef("total"), Int(7)})});
  absl::StatusOr<ParameterizedSql> lite =
      RenderParameterizedSql(tree, SqlDialect::kSqlite, Columns());
  ASSERT_THAT(lite, IsOk());
  EXPECT_EQ(lite->sql,
            "\"owner\" = ? AND (\"scope\" = ? OR substr(\"scope\", 1, 5) = ?) "
            "AND CASE WHEN \"teams\" IS NULL THEN NULL ELSE ? IN (SELECT "
            "value FROM json_each(\"teams\") WHERE type = 'text') END AND "
            "\"region\" IN (?, ?) AND \"vip\" <> ? AND \"total\" > ?");
  auto text = [](const std::string& s) {
    SqlParameter p;
    p.text = s;
    return p;
  };
  SqlParameter no;
  no.type = SqlParameter::Type::kBoolean;
  SqlParameter seven;
  seven.type = SqlParameter::Type::kInteger;
  seven.integer = 7;
  EXPECT_THAT(lite->params,
              ElementsAre(text("o'b"), text("acme"), text("acme/"), text("t"),
                          text("a"), text("b"), no, seven));
  absl::StatusOr<ParameterizedSql> pg =
      RenderParameterizedSql(tree, SqlDialect::kPostgres, Columns());
  ASSERT_THAT(pg, IsOk());
  EXPECT_EQ(pg->sql,
            "\"owner\" = $1 AND (\"scope\" = $2 OR starts_with(\"scope\", "
            "$3)) AND CASE WHEN \"teams\" IS NULL THEN NULL ELSE $4 = "
            "ANY(\"teams\") END AND \"region\" IN ($5, $6) AND \"vip\" <> "
            "$7::boolean AND \"total\" > $8::bigint");
  EXPECT_EQ(pg->params.size(), 8u);
}

// ---- Validation
// ---------------------------------------------------------------

TEST(PlanSqlTest, RefusesTreesThatBreakTheContract) {
  struct Case {
    v1::PlanExpression tree;
    std::string message;
  };
  v1::PlanExpression empty;
  v1::PlanExpression no_value;
  no_value.mutable_literal();
  v1::PlanExpression unknown_op = Op(v1::OPERATOR_AND, {});
  unknown_op.mutable_operation()->set_operator_(
      static_cast<v1::PlanOperator>(42));
  auto has = [](const v1::PlanExpression& e) {
    return Op(v1::OPERATOR_HAS, {e});
  };
  v1::PlanExpression principal = Part("principal.id");
  v1::PlanExpression untyped = StrRef("owner");
  untyped.mutable_reference()->set_type(v1::VALUE_TYPE_UNSPECIFIED);
  v1::PlanExpression mismatch = StrRef("owner");
  mismatch.mutable_reference()->set_attribute("region");
  v1::PlanExpression deep = Op(v1::OPERATOR_HAS, {StrRef("owner")});
  for (int i = 0; i < kMaxPlanDepth + 1; ++i) {
    deep = Op(v1::OPERATOR_NOT, {deep});
  }
  std::vector<Case> cases = {
      {empty, "condition: empty node"},
      {Op(v1::OPERATOR_NOT, {empty}),
       "condition.operation.operands[0]: empty node"},
      {unknown_op, "condition: unknown operator 42"},
      {Op(v1::OPERATOR_UNSPECIFIED, {}), "condition: unknown operator 0"},
      {Op(v1::OPERATOR_AND, {has(StrRef("owner"))}),
       "condition: OPERATOR_AND takes 2 or more operands, not 1"},
      {Op(v1::OPERATOR_NOT, {}), "condition: OPERATOR_NOT takes 1 operands"},
      {Op(v1::OPERATOR_EQ, {StrRef("owner"), Int(1)}),
       "condition.operation.operands[1]: OPERATOR_EQ operand must be of the "
       "first operand's type (string), not int"},
      {Op(v1::OPERATOR_LT, {BoolRef("vip"), Bool(true)}),
       "OPERATOR_LT operand must be a string or int, not bool"},
      {Op(v1::OPERATOR_EQ, {SetRef("teams"), SetRef("teams")}),
       "must be a string, int or bool, not set<string>"},
      {Op(v1::OPERATOR_IN, {StrRef("owner"), StrRef("region")}),
       "a set<string> reference or a string list, not string"},
      {Op(v1::OPERATOR_IN,
          {Op(v1::OPERATOR_HAS, {StrRef("owner")}), List({"a"})}),
       "a string reference or literal, not bool"},
      {Op(v1::OPERATOR_HAS, {Str("x")}), "HAS operand must be a reference"},
      {Op(v1::OPERATOR_IN_SCOPE, {StrRef("owner"), Str("a")}),
       "the resource.scope reference"},
      {Op(v1::OPERATOR_IN_SCOPE, {Part("resource.scope"), Int(1)}),
       "must be a string literal"},
      {Op(v1::OPERATOR_AND, {has(StrRef("owner")), StrRef("owner")}),
       "operands[1]: OPERATOR_AND operand must be bool, not string"},
      {has(principal),
       "operands[0].reference: reference path \"principal.id\" is not "
       "resource.id, resource.scope or resource.<attribute>"},
      {has(Part("resource.")), "is not resource.id"},
      {has(untyped), "reference resource.owner has no declared type"},
      {has(mismatch), "disagrees with its attribute \"region\""},
      {Op(v1::OPERATOR_EQ, {StrRef("owner"), no_value}),
       "operands[1].literal: literal has no value"},
      {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str(std::string("a\0b", 3))}),
       "operands[1].literal: string holds a NUL byte"},
      {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("\xc3\x28")}),
       "string is not valid UTF-8"},
      {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("\xed\xa0\x80")}),
       "string is not valid UTF-8"},
      {Op(v1::OPERATOR_IN, {StrRef("owner"), List({"ok", "\xc0\xaf"})}),
       "operands[1].literal.string_list_value.values[1]: string is not "
       "valid UTF-8"},
      {StrRef("owner"), "condition: a condition must be bool, not string"},
      {deep, "nested deeper than 64 levels"},
  };
  for (const Case& c : cases) {
    for (SqlDialect dialect : {SqlDialect::kSqlite, SqlDialect::kPostgres}) {
      EXPECT_THAT(
          RenderSql(c.tree, dialect, Columns()),
          StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
          << c.tree.ShortDebugString();
      EXPECT_THAT(
          RenderParameterizedSql(c.tree, dialect, Columns()),
          StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    }
  }
}

TEST(PlanSqlTest, ParsesDialects) {
  EXPECT_EQ(*ParseSqlDialect("sqlite"), SqlDialect::kSqlite);
  EXPECT_EQ(*ParseSqlDialect("postgres"), SqlDialect::kPostgres);
  EXPECT_EQ(*ParseSqlDialect("postgresql"), SqlDialect::kPostgres);
  EXPECT_THAT(
      ParseSqlDialect("mysql"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"mysql\"")));
}

// ---- Three-valued agreement with a real SQLite
// --------------------------------

enum class Tri { kFalse, kTrue, kUnknown };

std::string TriName(Tri t) {
  return t == Tri::kTrue ? "TRUE" : t == Tri::kFalse ? "FALSE" : "UNKNOWN";
}

using Value =
    std::variant<std::string, int64_t, bool, std::vector<std::string>>;

// One resource: attributes absent from the map are missing (SQL NULL).
struct Row {
  std::string id;
  std::string scope;
  std::map<std::string, Value> attributes;
};

// A second reference, written from authorization.proto's contract
// independently of the renderer and of policy/: Kleene logic, unknown on a
// missing operand, has() never unknown, IN_SCOPE a byte prefix test.
class Reference {
 public:
  explicit Reference(const Row& row) : row_(row) {}

  Tri Eval(const v1::PlanExpression& e) const {
    if (e.has_literal())
      return e.literal().bool_value() ? Tri::kTrue : Tri::kFalse;
    if (e.has_reference()) {
      std::optional<Value> v = Get(e.reference());
      if (!v) return Tri::kUnknown;
      return std::get<bool>(*v) ? Tri::kTrue : Tri::kFalse;
    }
    const auto& op = e.operation();
    switch (op.operator_()) {
      case v1::OPERATOR_AND: {
        Tri out = Tri::kTrue;
        for (const auto& x : op.operands()) {
          Tri t = Eval(x);
          if (t == Tri::kFalse) return Tri::kFalse;
          if (t == Tri::kUnknown) out = Tri::kUnknown;
        }
        return out;
      }
      case v1::OPERATOR_OR: {
        Tri out = Tri::kFalse;
        for (const auto& x : op.operands()) {
          Tri t = Eval(x);
          if (t == Tri::kTrue) return Tri::kTrue;
          if (t == Tri::kUnknown) out = Tri::kUnknown;
        }
        return out;
      }
      case v1::OPERATOR_NOT: {
        Tri t = Eval(op.operands(0));
        if (t == Tri::kUnknown) return t;
        return t == Tri::kTrue ? Tri::kFalse : Tri::kTrue;
      }
      case v1::OPERATOR_HAS:
        return Get(op.operands(0).reference()) ? Tri::kTrue : Tri::kFalse;
      case v1::OPERATOR_IN_SCOPE: {
        const std::string& s = op.operands(1).literal().string_value();
        return s.empty() || row_.scope == s || row_.scope.rfind(s + "/", 0) == 0
                   ? Tri::kTrue
                   : Tri::kFalse;
      }
      case v1::OPERATOR_IN: {
        std::optional<Value> x = Operand(op.operands(0));
        std::optional<Value> set = Operand(op.operands(1));
        if (!x || !set) return Tri::kUnknown;
        for (const std::string& s : std::get<std::vector<std::string>>(*set)) {
          if (s == std::get<std::string>(*x)) return Tri::kTrue;
        }
        return Tri::kFalse;
      }
      default:
        break;
    }
    // Comparisons: operands are values, or boolean operations.
    std::optional<Value> a = Operand(op.operands(0));
    std::optional<Value> b = Operand(op.operands(1));
    if (!a || !b) return Tri::kUnknown;
    bool result = false;
    switch (op.operator_()) {
      case v1::OPERATOR_EQ:
        result = *a == *b;
        break;
      case v1::OPERATOR_NE:
        result = *a != *b;
        break;
      case v1::OPERATOR_LT:
        result = *a < *b;  // std::string compares bytewise (char_traits)
        break;
      case v1::OPERATOR_LE:
        result = *a <= *b;
        break;
      case v1::OPERATOR_GT:
        result = *a > *b;
        break;
      default:
        result = *a >= *b;
        break;
    }
    return result ? Tri::kTrue : Tri::kFalse;
  }

 private:
  std::optional<Value> Get(const v1::PlanReference& r) const {
    if (r.path() == "resource.id") return Value(row_.id);
    if (r.path() == "resource.scope") return Value(row_.scope);
    auto it = row_.attributes.find(r.attribute());
    if (it == row_.attributes.end()) return std::nullopt;
    return it->second;
  }

  std::optional<Value> Operand(const v1::PlanExpression& e) const {
    if (e.has_reference()) return Get(e.reference());
    if (e.has_literal()) {
      const auto& l = e.literal();
      switch (l.value_case()) {
        case v1::PlanLiteral::kStringValue:
          return Value(l.string_value());
        case v1::PlanLiteral::kIntValue:
          return Value(l.int_value());
        case v1::PlanLiteral::kBoolValue:
          return Value(l.bool_value());
        default:
          return Value(
              std::vector<std::string>(l.string_list_value().values().begin(),
                                       l.string_list_value().values().end()));
      }
    }
    Tri t = Eval(e);
    if (t == Tri::kUnknown) return std::nullopt;
    return Value(t == Tri::kTrue);
  }

  const Row& row_;
};

// The wire tree as the policy's PlanExpr, to ask policy::EvaluatePlanExpr.
policy::PlanExpr ToPolicy(const v1::PlanExpression& e) {
  if (e.has_reference()) {
    const v1::PlanReference& r = e.reference();
    policy::PlanReference ref;
    if (r.path() == "resource.id") {
      ref.target = policy::PlanReference::Target::kResourceId;
    } else if (r.path() == "resource.scope") {
      ref.target = policy::PlanReference::Target::kResourceScope;
    } else {
      ref.attribute = r.attribute();
    }
    switch (r.type()) {
      case v1::VALUE_TYPE_INT:
        ref.type = policy::ValueType::kInt;
        break;
      case v1::VALUE_TYPE_BOOL:
        ref.type = policy::ValueType::kBool;
        break;
      case v1::VALUE_TYPE_STRING_SET:
        ref.type = policy::ValueType::kStringSet;
        break;
      default:
        ref.type = policy::ValueType::kString;
        break;
    }
    return policy::PlanExpr::Reference(ref);
  }
  if (e.has_literal()) {
    const v1::PlanLiteral& l = e.literal();
    switch (l.value_case()) {
      case v1::PlanLiteral::kStringValue:
        return policy::PlanExpr::Literal(
            policy::OwnedValue::String(l.string_value()));
      case v1::PlanLiteral::kIntValue:
        return policy::PlanExpr::Literal(
            policy::OwnedValue::Int(l.int_value()));
      case v1::PlanLiteral::kBoolValue:
        return policy::PlanExpr::Literal(
            policy::OwnedValue::Bool(l.bool_value()));
      default:
        return policy::PlanExpr::Literal(policy::OwnedValue::StringSet(
            {l.string_list_value().values().begin(),
             l.string_list_value().values().end()}));
    }
  }
  static const auto* const kOperators =
      new std::map<v1::PlanOperator, policy::PlanOperator>{
          {v1::OPERATOR_AND, policy::PlanOperator::kAnd},
          {v1::OPERATOR_OR, policy::PlanOperator::kOr},
          {v1::OPERATOR_NOT, policy::PlanOperator::kNot},
          {v1::OPERATOR_EQ, policy::PlanOperator::kEq},
          {v1::OPERATOR_NE, policy::PlanOperator::kNe},
          {v1::OPERATOR_LT, policy::PlanOperator::kLt},
          {v1::OPERATOR_LE, policy::PlanOperator::kLe},
          {v1::OPERATOR_GT, policy::PlanOperator::kGt},
          {v1::OPERATOR_GE, policy::PlanOperator::kGe},
          {v1::OPERATOR_IN, policy::PlanOperator::kIn},
          {v1::OPERATOR_HAS, policy::PlanOperator::kHas},
          {v1::OPERATOR_IN_SCOPE, policy::PlanOperator::kInScope}};
  std::vector<policy::PlanExpr> operands;
  for (const auto& operand : e.operation().operands()) {
    operands.push_back(ToPolicy(operand));
  }
  return policy::PlanExpr::Operation(kOperators->at(e.operation().operator_()),
                                     std::move(operands));
}

Tri PolicyEval(const policy::PlanExpr& condition, const Row& row) {
  std::vector<std::vector<absl::string_view>> sets;
  sets.reserve(row.attributes.size());
  std::vector<policy::NamedValue> attributes;
  for (const auto& [name, value] : row.attributes) {
    policy::Value v;
    if (const auto* s = std::get_if<std::string>(&value)) {
      v = policy::Value::String(*s);
    } else if (const auto* n = std::get_if<int64_t>(&value)) {
      v = policy::Value::Int(*n);
    } else if (const auto* b = std::get_if<bool>(&value)) {
      v = policy::Value::Bool(*b);
    } else {
      sets.emplace_back();
      for (const std::string& e : std::get<std::vector<std::string>>(value)) {
        sets.back().push_back(e);
      }
      v = policy::Value::StringSet(sets.back());
    }
    attributes.push_back({name, v});
  }
  switch (policy::EvaluatePlanExpr(condition, row.id, row.scope, attributes)) {
    case policy::TriBool::kTrue:
      return Tri::kTrue;
    case policy::TriBool::kFalse:
      return Tri::kFalse;
    default:
      return Tri::kUnknown;
  }
}

// Strings chosen to break naive renderings: quotes, LIKE wildcards,
// backslashes, multi-byte characters (ordering by bytes, substr by
// characters), scope prefixes that are not path prefixes.
const std::vector<std::string> kStrings = {
    "",          "a",        "b",        "a'b",        "%",       "_",
    "a\\",       "Zoë",      "Zoe",      "日本",       "acme",    "acme/eu",
    "acme/eu/x", "acme/eux", "acme/eu%", "acme/eu%/y", "\xc3\xa9"};
// 9 and 10 order differently as text, as would a parameter whose type the
// engine guessed wrong.
const std::vector<int64_t> kInts = {
    std::numeric_limits<int64_t>::min(), -1, 0, 9, 10,
    std::numeric_limits<int64_t>::max()};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  const std::string& AnyString() { return kStrings[Pick(kStrings.size())]; }
  std::vector<std::string> AnyList() {
    std::vector<std::string> out;
    int n = Pick(4);
    for (int i = 0; i < n; ++i) out.push_back(AnyString());
    return out;
  }

  Row AnyRow(int i) {
    Row row;
    row.id = absl::StrCat("r", i);
    row.scope = AnyString();
    // Each attribute is missing one time in three.
    if (Pick(3)) row.attributes["owner"] = AnyString();
    if (Pick(3)) row.attributes["region"] = AnyString();
    if (Pick(3)) row.attributes["total"] = kInts[Pick(kInts.size())];
    if (Pick(3)) row.attributes["vip"] = Pick(2) == 1;
    if (Pick(3)) row.attributes["teams"] = AnyList();
    return row;
  }

  v1::PlanExpression AnyString_() {
    switch (Pick(4)) {
      case 0:
        return StrRef("owner");
      case 1:
        return StrRef("region");
      case 2:
        return Part(Pick(2) ? "resource.id" : "resource.scope");
      default:
        return Str(AnyString());
    }
  }
  v1::PlanExpression AnyInt() {
    return Pick(2) ? IntRef("total") : Int(kInts[Pick(kInts.size())]);
  }

  v1::PlanExpression AnyBool(int depth) {
    const int choice = depth <= 0 ? 3 + Pick(8) : Pick(11);
    switch (choice) {
      case 0:
      case 1: {
        std::vector<v1::PlanExpression> operands;
        int n = 2 + Pick(2);
        for (int i = 0; i < n; ++i) operands.push_back(AnyBool(depth - 1));
        return Op(choice == 0 ? v1::OPERATOR_AND : v1::OPERATOR_OR, operands);
      }
      case 2:
        return Op(v1::OPERATOR_NOT, {AnyBool(depth - 1)});
      case 3: {
        const v1::PlanOperator op =
            static_cast<v1::PlanOperator>(v1::OPERATOR_EQ + Pick(6));
        if (Pick(2)) return Op(op, {AnyString_(), AnyString_()});
        return Op(op, {AnyInt(), AnyInt()});
      }
      case 4: {
        // Booleans compare only for (in)equality; operations included.
        const v1::PlanOperator op = Pick(2) ? v1::OPERATOR_EQ : v1::OPERATOR_NE;
        auto side = [&] {
          if (depth > 0 && Pick(2)) return AnyBool(depth - 1);
          return Pick(2) ? BoolRef("vip") : Bool(Pick(2) == 1);
        };
        return Op(op, {side(), side()});
      }
      case 5:
        return Op(v1::OPERATOR_IN, {AnyString_(), List(AnyList())});
      case 6:
        return Op(v1::OPERATOR_IN, {AnyString_(), SetRef("teams")});
      case 7: {
        const char* attrs[] = {"owner", "region", "total", "vip", "teams"};
        const v1::ValueType types[] = {
            v1::VALUE_TYPE_STRING, v1::VALUE_TYPE_STRING, v1::VALUE_TYPE_INT,
            v1::VALUE_TYPE_BOOL, v1::VALUE_TYPE_STRING_SET};
        int i = Pick(5);
        return Op(v1::OPERATOR_HAS, {Ref(attrs[i], types[i])});
      }
      case 8:
        return Op(v1::OPERATOR_IN_SCOPE,
                  {Part("resource.scope"), Str(AnyString())});
      case 9:
        return Op(v1::OPERATOR_EQ, {BoolRef("vip"), Bool(Pick(2) == 1)});
      default:
        return Op(v1::OPERATOR_NOT, {Op(v1::OPERATOR_HAS, {StrRef("owner")})});
    }
  }

 private:
  std::mt19937 rng_;
};

// An in-memory SQLite database holding rows in the documented layout.
class Database {
 public:
  Database() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec(
        "CREATE TABLE t (id TEXT PRIMARY KEY, scope TEXT NOT NULL, owner TEXT, "
        "region TEXT, total INTEGER, vip INTEGER, teams TEXT)");
  }
  ~Database() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error),
              SQLITE_OK)
        << (error ? error : "") << "\n"
        << sql;
  }

  void Insert(const Row& row) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db_, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &stmt, nullptr),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, row.id.data(), row.id.size(), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, row.scope.data(), row.scope.size(),
                      SQLITE_TRANSIENT);
    int i = 3;
    for (const char* name : {"owner", "region", "total", "vip", "teams"}) {
      auto it = row.attributes.find(name);
      if (it == row.attributes.end()) {
        sqlite3_bind_null(stmt, i);
      } else if (const auto* s = std::get_if<std::string>(&it->second)) {
        sqlite3_bind_text(stmt, i, s->data(), s->size(), SQLITE_TRANSIENT);
      } else if (const auto* n = std::get_if<int64_t>(&it->second)) {
        sqlite3_bind_int64(stmt, i, *n);
      } else if (const auto* b = std::get_if<bool>(&it->second)) {
        sqlite3_bind_int64(stmt, i, *b ? 1 : 0);
      } else {
        std::string json = "[";
        for (const std::string& s :
             std::get<std::vector<std::string>>(it->second)) {
          if (json.size() > 1) json += ",";
          json += "\"" + absl::StrReplaceAll(s, {{"\\", "\\\\"}}) + "\"";
        }
        json += "]";
        sqlite3_bind_text(stmt, i, json.data(), json.size(), SQLITE_TRANSIENT);
      }
      ++i;
    }
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
  }

  // id -> the expression's three-valued result on that row.
  std::map<std::string, Tri> Evaluate(const ParameterizedSql& where) {
    std::map<std::string, Tri> out;
    const std::string sql =
        absl::StrCat("SELECT id, CASE WHEN (", where.sql, ") THEN 1 WHEN NOT (",
                     where.sql, ") THEN 0 END FROM t");
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << "\n" << sql;
      return out;
    }
    // The expression appears twice: bind its parameters twice.
    const int n = where.params.size();
    for (int copy = 0; copy < 2; ++copy) {
      for (int i = 0; i < n; ++i) {
        const SqlParameter& p = where.params[i];
        const int index = copy * n + i + 1;
        switch (p.type) {
          case SqlParameter::Type::kText:
            sqlite3_bind_text(stmt, index, p.text.data(), p.text.size(),
                              SQLITE_TRANSIENT);
            break;
          case SqlParameter::Type::kInteger:
            sqlite3_bind_int64(stmt, index, p.integer);
            break;
          case SqlParameter::Type::kBoolean:
            sqlite3_bind_int64(stmt, index, p.boolean ? 1 : 0);
            break;
        }
      }
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const std::string id =
          reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out[id] = sqlite3_column_type(stmt, 1) == SQLITE_NULL ? Tri::kUnknown
                : sqlite3_column_int(stmt, 1) == 1          ? Tri::kTrue
                                                            : Tri::kFalse;
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_) << "\n" << sql;
    sqlite3_finalize(stmt);
    return out;
  }

  // The ids `WHERE <sql>` selects: exactly the TRUE rows.
  std::vector<std::string> Select(const std::string& where) {
    std::vector<std::string> out;
    const std::string sql =
        absl::StrCat("SELECT id FROM t WHERE ", where, " ORDER BY id");
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << "\n" << sql;
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      out.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

ColumnMap TableColumns() {
  ColumnMap columns;
  columns.id_column = "id";
  columns.scope_column = "scope";
  for (const char* name : {"owner", "region", "total", "vip", "teams"}) {
    columns.attributes[name] = name;
  }
  return columns;
}

// Evaluates `count` random trees on `rows` (already loaded into `db`) and
// checks each row's three-valued answer, inline and parameterized, and the
// ids `WHERE` selects, against the reference. `Db` is Database or
// PostgresDatabase.
template <typename Db>
void CheckRandomTrees(Generator& gen, Db& db, const std::vector<Row>& rows,
                      SqlDialect dialect, int count) {
  const ColumnMap columns = TableColumns();
  int seen[3] = {0, 0, 0};
  for (int tree_index = 0; tree_index < count; ++tree_index) {
    const v1::PlanExpression tree = gen.AnyBool(3);
    const policy::PlanExpr policy_tree = ToPolicy(tree);
    absl::StatusOr<std::string> inline_sql = RenderSql(tree, dialect, columns);
    absl::StatusOr<ParameterizedSql> params =
        RenderParameterizedSql(tree, dialect, columns);
    ASSERT_THAT(inline_sql, IsOk()) << tree.ShortDebugString();
    ASSERT_THAT(params, IsOk());
    ParameterizedSql inline_form{*inline_sql, {}};
    std::map<std::string, Tri> by_inline = db.Evaluate(inline_form);
    std::map<std::string, Tri> by_params = db.Evaluate(*params);
    std::vector<std::string> expected_ids;
    for (const Row& row : rows) {
      const Tri expected = Reference(row).Eval(tree);
      ASSERT_EQ(TriName(PolicyEval(policy_tree, row)), TriName(expected))
          << "policy::EvaluatePlanExpr and the reference disagree on row "
          << row.id << " tree " << *FormatPlanCondition(tree);
      ++seen[static_cast<int>(expected)];
      if (expected == Tri::kTrue) expected_ids.push_back(row.id);
      ASSERT_EQ(TriName(by_inline[row.id]), TriName(expected))
          << "row " << row.id << " tree " << *FormatPlanCondition(tree)
          << "\nsql: " << *inline_sql;
      ASSERT_EQ(TriName(by_params[row.id]), TriName(expected))
          << "row " << row.id << "\nsql: " << params->sql;
    }
    std::sort(expected_ids.begin(), expected_ids.end());
    std::vector<std::string> selected = db.Select(*inline_sql);
    std::sort(selected.begin(), selected.end());
    ASSERT_EQ(selected, expected_ids) << *inline_sql;
  }
  // The property is only as good as its mix: all three answers occur.
  EXPECT_GT(seen[0], count * 2);
  EXPECT_GT(seen[1], count * 2);
  EXPECT_GT(seen[2], count * 2);
}

TEST(PlanSqlSqliteTest, RandomTreesAgreeWithKleeneRowByRow) {
  Generator gen(20261207);
  Database db;
  std::vector<Row> rows;
  for (int i = 0; i < 200; ++i) {
    rows.push_back(gen.AnyRow(i));
    db.Insert(rows.back());
  }
  CheckRandomTrees(gen, db, rows, SqlDialect::kSqlite, 400);
}

// A deny rule arrives as NOT(...): under a missing attribute the deny's
// condition is unknown, NOT keeps it unknown, and the row is not selected.
TEST(PlanSqlSqliteTest, UnknownDenyConditionExcludesTheRow) {
  Database db;
  db.Insert(
      Row{"known-locked", "s", {{"owner", std::string("u1")}, {"vip", true}}});
  db.Insert(
      Row{"known-open", "s", {{"owner", std::string("u1")}, {"vip", false}}});
  db.Insert(Row{"unknown", "s", {{"owner", std::string("u1")}}});
  auto tree = Op(v1::OPERATOR_AND,
                 {Op(v1::OPERATOR_EQ, {StrRef("owner"), Str("u1")}),
                  Op(v1::OPERATOR_NOT,
                     {Op(v1::OPERATOR_EQ, {BoolRef("vip"), Bool(true)})})});
  EXPECT_THAT(db.Select(*RenderSql(tree, SqlDialect::kSqlite, TableColumns())),
              ElementsAre("known-open"));
}

// Table columns named like json_each's own (value, type, key) still mean
// the table's columns: the element by staying outside the subquery, the set
// by being qualified.
TEST(PlanSqlSqliteTest, SetMembershipIsNotCapturedByJsonEachColumns) {
  ColumnMap columns;
  columns.attributes = {{"owner", "value"}, {"teams", "Type"}};
  auto in = Op(v1::OPERATOR_IN, {StrRef("owner"), SetRef("teams")});
  // Inside json_each(...) an unqualified "type" would mean json_each's.
  EXPECT_THAT(RenderSql(in, SqlDialect::kSqlite, columns),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("operands[1].reference: the set column "
                                 "\"Type\" of resource.teams is shadowed")));
  EXPECT_THAT(RenderSql(in, SqlDialect::kPostgres, columns), IsOk());
  columns.attributes["teams"] = "t.type";
  absl::StatusOr<std::string> sql = RenderSql(in, SqlDialect::kSqlite, columns);
  ASSERT_THAT(sql, IsOk());
  Database other;
  other.Exec("DROP TABLE t");
  other.Exec("CREATE TABLE t (id TEXT, value TEXT, type TEXT)");
  other.Exec(R"(INSERT INTO t VALUES ('in', 'a', '["a","b"]'),
             ('out', 'c', '["a","b"]'), ('null-set', 'a', NULL),
             ('null-elem', NULL, '["a"]'), ('empty', NULL, '[]'))");
  EXPECT_THAT(other.Select(*sql), ElementsAre("in"));
  std::map<std::string, Tri> tri = other.Evaluate({*sql, {}});
  EXPECT_EQ(tri["out"], Tri::kFalse);
  EXPECT_EQ(tri["null-set"], Tri::kUnknown);
  EXPECT_EQ(tri["null-elem"], Tri::kUnknown);
  // An empty set with an unknown element is unknown, not FALSE.
  EXPECT_EQ(tri["empty"], Tri::kUnknown);
}

TEST(PlanSqlSqliteTest, Int64MinimumStaysAnInteger) {
  Database db;
  db.Insert(Row{"min", "s", {{"total", std::numeric_limits<int64_t>::min()}}});
  db.Insert(
      Row{"next", "s", {{"total", std::numeric_limits<int64_t>::min() + 1}}});
  auto eq = Op(v1::OPERATOR_EQ,
               {IntRef("total"), Int(std::numeric_limits<int64_t>::min())});
  EXPECT_THAT(db.Select(*RenderSql(eq, SqlDialect::kSqlite, TableColumns())),
              ElementsAre("min"));
}

// ---- The same property on a real PostgreSQL
// -------------------------------------

// A temporary table in a PostgreSQL database, in the documented layout:
// text, bigint, boolean and text[] columns. The text columns use an ICU
// collation under which 'a' < 'B', so a rendering that forgot COLLATE "C"
// would order strings differently from the policy.
class PostgresDatabase {
 public:
  explicit PostgresDatabase(const std::string& url)
      : conn_(PQconnectdb(url.c_str())) {}
  ~PostgresDatabase() { PQfinish(conn_); }

  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn_); }

  void Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK)
        << PQresultErrorMessage(r) << sql;
    PQclear(r);
  }

  void CreateTable() {
    Exec("SET client_encoding = 'UTF8'");
    Exec(
        "CREATE TEMP TABLE t (id text PRIMARY KEY, scope text COLLATE "
        "\"und-x-icu\" NOT NULL, owner text COLLATE \"und-x-icu\", region "
        "text COLLATE \"und-x-icu\", total bigint, vip boolean, teams text[])");
  }

  void Insert(const Row& row) {
    std::vector<std::optional<std::string>> values = {row.id, row.scope};
    for (const char* name : {"owner", "region", "total", "vip", "teams"}) {
      auto it = row.attributes.find(name);
      if (it == row.attributes.end()) {
        values.push_back(std::nullopt);
      } else if (const auto* s = std::get_if<std::string>(&it->second)) {
        values.push_back(*s);
      } else if (const auto* n = std::get_if<int64_t>(&it->second)) {
        values.push_back(absl::StrCat(*n));
      } else if (const auto* b = std::get_if<bool>(&it->second)) {
        values.push_back(*b ? "true" : "false");
      } else {
        std::vector<std::string> items;
        for (const std::string& s :
             std::get<std::vector<std::string>>(it->second)) {
          items.push_back(absl::StrCat(
              "\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}}),
              "\""));
        }
        values.push_back(absl::StrCat("{", absl::StrJoin(items, ","), "}"));
      }
    }
    Run("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", values,
        PGRES_COMMAND_OK);
  }

  std::map<std::string, Tri> Evaluate(const ParameterizedSql& where) {
    std::vector<std::optional<std::string>> values;
    for (const SqlParameter& p : where.params) {
      switch (p.type) {
        case SqlParameter::Type::kText:
          values.push_back(p.text);
          break;
        case SqlParameter::Type::kInteger:
          values.push_back(absl::StrCat(p.integer));
          break;
        case SqlParameter::Type::kBoolean:
          values.push_back(p.boolean ? "true" : "false");
          break;
      }
    }
    // $n may appear twice in one statement: the parameters bind once.
    PGresult* r = Run(
        absl::StrCat("SELECT id, CASE WHEN (", where.sql, ") THEN 1 WHEN NOT (",
                     where.sql, ") THEN 0 END FROM t"),
        values, PGRES_TUPLES_OK);
    std::map<std::string, Tri> out;
    for (int i = 0; r != nullptr && i < PQntuples(r); ++i) {
      out[PQgetvalue(r, i, 0)] = PQgetisnull(r, i, 1) ? Tri::kUnknown
                                 : std::string(PQgetvalue(r, i, 1)) == "1"
                                     ? Tri::kTrue
                                     : Tri::kFalse;
    }
    PQclear(r);
    return out;
  }

  std::vector<std::string> Select(const std::string& where) {
    PGresult* r = Run(absl::StrCat("SELECT id FROM t WHERE ", where), {},
                      PGRES_TUPLES_OK);
    std::vector<std::string> out;
    for (int i = 0; r != nullptr && i < PQntuples(r); ++i) {
      out.emplace_back(PQgetvalue(r, i, 0));
    }
    PQclear(r);
    return out;
  }

 private:
  // Runs `sql` with text parameters; null on failure (a test failure).
  PGresult* Run(const std::string& sql,
                const std::vector<std::optional<std::string>>& values,
                ExecStatusType expected) {
    std::vector<const char*> pointers;
    for (const auto& v : values) pointers.push_back(v ? v->c_str() : nullptr);
    PGresult* r = PQexecParams(conn_, sql.c_str(), pointers.size(), nullptr,
                               pointers.data(), nullptr, nullptr, 0);
    if (PQresultStatus(r) != expected) {
      ADD_FAILURE() << PQresultErrorMessage(r) << sql;
      PQclear(r);
      return nullptr;
    }
    return r;
  }

  PGconn* conn_;
};

// A fresh database of the process's throwaway cluster
// (tests/testing/postgres_cluster.h); "" after a failure, which it reports.
std::string PostgresUrl() {
  absl::StatusOr<testing::PostgresCluster*> cluster =
      testing::PostgresCluster::Shared();
  if (!cluster.ok()) {
    ADD_FAILURE() << cluster.status();
    return "";
  }
  absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
  if (!url.ok()) {
    ADD_FAILURE() << url.status();
    return "";
  }
  return *url;
}

TEST(PlanSqlPostgresTest, RandomTreesAgreeWithKleeneRowByRow) {
  const std::string url = PostgresUrl();
  ASSERT_FALSE(url.empty());
  PostgresDatabase db(url);
  ASSERT_TRUE(db.ok()) << db.error();
  db.CreateTable();
  Generator gen(20261207);
  std::vector<Row> rows;
  for (int i = 0; i < 200; ++i) {
    rows.push_back(gen.AnyRow(i));
    db.Insert(rows.back());
  }
  CheckRandomTrees(gen, db, rows, SqlDialect::kPostgres, 400);
}

// Two integer parameters compare as numbers, not as the text PostgreSQL
// assumes for untyped ones.
TEST(PlanSqlPostgresTest, IntegerParametersCompareAsNumbers) {
  const std::string url = PostgresUrl();
  ASSERT_FALSE(url.empty());
  PostgresDatabase db(url);
  ASSERT_TRUE(db.ok()) << db.error();
  db.CreateTable();
  db.Insert(Row{"r", "s", {}});
  absl::StatusOr<ParameterizedSql> sql =
      RenderParameterizedSql(Op(v1::OPERATOR_LT, {Int(9), Int(10)}),
                             SqlDialect::kPostgres, TableColumns());
  ASSERT_THAT(sql, IsOk());
  EXPECT_EQ(db.Evaluate(*sql)["r"], Tri::kTrue) << sql->sql;
}

TEST(PlanSqlPostgresTest, UnknownAndEmptySetsStayUnknown) {
  const std::string url = PostgresUrl();
  ASSERT_FALSE(url.empty());
  PostgresDatabase db(url);
  ASSERT_TRUE(db.ok()) << db.error();
  db.CreateTable();
  db.Insert(Row{"in",
                "s",
                {{"owner", std::string("a")},
                 {"teams", std::vector<std::string>{"a", "b"}}}});
  db.Insert(Row{
      "out",
      "s",
      {{"owner", std::string("c")}, {"teams", std::vector<std::string>{"a"}}}});
  db.Insert(Row{"null-set", "s", {{"owner", std::string("a")}}});
  db.Insert(Row{"empty", "s", {{"teams", std::vector<std::string>{}}}});
  auto in = Op(v1::OPERATOR_IN, {StrRef("owner"), SetRef("teams")});
  absl::StatusOr<std::string> sql =
      RenderSql(in, SqlDialect::kPostgres, TableColumns());
  ASSERT_THAT(sql, IsOk());
  std::map<std::string, Tri> tri = db.Evaluate({*sql, {}});
  EXPECT_EQ(tri["in"], Tri::kTrue);
  EXPECT_EQ(tri["out"], Tri::kFalse);
  EXPECT_EQ(tri["null-set"], Tri::kUnknown);
  // `NULL = ANY('{}')` is FALSE in PostgreSQL; the policy says unknown.
  EXPECT_EQ(tri["empty"], Tri::kUnknown);
}

}  // namespace
}  // namespace steward::client
