// The injected source of "now".
//
// Public. Everything that compares against the current time (binding expiry
// in the store, decision time on the check path, audit timestamps and
// retention) takes a Clock so tests can move time without sleeping
// (STYLE.md: no global state, clocks are injected). Production wires one
// RealClock; tests use FakeClock.
#ifndef STEWARD_SERVER_STORE_CLOCK_H_
#define STEWARD_SERVER_STORE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward::store {

// A source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The system wall clock. Stateless and thread-safe.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A settable clock for tests. Thread-safe: the time may be advanced while
// other threads read it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600))
      : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_CLOCK_H_
