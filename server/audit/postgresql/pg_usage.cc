// See pg_usage.h.
#include "server/audit/postgresql/pg_usage.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;
using store::postgresql::Transaction;

// Any change to the retention checkpoints (each purge transaction adds a
// row) means records were removed.
constexpr char kRetentionMarkSql[] =
    "SELECT count(*)::text || '/' || COALESCE(max(created_at), 0)::text "
    "FROM audit_retention_checkpoints";

constexpr char kHeadsSql[] = "SELECT chain, last_seq FROM audit_chains";

// One page of a chain's decisions after the last seq folded: a range of
// the primary key (chain, seq, time) in each partition, merged by seq.
constexpr char kDecisionsAfterSql[] =
    "SELECT seq, time, principal, rule_id, resource_scope, effect "
    "FROM audit_records WHERE chain = $1 AND seq > $2 AND seq <= $3 "
    "AND kind = 'decision' ORDER BY seq LIMIT $4";

// The decisions of part of a day (a window edge): a range of the time
// index, in the partitions the bounds name.
constexpr char kDecisionsInTimeSql[] =
    "SELECT principal, effect FROM audit_records "
    "WHERE time >= $1 AND time < $2 AND kind = 'decision'";

constexpr int64_t kSecondsPerDay = 86400;

// As UsageIndex: the UTC day of `t`, as days since 1970-01-01 (floor).
int64_t DayOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);
  return s >= 0 ? s / kSecondsPerDay
                : -((-s + kSecondsPerDay - 1) / kSecondsPerDay);
}

absl::Time DayStart(int64_t day) {
  return absl::FromUnixSeconds(day * kSecondsPerDay);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgTrailUsage>> PgTrailUsage::Open(
    const std::string& conninfo, int page_rows) {
  if (page_rows < 1) {
    return absl::InvalidArgumentError("page_rows: must be positive");
  }
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, {});
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<PgTrailUsage>(
      new PgTrailUsage(*std::move(connection), page_rows));
}

PgTrailUsage::PgTrailUsage(std::unique_ptr<Connection> connection,
                           int page_rows)
    : page_rows_(page_rows), connection_(std::move(connection)) {}

PgTrailUsage::~PgTrailUsage() = default;

absl::Status PgTrailUsage::Refresh() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = FoldLocked(); !s.ok()) return s;
  return txn->Commit();
}

absl::Status PgTrailUsage::Read(absl::FunctionRef<void(const UsageMap&)> fn) {
  absl::MutexLock lock(&mu_);
  {
    absl::StatusOr<Transaction> txn =
        Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
    if (!txn.ok()) return txn.status();
    if (absl::Status s = FoldLocked(); !s.ok()) return s;
    if (absl::Status s = txn->Commit(); !s.ok()) return s;
  }
  fn(uses_);
  return absl::OkStatus();
}

void PgTrailUsage::ClearLocked() {
  folded_.clear();
  uses_.clear();
  days_.clear();
  principal_names_.clear();
  principal_ids_.clear();
}

