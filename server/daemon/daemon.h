// Daemon: a running `stewardd serve`, as one object. Open() does
// everything that can fail before serving — data dir and its lock, TLS
// files, the store (and, in --dev, the example policy and keys), the audit
// trail, the services and the listeners — and Run() serves until
// SIGTERM/SIGINT, then drains calls and flushes the trail.
//
// steward.db is opened once per component that touches it, each with its
// own connection because each works on its own thread: the store
// (snapshot builds and admin writes), the audit writer (its commit
// thread), the retention purger (its job thread), and the audit reader and
// usage index (auditor RPCs). SQLite's WAL lets the readers run beside the
// one writer. A replica on PostgreSQL (--store) opens the role store
// there and follows the other replicas' changes (store::StoreFollower);
// its audit trail is there too: its own chain, written by a PgTrailWriter,
// and auditor queries over every replica's chain (docs/deployment.md).
#ifndef STEWARD_SERVER_DAEMON_DAEMON_H_
#define STEWARD_SERVER_DAEMON_DAEMON_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/daemon/config.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace steward::server {

class HttpGateway;

class Daemon {
 public:
  // Errors: kInvalidArgument for configuration the operator must fix (TLS
  // files, the audit key, a data dir another stewardd holds), which
  // `stewardd` reports as one `stewardd: error:` line and exit code 2;
  // any other code is a runtime failure (exit code 1), e.g. kNotFound when
  // the data dir has no store yet.
  static absl::StatusOr<std::unique_ptr<Daemon>> Open(
      const ServeConfig& config);

  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Serves until SIGTERM/SIGINT (SIGHUP re-checks the TLS files), then
  // drains in-flight calls and flushes the audit trail. Call once. An
  // error means the trail could not be flushed.
  absl::Status Run();

 private:
  struct Parts;

  explicit Daemon(const ServeConfig& config);
  absl::Status OpenParts();
  absl::Status OpenConfiguration();
  absl::Status OpenRoleStore();
  absl::Status OpenTrail();
  absl::Status OpenPgTrail();
  std::string TrailLocation() const;
  absl::Status OpenServices();
  absl::Status RecordPreviousRun(const ServeConfig& config, Parts& parts);
  absl::Status StartListeners();
  // Keeps health and the snapshot metrics in step with the store.
  void Housekeep();

  const ServeConfig config_;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<grpc::Server> server_;
  // Calls into server_ in process: stopped before it, destroyed before it.
  std::unique_ptr<HttpGateway> http_;
  bool serving_ = true;
  bool store_reachable_ = true;
  // The trail writer's failed batches as last seen by Housekeep, and when
  // the count last grew (health, daemon.cc).
  uint64_t trail_batches_failed_ = 0;
  absl::Time trail_last_failure_ = absl::InfinitePast();
  bool ran_ = false;
  std::thread warm_usage_;
};

// `stewardd serve`: sets up logging, opens a Daemon and runs it. Returns
// the process exit code: 0 after a clean shutdown, 1 on a runtime failure,
// 2 on a configuration error.
int RunServe(const ServeConfig& config);

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_DAEMON_H_
