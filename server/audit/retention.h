// Retention: purging audit records older than the retention period.
//
// Public. The server runs PurgeExpired() periodically (and at start) with
// --audit-retention (default 400 days). Records are removed oldest first,
// as a seq prefix, in bounded transactions (so the writer's group commits
// interleave with the purge instead of waiting for all of it), with
// secure_delete on (the store's connection setting) so purged rows are
// overwritten, not left in free pages. In the same transaction as each
// batch the audit_checkpoints row of this run is written or advanced to the
// last purged record's seq and hash, so VerifyChain continues from the
// first retained record. The purge itself is recorded through the writer as
// a retention_purge record (kind "system", action "retention_purge", the
// counts in details).
#ifndef STEWARD_SERVER_AUDIT_RETENTION_H_
#define STEWARD_SERVER_AUDIT_RETENTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/audit/writer.h"
#include "server/store/clock.h"

namespace steward::store::sqlite {
class Connection;
}  // namespace steward::store::sqlite

namespace steward::audit {

// What every engine's retention takes (RetentionOptions below,
// PgRetentionOptions in postgresql/pg_retention.h): how long records are
// kept, and how many rows one purge transaction removes at most.
struct RetentionLimits {
  absl::Duration retention = absl::Hours(24 * 400);
  int batch_rows = 10000;  // rows deleted per transaction
};

struct RetentionOptions : RetentionLimits {
  // How long a purge transaction waits for SQLite's write lock.
  absl::Duration busy_timeout = absl::Seconds(5);
};

struct PurgeResult {
  int64_t purged = 0;            // records removed
  int64_t batches = 0;           // transactions committed
  int64_t checkpoint_seq = 0;    // last purged seq (0: nothing purged)
  int64_t purge_record_seq = 0;  // the retention_purge record (0: none)
  absl::Time cutoff;
  // PostgreSQL (postgresql/pg_retention.h) only: the monthly partitions
  // dropped, and whether another replica was purging (nothing done).
  // checkpoint_seq stays 0 there: each chain has its own checkpoint.
  int64_t partitions_dropped = 0;
  bool skipped = false;
};

// What the daemon's retention job runs, whatever engine holds the trail:
// RetentionPurger below (SQLite) or PgRetentionPurger
// (postgresql/pg_retention.h). Thread-compatible.
class TrailPurger {
 public:
  virtual ~TrailPurger() = default;
  // Removes the records older than the retention period (see each
  // implementation) and records the purge in the trail.
  virtual absl::StatusOr<PurgeResult> PurgeExpired() = 0;

 protected:
  TrailPurger() = default;
  TrailPurger(const TrailPurger&) = delete;
  TrailPurger& operator=(const TrailPurger&) = delete;
};

// Owns its own connection. Thread-compatible: one caller at a time (the
// server's retention job). The clock and writer must outlive it.
class RetentionPurger final : public TrailPurger {
 public:
  // REQUIRES: options.retention > 0, options.batch_rows > 0
  // (kInvalidArgument otherwise). kNotFound: no such database.
  static absl::StatusOr<std::unique_ptr<RetentionPurger>> Open(
      const std::string& db_path, const store::Clock& clock,
      AuditWriter& writer, const RetentionOptions& options);

  RetentionPurger(const RetentionPurger&) = delete;
  RetentionPurger& operator=(const RetentionPurger&) = delete;
  ~RetentionPurger() override;

  // Removes every record of the oldest seq prefix whose time is before
  // clock.Now() - retention (a record newer than the cutoff stops the
  // purge, so the retained records stay one contiguous chain), then, if
  // anything was removed, records the purge and waits for that record's
  // commit. A failure after some batches committed leaves a consistent
  // trail (each batch carries its checkpoint) and returns the error.
  absl::StatusOr<PurgeResult> PurgeExpired() override;

 private:
  RetentionPurger(std::unique_ptr<store::sqlite::Connection> connection,
                  const store::Clock& clock, AuditWriter& writer,
                  const RetentionOptions& options);

  std::unique_ptr<store::sqlite::Connection> connection_;
  const store::Clock& clock_;
  AuditWriter& writer_;
  const RetentionOptions options_;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_RETENTION_H_
