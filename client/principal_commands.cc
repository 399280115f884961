// `stewardctl principal add|get|list|disable|enable|delete`: the people and
// services of the role store, through AdminService.
#include <cstdio>
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

struct PrincipalOptions {
  std::string id;
  std::string name;
  bool name_given = false;  // --name "" clears the name
  std::vector<std::string> attributes;
};

std::vector<std::pair<std::string, std::string>> PrincipalDetails(
    const v1::Principal& principal) {
  return {{"id", principal.id()},
          {"name", principal.display_name()},
          {"disabled", principal.disabled() ? "yes" : "no"},
          {"attributes", FormatValueMap(principal.attributes())},
          {"created_at", FormatTimestamp(principal.created_at())},
          {"updated_at", FormatTimestamp(principal.updated_at())}};
}

absl::Status RunAdd(CommandContext& context, const PrincipalOptions& options) {
  if (absl::Status s = CheckPrincipalId("ID", options.id); !s.ok()) {
    return UsageError(s.message());
  }
  v1::UpsertPrincipalRequest request;
  request.mutable_principal()->set_id(options.id);
  request.mutable_principal()->set_display_name(options.name);
  absl::Status parsed = ParseKeyValues(
      options.attributes, request.mutable_principal()->mutable_attributes());
  if (!parsed.ok()) {
    return UsageError(std::string(parsed.message()));
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  // UpsertPrincipal replaces the whole principal. Re-running `add` to change
  // one attribute must not wipe the name and the other attributes, so an
  // existing principal is merged: what was not given on this command line
  // is kept.
  v1::GetPrincipalRequest get;
  get.set_id(options.id);
  v1::GetPrincipalResponse existing;
  grpc::ClientContext get_rpc;
  connection->Prepare(&get_rpc);
  grpc::Status found = stub->GetPrincipal(&get_rpc, get, &existing);
  if (found.ok()) {
    v1::Principal* principal = request.mutable_principal();
    if (!options.name_given) {
      principal->set_display_name(existing.principal().display_name());
    }
    for (const auto& [key, value] : existing.principal().attributes()) {
      principal->mutable_attributes()->insert({key, value});
    }
  } else if (found.error_code() != grpc::StatusCode::NOT_FOUND) {
    return RpcError(found, connection->server());
  }
  v1::UpsertPrincipalResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->UpsertPrincipal(rpc, request,
                                                                   &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  auto details = PrincipalDetails(response.principal());
  details.emplace_back("created", response.created() ? "yes" : "no (updated)");
  details.emplace_back("store_revision",
                       absl::StrCat(response.store_revision()));
  PrintOut(RenderDetails(details, context.output));
  return absl::OkStatus();
}

absl::Status RunGet(CommandContext& context, const PrincipalOptions& options) {
  // The weaker rule: principals stored before ids were restricted must
  // stay readable.
  if (absl::Status s = CheckStoredPrincipalId("ID", options.id); !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::GetPrincipalRequest request;
  request.set_id(options.id);
  v1::GetPrincipalResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->GetPrincipal(rpc, request,
                                                                &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  PrintOut(
      RenderDetails(PrincipalDetails(response.principal()), context.output));
  if (context.output == OutputFormat::kTable) {
    PrintOut("\nbindings:\n");
    PrintOut(
        BindingTable(response.bindings(), absl::Now()).Render(context.output));
  }
  return absl::OkStatus();
}

absl::Status RunList(CommandContext& context) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::ListPrincipalsResponse all;
  absl::Status fetched = ForEachPage<v1::ListPrincipalsResponse>(
      *connection,
      [&](grpc::ClientContext* rpc, const std::string& token,
          v1::ListPrincipalsResponse* page) {
        v1::ListPrincipalsRequest request;
        request.set_page_size(1000);
        request.set_page_token(token);
        return stub->ListPrincipals(rpc, request, page);
      },
      [&](v1::ListPrincipalsResponse& page) {
        for (v1::Principal& principal : *page.mutable_principals()) {
          *all.add_principals() = std::move(principal);
        }
        return true;
      });
  if (!fetched.ok()) return fetched;
  if (context.output == OutputFormat::kJson) {
    return PrintJson(all);
  }
  Table table({"id", "name", "disabled", "attributes", "created_at"});
  for (const v1::Principal& principal : all.principals()) {
    table.AddRow({principal.id(), principal.display_name(),
                  principal.disabled() ? "yes" : "no",
                  FormatValueMap(principal.attributes()),
                  FormatTimestamp(principal.created_at())});
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunSetDisabled(CommandContext& context,
                            const PrincipalOptions& options, bool disabled) {
  if (absl::Status s = CheckPrincipalId("ID", options.id); !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::SetPrincipalDisabledRequest request;
  request.set_id(options.id);
  request.set_disabled(disabled);
  v1::SetPrincipalDisabledResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->SetPrincipalDisabled(
                                          rpc, request, &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  auto details = PrincipalDetails(response.principal());
  details.emplace_back("store_revision",
                       absl::StrCat(response.store_revision()));
  PrintOut(RenderDetails(details, context.output));
  return absl::OkStatus();
}

absl::Status RunDelete(CommandContext& context,
                       const PrincipalOptions& options) {
  // As for `get`: old principals with ids outside the rule stay deletable.
  if (absl::Status s = CheckStoredPrincipalId("ID", options.id); !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::DeletePrincipalRequest request;
  request.set_id(options.id);
  v1::DeletePrincipalResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->DeletePrincipal(rpc, request,
                                                                   &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  PrintOut(RenderDetails(
      {{"deleted", options.id},
       {"bindings_removed", absl::StrCat(response.bindings_removed())},
       {"store_revision", absl::StrCat(response.store_revision())}},
      context.output));
  return absl::OkStatus();
}

}  // namespace

void RegisterPrincipalCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<PrincipalOptions>();
  CLI::App* principal = app.add_subcommand(
      "principal",
      "manage principals (people and services) of the role store\n"
      "  example: stewardctl principal add u7 --name \"Ana\" --attr "
      "region=eu");
  principal->require_subcommand(1);

  CLI::App* add = principal->add_subcommand(
      "add",
      "create a principal, or update the name and attributes given\n"
      "  example: stewardctl principal add u7 --name \"Ana Lima\" "
      "--attr region=eu --attr 'teams=[\"support\"]'");
  add->add_option("ID", options->id, "principal id")->required();
  add->add_option("--name", options->name, "display name")
      ->each([options](const std::string&) { options->name_given = true; });
  add->add_option("--attr", options->attributes,
                  "attribute KEY=VALUE (VALUE as JSON when it parses), "
                  "repeatable")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  add->callback(
      [&context, options] { context.result = RunAdd(context, *options); });

  CLI::App* get =
      principal->add_subcommand("get",
                                "show a principal and its bindings\n"
                                "  example: stewardctl principal get u7");
  get->add_option("ID", options->id, "principal id")->required();
  get->callback(
      [&context, options] { context.result = RunGet(context, *options); });

  CLI::App* list =
      principal->add_subcommand("list",
                                "list principals by id\n"
                                "  example: stewardctl principal list -o csv");
  list->callback([&context] { context.result = RunList(context); });

  CLI::App* disable = principal->add_subcommand(
      "disable",
      "deny everything to a principal, keeping its bindings\n"
      "  example: stewardctl principal disable u7");
  disable->add_option("ID", options->id, "principal id")->required();
  disable->callback([&context, options] {
    context.result = RunSetDisabled(context, *options, true);
  });

  CLI::App* enable =
      principal->add_subcommand("enable",
                                "re-enable a disabled principal\n"
                                "  example: stewardctl principal enable u7");
  enable->add_option("ID", options->id, "principal id")->required();
  enable->callback([&context, options] {
    context.result = RunSetDisabled(context, *options, false);
  });

  CLI::App* remove = principal->add_subcommand(
      "delete",
      "delete a principal and its bindings (audit records stay)\n"
      "  example: stewardctl principal delete u7");
  remove->add_option("ID", options->id, "principal id")->required();
  remove->callback(
      [&context, options] { context.result = RunDelete(context, *options); });
}

}  // namespace steward::client
