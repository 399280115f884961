#include "tests/testing/wait.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace steward::testing {
namespace {

TEST(WaitUntilTest, ReturnsAtOnceWhenTheConditionAlreadyHolds) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        ++calls;
        return true;
      },
      absl::Seconds(10), "a condition that holds"));
  EXPECT_EQ(calls, 1);
}

TEST(WaitUntilTest, ReturnsWhenAnotherThreadMakesTheConditionTrue) {
  std::atomic<bool> flag{false};
  std::thread setter([&] { flag.store(true); });
  EXPECT_TRUE(WaitUntil([&] { return flag.load(); }, absl::Seconds(30),
                        "the flag to be set"));
  setter.join();
}

TEST(WaitUntilTest, FailsTheTestNamingWhatWasAwaited) {
  bool returned = true;
  EXPECT_NONFATAL_FAILURE(
      returned = WaitUntil([] { return false; }, absl::Milliseconds(20),
                           "the impossible"),
      "waiting for the impossible");
  EXPECT_FALSE(returned);
}

TEST(WaitUntilTest, ChecksOnceMoreAtThePastDeadline) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        ++calls;
        return true;
      },
      absl::InfinitePast(), "a condition that holds"));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace steward::testing
