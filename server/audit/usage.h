// UsageIndex: when each rule last allowed something to each principal,
// from the trail.
//
// Public. The UnusedGrants access report (server/access_reports.h) needs,
// for every role binding, the time of the newest ALLOW decision that went
// through it. A decision names its principal and the rule that allowed it,
// and a rule belongs to one role, so the trail answers this as "newest
// ALLOW per (principal, rule_id)". LastAllows() computes that for the whole
// trail in ONE ordered scan of the covering partial index
// audit_log_by_principal_rule (migrations/0003_reports_usage.sql): index
// entries only, no table lookup, no sort, and never one query per binding.
// Which of a principal's bindings a use went through, when several reach
// the same rule, is the report's business (it asks the AuditReader).
// Read-only.
#ifndef STEWARD_SERVER_AUDIT_USAGE_H_
#define STEWARD_SERVER_AUDIT_USAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace steward::store::internal {
class Connection;
}  // namespace steward::store::internal

namespace steward::audit {

// The newest ALLOW decision of `principal` through rule `rule_id`.
struct RuleUse {
  std::string principal;
  std::string rule_id;
  absl::Time last_allow;
};

// Thread-safe: calls are serialized on its own connection. Owns it.
class UsageIndex {
 public:
  // kNotFound: no such file.
  static absl::StatusOr<std::unique_ptr<UsageIndex>> Open(
      const std::string& db_path);
  // Borrows an open connection (benchmarks and tools that already hold
  // one). REQUIRES: `connection` outlives the index and is not used
  // concurrently by anyone else.
  explicit UsageIndex(store::internal::Connection* connection);

  UsageIndex(const UsageIndex&) = delete;
  UsageIndex& operator=(const UsageIndex&) = delete;
  ~UsageIndex();

  // Every (principal, rule_id) with at least one ALLOW decision in the
  // retained trail, with its newest time; ordered by (principal, rule_id).
  // Errors from SQLite per sqlite_status.h.
  absl::StatusOr<std::vector<RuleUse>> LastAllows();

  // The query plan of LastAllows() (EXPLAIN QUERY PLAN rows joined by
  // "\n"), so tests can check that it scans the covering index.
  absl::StatusOr<std::string> ExplainLastAllows();

 private:
  absl::Mutex mu_;
  std::unique_ptr<store::internal::Connection> owned_;
  store::internal::Connection* connection_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_USAGE_H_
