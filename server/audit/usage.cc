// See usage.h.
#include "server/audit/usage.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {
namespace {

using store::sqlite::Connection;
using store::sqlite::ConnectionOptions;
using store::sqlite::ForEachRow;
using store::sqlite::Statement;
using store::sqlite::Transaction;

// The trail's seq range; both subqueries are rowid min/max lookups.
constexpr char kSeqRangeSql[] =
    "SELECT (SELECT MIN(seq) FROM audit_log), (SELECT MAX(seq) FROM "
    "audit_log)";

// The decisions in a seq range: a rowid range of the table. NOT INDEXED
// keeps the planner off the secondary indexes, which would visit every
// record of the trail, not just the new ones.
constexpr char kDecisionsAfterSql[] =
    "SELECT seq, principal, rule_id, resource_scope, time, effect "
    "FROM audit_log NOT INDEXED WHERE seq > ?1 AND seq <= ?2 "
    "AND kind = 'decision'";

// The decisions of a time range within a seq range: one range of
// audit_log_by_time (a window edge inside a day, or a day to recount after
// a purge). The unary + keeps the planner from taking the seq bounds, which
// span the whole trail, as a rowid range instead.
constexpr char kDecisionsInTimeSql[] =
    "SELECT seq, principal, effect FROM audit_log "
    "WHERE time >= ?1 AND time < ?2 AND +seq >= ?3 AND +seq <= ?4 "
    "AND kind = 'decision'";

constexpr int64_t kSecondsPerDay = 86400;

// The UTC day of `t`, as days since 1970-01-01 (floor, also before 1970).
int64_t DayOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);  // floors
  return s >= 0 ? s / kSecondsPerDay
                : -((-s + kSecondsPerDay - 1) / kSecondsPerDay);
}

absl::Time DayStart(int64_t day) {
  return absl::FromUnixSeconds(day * kSecondsPerDay);
}

}  // namespace

absl::StatusOr<std::unique_ptr<UsageIndex>> UsageIndex::Open(
    const std::string& db_path) {
  ConnectionOptions options;
  // Not read_only, for the same reason as AuditReader::Open: a read-only
  // connection cannot create the WAL index when no writer has the file.
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(db_path, options);
  if (!connection.ok()) return connection.status();
  auto index = std::make_unique<UsageIndex>(connection->get());
  index->owned_ = *std::move(connection);
  return index;
}

UsageIndex::UsageIndex(Connection* connection) : connection_(connection) {}

UsageIndex::~UsageIndex() = default;

absl::Status UsageIndex::Refresh() {
  absl::MutexLock lock(&mu_);
  return RefreshLocked();
}

absl::Status UsageIndex::Read(absl::FunctionRef<void(const UsageMap&)> fn) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  fn(uses_);
  return absl::OkStatus();
}

absl::Status UsageIndex::RefreshLocked() {
  // One read transaction: the seq range and the rows come from one state
  // of the trail.
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(*connection_);
  if (!txn.ok()) return txn.status();
  return FoldLocked();
}

