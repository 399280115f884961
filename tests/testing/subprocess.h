// Test-only helpers that run our real binaries: a command run to completion
// with its output captured, and a stewardd kept running on an ephemeral
// loopback port for the duration of a test.
#ifndef STEWARD_TESTS_TESTING_SUBPROCESS_H_
#define STEWARD_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with the given arguments and extra environment entries
// ("NAME=value"), optional stdin text, and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::string& stdin_text = "");

// A fresh temporary directory, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A running stewardd. Start() launches `stewardd serve --listen
// 127.0.0.1:0 --data-dir DIR <extra>` and waits until it has written its
// address file; the destructor sends SIGTERM and reaps it.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  absl::Status Start(const std::string& stewardd, const std::string& data_dir,
                     const std::vector<std::string>& extra_args,
                     absl::Duration timeout = absl::Seconds(20));
  // Sends `signal` and waits; returns the exit code (-1 if signalled).
  int Stop(int signal = 15);
  // Kills without a chance to flush (SIGKILL) and reaps.
  void Kill();

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // What the server wrote to stderr so far (its log).
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string address_;
  std::string log_path_;
};

}  // namespace steward::testing

#endif  // STEWARD_TESTS_TESTING_SUBPROCESS_H_
