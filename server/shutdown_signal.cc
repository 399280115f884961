#include "server/shutdown_signal.h"

#include <pthread.h>
#include <signal.h>

namespace steward::server {
namespace {

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Signal WaitForSignal() {
  sigset_t set = HandledSignals();
  while (true) {
    int received = 0;
    if (sigwait(&set, &received) != 0) continue;
    if (received == SIGHUP) return Signal::kReload;
    return Signal::kShutdown;
  }
}

}  // namespace steward::server
