// `stewardctl health`: asks grpc.health.v1 whether the server is serving.
// Exit 0 when SERVING, 1 otherwise.
#include <cstdio>

#include "client/command.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace steward::client {

void RegisterHealthCommand(CLI::App& app, CommandContext& context) {
  CLI::App* health = app.add_subcommand(
      "health",
      "ask the server whether it is serving\n"
      "  example: stewardctl health --server 127.0.0.1:7070");
  health->callback([&context] {
    absl::StatusOr<Connection> connection =
        Connection::Open(context.connection);
    if (!connection.ok()) {
      Fail(context, std::string(connection.status().message()));
      return;
    }
    auto stub = grpc::health::v1::Health::NewStub(connection->channel());
    grpc::ClientContext rpc;
    connection->Prepare(&rpc);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&rpc, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n",
                   FormatRpcError(status, connection->server()).c_str());
      context.exit_code = kExitFailure;
      return;
    }
    const std::string& name =
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
            response.status());
    std::printf("%s\n", name.c_str());
    context.exit_code =
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING
            ? kExitOk
            : kExitFailure;
  });
}

}  // namespace steward::client
