// `stewardctl report …`: the auditor's questions (who touched this record,
// who can do this, what can this role do, which grants are unused, expiring
// or in conflict), answered by AuditService; `report access --html` turns
// several of them into one offline HTML page.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/access_report.h"
#include "client/arguments.h"
#include "client/audit_records.h"
#include "client/binding_table.h"
#include "client/command.h"
#include "client/output.h"
#include "steward/v1/audit.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

struct ReportOptions {
  std::string resource;
  std::string since;
  std::string until;
  std::string action;
  std::string kind;
  std::string scope;
  std::string principal;
  std::string role;
  int days = 90;
  int access_days = 30;
  int top = 10;
  std::string within = "14d";
  std::string html;
};

std::string Scope(const std::string& scope) {
  return scope.empty() ? "(global)" : scope;
}

// Sets the request's since/until from --since/--until (durations ago or
// RFC 3339); a UsageError on a bad value. Only a given bound is set:
// an empty Timestamp message would still be present on the wire and mean
// the epoch.
template <typename Request>
absl::Status SetWindow(const ReportOptions& options, Request* request) {
  const absl::Time now = absl::Now();
  if (!options.since.empty()) {
    absl::StatusOr<absl::Time> t = ParsePastTime(options.since, now);
    if (!t.ok()) {
      return UsageError(absl::StrCat("--since: ", t.status().message()));
    }
    *request->mutable_since() = ToProtoTime(*t);
  }
  if (!options.until.empty()) {
    absl::StatusOr<absl::Time> t = ParsePastTime(options.until, now);
    if (!t.ok()) {
      return UsageError(absl::StrCat("--until: ", t.status().message()));
    }
    *request->mutable_until() = ToProtoTime(*t);
  }
  return absl::OkStatus();
}

