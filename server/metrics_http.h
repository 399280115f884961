// A minimal HTTP/1.1 endpoint serving GET /metrics for Prometheus scrapers.
// One thread, one connection at a time: scrapes are rare and small, and
// keeping it this simple keeps it off the check path entirely.
#ifndef STEWARD_SERVER_METRICS_HTTP_H_
#define STEWARD_SERVER_METRICS_HTTP_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/metrics.h"

namespace steward::server {

// Owns its listening socket and thread. Not copyable; Stop() (or the
// destructor) joins the thread.
class MetricsHttpServer {
 public:
  // Binds `listen` ("HOST:PORT", numeric IPv4 or localhost; port 0 picks
  // one) and starts serving `metrics`, which must outlive this object.
  // Returns the bound "HOST:PORT".
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, const Metrics* metrics);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  const std::string& address() const { return address_; }
  void Stop();

  struct PrivateTag {};
  MetricsHttpServer(PrivateTag, int listen_fd, int wake_fd[2],
                    std::string address, const Metrics* metrics);

 private:
  void Serve();

  int listen_fd_;
  int wake_read_fd_;
  int wake_write_fd_;
  std::string address_;
  const Metrics* metrics_;
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_METRICS_HTTP_H_