uint32_t UsageIndex::PrincipalIdLocked(absl::string_view principal) {
  auto it = principal_ids_.find(principal);
  if (it != principal_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(principal_names_.size());
  principal_names_.emplace_back(principal);
  principal_ids_.emplace(principal_names_.back(), id);
  return id;
}

void UsageIndex::CountDecision(DayCounts& counts, int64_t seq,
                               absl::string_view principal, bool allow) {
  if (counts.allow + counts.deny == 0) {
    counts.min_seq = seq;
    counts.max_seq = seq;
  } else {
    counts.min_seq = std::min(counts.min_seq, seq);
    counts.max_seq = std::max(counts.max_seq, seq);
  }
  if (allow) {
    ++counts.allow;
  } else {
    ++counts.deny;
    ++counts.denies[PrincipalIdLocked(principal)];
  }
}

absl::Status UsageIndex::RecountDayLocked(int64_t day, int64_t from_seq,
                                          int64_t to_seq) {
  absl::StatusOr<Statement> stmt = connection_->Prepare(kDecisionsInTimeSql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindTime(1, DayStart(day));
  stmt->BindTime(2, DayStart(day + 1));
  stmt->BindInt(3, from_seq);
  stmt->BindInt(4, to_seq);
  DayCounts fresh;
  DayCounts& counts = days_[day];
  // Swap in only a complete recount: an error leaves the old counts.
  std::swap(counts, fresh);
  if (absl::Status s = ForEachRow(*stmt,
                                  [&](const Statement& row) {
                                    CountDecision(counts, row.Int(0),
                                                  row.Text(1),
                                                  row.Text(2) == "ALLOW");
                                    return absl::OkStatus();
                                  });
      !s.ok()) {
    std::swap(counts, fresh);
    return s;
  }
  if (counts.allow + counts.deny == 0) days_.erase(day);
  return absl::OkStatus();
}

absl::Status UsageIndex::FoldLocked() {
  int64_t min_seq = 0, max_seq = 0;
  {
    absl::StatusOr<Statement> stmt = connection_->Prepare(kSeqRangeSql);
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row && !stmt->IsNull(0)) {
      min_seq = stmt->Int(0);
      max_seq = stmt->Int(1);
    }
  }
  if (max_seq == 0) {
    // An empty trail (everything purged, or nothing written yet).
    uses_.clear();
    days_.clear();
    principal_names_.clear();
    principal_ids_.clear();
    min_seq_ = 0;
    return absl::OkStatus();
  }
  // Retention purged a prefix since last time: drop what has no record
  // left.
  if (min_seq > min_seq_) {
    for (auto it = uses_.begin(); it != uses_.end();) {
      std::vector<ScopedUse>& uses = it->second;
      uses.erase(std::remove_if(uses.begin(), uses.end(),
                                [&](const ScopedUse& use) {
                                  return use.last_seq < min_seq;
                                }),
                 uses.end());
      if (uses.empty()) {
        uses_.erase(it++);
      } else {
        ++it;
      }
    }
    // Days wholly purged go; a day only partly purged (the purge cut
    // through it) is recounted from its records left, up to the seq
    // already folded (later ones are folded below).
    bool dropped = false;
    std::vector<int64_t> partial;
    for (auto it = days_.begin(); it != days_.end();) {
      if (it->second.max_seq < min_seq) {
        it = days_.erase(it);
        dropped = true;
        continue;
      }
      if (it->second.min_seq < min_seq) partial.push_back(it->first);
      ++it;
    }
    for (int64_t day : partial) {
      if (absl::Status s = RecountDayLocked(day, min_seq, last_seq_); !s.ok()) {
        return s;
      }
      dropped = true;
    }
    if (dropped) {
      // Forget the names no day refers to any more, so the name table
      // stays bounded by the retained trail.
      std::vector<std::string> names;
      absl::flat_hash_map<uint32_t, uint32_t> remap;
      for (auto& [day, counts] : days_) {
        absl::flat_hash_map<uint32_t, uint32_t> denies;
        denies.reserve(counts.denies.size());
        for (const auto& [id, n] : counts.denies) {
          auto [it, added] =
              remap.try_emplace(id, static_cast<uint32_t>(names.size()));
          if (added) names.push_back(std::move(principal_names_[id]));
          denies.emplace(it->second, n);
        }
        counts.denies = std::move(denies);
      }
      principal_names_ = std::move(names);
      principal_ids_.clear();
      for (uint32_t id = 0; id < principal_names_.size(); ++id) {
        principal_ids_.emplace(principal_names_[id], id);
      }
    }
    min_seq_ = min_seq;
  }
  if (max_seq <= last_seq_) return absl::OkStatus();
  absl::StatusOr<Statement> stmt = connection_->Prepare(kDecisionsAfterSql);
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, last_seq_);
  stmt->BindInt(2, max_seq);
  // Usage folding is a max per key and harmless to repeat, but counts are
  // not: on an error mid-read the records already counted are remembered
  // by seq (`counted`), so the retry from last_seq_ skips them.
  int64_t counted = last_seq_;
  DayCounts* cached = nullptr;
  int64_t cached_day = 0;
  absl::Status read = ForEachRow(
      *stmt, [&](const Statement& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        const int64_t seq = row.Int(0);
        const absl::string_view principal = row.Text(1);
        const absl::Time time = row.Time(4);
        const bool allow = row.Text(5) == "ALLOW";
        // Records come mostly in time order: look the day up only when it
        // changes (map nodes stay put; nothing is erased in this loop).
        if (const int64_t day = DayOf(time);
            day != cached_day || cached == nullptr) {
          cached = &days_[day];
          cached_day = day;
        }
        CountDecision(*cached, seq, principal, allow);
        counted = seq;
        const absl::string_view rule_id = row.Text(2);
        if (!allow || rule_id.empty()) return absl::OkStatus();
        const absl::string_view scope = row.Text(3);
        auto it = uses_.find(principal);
        if (it == uses_.end()) {
          it = uses_.try_emplace(std::string(principal)).first;
        }
        std::vector<ScopedUse>& uses = it->second;
        auto use =
            std::find_if(uses.begin(), uses.end(), [&](const ScopedUse& u) {
              return u.rule_id == rule_id && u.resource_scope == scope;
            });
        if (use == uses.end()) {
          uses.push_back(
              ScopedUse{std::string(rule_id), std::string(scope), time, seq});
          return absl::OkStatus();
        }
        use->last_allow = std::max(use->last_allow, time);
        use->last_seq = std::max(use->last_seq, seq);
        return absl::OkStatus();
      });
  if (!read.ok()) {
    // Counts of seqs <= counted are in; record how far they got so the
    // retry neither loses nor doubles them.
    last_seq_ = counted;
    return read;
  }
  last_seq_ = max_seq;
  return absl::OkStatus();
}

