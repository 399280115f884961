// `stewardctl check`: asks AuthorizationService the same question a backend
// would, and answers with the exit code (0 ALLOW, 3 DENY) so scripts can
// branch on it. `--explain` prints the server's trace of the rules it
// considered.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/arguments.h"
#include "client/command.h"
#include "client/output.h"
#include "steward/v1/authorization.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

struct CheckOptions {
  std::string principal;
  std::string action;
  std::string resource;
  std::string scope;
  std::vector<std::string> attributes;
  std::vector<std::string> context;
  std::vector<std::string> fields;
  std::string purpose;
  std::string justification;
  std::string request_id;
  bool explain = false;
  int64_t min_revision = 0;
};

absl::Status RunCheck(CommandContext& context, const CheckOptions& options) {
  if (absl::Status s = CheckPrincipalId("PRINCIPAL", options.principal);
      !s.ok()) {
    return UsageError(s.message());
  }
  v1::CheckRequest request;
  request.set_principal_id(options.principal);
  request.set_action(options.action);
  absl::StatusOr<std::pair<std::string, std::string>> resource =
      ParseResourceRef(options.resource, /*require_id=*/false);
  if (!resource.ok()) {
    return UsageError(std::string(resource.status().message()));
  }
  request.mutable_resource()->set_kind(resource->first);
  request.mutable_resource()->set_id(resource->second);
  request.mutable_resource()->set_scope(options.scope);
  absl::Status parsed = ParseKeyValues(
      options.attributes, request.mutable_resource()->mutable_attributes());
  if (parsed.ok()) {
    parsed = ParseKeyValues(options.context, request.mutable_context());
  }
  if (!parsed.ok()) {
    return UsageError(std::string(parsed.message()));
  }
  for (const std::string& field : options.fields) {
    if (!field.empty()) request.add_fields(field);
  }
  request.set_purpose(options.purpose);
  request.set_justification(options.justification);
  request.set_request_id(options.request_id);
  request.set_explain(options.explain);
  request.set_min_store_revision(options.min_revision);

  v1::CheckResponse response;
  if (absl::Status called = ConnectAndCall<v1::AuthorizationService>(
          context, &v1::AuthorizationService::Stub::Check, request, &response);
      !called.ok()) {
    return called;
  }
  // EFFECT_UNSPECIFIED must be treated as DENY (authorization.proto).
  const bool allowed = response.effect() == v1::ALLOW;
  if (context.output == OutputFormat::kJson) {
    if (absl::Status s = PrintJson(response); !s.ok()) return s;
  } else {
    std::string effect = allowed ? "ALLOW" : "DENY";
    if (context.output == OutputFormat::kTable) {
      effect = Colorize(effect, allowed ? Color::kGreen : Color::kRed);
    }
    std::vector<std::pair<std::string, std::string>> details = {
        {"effect", effect},
        {"reason", v1::Reason_Name(response.reason())},
        {"rule", response.rule_id()},
        {"allowed_fields", absl::StrJoin(response.allowed_fields(), ", ")},
        {"denied_fields", absl::StrJoin(response.denied_fields(), ", ")},
        {"policy_version", absl::StrCat(response.policy_version())},
        {"store_revision", absl::StrCat(response.store_revision())},
        {"decision_id", response.decision_id()}};
    if (!response.request_id().empty()) {
      details.emplace_back("request_id", response.request_id());
    }
    if (options.explain && context.output == OutputFormat::kCsv) {
      details.emplace_back("explanation", response.explanation());
    }
    PrintOut(RenderDetails(details, context.output));
    if (options.explain && context.output == OutputFormat::kTable) {
      PrintOut("\nexplanation:\n");
      PrintOut(response.explanation());
      if (!response.explanation().empty() &&
          response.explanation().back() != '\n') {
        PrintOut("\n");
      }
    }
  }
  return allowed ? absl::OkStatus() : Verdict(kExitDenied);
}

}  // namespace

void RegisterCheckCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* check = app.add_subcommand(
      "check",
      "ask for a decision; exit 0 on ALLOW, 3 on DENY\n"
      "  example: stewardctl check u7 read customer/c-1042 --scope acme/eu "
      "--attr owner=u7 --context mfa=true --fields name,email "
      "--purpose support_case --explain");
  check->add_option("PRINCIPAL", options->principal, "principal id")
      ->required();
  check->add_option("ACTION", options->action, "action (read)")->required();
  check
      ->add_option("RESOURCE", options->resource,
                   "resource KIND or KIND/ID (customer/c-1042)")
      ->required();
  check->add_option("--scope", options->scope, "resource scope (acme/eu)");
  check->add_option("--attr", options->attributes,
                    "resource attribute KEY=VALUE (JSON when it parses), "
                    "repeatable");
  check->add_option("--context", options->context,
                    "context fact KEY=VALUE (mfa=true), repeatable");
  check
      ->add_option("--fields", options->fields,
                   "fields needed, comma-separated (name,email)")
      ->delimiter(',');
  check->add_option("--purpose", options->purpose,
                    "declared purpose (support_case)");
  check->add_option("--justification", options->justification,
                    "free text recorded in the audit trail (ticket)");
  check->add_option("--request-id", options->request_id,
                    "correlation id, echoed and audited");
  check
      ->add_option("--min-revision", options->min_revision,
                   "decide on store revision N or later (read your writes "
                   "across replicas: N is an admin command's store_revision)")
      ->check(CLI::NonNegativeNumber);
  check->add_flag("--explain", options->explain,
                  "print the rules considered and how conditions evaluated");
  check->callback(
      [&context, options] { context.result = RunCheck(context, *options); });
}

}  // namespace steward::client
