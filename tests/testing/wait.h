// Waiting in tests for something another thread or process does: poll a
// condition until it holds or a deadline passes, and fail the test (naming
// what was awaited) when it never does. Test-only; the one place a test
// waits, so no test sleeps a fixed time and hopes.
#ifndef STEWARD_TESTS_TESTING_WAIT_H_
#define STEWARD_TESTS_TESTING_WAIT_H_

#include <source_location>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward::testing {

// Calls `done` until it returns true (then returns true) or `deadline` has
// passed after one last call (then returns false). On timeout it records a
// non-fatal GoogleTest failure at the caller's line: "timed out after D
// waiting for <what>", so `what` reads after "waiting for" ("the indexer to
// reach seq 7"). A caller that cannot go on writes
// `if (!WaitUntil(...)) return;`. `done` runs on the calling thread, first
// at once, then at growing intervals of at most 50 ms.
bool WaitUntil(absl::FunctionRef<bool()> done, absl::Time deadline,
               absl::string_view what,
               std::source_location where = std::source_location::current());

// Same, with the deadline `timeout` from now.
bool WaitUntil(absl::FunctionRef<bool()> done, absl::Duration timeout,
               absl::string_view what,
               std::source_location where = std::source_location::current());

}  // namespace steward::testing

#endif  // STEWARD_TESTS_TESTING_WAIT_H_