absl::Status RunSubjectAccess(CommandContext& context,
                              const ReportOptions& options) {
  absl::StatusOr<std::pair<std::string, std::string>> resource =
      ParseResourceRef(options.resource, /*require_id=*/true);
  if (!resource.ok()) {
    return UsageError(std::string(resource.status().message()));
  }
  v1::SubjectAccessRequest base;
  base.set_resource_kind(resource->first);
  base.set_resource_id(resource->second);
  if (absl::Status s = SetWindow(options, &base); !s.ok()) return s;
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::SubjectAccessResponse all;
  absl::Status fetched = ForEachPage<v1::SubjectAccessResponse>(
      *connection,
      [&](grpc::ClientContext* rpc, const std::string& token,
          v1::SubjectAccessResponse* page) {
        v1::SubjectAccessRequest request = base;
        request.set_page_size(1000);
        request.set_page_token(token);
        return stub->SubjectAccess(rpc, request, page);
      },
      [&](v1::SubjectAccessResponse& page) {
        for (v1::AuditRecord& record : *page.mutable_records()) {
          *all.add_records() = std::move(record);
        }
        return true;
      });
  if (!fetched.ok()) return fetched;
  if (context.output == OutputFormat::kJson) {
    return PrintJson(all);
  }
  Table table({"time", "principal", "action", "fields", "purpose",
               "justification", "effect", "reason", "rule", "caller"});
  for (const v1::AuditRecord& record : all.records()) {
    table.AddRow(
        {FormatTimestamp(record.time()), record.principal_id(), record.action(),
         absl::StrJoin(record.fields(), ", "), record.purpose(),
         record.justification(), v1::Effect_Name(record.effect()),
         v1::Reason_Name(record.reason()), record.rule_id(), record.caller()});
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunWhoCan(CommandContext& context, const ReportOptions& options) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::WhoCanRequest request;
  request.set_action(options.action);
  request.set_resource_kind(options.kind);
  request.set_scope(options.scope);
  v1::WhoCanResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->WhoCan(rpc, request,
                                                          &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  Table table({"principal", "role", "scope", "expires_at", "via_role", "rule",
               "condition", "purposes", "pii_fields"});
  const absl::Time now = absl::Now();
  for (const v1::WhoCanEntry& entry : response.entries()) {
    std::vector<std::string> binding = BindingCells(entry.binding(), now);
    table.AddRow(
        {entry.principal_id(), entry.binding().role(),
         Scope(entry.binding().scope()), binding[3], entry.via_role(),
         entry.rule_id(), entry.conditional() ? entry.condition() : "(always)",
         entry.purposes().empty() ? "any"
                                  : absl::StrJoin(entry.purposes(), ", "),
         absl::StrJoin(entry.pii_fields(), ", ")});
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status FetchPermissions(const Connection& connection,
                              v1::AuditService::Stub& stub,
                              const v1::EffectivePermissionsRequest& request,
                              v1::EffectivePermissionsResponse* response) {
  return CallRpc(connection, [&](grpc::ClientContext* rpc) {
    return stub.EffectivePermissions(rpc, request, response);
  });
}

absl::Status RunPermissions(CommandContext& context,
                            const ReportOptions& options) {
  if (options.principal.empty() == options.role.empty()) {
    return UsageError(
        "report permissions needs exactly one of --principal or --role");
  }
  if (absl::Status s = CheckPrincipalFilter("--principal", options.principal);
      !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::EffectivePermissionsRequest request;
  if (!options.principal.empty()) {
    request.set_principal_id(options.principal);
  } else {
    request.set_role(options.role);
  }
  v1::EffectivePermissionsResponse response;
  if (absl::Status s = FetchPermissions(*connection, *stub, request, &response);
      !s.ok()) {
    return s;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  Table table({"kind", "action", "effect", "rule", "source_role",
               "inherited_via", "scope", "condition", "purposes", "fields",
               "pii_fields"});
  for (const v1::PermissionEntry& entry : response.entries()) {
    table.AddRow({entry.resource_kind(), entry.action(), entry.effect(),
                  entry.rule_id(), entry.source_role(), entry.inherited_via(),
                  options.principal.empty() ? "" : Scope(entry.scope()),
                  entry.condition().empty() ? "(always)" : entry.condition(),
                  entry.purposes().empty()
                      ? "any"
                      : absl::StrJoin(entry.purposes(), ", "),
                  absl::StrJoin(entry.fields(), ", "),
                  absl::StrJoin(entry.pii_fields(), ", ")});
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunUnused(CommandContext& context, const ReportOptions& options) {
  if (options.days < 1) {
    return UsageError("--days must be at least 1");
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::UnusedGrantsRequest request;
  request.set_days(options.days);
  v1::UnusedGrantsResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->UnusedGrants(rpc, request,
                                                                &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  std::vector<std::string> headers = BindingHeaders();
  headers.push_back("last_used");
  Table table(headers);
  const absl::Time now = absl::Now();
  for (const v1::UnusedGrant& grant : response.grants()) {
    std::vector<std::string> row = BindingCells(grant.binding(), now);
    row.push_back(grant.has_last_used() ? FormatTimestamp(grant.last_used())
                                        : "never");
    table.AddRow(std::move(row));
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunSod(CommandContext& context) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::SeparationViolationsRequest request;
  v1::SeparationViolationsResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->SeparationViolations(
                                          rpc, request, &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  Table table({"principal", "role_a", "scope_a", "role_b", "scope_b"});
  for (const v1::SeparationViolation& v : response.violations()) {
    table.AddRow({v.principal_id(), v.role_a(), Scope(v.binding_a().scope()),
                  v.role_b(), Scope(v.binding_b().scope())});
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunExpiring(CommandContext& context,
                         const ReportOptions& options) {
  absl::StatusOr<absl::Duration> within = ParseDuration(options.within);
  if (!within.ok()) {
    return UsageError(absl::StrCat("--within: ", within.status().message()));
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::ExpiringGrantsRequest request;
  request.mutable_within()->set_seconds(absl::ToInt64Seconds(*within));
  v1::ExpiringGrantsResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->ExpiringGrants(rpc, request,
                                                                  &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  std::vector<std::string> headers = BindingHeaders();
  headers.push_back("flag");
  Table table(headers);
  const absl::Time now = absl::Now();
  for (const v1::ExpiringGrant& grant : response.grants()) {
    std::vector<std::string> row = BindingCells(grant.binding(), now);
    row.push_back(grant.pii_without_expiry() ? "PII without expiry" : "");
    table.AddRow(std::move(row));
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunDecisions(CommandContext& context,
                          const ReportOptions& options) {
  v1::DecisionSummaryRequest request;
  if (absl::Status s = SetWindow(options, &request); !s.ok()) return s;
  request.set_top_denied(options.top);
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::DecisionSummaryResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->DecisionSummary(rpc, request,
                                                                   &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  Table days({"day", "allow", "deny"});
  for (const v1::DayDecisions& day : response.days()) {
    days.AddRow(
        {day.day(), absl::StrCat(day.allow()), absl::StrCat(day.deny())});
  }
  days.AddRow({"total", absl::StrCat(response.total_allow()),
               absl::StrCat(response.total_deny())});
  Table top({"principal", "denies"});
  for (const v1::DeniedPrincipal& denied : response.top_denied()) {
    top.AddRow({denied.principal_id(), absl::StrCat(denied.denies())});
  }
  const bool csv = context.output == OutputFormat::kCsv;
  PrintOut(absl::StrCat(days.Render(context.output), csv ? "" : "\n",
                        top.Render(context.output)));
  return absl::OkStatus();
}

absl::Status RunAccessReport(CommandContext& context,
                             const ReportOptions& options) {
  if (options.access_days < 1) {
    return UsageError("--days must be at least 1");
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  AccessReportData data;
  data.generated_at = absl::Now();
  data.server = connection->server();
  data.days = options.access_days;

  // Decisions per day and the most denied principals of the window,
  // aggregated by the server (no record crosses the wire), and the
  // policy's roles for the matrix.
  v1::DecisionSummaryRequest summary_request;
  *summary_request.mutable_since() =
      ToProtoTime(data.generated_at - absl::Hours(24 * data.days));
  summary_request.set_top_denied(10);
  v1::DecisionSummaryResponse summary;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->DecisionSummary(
                                          rpc, summary_request, &summary);
                                    });
      !called.ok()) {
    return called;
  }
  data.decisions = DecisionStats::FromSummary(summary);
  data.first_seq = summary.first_seq();
  data.last_seq = summary.last_seq();

  v1::UnusedGrantsRequest unused_request;
  unused_request.set_days(data.days);
  v1::UnusedGrantsResponse unused;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->UnusedGrants(
                                          rpc, unused_request, &unused);
                                    });
      !called.ok()) {
    return called;
  }
  data.unused.assign(unused.grants().begin(), unused.grants().end());

  for (const std::string& role : summary.policy_roles()) {
    v1::EffectivePermissionsRequest request;
    request.set_role(role);
    v1::EffectivePermissionsResponse response;
    if (absl::Status s =
            FetchPermissions(*connection, *stub, request, &response);
        !s.ok()) {
      return s;
    }
    data.roles.push_back(RolePermissions{
        role, {response.entries().begin(), response.entries().end()}});
  }

  std::ofstream out(options.html, std::ios::binary | std::ios::trunc);
  out << RenderAccessReport(data);
  out.close();
  if (!out) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", options.html));
  }
  PrintOut(absl::StrCat("wrote ", options.html, " (", data.roles.size(),
                        " roles, ", data.decisions.total(), " decisions, ",
                        data.unused.size(), " unused grants)\n"));
  return absl::OkStatus();
}

}  // namespace

void RegisterReportCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* report = app.add_subcommand(
      "report",
      "access reports for auditors\n"
      "  example: stewardctl report who-can export customer --scope acme");
  report->require_subcommand(1);

  CLI::App* subject = report->add_subcommand(
      "subject-access",
      "every access to one record: who, when, why, outcome\n"
      "  example: stewardctl report subject-access customer/c-1042 --since "
      "365d");
  subject->add_option("RESOURCE", options->resource, "KIND/ID")->required();
  subject->add_option("--since", options->since, "duration ago or RFC 3339");
  subject->add_option("--until", options->until, "duration ago or RFC 3339");
  subject->callback([&context, options] {
    context.result = RunSubjectAccess(context, *options);
  });

  CLI::App* who = report->add_subcommand(
      "who-can",
      "every principal who may perform an action, and through what\n"
      "  example: stewardctl report who-can read customer --scope acme/eu");
  who->add_option("ACTION", options->action, "action")->required();
  who->add_option("KIND", options->kind, "resource kind")->required();
  who->add_option("--scope", options->scope, "resource scope");
  who->callback(
      [&context, options] { context.result = RunWhoCan(context, *options); });

  CLI::App* permissions = report->add_subcommand(
      "permissions",
      "the kind × action matrix of a principal or a role\n"
      "  example: stewardctl report permissions --role account_manager");
  CLI::Option* principal = permissions->add_option(
      "--principal", options->principal, "principal id");
  CLI::Option* role =
      permissions->add_option("--role", options->role, "role name");
  principal->excludes(role);
  permissions->callback([&context, options] {
    context.result = RunPermissions(context, *options);
  });

  CLI::App* unused = report->add_subcommand(
      "unused",
      "bindings with no allow through them in the window, oldest first\n"
      "  example: stewardctl report unused --days 90");
  unused->add_option("--days", options->days, "window in days")
      ->capture_default_str();
  unused->callback(
      [&context, options] { context.result = RunUnused(context, *options); });

  CLI::App* sod = report->add_subcommand(
      "sod",
      "principals holding separated roles in overlapping scopes\n"
      "  example: stewardctl report sod");
  sod->callback([&context] { context.result = RunSod(context); });

  CLI::App* expiring = report->add_subcommand(
      "expiring",
      "bindings expiring soon; PII roles without expiry flagged\n"
      "  example: stewardctl report expiring --within 14d");
  expiring->add_option("--within", options->within, "window (14d, 48h)")
      ->capture_default_str();
  expiring->callback(
      [&context, options] { context.result = RunExpiring(context, *options); });

  CLI::App* decisions = report->add_subcommand(
      "decisions",
      "allow/deny per UTC day and the most denied principals of a window\n"
      "  example: stewardctl report decisions --since 30d --top 20");
  decisions->add_option("--since", options->since, "duration ago or RFC 3339");
  decisions->add_option("--until", options->until, "duration ago or RFC 3339");
  decisions->add_option("--top", options->top, "principals to list (1..1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  decisions->callback([&context, options] {
    context.result = RunDecisions(context, *options);
  });

  CLI::App* access = report->add_subcommand(
      "access",
      "write a self-contained HTML access report\n"
      "  example: stewardctl report access --html audit-2026Q4.html --days 90");
  access->add_option("--html", options->html, "output file")->required();
  access
      ->add_option("--days", options->access_days,
                   "window for decisions and unused grants")
      ->capture_default_str();
  access->callback([&context, options] {
    context.result = RunAccessReport(context, *options);
  });
}

}  // namespace steward::client
