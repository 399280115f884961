// Process signal handling for stewardd. Signals are blocked in every thread
// and received synchronously by one waiter, so no work happens in a signal
// handler and gRPC's threads never see SIGTERM.
#ifndef STEWARD_SERVER_DAEMON_SHUTDOWN_SIGNAL_H_
#define STEWARD_SERVER_DAEMON_SHUTDOWN_SIGNAL_H_

#include "absl/time/time.h"

namespace steward::server {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in every thread
// it creates afterwards. REQUIRES: called from main before any thread starts.
void BlockShutdownSignals();

// Ignores SIGPIPE for the process. OpenSSL writes TLS records with plain
// send(2), so an HTTPS client that hangs up while its answer is written
// would otherwise kill stewardd; the write fails with EPIPE instead.
void IgnoreBrokenPipes();

enum class Signal { kShutdown, kReload, kTimeout };

// Waits for the next blocked signal: SIGTERM/SIGINT → kShutdown, SIGHUP →
// kReload; kTimeout when none arrived within `timeout`.
Signal WaitForSignal(absl::Duration timeout = absl::InfiniteDuration());

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_SHUTDOWN_SIGNAL_H_
