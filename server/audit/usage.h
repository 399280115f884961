// UsageIndex: when each rule last allowed something to each principal, in
// each resource scope, from the trail — an in-memory aggregate kept up to
// date incrementally.
//
// Public. The UnusedGrants access report (access_reports.h) needs,
// for every role binding, the time of the newest ALLOW decision that went
// through it. A decision names its principal, the rule that allowed it and
// the resource's scope; a rule belongs to one role, and when several
// bindings of a principal reach the same rule the scope says which one the
// decision went through. So the report needs "newest ALLOW per (principal,
// rule_id, resource_scope)", which this class holds in memory.
//
// The trail is append-only and its seq only grows (one writer at a time,
// AUTOINCREMENT), so the aggregate is maintained by reading only the
// records after the last seq it has seen: the first Refresh() reads the
// whole trail once (one table scan), each later one a rowid range of the
// records written since (no per-report scan of millions of records).
// Retention purges a seq prefix (server/audit/retention.cc): an entry
// whose newest record is below the trail's smallest seq has no record left
// and is dropped, as a query would no longer find it. (If clock steps made
// an older seq carry a newer time, last_allow may then name a purged
// record while a newer-seq, older-time use remains; the entry stays, only
// its time is that of the purged one.)
//
// The same pass also folds every DECISION record into per-UTC-day counts
// (allow, deny, and deny per principal), from which Summarize() answers
// the DecisionSummary report for any [since, until) window without reading
// the window's records: whole days come from the aggregate, and a window
// edge inside a day is made exact by reading only that day's records in
// the window (the audit_log_by_time index). A purge that leaves part of a
// day recounts that day from the records left (one time-index range).
// Memory: one entry per (day, principal with a deny that day) — about
// 10-20 bytes each in a flat hash map — plus one name per distinct denied
// principal; bench/reports_benchmark.cc reports it at 5,000,000 records.
// The aggregate itself (the maps, folding a record, Summarize's ranking,
// the purge drop) is DecisionFold (usage_fold.h), shared with
// PgTrailUsage; this class reads SQLite for it. Read-only towards the
// database.
#ifndef STEWARD_SERVER_AUDIT_USAGE_H_
#define STEWARD_SERVER_AUDIT_USAGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace steward::store::sqlite {
class Connection;
}  // namespace steward::store::sqlite

namespace steward::audit {

class DecisionFold;  // usage_fold.h

// The newest ALLOW decision of one principal through rule `rule_id` on a
// resource in scope `resource_scope`.
struct ScopedUse {
  std::string rule_id;
  std::string resource_scope;
  absl::Time last_allow;
  // The largest seq among those decisions (SQLite; on PostgreSQL the
  // largest within one chain, which the reports do not use).
  int64_t last_seq = 0;
};

// Principal id -> its uses, in no particular order.
using UsageMap = absl::flat_hash_map<std::string, std::vector<ScopedUse>>;

// A window of DecisionSummary: [since, until), either side open when
// unset.
struct DecisionWindow {
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  // How many principals top_denied lists.
  size_t top_denied = 10;
};

// The decisions (DECISION records) of a window. Effects other than ALLOW
// count as deny.
struct DecisionSummary {
  struct Day {
    int64_t day = 0;  // days since 1970-01-01, UTC
    int64_t allow = 0;
    int64_t deny = 0;
  };
  std::vector<Day> days;  // days with a decision in the window, ascending
  // Most denies first, ties by principal id.
  std::vector<std::pair<std::string, int64_t>> top_denied;
  int64_t total_allow = 0;
  int64_t total_deny = 0;
  int64_t denied_principals = 0;
  // The retained trail read: seqs first_seq..last_seq (0, 0 when empty,
  // and on a PostgreSQL trail, where each replica's chain has its own
  // seqs and no one range describes them).
  int64_t first_seq = 0;
  int64_t last_seq = 0;
};

// Size of the decision aggregate, for benchmarks and logs.
struct DecisionFoldSize {
  int64_t days = 0;
  int64_t deny_entries = 0;  // (day, principal) pairs
  int64_t principals = 0;    // distinct denied principal names held
  int64_t approximate_bytes = 0;
};

// What the UnusedGrants and DecisionSummary reports (access_reports.h)
// ask of a trail, whatever engine holds it: the newest ALLOW per
// (principal, rule_id, resource_scope), and the decision counts of a
// window. Two implementations, with the same answers for the same records:
// UsageIndex below (SQLite; an in-memory aggregate kept up to date
// incrementally) and PgTrailUsage (postgresql/pg_usage.h; the same
// aggregate, a DecisionFold too, folded per replica chain). Implementations are
// thread-safe.
class TrailUsage {
 public:
  virtual ~TrailUsage() = default;
  // Calls `fn` with the newest ALLOW decision per (principal, rule_id,
  // resource_scope) of the retained trail (DECISION records with a rule).
  // `fn` must not call back into this object.
  virtual absl::Status Read(absl::FunctionRef<void(const UsageMap&)> fn) = 0;
  // The decision counts of `window`, as DecisionSummary documents.
  virtual absl::StatusOr<DecisionSummary> Summarize(
      const DecisionWindow& window) = 0;
  // Folds in what was committed since the last call (everything on the
  // first), so a server can build the aggregate at start rather than in
  // the first report. The aggregate is unchanged on error.
  virtual absl::Status Refresh() = 0;
  // The current size of the aggregate (no refresh).
  virtual DecisionFoldSize FoldSize() = 0;

