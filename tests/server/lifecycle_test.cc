// The stewardd process as an operator sees it: starts on an ephemeral
// loopback port, answers health checks, stops cleanly on SIGTERM/SIGINT and
// refuses bad configuration with exit code 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;

TEST(LifecycleTest, ServesHealthAndStopsOnSigterm) {
  TempDir dir;
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, dir.path() + "/data", {"--dev"}),
              IsOk());
  CommandResult health =
      RunCommand({STEWARDCTL_PATH, "health", "--server", server.address()});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr("SERVING"));
  EXPECT_EQ(server.Stop(SIGTERM), 0);
  EXPECT_THAT(server.Log(), HasSubstr("stopped"));
}

TEST(LifecycleTest, StopsOnSigint) {
  TempDir dir;
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, dir.path() + "/data", {"--dev"}),
              IsOk());
  EXPECT_EQ(server.Stop(SIGINT), 0);
}

TEST(LifecycleTest, DevModeSaysSoLoudly) {
  TempDir dir;
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, dir.path() + "/data", {"--dev"}),
              IsOk());
  EXPECT_THAT(server.Log(), HasSubstr("DEVELOPMENT MODE"));
}

TEST(LifecycleTest, HealthAgainstNothingNamesTheAddress) {
  CommandResult health =
      RunCommand({STEWARDCTL_PATH, "health", "--server", "127.0.0.1:1"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_THAT(health.err, HasSubstr("error: UNAVAILABLE"));
  EXPECT_THAT(health.err, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(health.err, HasSubstr("--server"));
}

struct BadFlagsCase {
  std::string name;
  std::vector<std::string> args;
  std::string message;
};

class BadFlagsTest : public ::testing::TestWithParam<BadFlagsCase> {};

TEST_P(BadFlagsTest, ExitsTwoWithOneClearLine) {
  std::vector<std::string> argv = {STEWARDD_PATH};
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  CommandResult result = RunCommand(argv);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("stewardd: error: "));
  EXPECT_THAT(result.err, HasSubstr(GetParam().message));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadFlagsTest,
    ::testing::Values(
        BadFlagsCase{"UnknownSubcommand", {"bogus"}, "bogus"},
        BadFlagsCase{
            "UnknownFlag", {"serve", "--data-dir", "d", "--nope"}, "--nope"},
        BadFlagsCase{"PlaintextPublic",
                     {"serve", "--data-dir", "d", "--listen", "0.0.0.0:1"},
                     "loopback"},
        BadFlagsCase{"BadRetention",
                     {"serve", "--data-dir", "d", "--audit-retention", "1y"},
                     "--audit-retention"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace steward::testing