uint32_t PgTrailUsage::PrincipalIdLocked(absl::string_view principal) {
  auto it = principal_ids_.find(principal);
  if (it != principal_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(principal_names_.size());
  principal_names_.emplace_back(principal);
  principal_ids_.emplace(principal_names_.back(), id);
  return id;
}

absl::Status PgTrailUsage::FoldLocked() {
  absl::StatusOr<Result> mark =
      connection_->Exec("audit usage retention", kRetentionMarkSql);
  if (!mark.ok()) return mark.status();
  const std::string seen(mark->Text(0, 0));
  if (seen != retention_mark_) {
    // Records were removed (or this is the first call): start over from
    // the records left, as a query of the trail would see them.
    ClearLocked();
    retention_mark_ = seen;
  }
  absl::StatusOr<Result> heads =
      connection_->Exec("audit usage heads", kHeadsSql);
  if (!heads.ok()) return heads.status();
  for (int h = 0; h < heads->rows(); ++h) {
    const std::string chain(heads->Text(h, 0));
    const int64_t head = heads->Int(h, 1);
    int64_t& folded = folded_[chain];
    while (folded < head) {
      absl::StatusOr<Result> rows = connection_->Exec(
          "audit usage fold", kDecisionsAfterSql,
          Params().Text(chain).Int(folded).Int(head).Int(page_rows_));
      if (!rows.ok()) return rows.status();
      DayCounts* cached = nullptr;
      int64_t cached_day = 0;
      for (int i = 0; i < rows->rows(); ++i) {
        const int64_t seq = rows->Int(i, 0);
        const absl::Time time = absl::FromUnixMicros(rows->Int(i, 1));
        const absl::string_view principal = rows->Text(i, 2);
        const absl::string_view rule_id = rows->Text(i, 3);
        const absl::string_view scope = rows->Text(i, 4);
        const bool allow = rows->Text(i, 5) == "ALLOW";
        if (const int64_t day = DayOf(time);
            cached == nullptr || day != cached_day) {
          cached = &days_[day];
          cached_day = day;
        }
        if (allow) {
          ++cached->allow;
        } else {
          ++cached->deny;
          ++cached->denies[PrincipalIdLocked(principal)];
        }
        folded = seq;
        if (!allow || rule_id.empty()) continue;
        auto found = uses_.find(principal);
        if (found == uses_.end()) {
          found = uses_.try_emplace(std::string(principal)).first;
        }
        std::vector<ScopedUse>& uses = found->second;
        auto use =
            std::find_if(uses.begin(), uses.end(), [&](const ScopedUse& u) {
              return u.rule_id == rule_id && u.resource_scope == scope;
            });
        if (use == uses.end()) {
          uses.push_back(
              ScopedUse{std::string(rule_id), std::string(scope), time, seq});
        } else if (time >= use->last_allow) {
          use->last_allow = time;
          use->last_seq = seq;
        }
      }
      // A short page is the chain's last: its other records up to the head
      // are not decisions.
      if (rows->rows() < page_rows_) folded = head;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DecisionSummary> PgTrailUsage::Summarize(
    const DecisionWindow& window) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(*connection_, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = FoldLocked(); !s.ok()) return s;
  DecisionSummary out;
  if (days_.empty()) return out;

  // Whole days from the aggregate; a day the window cuts through is read
  // for the part inside the window (as UsageIndex::Summarize).
  const int64_t first_day =
      window.since ? DayOf(*window.since) : days_.begin()->first;
  const int64_t last_day =  // inclusive; the day of the last instant
      window.until ? DayOf(*window.until - absl::Microseconds(1))
                   : days_.rbegin()->first;
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
      absl::StatusOr<Result> rows =
          connection_->Exec("audit usage window edge", kDecisionsInTimeSql,
                            Params().Time(from).Time(to));
      if (!rows.ok()) return rows.status();
      for (int i = 0; i < rows->rows(); ++i) {
        if (rows->Text(i, 1) == "ALLOW") {
          ++counts.allow;
          continue;
        }
        ++counts.deny;
        auto id = principal_ids_.find(rows->Text(i, 0));
        if (id != principal_ids_.end()) {
          ++denies[id->second];
        } else {
          ++other_denies[std::string(rows->Text(i, 0))];
        }
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

DecisionFoldSize PgTrailUsage::FoldSize() {
  absl::MutexLock lock(&mu_);
  DecisionFoldSize out;
  out.days = static_cast<int64_t>(days_.size());
  out.principals = static_cast<int64_t>(principal_names_.size());
  int64_t bytes = 0;
  for (const auto& [day, counts] : days_) {
    out.deny_entries += static_cast<int64_t>(counts.denies.size());
    bytes += static_cast<int64_t>(counts.denies.capacity()) *
                 (2 * sizeof(uint32_t) + 1) +
             static_cast<int64_t>(sizeof(DayCounts)) + 48;
  }
  for (const std::string& name : principal_names_) {
    bytes += 2 * static_cast<int64_t>(sizeof(std::string)) +
             static_cast<int64_t>(name.capacity() > 15 ? name.capacity() : 0) +
             static_cast<int64_t>(sizeof(uint32_t)) + 1;
  }
  out.approximate_bytes = bytes;
  return out;
}

}  // namespace steward::audit
