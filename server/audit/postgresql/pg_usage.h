// PgTrailUsage: what the UnusedGrants and DecisionSummary reports ask of
// the audit trail (usage.h, TrailUsage), for the trail in PostgreSQL,
// over every replica's chain.
//
// Public; the daemon gives it to the AuditService with a PostgreSQL trail
// (and builds it in the background at start). It is UsageIndex's design
// carried over to several chains, with the same answers for the same
// records (tests/audit/pg_reports_test.cc compares them): an in-memory
// aggregate of the newest ALLOW per (principal, rule_id, resource_scope)
// and of the decisions per UTC day (allow, deny, denies per principal),
// kept up to date incrementally. Each chain is append-only with dense seqs
// and its head (audit_chains.last_seq) moves in the transaction that adds
// its records, so each call reads, per chain, only the decisions after the
// last seq folded: a range of the (chain, seq, time) primary key in each
// partition, never a scan of the trail. The first call reads every
// decision once (seconds per million records).
//
// DecisionSummary takes whole days from the aggregate and reads only the
// part of a day a window edge cuts through (the time index). Its
// first_seq/last_seq stay 0: each chain has its own seqs. ScopedUse's
// last_seq is the newest use's seq within its chain.
//
// Retention (pg_retention.h) adds a row to audit_retention_checkpoints with
// every transaction that removes records; when that table changed since the
// last call, the aggregate is rebuilt from the records left (a full read,
// about once a month with monthly partitions).
//
// The aggregate is a DecisionFold (usage_fold.h), as UsageIndex's; this
// class holds the PostgreSQL reads that feed it.
//
// Every call reads in one REPEATABLE READ transaction: the chain heads,
// the records folded and a window edge's records are one state of the
// trail. Memory: as UsageIndex's (one entry per (day, denied principal)
// and per distinct use).
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_USAGE_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_USAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/audit/usage.h"
#include "server/audit/usage_fold.h"

namespace steward::store::postgresql {
class Connection;
}  // namespace steward::store::postgresql

namespace steward::audit {

// Thread-safe: calls are serialized on one connection. Owns it.
class PgTrailUsage final : public TrailUsage {
 public:
  // kInvalidArgument: bad connection string; kUnavailable: unreachable.
  // `page_rows`: decisions read per statement while folding (tests make
  // it small to cross page boundaries).
  static absl::StatusOr<std::unique_ptr<PgTrailUsage>> Open(
      const std::string& conninfo, int page_rows = 20000);
  ~PgTrailUsage() override;

  // Folds in the decisions committed since the last call (everything on
  // the first). Errors per pg_status.h; the aggregate then keeps what was
  // folded and the next call continues from there.
  absl::Status Refresh() override;

  // TrailUsage: Refresh(), then the answer. Errors per pg_status.h.
  absl::Status Read(absl::FunctionRef<void(const UsageMap&)> fn) override;
  absl::StatusOr<DecisionSummary> Summarize(
      const DecisionWindow& window) override;

  // The current size of the decision aggregate (no refresh).
  DecisionFoldSize FoldSize() override;

 private:
  PgTrailUsage(std::unique_ptr<store::postgresql::Connection> connection,
               int page_rows);

  // Refresh's work, inside the caller's snapshot transaction.
  absl::Status FoldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int page_rows_;
  absl::Mutex mu_;
  std::unique_ptr<store::postgresql::Connection> connection_
      ABSL_GUARDED_BY(mu_);
  // Chain -> its last seq folded.
  std::map<std::string, int64_t> folded_ ABSL_GUARDED_BY(mu_);
  // audit_retention_checkpoints as last seen (row count, newest
  // created_at); a change means records were removed.
  std::string retention_mark_ ABSL_GUARDED_BY(mu_);
  // The uses and the per-day decision counts (usage_fold.h). Seqs are
  // per chain: a use keeps the seq of its newest decision.
  DecisionFold fold_ ABSL_GUARDED_BY(mu_){DecisionFold::UseSeq::kOfNewest};
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_USAGE_H_
