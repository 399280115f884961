// UsageIndex: when each rule last allowed something to each principal, in
// each resource scope, from the trail — an in-memory aggregate kept up to
// date incrementally.
//
// Public. The UnusedGrants access report (server/access_reports.h) needs,
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
// Read-only towards the database.
#ifndef STEWARD_SERVER_AUDIT_USAGE_H_
#define STEWARD_SERVER_AUDIT_USAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace steward::store::internal {
class Connection;
}  // namespace steward::store::internal

namespace steward::audit {

// The newest ALLOW decision of one principal through rule `rule_id` on a
// resource in scope `resource_scope`.
struct ScopedUse {
  std::string rule_id;
  std::string resource_scope;
  absl::Time last_allow;
  int64_t last_seq = 0;  // the largest seq among those decisions
};

// Principal id -> its uses, in no particular order.
using UsageMap = absl::flat_hash_map<std::string, std::vector<ScopedUse>>;

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

  // Folds in the records committed since the last call (the whole trail on
  // the first call) and drops entries retention purged. A server may call
  // it once at start so the first report does not pay the full read.
  // Errors from SQLite per sqlite_status.h; the aggregate is then left as
  // it was (the next call retries from the same seq).
  absl::Status Refresh();

  // Refresh(), then calls `fn` with the aggregate, under the index's lock
  // (do not call back into the index from `fn`).
  absl::Status Read(absl::FunctionRef<void(const UsageMap&)> fn);

  // The query plan of the incremental read (EXPLAIN QUERY PLAN rows joined
  // by "\n"), so tests can check it is a rowid range, not a scan.
  absl::StatusOr<std::string> ExplainRefresh();

 private:
  absl::Status RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<store::internal::Connection> owned_;
  store::internal::Connection* connection_ ABSL_GUARDED_BY(mu_);
  UsageMap uses_ ABSL_GUARDED_BY(mu_);
  int64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;  // every seq <= it is folded
  int64_t min_seq_ ABSL_GUARDED_BY(mu_) = 0;   // trail's smallest seq seen
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_USAGE_H_
