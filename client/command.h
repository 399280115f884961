// The shape every stewardctl command family follows: it registers its
// subcommands on the CLI11 app and, when run, leaves an exit code in the
// shared CommandContext (0 success / ALLOW, 1 failure, 2 usage, 3 DENY, per
// INTERFACES.md). Results go to stdout, one-line `error: …` to stderr.
//
// Option storage: each Register* function keeps the values its options bind
// to in a std::shared_ptr captured by its callbacks, so the storage lives
// exactly as long as the CLI11 app that main() owns; there are no globals or
// function statics.
#ifndef STEWARD_CLIENT_COMMAND_H_
#define STEWARD_CLIENT_COMMAND_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <utility>

#include "client/connection.h"

namespace steward::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDenied = 3;

enum class OutputFormat { kTable, kJson, kCsv };

// Options and outcome shared by all commands of one invocation.
struct CommandContext {
  ConnectionOptions connection;
  OutputFormat output = OutputFormat::kTable;
  int exit_code = kExitOk;
};

// Prints "error: <message>" to stderr and sets the exit code.
void Fail(CommandContext& context, const std::string& message,
          int exit_code = kExitFailure);

// Opens the connection for a command. On failure prints the error, sets exit
// code 1 and returns nullopt.
std::optional<Connection> Connect(CommandContext& context);

// Runs one unary call with a prepared grpc::ClientContext. `call` is
// `(grpc::ClientContext*) -> grpc::Status`. On a non-OK status prints
// `error: CODE: message` (FormatRpcError), sets exit code 1 and returns false.
template <typename Call>
bool CallRpc(CommandContext& context, const Connection& connection,
             Call&& call) {
  grpc::ClientContext rpc;
  connection.Prepare(&rpc);
  grpc::Status status = std::forward<Call>(call)(&rpc);
  if (status.ok()) return true;
  std::fprintf(stderr, "%s\n",
               FormatRpcError(status, connection.server()).c_str());
  context.exit_code = kExitFailure;
  return false;
}

// Pages through a list RPC: `call` is `(grpc::ClientContext*, const
// std::string& page_token, Response*) -> grpc::Status`, `on_page` is
// `(Response&) -> bool` (false stops early). Ends when the server returns no
// next_page_token, or repeats the one it was given (which would otherwise
// loop forever). Returns false when a call failed (error printed, exit 1).
template <typename Response, typename Call, typename OnPage>
bool ForEachPage(CommandContext& context, const Connection& connection,
                 Call&& call, OnPage&& on_page) {
  std::string token;
  do {
    Response page;
    if (!CallRpc(context, connection, [&](grpc::ClientContext* rpc) {
          return call(rpc, token, &page);
        })) {
      return false;
    }
    if (!on_page(page)) return true;
    if (page.next_page_token() == token) break;
    token = page.next_page_token();
  } while (!token.empty());
  return true;
}

void RegisterHealthCommand(CLI::App& app, CommandContext& context);
void RegisterPolicyCommands(CLI::App& app, CommandContext& context);
void RegisterPrincipalCommands(CLI::App& app, CommandContext& context);
void RegisterBindingCommands(CLI::App& app, CommandContext& context);
void RegisterCheckCommand(CLI::App& app, CommandContext& context);
void RegisterAuditCommands(CLI::App& app, CommandContext& context);
void RegisterReportCommands(CLI::App& app, CommandContext& context);
void RegisterKeyCommands(CLI::App& app, CommandContext& context);
// Needs the fully built app: the script is generated from its command tree,
// so register it last.
void RegisterCompletionCommand(CLI::App& app, CommandContext& context);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_COMMAND_H_
