// `stewardd serve` and `stewardd init`: the process lifecycle around the
// gRPC server (open the store, start listeners, wait for a signal, drain).
#ifndef STEWARD_SERVER_SERVE_COMMAND_H_
#define STEWARD_SERVER_SERVE_COMMAND_H_

#include "server/config.h"

namespace steward::server {

// Runs the server until SIGTERM/SIGINT. Returns the process exit code: 0
// after a clean shutdown, 1 when the server could not start.
int RunServe(const ServeConfig& config);

}  // namespace steward::server

#endif  // STEWARD_SERVER_SERVE_COMMAND_H_