absl::StatusOr<DecisionSummary> UsageIndex::Summarize(
    const DecisionWindow& window) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(*connection_);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = FoldLocked(); !s.ok()) return s;
  DecisionSummary out;
  if (min_seq_ == 0) return out;  // an empty trail
  out.first_seq = min_seq_;
  out.last_seq = last_seq_;

  // Whole days come from the aggregate; a day the window cuts through is
  // read for the part inside the window.
  const int64_t first_day = window.since
                                ? DayOf(*window.since)
                                : (days_.empty() ? 0 : days_.begin()->first);
  const int64_t last_day =  // inclusive; the day of the last instant
      window.until ? DayOf(*window.until - absl::Microseconds(1))
                   : (days_.empty() ? 0 : days_.rbegin()->first);
  std::vector<int64_t> denies(principal_names_.size(), 0);
  absl::flat_hash_map<std::string, int64_t> other_denies;  // not interned
  for (auto it = days_.lower_bound(first_day);
       it != days_.end() && it->first <= last_day; ++it) {
    const int64_t day = it->first;
    const absl::Time start = DayStart(day), end = DayStart(day + 1);
    const absl::Time from =
        window.since ? std::max(start, *window.since) : start;
    const absl::Time to = window.until ? std::min(end, *window.until) : end;
    DecisionSummary::Day counts{day, 0, 0};
    if (from == start && to == end) {
      counts.allow = it->second.allow;
      counts.deny = it->second.deny;
      for (const auto& [id, n] : it->second.denies) denies[id] += n;
    } else {
      absl::StatusOr<Statement> stmt =
          connection_->Prepare(kDecisionsInTimeSql);
      if (!stmt.ok()) return stmt.status();
      stmt->BindTime(1, from);
      stmt->BindTime(2, to);
      stmt->BindInt(3, min_seq_);
      stmt->BindInt(4, last_seq_);
      if (absl::Status s = ForEachRow(
              *stmt,
              [&](const Statement& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                if (row.Text(2) == "ALLOW") {
                  ++counts.allow;
                  return absl::OkStatus();
                }
                ++counts.deny;
                auto id = principal_ids_.find(row.Text(1));
                if (id != principal_ids_.end()) {
                  ++denies[id->second];
                } else {
                  ++other_denies[std::string(row.Text(1))];
                }
                return absl::OkStatus();
              });
          !s.ok()) {
        return s;
      }
    }
    if (counts.allow + counts.deny == 0) continue;
    out.total_allow += counts.allow;
    out.total_deny += counts.deny;
    out.days.push_back(counts);
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;

  std::vector<std::pair<absl::string_view, int64_t>> ranked;
  for (uint32_t id = 0; id < denies.size(); ++id) {
    if (denies[id] > 0) ranked.emplace_back(principal_names_[id], denies[id]);
  }
  for (const auto& [name, n] : other_denies) ranked.emplace_back(name, n);
  out.denied_principals = static_cast<int64_t>(ranked.size());
  const size_t keep = std::min(window.top_denied, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(),
                    [](const auto& a, const auto& b) {
                      if (a.second != b.second) return a.second > b.second;
                      return a.first < b.first;
                    });
  for (size_t i = 0; i < keep; ++i) {
    out.top_denied.emplace_back(std::string(ranked[i].first), ranked[i].second);
  }
  return out;
}

DecisionFoldSize UsageIndex::FoldSize() {
  absl::MutexLock lock(&mu_);
  DecisionFoldSize out;
  out.days = static_cast<int64_t>(days_.size());
  out.principals = static_cast<int64_t>(principal_names_.size());
  int64_t bytes = 0;
  for (const auto& [day, counts] : days_) {
    out.deny_entries += static_cast<int64_t>(counts.denies.size());
    // A flat_hash_map slot (key + value) plus one control byte per bucket.
    bytes += static_cast<int64_t>(counts.denies.capacity()) *
                 (2 * sizeof(uint32_t) + 1) +
             static_cast<int64_t>(sizeof(DayCounts)) + 48;  // map node
  }
  for (const std::string& name : principal_names_) {
    // The name (vector element + heap text) and its id map entry.
    bytes += 2 * static_cast<int64_t>(sizeof(std::string)) +
             static_cast<int64_t>(name.capacity() > 15 ? name.capacity() : 0) +
             static_cast<int64_t>(sizeof(uint32_t)) + 1;
  }
  out.approximate_bytes = bytes;
  return out;
}

absl::StatusOr<std::string> UsageIndex::ExplainRefresh() {
  absl::MutexLock lock(&mu_);
  return ExplainLocked(kDecisionsAfterSql, 2);
}

absl::StatusOr<std::string> UsageIndex::ExplainDayRead() {
  absl::MutexLock lock(&mu_);
  return ExplainLocked(kDecisionsInTimeSql, 4);
}

absl::StatusOr<std::string> UsageIndex::ExplainLocked(const char* sql,
                                                      int parameters) {
  absl::StatusOr<Statement> stmt =
      connection_->Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", sql));
  if (!stmt.ok()) return stmt.status();
  for (int i = 1; i <= parameters; ++i) stmt->BindInt(i, 0);
  std::string plan;
  if (absl::Status s = ForEachRow(*stmt,
                                  [&](const Statement& row) {
                                    if (!plan.empty()) plan += "\n";
                                    plan += std::string(row.Text(3));
                                    return absl::OkStatus();
                                  });
      !s.ok()) {
    return s;
  }
  return plan;
}

}  // namespace steward::audit
