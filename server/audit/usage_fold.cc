// See usage_fold.h.
#include "server/audit/usage_fold.h"

#include <algorithm>
#include <utility>

namespace steward::audit {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

}  // namespace

int64_t UtcDayOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);  // floors
  return s >= 0 ? s / kSecondsPerDay
                : -((-s + kSecondsPerDay - 1) / kSecondsPerDay);
}

absl::Time UtcDayStart(int64_t day) {
  return absl::FromUnixSeconds(day * kSecondsPerDay);
}

uint32_t DecisionFold::PrincipalId(absl::string_view principal) {
  auto it = principal_ids_.find(principal);
  if (it != principal_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(principal_names_.size());
  principal_names_.emplace_back(principal);
  principal_ids_.emplace(principal_names_.back(), id);
  return id;
}

void DecisionFold::Count(DayCounts& counts, int64_t seq,
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
    ++counts.denies[PrincipalId(principal)];
  }
}

void DecisionFold::AddDecision(int64_t seq, absl::Time time,
                               absl::string_view principal, bool allow) {
  if (const int64_t day = UtcDayOf(time);
      cached_ == nullptr || day != cached_day_) {
    cached_ = &days_[day];
    cached_day_ = day;
  }
  Count(*cached_, seq, principal, allow);
}

void DecisionFold::AddAllow(int64_t seq, absl::Time time,
                            absl::string_view principal,
                            absl::string_view rule_id,
                            absl::string_view resource_scope) {
  if (rule_id.empty()) return;
  auto found = uses_.find(principal);
  if (found == uses_.end()) {
    found = uses_.try_emplace(std::string(principal)).first;
  }
  std::vector<ScopedUse>& uses = found->second;
  auto use = std::find_if(uses.begin(), uses.end(), [&](const ScopedUse& u) {
    return u.rule_id == rule_id && u.resource_scope == resource_scope;
  });
  if (use == uses.end()) {
    uses.push_back(ScopedUse{std::string(rule_id), std::string(resource_scope),
                             time, seq});
    return;
  }
  switch (use_seq_) {
    case UseSeq::kLargest:
      use->last_allow = std::max(use->last_allow, time);
      use->last_seq = std::max(use->last_seq, seq);
      break;
    case UseSeq::kOfNewest:
      if (time >= use->last_allow) {
        use->last_allow = time;
        use->last_seq = seq;
      }
      break;
  }
}

void DecisionFold::Clear() {
  uses_.clear();
  days_.clear();
  cached_ = nullptr;
  principal_names_.clear();
  principal_ids_.clear();
}

absl::Status DecisionFold::RecountDay(int64_t day, TimeRangeReader read_day) {
  DayCounts fresh;
  DayCounts& counts = days_[day];
  // Swap in only a complete recount: an error leaves the old counts.
  std::swap(counts, fresh);
  if (absl::Status s =
          read_day(UtcDayStart(day), UtcDayStart(day + 1),
                   [&](int64_t seq, absl::string_view principal, bool allow) {
                     Count(counts, seq, principal, allow);
                   });
      !s.ok()) {
    std::swap(counts, fresh);
    return s;
  }
  if (counts.allow + counts.deny == 0) days_.erase(day);
  return absl::OkStatus();
}

absl::Status DecisionFold::DropBefore(int64_t min_seq,
                                      TimeRangeReader read_day) {
  cached_ = nullptr;
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
  // Days wholly purged go; a day only partly purged (the purge cut through
  // it) is recounted from its records left.
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
    if (absl::Status s = RecountDay(day, read_day); !s.ok()) return s;
    dropped = true;
  }
  if (!dropped) return absl::OkStatus();
  // Forget the names no day refers to any more.
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
  return absl::OkStatus();
}

absl::StatusOr<DecisionSummary> DecisionFold::Summarize(
    const DecisionWindow& window, TimeRangeReader read_part) const {
  DecisionSummary out;
  if (days_.empty()) return out;

  // Whole days come from the aggregate; a day the window cuts through is
  // read for the part inside the window.
  const int64_t first_day =
      window.since ? UtcDayOf(*window.since) : days_.begin()->first;
  const int64_t last_day =  // inclusive; the day of the last instant
      window.until ? UtcDayOf(*window.until - absl::Microseconds(1))
                   : days_.rbegin()->first;
  std::vector<int64_t> denies(principal_names_.size(), 0);
  absl::flat_hash_map<std::string, int64_t> other_denies;  // not interned
  for (auto it = days_.lower_bound(first_day);
       it != days_.end() && it->first <= last_day; ++it) {
    const int64_t day = it->first;
    const absl::Time start = UtcDayStart(day), end = UtcDayStart(day + 1);
    const absl::Time from =
        window.since ? std::max(start, *window.since) : start;
    const absl::Time to = window.until ? std::min(end, *window.until) : end;
    DecisionSummary::Day counts{day, 0, 0};
    if (from == start && to == end) {
      counts.allow = it->second.allow;
      counts.deny = it->second.deny;
      for (const auto& [id, n] : it->second.denies) denies[id] += n;
    } else if (absl::Status s = read_part(
                   from, to,
                   [&](int64_t, absl::string_view principal, bool allow) {
                     if (allow) {
                       ++counts.allow;
                       return;
                     }
                     ++counts.deny;
                     auto id = principal_ids_.find(principal);
                     if (id != principal_ids_.end()) {
                       ++denies[id->second];
                     } else {
                       ++other_denies[std::string(principal)];
                     }
                   });
               !s.ok()) {
      return s;
    }
    if (counts.allow + counts.deny == 0) continue;
    out.total_allow += counts.allow;
    out.total_deny += counts.deny;
    out.days.push_back(counts);
  }

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

DecisionFoldSize DecisionFold::Size() const {
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

}  // namespace steward::audit
