// The shape every stewardctl command family follows: it registers its
// subcommands on the CLI11 app and, when run, leaves an exit code in the
// shared CommandContext (0 success / ALLOW, 1 failure, 2 usage, 3 DENY, per
// INTERFACES.md). Results go to stdout, one-line `error: …` to stderr.
#ifndef STEWARD_CLIENT_COMMAND_H_
#define STEWARD_CLIENT_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

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

void RegisterHealthCommand(CLI::App& app, CommandContext& context);
void RegisterPolicyCommands(CLI::App& app, CommandContext& context);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_COMMAND_H_
