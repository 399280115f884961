// See retention_record.h.
#include "server/audit/retention_record.h"

#include <utility>

#include "nlohmann/json.hpp"
#include "server/audit/record.h"

namespace steward::audit::internal {

absl::Status CheckRetentionLimits(const RetentionLimits& limits) {
  if (limits.retention <= absl::ZeroDuration() || limits.batch_rows <= 0) {
    return absl::InvalidArgumentError(
        "retention and batch size must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<PurgeResult> FinishRetentionRun(
    TrailWriter& writer, absl::Time now, absl::Duration retention,
    const absl::Status& failure, const nlohmann::json& engine_details,
    PurgeResult result) {
  if (result.purged > 0) {
    nlohmann::json details = engine_details;
    details["cutoff_us"] = absl::ToUnixMicros(result.cutoff);
    details["purged"] = result.purged;
    details["batches"] = result.batches;
    details["retention_s"] = absl::ToInt64Seconds(retention);
    if (!failure.ok()) details["incomplete"] = true;
    AuditRecord record;
    record.time = now;
    record.kind = RecordKind::kRetentionPurge;
    record.caller = "stewardd";
    record.action = "retention_purge";
    record.effect = failure.ok() ? RecordEffect::kOk : RecordEffect::kFailed;
    record.reason = failure.ok() ? "RETENTION" : "RETENTION_INCOMPLETE";
    record.details = details.dump();
    absl::StatusOr<int64_t> seq = writer.SubmitAndWait(std::move(record));
    if (!seq.ok()) return seq.status();
    result.purge_record_seq = *seq;
  }
  if (!failure.ok()) return failure;
  return result;
}

}  // namespace steward::audit::internal
