// `stewardctl plan`: asks AuthorizationService.PlanResources which
// resources of one kind a principal may act on, and prints the plan (its
// condition as readable text, one line per requested field) or, with
// `--sql`, the condition as a SQL WHERE expression (client/plan_sql.h).
// `--plan-file` renders a plan saved with `-o json` instead of asking a
// server, so CI scripts can turn plans into SQL offline. Exit 0 whatever
// the plan says (an ALWAYS_DENIED plan is an answer); 1 on failures, 2 on
// usage errors.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/arguments.h"
#include "client/command.h"
#include "client/output.h"
#include "client/plan_sql.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "steward/v1/authorization.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

// A saved plan is a few kilobytes; anything this large is not one.
constexpr size_t kMaxPlanFileBytes = 16 << 20;

struct PlanOptions {
  std::string principal;
  std::string action;
  std::string kind;
  std::string scope;
  // Set by CLI11: whether --scope was given, "" included (a known, empty
  // scope), as opposed to absent (the scope unknown: scoped bindings
  // become IN_SCOPE conditions).
  const CLI::Option* scope_option = nullptr;
  std::vector<std::string> context;
  std::vector<std::string> fields;
  std::string purpose;
  std::string justification;
  std::string request_id;
  bool explain = false;
  std::string plan_file;
  std::string sql;
  std::vector<std::string> columns;
  std::string id_column;
  std::string scope_column;
  bool null_unmapped = false;
};

absl::StatusOr<v1::PlanResourcesResponse> ReadPlanFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPlanFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", kMaxPlanFileBytes,
                       " bytes; not a saved plan"));
    }
  }
  v1::PlanResourcesResponse plan;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(text, &plan, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": not a PlanResourcesResponse in JSON (as `stewardctl -o json "
        "plan` prints): ",
        absl::string_view(parsed.message().data(), parsed.message().size())));
  }
  return plan;
}

bool ScopeGiven(const PlanOptions& o) {
  return o.scope_option != nullptr && o.scope_option->count() > 0;
}

// The arguments that ask the server a question; meaningless with a file.
bool AsksServer(const PlanOptions& o) {
  return ScopeGiven(o) || !o.context.empty() || !o.fields.empty() ||
         !o.purpose.empty() || !o.justification.empty() ||
         !o.request_id.empty() || o.explain;
}

absl::StatusOr<ColumnMap> ParseColumns(const PlanOptions& options) {
  ColumnMap columns;
  columns.id_column = options.id_column;
  columns.scope_column = options.scope_column;
  columns.unmapped_attributes_are_null = options.null_unmapped;
  for (const std::string& argument : options.columns) {
    const size_t eq = argument.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == argument.size()) {
      return UsageError(
          absl::StrCat("--column \"", argument, "\" is not ATTRIBUTE=COLUMN"));
    }
    std::string attribute = argument.substr(0, eq);
    if (!columns.attributes.emplace(attribute, argument.substr(eq + 1))
             .second) {
      return UsageError(
          absl::StrCat("--column maps attribute \"", attribute, "\" twice"));
    }
  }
  return columns;
}

std::string KindText(v1::PlanKind kind, const v1::PlanExpression* condition,
                     absl::Status* error) {
  if (kind != v1::CONDITIONAL) {
    // UNSPECIFIED and unknown kinds mean ALWAYS_DENIED (authorization.proto).
    return kind == v1::ALWAYS_ALLOWED ? "ALWAYS_ALLOWED" : "ALWAYS_DENIED";
  }
  absl::StatusOr<std::string> text = FormatPlanCondition(*condition);
  if (!text.ok()) {
    *error = text.status();
    return "";
  }
  return *text;
}

