// One stewardd per data directory. Two processes on one SQLite store each
// keep a snapshot of their own and an audit writer of their own: a change
// made through one is invisible to the other, and their audit sequence
// numbers collide. An exclusive flock on DATA_DIR/stewardd.lock, held for
// the life of the process, makes the second one refuse to start. Daemon
// wiring; the kernel releases the lock when the process dies, even on
// SIGKILL, so a crash never leaves a stale lock behind.
#ifndef STEWARD_SERVER_DAEMON_DATA_DIR_LOCK_H_
#define STEWARD_SERVER_DAEMON_DATA_DIR_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace steward::server {

// Holds the lock until destroyed. Not copyable.
class DataDirLock {
 public:
  // Takes the lock without waiting. FAILED_PRECONDITION when another
  // process holds it (the message names the data dir and that process's
  // pid when known); INTERNAL when the lock file cannot be opened.
  static absl::StatusOr<std::unique_ptr<DataDirLock>> Acquire(
      const std::string& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_DATA_DIR_LOCK_H_
