// stewardctl entry point: global options, command registration, exit codes.
// Commands live in *_command(s).cc files, one family each, and return an
// absl::Status that becomes the error line and exit code here. CLI11 reports
// usage errors by throwing; every exception stops here and becomes an exit
// code (2 for usage, 1 for anything unexpected).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "client/command.h"

namespace steward::client {

namespace {

int Run(int argc, char** argv) {
  CommandContext context;
  if (const char* server = std::getenv("STEWARD_SERVER")) {
    context.connection.server = server;
  }
  if (const char* otp = std::getenv("STEWARD_OTP")) {
    context.connection.otp = otp;
  }

  CLI::App app{
      "stewardctl: administer and audit a Steward server\n"
      "  example: stewardctl --server 127.0.0.1:7070 --api-key-file admin.key "
      "principal list",
      "stewardctl"};
  app.require_subcommand(1);
  // Global options may follow the subcommand (`stewardctl health --server X`).
  app.fallthrough();
  app.add_option("--server", context.connection.server,
                 "server address (env STEWARD_SERVER)")
      ->capture_default_str();
  app.add_option("--api-key-file", context.connection.api_key_file,
                 "file holding the API key (env STEWARD_API_KEY)");
  app.add_option("--otp", context.connection.otp,
                 "TOTP code for admin changes (env STEWARD_OTP)");
  app.add_option("--tls-ca", context.connection.tls_ca,
                 "use TLS and trust this CA certificate (PEM)");
  std::map<std::string, OutputFormat> formats{{"table", OutputFormat::kTable},
                                              {"json", OutputFormat::kJson},
                                              {"csv", OutputFormat::kCsv}};
  std::string output_name = "table";
  // each() sets the format as soon as the option is parsed, before any
  // command callback runs.
  app.add_option("-o,--output", output_name, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}, CLI::ignore_case))
      ->each([&context, &formats](const std::string& value) {
        auto format = formats.find(CLI::detail::to_lower(value));
        if (format != formats.end()) context.output = format->second;
      })
      ->capture_default_str();

  RegisterHealthCommand(app, context);
  RegisterPolicyCommands(app, context);
  RegisterPrincipalCommands(app, context);
  RegisterBindingCommands(app, context);
  RegisterCheckCommand(app, context);
  RegisterPlanCommand(app, context);
  RegisterAuditCommands(app, context);
  RegisterReportCommands(app, context);
  RegisterKeyCommands(app, context);
  RegisterCompletionCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // With a subcommand required, CLI11 reports a mistyped command as "a
    // subcommand is required"; naming the word helps more.
    std::vector<std::string> extra = app.remaining(/*recurse=*/true);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        !extra.empty()) {
      std::fprintf(stderr, "error: unknown command \"%s\" (see --help)\n",
                   extra.front().c_str());
    } else {
      std::fprintf(stderr, "error: %s\n", e.what());
    }
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return kExitFailure;
  }
  // The one place a command's outcome becomes an error line and an exit
  // code.
  if (!context.result.ok() && !context.result.message().empty()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(context.result.message()).c_str());
  }
  return ExitCodeOf(context.result);
}

}  // namespace
}  // namespace steward::client

int main(int argc, char** argv) { return steward::client::Run(argc, argv); }