 protected:
  TrailUsage() = default;
  TrailUsage(const TrailUsage&) = delete;
  TrailUsage& operator=(const TrailUsage&) = delete;
};

// Thread-safe: calls are serialized on its own connection. Owns it.
class UsageIndex final : public TrailUsage {
 public:
  // kNotFound: no such file.
  static absl::StatusOr<std::unique_ptr<UsageIndex>> Open(
      const std::string& db_path);
  // Borrows an open connection (benchmarks and tools that already hold
  // one). REQUIRES: `connection` outlives the index and is not used
  // concurrently by anyone else.
  explicit UsageIndex(store::sqlite::Connection* connection);

  UsageIndex(const UsageIndex&) = delete;
  UsageIndex& operator=(const UsageIndex&) = delete;
  ~UsageIndex() override;

  // Folds in the records committed since the last call (the whole trail on
  // the first call) and drops entries retention purged. A server may call
  // it once at start so the first report does not pay the full read.
  // Errors from SQLite per sqlite_status.h; the aggregate is then left as
  // it was (the next call retries from the same seq).
  absl::Status Refresh() override;

  // Refresh(), then calls `fn` with the aggregate, under the index's lock
  // (do not call back into the index from `fn`).
  absl::Status Read(absl::FunctionRef<void(const UsageMap&)> fn) override;

  // Refresh(), then the decision counts of `window`. The fold and the
  // edge-day reads see one state of the trail (one read transaction).
  // Errors from SQLite per sqlite_status.h.
  absl::StatusOr<DecisionSummary> Summarize(
      const DecisionWindow& window) override;

  // The current size of the decision aggregate (no refresh).
  DecisionFoldSize FoldSize() override;

  // The query plan of the incremental read (EXPLAIN QUERY PLAN rows joined
  // by "\n"), so tests can check it is a rowid range, not a scan.
  absl::StatusOr<std::string> ExplainRefresh();
  // The same for the read of part of a day (a window edge, or a day a
  // purge cut through): a range of the time index.
  absl::StatusOr<std::string> ExplainDayRead();

 private:
  absl::Status RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RefreshLocked's work, inside the caller's read transaction.
  absl::Status FoldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EXPLAIN QUERY PLAN of `sql`, its `parameters` bound to 0.
  absl::StatusOr<std::string> ExplainLocked(const char* sql, int parameters)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<store::sqlite::Connection> owned_;
  store::sqlite::Connection* connection_ ABSL_GUARDED_BY(mu_);
  // The uses and the per-day decision counts (usage_fold.h; held by
  // pointer because that header builds on this one's types).
  std::unique_ptr<DecisionFold> fold_ ABSL_GUARDED_BY(mu_);
  int64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;  // every seq <= it is folded
  int64_t min_seq_ ABSL_GUARDED_BY(mu_) = 0;   // trail's smallest seq seen
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_USAGE_H_
