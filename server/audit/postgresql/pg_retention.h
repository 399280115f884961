// PgRetentionPurger: --audit-retention for the audit trail in PostgreSQL,
// partition by partition, over every replica's chain.
//
// Public; the daemon's retention job runs it with a PostgreSQL trail (any
// replica may; one purges at a time). audit_records is partitioned by
// UTC month (migrations/postgresql/0002_audit.sql), plus a DEFAULT
// partition for rows whose month had no partition. A run:
//  1. takes a transaction-level advisory lock: while another replica
//     purges, this one skips (PurgeResult::skipped) and tries next period;
//  2. finds the monthly partitions that end at or before the cutoff (now -
//     retention) and locks them against inserts (SHARE: readers go on);
//  3. per chain, finds the prefix that may go: the chain's seqs from its
//     retention checkpoint up to, not including, the first record that
//     stays (in a partition that is not dropped, or in DEFAULT at or after
//     the cutoff). A partition holding any record beyond its chain's
//     prefix (a clock stepped back) is kept, with every later one, so each
//     chain always loses a seq prefix and stays one contiguous chain;
//  4. in that one transaction: each chain's checkpoint row advances to the
//     last record the drops remove (its seq and hash, so VerifyPgChains
//     continues from the first retained record), the DEFAULT rows of that
//     prefix are deleted, and the partitions are DETACHed and DROPped (no
//     row-by-row delete). DETACH needs an ACCESS EXCLUSIVE lock on
//     audit_records, so writers wait for it: the transaction is short and
//     its lock wait is bounded (lock_timeout; a timeout fails the run,
//     which the next period retries);
//  5. then the DEFAULT partition's rows of each chain's prefix that remain
//     are deleted oldest first in transactions of batch_rows rows, each
//     advancing that chain's checkpoint;
//  6. records the purge through this replica's writer (a retention_purge
//     system record, the counts and each chain's checkpoint in details).
// Granularity: a monthly partition goes only once all of it is older than
// the cutoff; rows of the month the cutoff falls in stay until their whole
// month has expired, so a record lives between `retention` and `retention`
// plus one month. Deleting them row by row would make every daily run
// delete a day of rows and leave nothing for the partition drop to do.
// Rows in DEFAULT are exact (deleted once older than the cutoff).
// Secure deletion: a dropped partition's files are unlinked, not
// overwritten; deleted DEFAULT rows stay in their pages until VACUUM
// reuses the space (docs/deployment.md).
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_RETENTION_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_RETENTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/audit/retention.h"
#include "server/audit/trail_writer.h"
#include "server/store/clock.h"

namespace steward::store::postgresql {
class Connection;
}  // namespace steward::store::postgresql

namespace steward::audit {

// RetentionLimits (retention.h); batch_rows bounds the DEFAULT rows
// deleted per transaction.
struct PgRetentionOptions : RetentionLimits {
  // How long the drop transaction waits for a lock (a long report holding
  // audit_records) before the run fails and waits for the next period.
  absl::Duration lock_timeout = absl::Seconds(2);
};

// Owns its connection. Thread-compatible: one caller at a time (the
// retention job). The clock and writer must outlive it.
class PgRetentionPurger final : public TrailPurger {
 public:
  // REQUIRES: options.retention > 0, options.batch_rows > 0
  // (kInvalidArgument otherwise). kUnavailable: unreachable.
  static absl::StatusOr<std::unique_ptr<PgRetentionPurger>> Open(
      const std::string& conninfo, const store::Clock& clock,
      TrailWriter& writer, const PgRetentionOptions& options);
  ~PgRetentionPurger() override;

  // As above. A failure after some transactions committed leaves every
  // chain verifying (each transaction carries its checkpoints) and
  // returns the error, after recording the incomplete purge.
  absl::StatusOr<PurgeResult> PurgeExpired() override;

 private:
  PgRetentionPurger(std::unique_ptr<store::postgresql::Connection> connection,
                    const store::Clock& clock, TrailWriter& writer,
                    const PgRetentionOptions& options);

  std::unique_ptr<store::postgresql::Connection> connection_;
  const store::Clock& clock_;
  TrailWriter& writer_;
  const PgRetentionOptions options_;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_RETENTION_H_