absl::Status PrintPlan(const CommandContext& context,
                       const v1::PlanResourcesResponse& plan, bool explain) {
  if (context.output == OutputFormat::kJson) return PrintJson(plan);
  absl::Status error;
  std::vector<std::pair<std::string, std::string>> details = {
      {"kind", v1::PlanKind_Name(plan.kind())},
      {"reason", v1::Reason_Name(plan.reason())},
      {"condition", plan.kind() == v1::CONDITIONAL
                        ? KindText(plan.kind(), &plan.condition(), &error)
                        : ""}};
  for (int i = 0; i < plan.field_conditions_size(); ++i) {
    const v1::FieldCondition& field = plan.field_conditions(i);
    details.emplace_back(absl::StrCat("field ", field.field()),
                         KindText(field.kind(), &field.condition(), &error));
  }
  details.emplace_back("policy_version", absl::StrCat(plan.policy_version()));
  details.emplace_back("store_revision", absl::StrCat(plan.store_revision()));
  details.emplace_back("plan_id", plan.plan_id());
  details.emplace_back("valid_until", plan.has_valid_until()
                                          ? FormatTimestamp(plan.valid_until())
                                          : "");
  if (!plan.request_id().empty()) {
    details.emplace_back("request_id", plan.request_id());
  }
  // A tree this client cannot read must not print as if it were a plan.
  if (!error.ok()) return error;
  PrintOut(RenderDetails(details, context.output));
  if (explain && !plan.explanation().empty()) {
    PrintOut(absl::StrCat("\nexplanation:\n", plan.explanation()));
    if (plan.explanation().back() != '\n') PrintOut("\n");
  }
  return absl::OkStatus();
}

absl::Status PrintSql(const CommandContext& context,
                      const v1::PlanResourcesResponse& plan, SqlDialect dialect,
                      const ColumnMap& columns) {
  absl::StatusOr<std::string> where = RenderPlanSql(plan, dialect, columns);
  if (!where.ok()) return where.status();
  if (context.output != OutputFormat::kJson) {
    PrintOut(absl::StrCat(*where, "\n"));
    return absl::OkStatus();
  }
  nlohmann::ordered_json out;
  out["where"] = *where;
  out["fields"] = nlohmann::ordered_json::array();
  for (int i = 0; i < plan.field_conditions_size(); ++i) {
    const v1::FieldCondition& field = plan.field_conditions(i);
    absl::StatusOr<std::string> sql = RenderPlanSql(
        field.kind(), field.has_condition() ? &field.condition() : nullptr,
        absl::StrCat("field_conditions[", i, "].condition"), dialect, columns);
    if (!sql.ok()) return sql.status();
    out["fields"].push_back({{"field", field.field()}, {"where", *sql}});
  }
  absl::StatusOr<std::string> json = ToJson(plan, /*pretty=*/false);
  if (!json.ok()) return json.status();
  out["plan"] = nlohmann::ordered_json::parse(*json);
  PrintOut(absl::StrCat(out.dump(2), "\n"));
  return absl::OkStatus();
}

