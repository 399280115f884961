// Protobuf's own log lines ("[libprotobuf ERROR ...] String field ... contains
// invalid UTF-8 data", printed once per bad request) go to stderr outside
// the log format and without a bound, so a client could flood the log.
// RouteProtobufLogs sends them through spdlog, rate-limited. Daemon wiring.
#ifndef STEWARD_SERVER_DAEMON_PROTOBUF_LOG_H_
#define STEWARD_SERVER_DAEMON_PROTOBUF_LOG_H_

#include <cstdint>

#include "absl/time/time.h"

namespace steward::server {

// Installs the handler for the life of the process: at most `burst` lines
// per `period`; the number of lines dropped is reported with the next line
// let through. Protobuf FATAL messages are always logged.
void RouteProtobufLogs(int burst = 10,
                       absl::Duration period = absl::Minutes(1));

// How many protobuf log lines were dropped by the rate limit so far.
int64_t DroppedProtobufLogLines();

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_PROTOBUF_LOG_H_
