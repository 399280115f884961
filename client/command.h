// The shape every stewardctl command family follows: it registers its
// subcommands on the CLI11 app; each subcommand's run function returns an
// absl::Status, which its callback leaves in the shared CommandContext and
// main() maps to the exit code once (0 success / ALLOW, 1 failure, 2 usage,
// 3 DENY, per INTERFACES.md). Results go to stdout, one-line `error: …` to
// stderr.
//
// Option storage: each Register* function keeps the values its options bind
// to in a std::shared_ptr captured by its callbacks, so the storage lives
// exactly as long as the CLI11 app that main() owns; there are no globals or
// function statics.
#ifndef STEWARD_CLIENT_COMMAND_H_
#define STEWARD_CLIENT_COMMAND_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/connection.h"

namespace steward::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDenied = 3;

enum class OutputFormat { kTable, kJson, kCsv };

// Options shared by all commands of one invocation, and the outcome of the
// one that ran.
struct CommandContext {
  ConnectionOptions connection;
  OutputFormat output = OutputFormat::kTable;
  // What the command's run function returned; main() turns it into the
  // exit code and the error line (ExitCodeOf).
  absl::Status result;
};

// How a command ends. Every run function returns an absl::Status; main()
// prints "error: <message>" to stderr when the message is not empty and
// exits with ExitCodeOf(status):
//   OK                      0
//   UsageError(message)     2 (bad arguments the parser could not catch)
//   Verdict(code)           `code`, no error line: a result already printed
//                           that scripts branch on (DENY, NOT_SERVING)
//   any other error         1
absl::Status UsageError(absl::string_view message);
absl::Status Verdict(int exit_code);
int ExitCodeOf(const absl::Status& status);

// A failed call: its code, and "CODE: message" as the message, with a hint
// to use --server when the server could not be reached.
absl::Status RpcError(const grpc::Status& status, const std::string& server);

// Opens the connection for a command.
absl::StatusOr<Connection> Connect(const CommandContext& context);

// Runs one unary call with a prepared grpc::ClientContext. `call` is
// `(grpc::ClientContext*) -> grpc::Status`. A non-OK status becomes
// RpcError.
template <typename Call>
absl::Status CallRpc(const Connection& connection, Call&& call) {
  grpc::ClientContext rpc;
  connection.Prepare(&rpc);
  grpc::Status status = std::forward<Call>(call)(&rpc);
  if (status.ok()) return absl::OkStatus();
  return RpcError(status, connection.server());
}

// Connects and makes one unary call: `method` is a member of
// `Service::Stub` such as &v1::AdminService::Stub::Grant.
template <typename Service, typename Method, typename Request,
          typename Response>
absl::Status ConnectAndCall(const CommandContext& context, Method method,
                            const Request& request, Response* response) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = Service::NewStub(connection->channel());
  return CallRpc(*connection, [&](grpc::ClientContext* rpc) {
    return ((*stub).*method)(rpc, request, response);
  });
}

// Pages through a list RPC: `call` is `(grpc::ClientContext*, const
// std::string& page_token, Response*) -> grpc::Status`, `on_page` is
// `(Response&) -> bool` (false stops early). Ends when the server returns no
// next_page_token, or repeats the one it was given (which would otherwise
// loop forever). Returns the first failed call's RpcError.
template <typename Response, typename Call, typename OnPage>
absl::Status ForEachPage(const Connection& connection, Call&& call,
                         OnPage&& on_page) {
  std::string token;
  do {
    Response page;
    if (absl::Status s = CallRpc(
            connection,
            [&](grpc::ClientContext* rpc) { return call(rpc, token, &page); });
        !s.ok()) {
      return s;
    }
    if (!on_page(page)) return absl::OkStatus();
    if (page.next_page_token() == token) break;
    token = page.next_page_token();
  } while (!token.empty());
  return absl::OkStatus();
}

void RegisterHealthCommand(CLI::App& app, CommandContext& context);
void RegisterPolicyCommands(CLI::App& app, CommandContext& context);
void RegisterPrincipalCommands(CLI::App& app, CommandContext& context);
void RegisterBindingCommands(CLI::App& app, CommandContext& context);
void RegisterCheckCommand(CLI::App& app, CommandContext& context);
void RegisterPlanCommand(CLI::App& app, CommandContext& context);
void RegisterAuditCommands(CLI::App& app, CommandContext& context);
void RegisterReportCommands(CLI::App& app, CommandContext& context);
void RegisterKeyCommands(CLI::App& app, CommandContext& context);
// Needs the fully built app: the script is generated from its command tree,
// so register it last.
void RegisterCompletionCommand(CLI::App& app, CommandContext& context);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_COMMAND_H_
