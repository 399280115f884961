// The HTTP endpoint that serves GET /metrics to Prometheus scrapers, on
// cpp-httplib (Debian's libcpp-httplib): a small pool of threads and short
// per-read timeouts, so a client that trickles bytes (or many of them)
// ties up one worker for at most the timeout and never blocks a scrape.
// Off the check path entirely.
#ifndef STEWARD_SERVER_METRICS_METRICS_HTTP_H_
#define STEWARD_SERVER_METRICS_METRICS_HTTP_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/metrics/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace steward::server {

// Owns its listening socket and threads. Not copyable; Stop() (or the
// destructor) stops serving and joins.
class MetricsHttpServer {
 public:
  struct Options {
    int threads = 4;
    // Each read of a request may wait this long for the next bytes.
    absl::Duration read_timeout = absl::Seconds(1);
    absl::Duration write_timeout = absl::Seconds(2);
  };

  // Binds `listen` ("HOST:PORT", numeric IPv4 or localhost; port 0 picks
  // one) and starts serving `metrics`, which must outlive this object.
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot
  // be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, const Metrics* metrics,
      const Options& options);
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, const Metrics* metrics) {
    return Start(listen, metrics, Options());
  }
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The bound "HOST:PORT".
  const std::string& address() const { return address_; }
  void Stop();

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> http, std::string address);

  std::unique_ptr<httplib::Server> http_;
  std::string address_;
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_METRICS_METRICS_HTTP_H_
