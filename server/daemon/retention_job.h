// Runs the audit retention purge (--audit-retention) in the background: at
// start and then every `period`, on its own thread so a long first purge
// never delays serving or shutdown.
#ifndef STEWARD_SERVER_DAEMON_RETENTION_JOB_H_
#define STEWARD_SERVER_DAEMON_RETENTION_JOB_H_

#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/audit/retention.h"

namespace steward::server {

// How often the daemon runs the purge, whatever engine holds the trail:
// hourly, so a record outlives --audit-retention by at most an hour (on
// PostgreSQL, plus the rest of its month; pg_retention.h).
inline constexpr absl::Duration kRetentionJobPeriod = absl::Hours(1);

// Owns the purger and the thread; Stop() (or the destructor) joins.
class RetentionJob {
 public:
  RetentionJob(std::unique_ptr<audit::TrailPurger> purger,
               absl::Duration period);
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  void Stop();

 private:
  void Run();

  std::unique_ptr<audit::TrailPurger> purger_;
  absl::Duration period_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_RETENTION_JOB_H_
