// Benchmarks of steward_plan_sql (client/plan_sql.h): rendering a query
// plan as a WHERE expression, which an application does once per list
// request next to the PlanResources call (target: small next to the
// planner's 20 us per plan, i.e. <= 5 us for a typical plan).
// - BM_RenderTypical/dialect/parameterized: an account manager's plan,
//   `in_scope(scope, S) AND (owner = "u" OR region = "r")`.
// - BM_RenderScoped/N/dialect: N scoped bindings, an OR of N in_scope
//   terms AND the owner test (N = 10, 200: the planner's own worst case in
//   bench/policy_benchmark.cc).
// Run: plan_sql_benchmark --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/plan_sql.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

v1::PlanExpression Ref(const std::string& path, const std::string& attribute) {
  v1::PlanExpression e;
  e.mutable_reference()->set_path(path);
  e.mutable_reference()->set_attribute(attribute);
  e.mutable_reference()->set_type(v1::VALUE_TYPE_STRING);
  return e;
}
v1::PlanExpression Str(const std::string& value) {
  v1::PlanExpression e;
  e.mutable_literal()->set_string_value(value);
  return e;
}
v1::PlanExpression Op(v1::PlanOperator op,
                      const std::vector<v1::PlanExpression>& operands) {
  v1::PlanExpression e;
  e.mutable_operation()->set_operator_(op);
  for (const auto& o : operands) *e.mutable_operation()->add_operands() = o;
  return e;
}

v1::PlanExpression InScope(const std::string& scope) {
  return Op(v1::OPERATOR_IN_SCOPE, {Ref("resource.scope", ""), Str(scope)});
}

ColumnMap Columns() {
  ColumnMap columns;
  columns.scope_column = "scope";
  columns.attributes = {{"owner", "owner_id"}, {"region", "region"}};
  return columns;
}

void Render(benchmark::State& state, const v1::PlanExpression& tree,
            SqlDialect dialect, bool parameterized) {
  const ColumnMap columns = Columns();
  size_t bytes = 0;
  for (auto _ : state) {
    if (parameterized) {
      absl::StatusOr<ParameterizedSql> sql =
          RenderParameterizedSql(tree, dialect, columns);
      if (!sql.ok()) state.SkipWithError("render failed");
      bytes = sql->sql.size();
      benchmark::DoNotOptimize(sql);
    } else {
      absl::StatusOr<std::string> sql = RenderSql(tree, dialect, columns);
      if (!sql.ok()) state.SkipWithError("render failed");
      bytes = sql->size();
      benchmark::DoNotOptimize(sql);
    }
  }
  state.counters["sql_bytes"] = bytes;
}

void BM_RenderTypical(benchmark::State& state) {
  const v1::PlanExpression tree = Op(
      v1::OPERATOR_AND,
      {InScope("acme/eu"),
       Op(v1::OPERATOR_OR,
          {Op(v1::OPERATOR_EQ, {Ref("resource.owner", "owner"), Str("u0042")}),
           Op(v1::OPERATOR_EQ,
              {Ref("resource.region", "region"), Str("emea")})})});
  Render(state, tree,
         state.range(0) == 0 ? SqlDialect::kSqlite : SqlDialect::kPostgres,
         state.range(1) != 0);
}
BENCHMARK(BM_RenderTypical)
    ->ArgNames({"postgres", "parameterized"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1});

void BM_RenderScoped(benchmark::State& state) {
  std::vector<v1::PlanExpression> scopes;
  for (int i = 0; i < state.range(0); ++i) {
    scopes.push_back(InScope(absl::StrCat("tenant-", i, "/eu")));
  }
  const v1::PlanExpression tree =
      Op(v1::OPERATOR_AND,
         {Op(v1::OPERATOR_OR, scopes),
          Op(v1::OPERATOR_EQ, {Ref("resource.owner", "owner"), Str("u7")})});
  Render(state, tree,
         state.range(1) == 0 ? SqlDialect::kSqlite : SqlDialect::kPostgres,
         false);
}
BENCHMARK(BM_RenderScoped)
    ->ArgNames({"bindings", "postgres"})
    ->Args({10, 0})
    ->Args({10, 1})
    ->Args({200, 0})
    ->Args({200, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace steward::client

BENCHMARK_MAIN();
