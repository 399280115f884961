// DecisionFold: the in-memory aggregate behind the UnusedGrants and
// DecisionSummary reports, whatever engine holds the trail.
//
// Shared by the two engines' TrailUsage implementations (other components
// use TrailUsage, usage.h, not this): UsageIndex (usage.h, SQLite) and
// PgTrailUsage (postgresql/pg_usage.h) each own one
// and feed it the DECISION records their engine-specific reader finds
// (SQLite: a rowid range after the last seq folded; PostgreSQL: per
// chain, a primary-key range after that chain's last seq). The fold keeps
// what the two engines used to keep twice, with the same answers for the
// same records:
//  - the newest ALLOW per (principal, rule_id, resource_scope) (UsageMap);
//  - per UTC day the allow and deny counts, the seq range of the day's
//    decisions, and the denies per principal, principals interned as
//    uint32 ids so a (day, principal) entry is a few bytes;
//  - Summarize's answer for a window: whole days from the aggregate, a day
//    the window cuts through from the engine's read of that part, then the
//    ranking of the most denied principals;
//  - dropping what a purge of a seq prefix removed (SQLite's retention;
//    PostgreSQL starts over instead), and the size for logs and benchmarks.
// It reads nothing itself: every database read is a callback the engine
// gives, so the SQL stays per engine. Not thread-safe: its owner holds its
// own lock around every call.
#ifndef STEWARD_SERVER_AUDIT_USAGE_FOLD_H_
#define STEWARD_SERVER_AUDIT_USAGE_FOLD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/audit/usage.h"

namespace steward::audit {

// The UTC day of `t`, as days since 1970-01-01 (floor, also before 1970).
int64_t UtcDayOf(absl::Time t);
// The start of UTC day `day`.
absl::Time UtcDayStart(int64_t day);

class DecisionFold {
 public:
  // Which seq a ScopedUse keeps when a later decision folds into it. The
  // engines differ: SQLite has one seq order for the whole trail and keeps
  // the largest; PostgreSQL's seqs are per chain, so it keeps the seq of
  // the newest use (by time), which names a record within its chain.
  enum class UseSeq {
    kLargest,
    kOfNewest,
  };

  // Reads the decisions with time in [from, to) and calls `sink` with each
  // (its seq, principal and whether it was an ALLOW). Engine-specific; the
  // engine also decides which seqs are meant (SQLite bounds them to the
  // folded range). The seq may be 0 where the caller does not use it
  // (Summarize).
  using DecisionSink = absl::FunctionRef<void(
      int64_t seq, absl::string_view principal, bool allow)>;
  using TimeRangeReader = absl::FunctionRef<absl::Status(
      absl::Time from, absl::Time to, DecisionSink sink)>;

  explicit DecisionFold(UseSeq use_seq) : use_seq_(use_seq) {}
  DecisionFold(const DecisionFold&) = delete;
  DecisionFold& operator=(const DecisionFold&) = delete;

  // Folds one DECISION record into its day's counts. Not idempotent: the
  // engine folds each record once.
  void AddDecision(int64_t seq, absl::Time time, absl::string_view principal,
                   bool allow);
  // Folds an ALLOW (already given to AddDecision) into the uses; one
  // without a rule is none. Separate so the engine reads the rule and
  // scope columns only for ALLOWs. Harmless to repeat.
  void AddAllow(int64_t seq, absl::Time time, absl::string_view principal,
                absl::string_view rule_id, absl::string_view resource_scope);

  // Forgets everything (an empty trail, or PostgreSQL starting over after
  // a purge).
  void Clear();

  // After a purge of every record with seq < `min_seq`: drops the uses
  // whose newest record is gone and the days wholly purged, recounts a
  // day the purge cut through from `read_day` (its records left; an error
  // leaves that day as it was and is returned), and forgets principal
  // names no day refers to any more, so the name table stays bounded by
  // the retained trail. Only meaningful with one seq order (SQLite).
  absl::Status DropBefore(int64_t min_seq, TimeRangeReader read_day);

  const UsageMap& uses() const { return uses_; }

  // The decision counts of `window` (DecisionSummary without
  // first_seq/last_seq, which the engine sets): whole days from the
  // aggregate, the part of a day the window cuts through from
  // `read_part`. A principal denied only in such a part and never folded
  // is counted under its name all the same.
  absl::StatusOr<DecisionSummary> Summarize(const DecisionWindow& window,
                                            TimeRangeReader read_part) const;

  // The current size of the decision aggregate.
  DecisionFoldSize Size() const;

 private:
  // Decision counts of one UTC day.
  struct DayCounts {
    int64_t allow = 0;
    int64_t deny = 0;
    int64_t min_seq = 0;  // seq range of the day's folded decisions
    int64_t max_seq = 0;
    // Principal id (index into principal_names_) -> denies that day.
    absl::flat_hash_map<uint32_t, uint32_t> denies;
  };

  // Folds one decision into `counts`, its day's.
  void Count(DayCounts& counts, int64_t seq, absl::string_view principal,
             bool allow);
  // Recounts `day` from `read_day`'s records of it; erases it when none
  // is left.
  absl::Status RecountDay(int64_t day, TimeRangeReader read_day);
  uint32_t PrincipalId(absl::string_view principal);

  const UseSeq use_seq_;
  UsageMap uses_;
  // Day number (since 1970-01-01 UTC) -> its decision counts.
  std::map<int64_t, DayCounts> days_;
  // Records come mostly in time order: AddDecision looks the day up only
  // when it changes. Map nodes stay put; anything that erases resets this.
  DayCounts* cached_ = nullptr;
  int64_t cached_day_ = 0;
  // Interned names of denied principals (ids index principal_names_).
  std::vector<std::string> principal_names_;
  absl::flat_hash_map<std::string, uint32_t> principal_ids_;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_USAGE_FOLD_H_
