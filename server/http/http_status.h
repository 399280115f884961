// The one place a gRPC status becomes an HTTP answer for the HTTP/JSON
// gateway (http_gateway.h): the status code of the usual gRPC -> HTTP
// mapping (google.rpc.Code's documented HTTP equivalents, as grpc-gateway
// applies them) and the JSON error body every gateway error carries.
// Internal to server/http/.
#ifndef STEWARD_SERVER_HTTP_HTTP_STATUS_H_
#define STEWARD_SERVER_HTTP_HTTP_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/strings/string_view.h"

namespace steward::server {

// INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE 400,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404,
// ALREADY_EXISTS and ABORTED 409, RESOURCE_EXHAUSTED 429, CANCELLED 499,
// UNKNOWN, INTERNAL and DATA_LOSS 500, UNIMPLEMENTED 501, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504; OK 200. A code outside the enum is 500.
int HttpStatusOf(grpc::StatusCode code);

// The code's canonical name ("INVALID_ARGUMENT"); "UNKNOWN" outside the
// enum.
absl::string_view GrpcCodeName(grpc::StatusCode code);

// {"code":"INVALID_ARGUMENT","grpcCode":3,"message":"..."}: what every
// error answer of the gateway carries, whether gRPC or the gateway itself
// refused the request. `message` is escaped as JSON requires.
std::string JsonError(grpc::StatusCode code, absl::string_view message);

}  // namespace steward::server

#endif  // STEWARD_SERVER_HTTP_HTTP_STATUS_H_
