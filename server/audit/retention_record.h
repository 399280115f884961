// The parts of a retention run that are the same whatever engine holds the
// trail: checking the limits both purgers take, and the retention_purge
// record that ends a run that removed anything.
//
// Internal to server/audit (and server/audit/postgresql): RetentionPurger
// (retention.cc, SQLite) and PgRetentionPurger (postgresql/pg_retention.cc)
// use it; what each removes, and how, stays with its engine's SQL. The
// record is a system record (kind kRetentionPurge, action
// "retention_purge", caller "stewardd") whose details hold the run's counts
// (cutoff_us, purged, batches, retention_s, and incomplete when the run
// failed part-way) plus what the engine adds (SQLite: checkpoint_seq;
// PostgreSQL: partitions_dropped and each chain's checkpoint).
#ifndef STEWARD_SERVER_AUDIT_RETENTION_RECORD_H_
#define STEWARD_SERVER_AUDIT_RETENTION_RECORD_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json_fwd.hpp"
#include "server/audit/retention.h"
#include "server/audit/trail_writer.h"

namespace steward::audit::internal {

// kInvalidArgument unless the retention and the batch size are positive.
absl::Status CheckRetentionLimits(const RetentionLimits& limits);

// Ends a run, `failure` being how it went (OK, or the error that stopped
// it part-way). When it removed anything (result.purged > 0): writes the
// retention_purge record (saying so when the run was incomplete), waits
// for its commit and sets result.purge_record_seq; `engine_details` (a
// JSON object) is merged into the record's details. Then returns
// `failure` if set, else the result. Errors: `failure`, or the writer's.
absl::StatusOr<PurgeResult> FinishRetentionRun(
    TrailWriter& writer, absl::Time now, absl::Duration retention,
    const absl::Status& failure, const nlohmann::json& engine_details,
    PurgeResult result);

}  // namespace steward::audit::internal

#endif  // STEWARD_SERVER_AUDIT_RETENTION_RECORD_H_
