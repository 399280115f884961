// PgTrailUsage: what the UnusedGrants and DecisionSummary reports ask of
// the audit trail (usage.h, TrailUsage), answered by SQL aggregates over
// every replica's chain in PostgreSQL.
//
// Public; the daemon gives it to the AuditService with a PostgreSQL trail.
// The answers are those UsageIndex gives for the same records; only the
// seqs differ (each chain has its own, so DecisionSummary's first_seq and
// last_seq stay 0, and ScopedUse::last_seq is the newest use's seq within
// its chain). Nothing is kept in memory between calls: the trail is
// shared by replicas that each write their own chain, so an incremental
// fold by seq (UsageIndex's) has no single position to continue from.
// Instead each call reads PostgreSQL's indexes (migrations/postgresql/
// 0004_audit_reports_retention.sql):
//  * Read: one probe per distinct (principal, rule_id, resource_scope) of
//    the ALLOW decisions, a skip scan down the partial index
//    audit_records_allow_uses (each probe a backward index descent in each
//    partition that returns the next key and its newest time at once), so
//    the cost grows with the distinct uses, not with the records.
//  * Summarize: two GROUP BY queries over the window's DECISION records
//    (per UTC day; denies per principal), index-only scans of
//    audit_records_decisions_by_time on the partitions the window names.
//    Unlike UsageIndex's per-day aggregate this reads every decision of
//    the window; bench numbers in docs/deployment.md.
// Both statements of Summarize run in one REPEATABLE READ transaction, so
// they count the same records.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_USAGE_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_USAGE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/audit/usage.h"

namespace steward::store::postgresql {
class Connection;
}  // namespace steward::store::postgresql

namespace steward::audit {

// Thread-safe: calls are serialized on one connection. Owns it.
class PgTrailUsage final : public TrailUsage {
 public:
  // kInvalidArgument: bad connection string; kUnavailable: unreachable.
  static absl::StatusOr<std::unique_ptr<PgTrailUsage>> Open(
      const std::string& conninfo);
  ~PgTrailUsage() override;

  // TrailUsage. Errors per pg_status.h.
  absl::Status Read(absl::FunctionRef<void(const UsageMap&)> fn) override;
  absl::StatusOr<DecisionSummary> Summarize(
      const DecisionWindow& window) override;

 private:
  explicit PgTrailUsage(
      std::unique_ptr<store::postgresql::Connection> connection);

  absl::Mutex mu_;
  std::unique_ptr<store::postgresql::Connection> connection_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_USAGE_H_
