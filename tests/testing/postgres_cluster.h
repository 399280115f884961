// A throwaway PostgreSQL 15 cluster for tests that run the store's
// PostgreSQL engine against a real server (never a mock).
//
// Test-only. The first call to PostgresCluster::Shared() runs initdb and
// pg_ctl (from /usr/lib/postgresql/15/bin, installed by scripts/bootstrap)
// in a fresh temp dir, listening on 127.0.0.1 on a free ephemeral port and
// on a unix socket in that dir, with fsync off (tests need no durability
// across power loss). When we run as root (CI does), the server runs as
// the unprivileged `postgres` user (runuser), which owns the temp dir:
// PostgreSQL refuses to run as root. One cluster serves the whole test
// binary; each test takes a fresh database (CREATE DATABASE is fast). The
// cluster is stopped (pg_ctl stop -m immediate) and its dir removed when
// the process exits normally, whatever the tests' outcome. When the
// binaries are missing, Shared() returns an error saying so: tests FAIL on
// it rather than skip, since CI installs them.
#ifndef STEWARD_TESTS_TESTING_POSTGRES_CLUSTER_H_
#define STEWARD_TESTS_TESTING_POSTGRES_CLUSTER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace steward::testing {

class PostgresCluster {
 public:
  // The process's cluster, started on first use. Thread-safe. A failed
  // start is remembered and returned to every caller.
  static absl::StatusOr<PostgresCluster*> Shared();

  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;
  ~PostgresCluster();

  // Creates an empty database and returns its libpq URL
  // (postgresql://steward@127.0.0.1:PORT/NAME).
  absl::StatusOr<std::string> CreateDatabase();

  // Stops the server (pg_ctl stop -m fast), keeping its data, so tests can
  // see what an unreachable PostgreSQL does to clients; Resume() starts it
  // again on the same port. Not for concurrent use with each other.
  absl::Status Pause();
  absl::Status Resume();
  // pg_ctl restart -m immediate: the server is killed without a
  // checkpoint (as a crash would) and recovers from its WAL on start.
  absl::Status RestartImmediate();

  int port() const { return port_; }
  // The superuser's URL for database `name`.
  std::string Url(const std::string& name) const;

 private:
  PostgresCluster() = default;
  absl::Status Start();
  absl::Status StartServer();
  void Stop();

  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  absl::Mutex mu_;
  int next_database_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace steward::testing

#endif  // STEWARD_TESTS_TESTING_POSTGRES_CLUSTER_H_
