// `stewardd init`: create a store in a data directory and bootstrap the
// first admin API key with its TOTP secret, shown once.
#ifndef STEWARD_SERVER_DAEMON_INIT_COMMAND_H_
#define STEWARD_SERVER_DAEMON_INIT_COMMAND_H_

#include "server/daemon/config.h"

namespace steward::server {

// Returns the process exit code: 0 when the store was created or already
// existed (re-running changes nothing and says so), 1 on failure.
int RunInit(const InitConfig& config);

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_INIT_COMMAND_H_
