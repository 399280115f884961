#include "server/metrics/metrics_http.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward::server {
namespace {

// Bounds what one scraper can make the server buffer.
constexpr size_t kMaxPayloadBytes = 8192;

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, const Metrics* metrics, const Options& options) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  uint32_t port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen: expected HOST:PORT, got ", listen));
  }
  if (host == "localhost") host = "127.0.0.1";
  in_addr parsed{};
  if (::inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-listen: host must be a numeric IPv4 address, got ", host));
  }

  auto http = std::make_unique<httplib::Server>();
  const int threads = options.threads;
  http->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  const int64_t read_us = absl::ToInt64Microseconds(options.read_timeout);
  const int64_t write_us = absl::ToInt64Microseconds(options.write_timeout);
  http->set_read_timeout(read_us / 1000000, read_us % 1000000);
  http->set_write_timeout(write_us / 1000000, write_us % 1000000);
  http->set_keep_alive_max_count(10);
  http->set_keep_alive_timeout(2);
  http->set_payload_max_length(kMaxPayloadBytes);
  http->Get("/metrics",
            [metrics](const httplib::Request&, httplib::Response& response) {
              response.set_content(metrics->Render(),
                                   "text/plain; version=0.0.4; charset=utf-8");
            });
  http->set_error_handler(
      [](const httplib::Request&, httplib::Response& response) {
        if (response.status == 404) {
          response.set_content("only GET /metrics is served here\n",
                               "text/plain; charset=utf-8");
        }
      });
  bool bound = false;
  if (port == 0) {
    const int chosen = http->bind_to_any_port(host);
    bound = chosen > 0;
    port = static_cast<uint32_t>(chosen);
  } else {
    bound = http->bind_to_port(host, static_cast<int>(port));
  }
  if (!bound) {
    return absl::UnavailableError(
        absl::StrCat("--metrics-listen: cannot listen on ", listen));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(http), absl::StrCat(host, ":", port)));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> http,
                                     std::string address)
    : http_(std::move(http)), address_(std::move(address)) {
  thread_ =
      std::thread([server = http_.get()] { server->listen_after_bind(); });
  // stop() is a no-op until the loop runs: wait for it, so a Stop() right
  // after Start() cannot leave the thread listening forever.
  while (!http_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace steward::server
