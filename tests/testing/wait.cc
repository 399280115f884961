#include "tests/testing/wait.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/time/clock.h"

namespace steward::testing {

bool WaitUntil(absl::FunctionRef<bool()> done, absl::Time deadline,
               absl::string_view what, std::source_location where) {
  const absl::Time start = absl::Now();
  // The pause between polls, not a wait for the condition: short at first
  // so fast conditions cost little, capped so slow ones poll gently.
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    if (done()) return true;
    const absl::Time now = absl::Now();
    if (now >= deadline) break;
    absl::SleepFor(std::min(pause, deadline - now));
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
  ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
      << "timed out after " << absl::FormatDuration(absl::Now() - start)
      << " waiting for " << what;
  return false;
}

bool WaitUntil(absl::FunctionRef<bool()> done, absl::Duration timeout,
               absl::string_view what, std::source_location where) {
  return WaitUntil(done, absl::Now() + timeout, what, where);
}

}  // namespace steward::testing
