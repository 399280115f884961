// The one place absl::Status becomes grpc::Status. Handlers never build a
// grpc::Status by hand, so codes stay consistent across services and
// internal details never reach clients.
#ifndef STEWARD_SERVER_GRPC_GRPC_STATUS_H_
#define STEWARD_SERVER_GRPC_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace steward::server {

// Maps every absl code to the gRPC code of the same name. kInternal,
// kUnknown and kDataLoss reach the client as a generic message (the
// details are logged by the server); every other code keeps its message,
// which our own code writes to name the offending field or object.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_GRPC_STATUS_H_
