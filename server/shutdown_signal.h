// Process signal handling for stewardd. Signals are blocked in every thread
// and received synchronously by one waiter, so no work happens in a signal
// handler and gRPC's threads never see SIGTERM.
#ifndef STEWARD_SERVER_SHUTDOWN_SIGNAL_H_
#define STEWARD_SERVER_SHUTDOWN_SIGNAL_H_

namespace steward::server {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in every thread
// it creates afterwards. REQUIRES: called from main before any thread starts.
void BlockShutdownSignals();

enum class Signal { kShutdown, kReload };

// Waits for the next blocked signal: SIGTERM/SIGINT → kShutdown, SIGHUP →
// kReload.
Signal WaitForSignal();

}  // namespace steward::server

#endif  // STEWARD_SERVER_SHUTDOWN_SIGNAL_H_
