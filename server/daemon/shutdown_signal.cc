#include "server/daemon/shutdown_signal.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>

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

void IgnoreBrokenPipes() { ::signal(SIGPIPE, SIG_IGN); }

Signal WaitForSignal(absl::Duration timeout) {
  sigset_t set = HandledSignals();
  while (true) {
    int received = 0;
    if (timeout == absl::InfiniteDuration()) {
      if (sigwait(&set, &received) != 0) continue;
    } else {
      timespec wait = absl::ToTimespec(timeout);
      received = sigtimedwait(&set, nullptr, &wait);
      if (received < 0) {
        if (errno == EINTR) continue;
        return Signal::kTimeout;
      }
    }
    if (received == SIGHUP) return Signal::kReload;
    return Signal::kShutdown;
  }
}

}  // namespace steward::server
