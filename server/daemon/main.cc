// stewardd entry point: wiring only. Parses the command line, then hands over
// to `init`, `serve` or `migrate-store`; exit codes: 0 success, 1 runtime
// failure, 2 usage or configuration error.
#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "server/daemon/config.h"
#include "server/daemon/daemon.h"
#include "server/daemon/init_command.h"
#include "server/daemon/migrate_command.h"
#include "server/daemon/shutdown_signal.h"

int main(int argc, char** argv) {
  // Before any thread exists, so every gRPC and audit thread inherits the
  // mask and only the main thread receives SIGTERM/SIGINT/SIGHUP.
  steward::server::BlockShutdownSignals();
  steward::server::IgnoreBrokenPipes();
  // Debian builds Abseil with Mutex deadlock detection on: every lock takes
  // a global graph lock and every Mutex destruction updates the graph,
  // measurable on the check path. Lock order is covered by tests under
  // sanitizers instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  absl::StatusOr<steward::server::Command> command =
      steward::server::ParseCommandLine(argc, argv);
  if (!command.ok()) {
    std::fprintf(stderr, "stewardd: error: %s\n",
                 std::string(command.status().message()).c_str());
    return 2;
  }
  if (!command->help.empty()) {
    std::fputs(command->help.c_str(), stdout);
    return 0;
  }
  if (command->version) {
    std::puts("stewardd " STEWARD_VERSION);
    return 0;
  }
  if (command->init) return steward::server::RunInit(*command->init);
  if (command->migrate) {
    return steward::server::RunMigrateStore(*command->migrate);
  }
  return steward::server::RunServe(*command->serve);
}
