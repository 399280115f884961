// The HTML access report (`stewardctl report access --html FILE`): one
// self-contained page for an audit file, built client-side from AuditService
// data — a role × permission matrix with PII permissions highlighted,
// decisions per day and the most denied principals (DecisionSummary,
// aggregated by the server), and unused grants. No
// scripts, fonts or images from elsewhere: it must read the same offline
// years later. Aggregation and rendering are pure so they are tested
// without a server.
#ifndef STEWARD_CLIENT_ACCESS_REPORT_H_
#define STEWARD_CLIENT_ACCESS_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "steward/v1/audit.pb.h"

namespace steward::client {

// Allow/deny counts per UTC day and per principal: either the server's
// DecisionSummary of a window, or fed one record at a time (tests, small
// exports). Thread-compatible.
class DecisionStats {
 public:
  // The summary's days, totals and top denied principals (TopDenied() then
  // knows only the principals the summary lists).
  static DecisionStats FromSummary(
      const steward::v1::DecisionSummaryResponse& summary);

  // Counts DECISION records; other kinds are ignored.
  void Add(const steward::v1::AuditRecord& record);

  struct Day {
    int64_t allow = 0;
    int64_t deny = 0;
  };
  // Keyed by "YYYY-MM-DD", ascending.
  const std::map<std::string, Day>& days() const { return days_; }
  // The `limit` principals with most denies, most first (ties by id).
  std::vector<std::pair<std::string, int64_t>> TopDenied(size_t limit) const;
  int64_t total() const { return total_; }
  // Distinct principals with at least one deny.
  int64_t denied_principals() const { return denied_principals_; }

 private:
  std::map<std::string, Day> days_;
  std::map<std::string, int64_t> denies_by_principal_;
  int64_t total_ = 0;
  int64_t denied_principals_ = 0;
};

struct RolePermissions {
  std::string role;
  std::vector<steward::v1::PermissionEntry> entries;
};

struct AccessReportData {
  absl::Time generated_at;
  std::string server;
  int days = 30;  // window of the decision statistics and unused grants
  std::vector<RolePermissions> roles;
  DecisionStats decisions;
  // The trail's seq range the decision figures cover (0, 0: not known).
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  std::vector<steward::v1::UnusedGrant> unused;
};

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(absl::string_view text);

// The whole page, UTF-8, inline CSS only.
std::string RenderAccessReport(const AccessReportData& data);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_ACCESS_REPORT_H_