absl::Status RunPlan(CommandContext& context, const PlanOptions& options) {
  const bool from_file = !options.plan_file.empty();
  const bool positional = !options.principal.empty() ||
                          !options.action.empty() || !options.kind.empty();
  if (from_file && (positional || AsksServer(options))) {
    return UsageError(
        "--plan-file renders a saved plan; PRINCIPAL ACTION KIND and the "
        "request options (--scope, --fields, --purpose, --context, …) ask "
        "the server for a new one: give one or the other");
  }
  if (!from_file && (options.principal.empty() || options.action.empty() ||
                     options.kind.empty())) {
    return UsageError(
        "plan needs PRINCIPAL ACTION KIND (or --plan-file FILE.json)");
  }
  const bool mapping = !options.columns.empty() || !options.id_column.empty() ||
                       !options.scope_column.empty() || options.null_unmapped;
  if (mapping && options.sql.empty()) {
    return UsageError(
        "--column, --id-column, --scope-column and --null-unmapped describe "
        "the table for --sql sqlite|postgres, which is missing");
  }
  SqlDialect dialect = SqlDialect::kSqlite;
  if (!options.sql.empty()) {
    absl::StatusOr<SqlDialect> parsed = ParseSqlDialect(options.sql);
    if (!parsed.ok()) {
      return UsageError(absl::StrCat("--sql: ", parsed.status().message()));
    }
    dialect = *parsed;
  }
  absl::StatusOr<ColumnMap> columns = ParseColumns(options);
  if (!columns.ok()) return columns.status();

  v1::PlanResourcesResponse plan;
  if (from_file) {
    absl::StatusOr<v1::PlanResourcesResponse> read =
        ReadPlanFile(options.plan_file);
    if (!read.ok()) return read.status();
    plan = *std::move(read);
  } else {
    if (absl::Status s = CheckPrincipalId("PRINCIPAL", options.principal);
        !s.ok()) {
      return UsageError(s.message());
    }
    v1::PlanResourcesRequest request;
    request.set_principal_id(options.principal);
    request.set_action(options.action);
    request.set_resource_kind(options.kind);
    if (ScopeGiven(options)) request.set_scope(options.scope);
    if (absl::Status s =
            ParseKeyValues(options.context, request.mutable_context());
        !s.ok()) {
      return UsageError(s.message());
    }
    for (const std::string& field : options.fields) {
      if (!field.empty()) request.add_fields(field);
    }
    request.set_purpose(options.purpose);
    request.set_justification(options.justification);
    request.set_request_id(options.request_id);
    request.set_explain(options.explain);
    if (absl::Status called = ConnectAndCall<v1::AuthorizationService>(
            context, &v1::AuthorizationService::Stub::PlanResources, request,
            &plan);
        !called.ok()) {
      return called;
    }
  }
  if (options.sql.empty()) return PrintPlan(context, plan, options.explain);
  return PrintSql(context, plan, dialect, *columns);
}

}  // namespace

void RegisterPlanCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<PlanOptions>();
  CLI::App* plan = app.add_subcommand(
      "plan",
      "which resources of a kind may a principal act on: a condition on the "
      "resource, or with --sql a WHERE expression (docs/query-plans.md)\n"
      "  example: stewardctl plan u7 read customer --fields email "
      "--sql sqlite --column owner=owner_id --column region=region\n"
      "  example: stewardctl plan --plan-file plan.json --sql postgres "
      "--column owner=owner_id --scope-column tenant_path");
  plan->add_option("PRINCIPAL", options->principal, "principal id");
  plan->add_option("ACTION", options->action, "action (read)");
  plan->add_option("KIND", options->kind, "resource kind (customer)");
  options->scope_option = plan->add_option(
      "--scope", options->scope,
      "plan only for resources in exactly this scope (acme/eu; \"\" is "
      "the empty scope); without it the scope is unknown and scoped "
      "bindings become in_scope() conditions");
  plan->add_option("--context", options->context,
                   "context fact KEY=VALUE (mfa=true), repeatable");
  plan->add_option("--fields", options->fields,
                   "fields the list shows, comma-separated; each gets its "
                   "own condition")
      ->delimiter(',');
  plan->add_option("--purpose", options->purpose,
                   "declared purpose (support_case)");
  plan->add_option("--justification", options->justification,
                   "free text recorded in the audit trail (ticket)");
  plan->add_option("--request-id", options->request_id,
                   "correlation id, echoed and audited");
  plan->add_flag("--explain", options->explain,
                 "print the rules considered and their residual conditions");
  plan->add_option("--plan-file", options->plan_file,
                   "render a plan saved with `-o json plan …` instead of "
                   "asking the server");
  plan->add_option("--sql", options->sql,
                   "print the condition as a WHERE expression: sqlite or "
                   "postgres");
  plan->add_option("--column", options->columns,
                   "ATTRIBUTE=COLUMN (owner=owner_id, or table.column), "
                   "repeatable; a plan reading an unmapped attribute fails");
  plan->add_option("--id-column", options->id_column,
                   "the column holding resource.id");
  plan->add_option("--scope-column", options->scope_column,
                   "the column holding resource.scope");
  plan->add_flag("--null-unmapped", options->null_unmapped,
                 "render unmapped attributes as NULL (the table does not "
                 "store them: every row lacks them)");
  plan->callback(
      [&context, options] { context.result = RunPlan(context, *options); });
}

}  // namespace steward::client
