// The stewardd process as an operator sees it: starts on an ephemeral
// loopback port, answers health checks, stops cleanly on SIGTERM/SIGINT and
// refuses bad configuration with exit code 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;

TEST(LifecycleTest, ServesHealthAndStopsOnSigterm) {
  TempDir dir;
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, dir.path() + "/data",
                           {"--dev", "--policy",
                            std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"}),
              IsOk());
  CommandResult health =
      RunCommand({STEWARDCTL_PATH, "health", "--server", server.address()});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  EXPECT_EQ(server.Stop(SIGTERM), 0);
  EXPECT_THAT(server.Log(), HasSubstr("stopped"));
}

TEST(LifecycleTest, NotServingUntilAPolicyIsActive) {
  TempDir dir;
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, dir.path() + "/data", {"--dev"}),
              IsOk());
  CommandResult health =
      RunCommand({STEWARDCTL_PATH, "health", "--server", server.address()});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_EQ(health.out, "NOT_SERVING\n");
}

TEST(LifecycleTest, DevModeWritesOwnerOnlyKeyPerRole) {
  TempDir dir;
  ServerProcess server;
  std::string data = dir.path() + "/data";
  ASSERT_THAT(server.Start(STEWARDD_PATH, data, {"--dev"}), IsOk());
  for (const char* role : {"admin", "auditor", "client"}) {
    struct stat info;
    std::string path = data + "/dev-" + role + ".key";
    ASSERT_EQ(::stat(path.c_str(), &info), 0) << path;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << path;
    EXPECT_GT(info.st_size, 40) << path;
  }
}

TEST(LifecycleTest, ServeWithoutStoreSaysToRunInit) {
  TempDir dir;
  CommandResult result =
      RunCommand({STEWARDD_PATH, "serve", "--data-dir", dir.path() + "/none",
                  "--listen", "127.0.0.1:0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("stewardd init"));
}

// Two stewardd on one store kept separate snapshots and collided on audit
// sequence numbers; the second must refuse to start, and the first keep
// serving.
TEST(LifecycleTest, SecondInstanceOnTheSameDataDirIsRefused) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::vector<std::string> dev_with_policy = {
      "--dev", "--policy", std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"};
  ServerProcess first;
  ASSERT_THAT(first.Start(STEWARDD_PATH, data, dev_with_policy), IsOk());
  CommandResult second =
      RunCommand({STEWARDD_PATH, "serve", "--dev", "--data-dir", data,
                  "--listen", "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_THAT(second.err,
              HasSubstr(absl::StrCat("stewardd: error: data dir ", data,
                                     " is in use by another stewardd (pid ",
                                     first.pid(), ")")));
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1)
      << second.err;
  CommandResult health =
      RunCommand({STEWARDCTL_PATH, "health", "--server", first.address()});
  EXPECT_EQ(health.exit_code, 0) << health.out << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  EXPECT_EQ(first.Stop(), 0);
  // The lock goes with the process: a new one starts at once.
  ServerProcess third;
  EXPECT_THAT(third.Start(STEWARDD_PATH, data, dev_with_policy), IsOk());
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
                     "--audit-retention"},
        BadFlagsCase{"NewSegmentWithoutSigningKey",
                     {"serve", "--data-dir", "d", "--audit-start-new-segment"},
                     "--audit-start-new-segment needs --audit-signing-key"},
        BadFlagsCase{"BadCheckpointInterval",
                     {"serve", "--data-dir", "d", "--audit-signing-key", "k",
                      "--audit-checkpoint-interval", "soon"},
                     "--audit-checkpoint-interval"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace steward::testing
