// `stewardctl health`: asks grpc.health.v1 whether the server is serving.
// Exit 0 when SERVING, 1 otherwise.
#include <cstdio>

#include "client/command.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace steward::client {
namespace {

absl::Status RunHealth(const CommandContext& context) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  if (absl::Status called = ConnectAndCall<grpc::health::v1::Health>(
          context, &grpc::health::v1::Health::Stub::Check, request, &response);
      !called.ok()) {
    return called;
  }
  const std::string& name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  std::printf("%s\n", name.c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? absl::OkStatus()
             : Verdict(kExitFailure);
}

}  // namespace

void RegisterHealthCommand(CLI::App& app, CommandContext& context) {
  CLI::App* health = app.add_subcommand(
      "health",
      "ask the server whether it is serving\n"
      "  example: stewardctl health --server 127.0.0.1:7070");
  health->callback([&context] { context.result = RunHealth(context); });
}

}  // namespace steward::client
