#include "server/daemon/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace steward::server {
namespace {

// Protobuf's handler is a plain function pointer, so its settings live
// here; they are written once, before the first request.
struct RateLimit {
  absl::Mutex mu;
  int burst = 10;
  absl::Duration period = absl::Minutes(1);
  absl::Time window_start ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  int in_window ABSL_GUARDED_BY(mu) = 0;
  int64_t dropped_since_last ABSL_GUARDED_BY(mu) = 0;
  std::atomic<int64_t> dropped_total{0};
};

RateLimit& Limit() {
  static RateLimit* limit = new RateLimit();
  return *limit;
}

void Handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  RateLimit& limit = Limit();
  int64_t dropped = 0;
  if (level != google::protobuf::LOGLEVEL_FATAL) {
    absl::MutexLock lock(&limit.mu);
    const absl::Time now = absl::Now();
    if (now - limit.window_start >= limit.period) {
      limit.window_start = now;
      limit.in_window = 0;
    }
    if (limit.in_window >= limit.burst) {
      ++limit.dropped_since_last;
      limit.dropped_total.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    ++limit.in_window;
    dropped = limit.dropped_since_last;
    limit.dropped_since_last = 0;
  }
  // The message never holds request bytes (protobuf names the field, not
  // its value), so it is safe to log.
  const spdlog::level::level_enum spd_level =
      level == google::protobuf::LOGLEVEL_INFO      ? spdlog::level::info
      : level == google::protobuf::LOGLEVEL_WARNING ? spdlog::level::warn
                                                    : spdlog::level::err;
  if (dropped > 0) {
    spdlog::log(spd_level, "protobuf: {} ({}:{}; {} similar lines dropped)",
                message, filename, line, dropped);
  } else {
    spdlog::log(spd_level, "protobuf: {} ({}:{})", message, filename, line);
  }
}

}  // namespace

void RouteProtobufLogs(int burst, absl::Duration period) {
  RateLimit& limit = Limit();
  limit.burst = burst;
  limit.period = period;
  google::protobuf::SetLogHandler(&Handle);
}

int64_t DroppedProtobufLogLines() {
  return Limit().dropped_total.load(std::memory_order_relaxed);
}

}  // namespace steward::server
