#include "server/audit/trail_writer.h"

#include <utility>

#include "absl/synchronization/notification.h"

namespace steward::audit {

absl::StatusOr<int64_t> TrailWriter::SubmitAndWait(AuditRecord record) {
  if (OnWriterThread()) {
    return absl::FailedPreconditionError(
        "SubmitAndWait called from an audit commit callback");
  }
  absl::Notification done;
  absl::StatusOr<int64_t> result;
  absl::Status s =
      Submit(std::move(record), [&result, &done](absl::StatusOr<int64_t> r) {
        result = std::move(r);
        done.Notify();
      });
  if (!s.ok()) return s;
  done.WaitForNotification();
  return result;
}

}  // namespace steward::audit
