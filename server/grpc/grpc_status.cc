#include "server/grpc/grpc_status.h"

#include <spdlog/spdlog.h>

#include <string>

namespace steward::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share numbering (both follow
  // google.rpc.Code), so the cast is exact for every defined code.
  auto code = static_cast<grpc::StatusCode>(status.code());
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      spdlog::error("internal error returned to client: {}", status.ToString());
      return grpc::Status(code, "internal error; see the server log");
    default:
      return grpc::Status(code, std::string(status.message()));
  }
}

}  // namespace steward::server
