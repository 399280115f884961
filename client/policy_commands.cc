// `stewardctl policy validate|test`: offline commands that compile policy
// files with the policy library itself (no server needed).
#include <cstdio>

#include "client/command.h"

namespace steward::client {

void RegisterPolicyCommands(CLI::App& app, CommandContext& context) {
  CLI::App* policy = app.add_subcommand("policy", "work with policy files");
  policy->require_subcommand(1);
  static std::vector<std::string> files;
  CLI::App* validate = policy->add_subcommand(
      "validate",
      "compile policy files and report errors\n"
      "  example: stewardctl policy validate crm.policy");
  validate->add_option("FILE", files, "policy files")->required();
  validate->callback([&context] {
    Fail(context, "UNIMPLEMENTED: policy validate arrives with issue 3");
  });
}

}  // namespace steward::client
