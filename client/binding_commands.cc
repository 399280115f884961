// `stewardctl grant|revoke|bindings`: role bindings of the role store,
// through AdminService. A grant may be limited to a scope and a time.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/arguments.h"
#include "client/binding_table.h"
#include "client/command.h"
#include "client/output.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

struct BindingOptions {
  std::string principal;
  std::string role;
  std::string scope;
  std::string expires;
  std::string reason;
};

std::vector<std::pair<std::string, std::string>> BindingDetails(
    const v1::Binding& binding) {
  std::vector<std::string> headers = BindingHeaders();
  std::vector<std::string> cells = BindingCells(binding, absl::Now());
  std::vector<std::pair<std::string, std::string>> details;
  for (size_t i = 0; i < headers.size(); ++i) {
    details.emplace_back(headers[i], cells[i]);
  }
  return details;
}

absl::Status RunGrant(CommandContext& context, const BindingOptions& options) {
  if (absl::Status s = CheckPrincipalId("PRINCIPAL", options.principal);
      !s.ok()) {
    return UsageError(s.message());
  }
  v1::GrantRequest request;
  request.set_principal_id(options.principal);
  request.set_role(options.role);
  request.set_scope(options.scope);
  request.set_reason(options.reason);
  if (!options.expires.empty()) {
    absl::StatusOr<absl::Time> expires =
        ParseFutureTime(options.expires, absl::Now());
    if (!expires.ok()) {
      return UsageError(
          absl::StrCat("--expires: ", expires.status().message()));
    }
    *request.mutable_expires_at() = ToProtoTime(*expires);
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::GrantResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->Grant(rpc, request,
                                                         &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  auto details = BindingDetails(response.binding());
  details.emplace_back("store_revision",
                       absl::StrCat(response.store_revision()));
  PrintOut(RenderDetails(details, context.output));
  return absl::OkStatus();
}

absl::Status RunRevoke(CommandContext& context, const BindingOptions& options) {
  if (absl::Status s = CheckPrincipalId("PRINCIPAL", options.principal);
      !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::RevokeRequest request;
  request.set_principal_id(options.principal);
  request.set_role(options.role);
  request.set_scope(options.scope);
  v1::RevokeResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->Revoke(rpc, request,
                                                          &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  PrintOut(RenderDetails(
      {{"revoked", absl::StrCat(options.role, " from ", options.principal)},
       {"scope", options.scope.empty() ? "(global)" : options.scope},
       {"store_revision", absl::StrCat(response.store_revision())}},
      context.output));
  return absl::OkStatus();
}

absl::Status RunBindings(CommandContext& context,
                         const BindingOptions& options) {
  if (absl::Status s = CheckPrincipalFilter("--principal", options.principal);
      !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::ListBindingsResponse all;
  absl::Status fetched = ForEachPage<v1::ListBindingsResponse>(
      *connection,
      [&](grpc::ClientContext* rpc, const std::string& token,
          v1::ListBindingsResponse* page) {
        v1::ListBindingsRequest request;
        request.set_principal_id(options.principal);
        request.set_role(options.role);
        request.set_page_size(1000);
        request.set_page_token(token);
        return stub->ListBindings(rpc, request, page);
      },
      [&](v1::ListBindingsResponse& page) {
        for (v1::Binding& binding : *page.mutable_bindings()) {
          *all.add_bindings() = std::move(binding);
        }
        return true;
      });
  if (!fetched.ok()) return fetched;
  if (context.output == OutputFormat::kJson) {
    return PrintJson(all);
  }
  PrintOut(BindingTable(all.bindings(), absl::Now()).Render(context.output));
  return absl::OkStatus();
}

}  // namespace

void RegisterBindingCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<BindingOptions>();
  CLI::App* grant = app.add_subcommand(
      "grant",
      "grant a role to a principal, optionally in a scope and until a time\n"
      "  example: stewardctl grant u7 sales_rep --scope acme/eu --expires 30d "
      "--reason JIRA-42");
  grant->add_option("PRINCIPAL", options->principal, "principal id")
      ->required();
  grant->add_option("ROLE", options->role, "role of the active policy")
      ->required();
  grant->add_option("--scope", options->scope,
                    "scope path (acme/eu); default global");
  grant->add_option("--expires", options->expires,
                    "expiry: a duration from now (30d, 12h) or RFC 3339");
  grant->add_option("--reason", options->reason, "why (ticket), recorded");
  grant->callback(
      [&context, options] { context.result = RunGrant(context, *options); });

  CLI::App* revoke = app.add_subcommand(
      "revoke",
      "remove a role binding\n"
      "  example: stewardctl revoke u7 sales_rep --scope acme/eu");
  revoke->add_option("PRINCIPAL", options->principal, "principal id")
      ->required();
  revoke->add_option("ROLE", options->role, "role")->required();
  revoke->add_option("--scope", options->scope,
                     "scope of the binding; default global");
  revoke->callback(
      [&context, options] { context.result = RunRevoke(context, *options); });

  CLI::App* bindings = app.add_subcommand(
      "bindings",
      "list role bindings, expired ones included\n"
      "  example: stewardctl bindings --role finance_approver -o csv");
  bindings->add_option("--principal", options->principal,
                       "only this principal");
  bindings->add_option("--role", options->role, "only this role");
  bindings->callback(
      [&context, options] { context.result = RunBindings(context, *options); });
}

}  // namespace steward::client
