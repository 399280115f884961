// Test support for the stewardctl end-to-end suites: a real `stewardd serve
// --dev` on an ephemeral loopback port with a temp data dir, and a way to
// run the real stewardctl against it with one of the dev keys.
#ifndef STEWARD_TESTS_CLIENT_CLI_SESSION_H_
#define STEWARD_TESTS_CLIENT_CLI_SESSION_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace steward::client {

// Which dev key a command runs with.
// A readable failure message for a command result.
inline std::string Describe(const testing::CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\nstdout:\n", r.out, "\nstderr:\n",
                      r.err);
}

enum class As { kAdmin, kAuditor, kClient };

class CliSessionTest : public ::testing::Test {
 protected:
  // Starts the server with `extra` after `--dev`. Fails the test (fatally)
  // when it does not come up.
  void StartServer(const std::vector<std::string>& extra = {}) {
    data_dir_ = dir_.path() + "/data";
    server_args_ = {"--dev"};
    server_args_.insert(server_args_.end(), extra.begin(), extra.end());
    absl::Status started =
        server_.Start(STEWARDD_PATH, data_dir_, server_args_);
    ASSERT_TRUE(started.ok()) << started << "\n" << server_.Log();
  }

  std::string KeyFile(As as) const {
    switch (as) {
      case As::kAdmin:
        return data_dir_ + "/dev-admin.key";
      case As::kAuditor:
        return data_dir_ + "/dev-auditor.key";
      case As::kClient:
        return data_dir_ + "/dev-client.key";
    }
    return "";
  }

  // Runs stewardctl against the server with `key_file`; `env` entries
  // ("NAME=value") are added to the environment.
  testing::CommandResult CtlWithKey(
      const std::string& key_file, std::vector<std::string> args,
      const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv = {STEWARDCTL_PATH, "--server",
                                     server_.address(), "--api-key-file",
                                     key_file};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> environment = {
        "STEWARD_SERVER=", "STEWARD_API_KEY=", "STEWARD_OTP=", "NO_COLOR=1"};
    environment.insert(environment.end(), env.begin(), env.end());
    return testing::RunCommand(argv, environment);
  }

  testing::CommandResult Ctl(As as, std::vector<std::string> args,
                             const std::vector<std::string>& env = {}) const {
    return CtlWithKey(KeyFile(as), std::move(args), env);
  }

  // `stewardctl check ARGS` as the client key; its exit code is the
  // decision (0 ALLOW, 3 DENY).
  void Check(int expected_exit, std::vector<std::string> args) const {
    args.insert(args.begin(), "check");
    testing::CommandResult r = Ctl(As::kClient, args);
    ASSERT_EQ(r.exit_code, expected_exit) << Describe(r);
  }

  static std::string Testdata(const std::string& name) {
    return absl::StrCat(CLIENT_TESTDATA_DIR, "/", name);
  }

  testing::TempDir dir_;
  std::string data_dir_;
  std::vector<std::string> server_args_;
  testing::ServerProcess server_;
};

}  // namespace steward::client

#endif  // STEWARD_TESTS_CLIENT_CLI_SESSION_H_
