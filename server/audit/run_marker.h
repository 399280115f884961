// Whether the last stewardd on a data dir stopped cleanly, and the trail
// record that says so when it did not.
//
// With --audit-durability async a Check is answered once its record is
// queued, so a crash loses the records still queued (at most the queue's
// capacity plus the batch being committed). That loss must not be silent:
// stewardd leaves DATA_DIR/stewardd.running while it serves and removes it
// after the trail is flushed; finding it at start means the previous run
// did not stop cleanly, and stewardd appends an "audit_unclean_stop"
// system record (with the previous run's durability and the bound) before
// anything else. `audit verify` reports each such record after an async
// run as a possible gap. Internal to stewardd and the verifier.
#ifndef STEWARD_SERVER_AUDIT_RUN_MARKER_H_
#define STEWARD_SERVER_AUDIT_RUN_MARKER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/audit/record.h"

namespace steward::audit {

inline constexpr char kUncleanStopAction[] = "audit_unclean_stop";

// What the marker of a run holds.
struct RunMarker {
  int64_t pid = 0;
  std::string durability;  // "sync", "async" or "off"
  // Records the writer may hold unwritten at any moment (queue capacity
  // plus one batch): what an async crash can lose at most.
  int64_t at_risk_bound = 0;
};

// The marker a previous run left in `data_dir`; nullopt when it stopped
// cleanly (or never ran). An unreadable marker reads as an unclean stop of
// unknown durability.
absl::StatusOr<std::optional<RunMarker>> ReadRunMarker(
    const std::string& data_dir);
// Written (and synced) before serving; removed after the trail is flushed.
absl::Status WriteRunMarker(const std::string& data_dir,
                            const RunMarker& marker);
absl::Status RemoveRunMarker(const std::string& data_dir);

// The system record stating that the run of `previous` stopped uncleanly.
AuditRecord UncleanStopRecord(absl::Time time, const RunMarker& previous);

// Whether `details` (of an audit_unclean_stop record) says the stopped
// run answered Checks before their records were written.
bool UncleanStopMayHaveLostRecords(absl::string_view details);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_RUN_MARKER_H_
