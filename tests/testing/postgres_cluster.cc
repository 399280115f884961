// See postgres_cluster.h.
#include "tests/testing/postgres_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kSuperuser[] = "steward";

// A port nobody listens on right now (bind to :0, read it, release it).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// argv run as the `postgres` user when we are root, else as ourselves.
std::vector<std::string> AsServerUser(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"/usr/sbin/runuser", "-u", "postgres",
                                      "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

absl::Status Run(const std::vector<std::string>& argv, const char* what) {
  CommandResult r = RunCommand(AsServerUser(argv));
  if (r.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(what, " failed (exit ", r.exit_code, "): ", r.err, r.out));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PostgresCluster*> PostgresCluster::Shared() {
  // Destroyed at normal exit, which stops the server and removes its dir.
  static PostgresCluster* const cluster = [] {
    static PostgresCluster instance;
    return &instance;
  }();
  static absl::Mutex start_mu;
  static bool started = false;
  static absl::Status start_status;
  absl::MutexLock lock(&start_mu);
  if (!started) {
    started = true;
    start_status = cluster->Start();
  }
  if (!start_status.ok()) return start_status;
  return cluster;
}

absl::Status PostgresCluster::Start() {
  const std::string initdb = absl::StrCat(kBinDir, "/initdb");
  if (::access(initdb.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PostgreSQL 15 is not installed (no ", initdb,
        "); the PostgreSQL store tests need it: run scripts/bootstrap "
        "(apt package postgresql-15)"));
  }
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/steward_pg.XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("cannot create a temp dir for PostgreSQL");
  }
  dir_ = pattern;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root but there is no `postgres` user to run the test "
          "cluster as (install postgresql-15: scripts/bootstrap)");
    }
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("cannot chown ", dir_));
    }
  }
  const std::string data = absl::StrCat(dir_, "/data");
  if (absl::Status s =
          Run({initdb, "-D", data, "-U", kSuperuser, "--auth=trust",
               "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
               "--no-instructions"},
              "initdb");
      !s.ok()) {
    return s;
  }
  // A port can be taken between FreePort and the server's bind: retry.
  absl::Status started;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreePort();
    started = StartServer();
    if (started.ok()) break;
  }
  if (!started.ok()) return started;
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresCluster::StartServer() {
  return Run(
      {absl::StrCat(kBinDir, "/pg_ctl"), "-D", absl::StrCat(dir_, "/data"),
       "-l", absl::StrCat(dir_, "/server.log"), "-w", "-t", "30", "-o",
       absl::StrCat("-c listen_addresses=127.0.0.1 -p ", port_,
                    " -c unix_socket_directories=", dir_,
                    " -c fsync=off -c synchronous_commit=off"
                    " -c full_page_writes=off -c max_connections=50"),
       "start"},
      "pg_ctl start");
}

absl::Status PostgresCluster::Pause() {
  absl::MutexLock lock(&mu_);
  if (!running_) return absl::FailedPreconditionError("cluster not running");
  // Fast: connections are closed at once, as when the server goes away.
  absl::Status stopped =
      Run({absl::StrCat(kBinDir, "/pg_ctl"), "-D", absl::StrCat(dir_, "/data"),
           "-m", "fast", "-w", "stop"},
          "pg_ctl stop");
  if (stopped.ok()) running_ = false;
  return stopped;
}

absl::Status PostgresCluster::Resume() {
  absl::MutexLock lock(&mu_);
  if (running_) return absl::OkStatus();
  absl::Status started = StartServer();
  if (started.ok()) running_ = true;
  return started;
}

absl::Status PostgresCluster::RestartImmediate() {
  absl::MutexLock lock(&mu_);
  if (!running_) return absl::FailedPreconditionError("cluster not running");
  running_ = false;
  absl::Status stopped =
      Run({absl::StrCat(kBinDir, "/pg_ctl"), "-D", absl::StrCat(dir_, "/data"),
           "-m", "immediate", "-w", "stop"},
          "pg_ctl stop -m immediate");
  if (!stopped.ok()) return stopped;
  // Started as Start() does (same port and options), not with pg_ctl
  // restart, which would reuse the options of the last start as recorded
  // in postmaster.opts: the same here, but not a contract.
  absl::Status started = StartServer();
  if (started.ok()) running_ = true;
  return started;
}

void PostgresCluster::Stop() {
  if (running_) {
    // Immediate: no checkpoint, the data is thrown away anyway.
    (void)Run({absl::StrCat(kBinDir, "/pg_ctl"), "-D",
               absl::StrCat(dir_, "/data"), "-m", "immediate", "-w", "stop"},
              "pg_ctl stop");
    running_ = false;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

PostgresCluster::~PostgresCluster() { Stop(); }

std::string PostgresCluster::Url(const std::string& name) const {
  return absl::StrCat("postgresql://", kSuperuser, "@127.0.0.1:", port_, "/",
                      name);
}

absl::StatusOr<std::string> PostgresCluster::CreateDatabase() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    name = absl::StrCat("steward_test_", ::getpid(), "_", next_database_++);
  }
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(
      PQconnectdb(Url("postgres").c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to the test cluster: ", PQerrorMessage(conn.get())));
  }
  // `name` is ours (digits and underscores): an identifier cannot be a
  // query parameter.
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexec(conn.get(), absl::StrCat("CREATE DATABASE ", name).c_str()),
      PQclear);
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return absl::InternalError(absl::StrCat("CREATE DATABASE ", name, ": ",
                                            PQerrorMessage(conn.get())));
  }
  return Url(name);
}

}  // namespace steward::testing
