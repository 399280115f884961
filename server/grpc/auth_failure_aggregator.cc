// See auth_failure_aggregator.h.
#include "server/grpc/auth_failure_aggregator.h"

#include <utility>

#include "absl/strings/match.h"

namespace steward::server {

std::string PeerHost(absl::string_view peer) {
  if (!absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:")) {
    return std::string(peer);
  }
  const size_t colon = peer.rfind(':');
  // "ipv6:[::1]:5000": the port follows the last ':' after the ']'.
  const size_t bracket = peer.rfind(']');
  if (colon == absl::string_view::npos || colon < 5 ||
      (bracket != absl::string_view::npos && colon < bracket)) {
    return std::string(peer);
  }
  return std::string(peer.substr(0, colon));
}

AuthFailureAggregator::AuthFailureAggregator(Options options)
    : options_(options) {}

AuthFailureSummary AuthFailureAggregator::Summarize(const Key& key,
                                                    Group& group) {
  AuthFailureSummary summary;
  summary.peer = std::get<0>(key);
  summary.rpc = std::get<1>(key);
  summary.reason = std::get<2>(key);
  summary.key_name = std::get<3>(key);
  summary.message = group.message;
  summary.count = group.pending;
  summary.first = group.first;
  summary.last = group.last;
  group.pending = 0;
  return summary;
}

std::optional<AuthFailureSummary> AuthFailureAggregator::Add(
    const AuthFailure& failure, absl::Time now) {
  Key key(PeerHost(failure.peer), failure.rpc,
          std::string(AuthFailureReasonName(failure.reason)), failure.key_name);
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(key);
  if (it == groups_.end() && groups_.size() >= options_.max_groups) {
    // Who they are is lost, how many and what they tried is kept.
    Key other(std::string(kOtherPeers), failure.rpc, std::get<2>(key), "");
    auto [entry, inserted] = overflow_.try_emplace(std::move(other));
    Group& group = entry->second;
    if (inserted) group.window_start = now;
    if (group.pending == 0) group.first = now;
    ++group.pending;
    group.last = now;
    group.message = failure.message;
    return std::nullopt;
  }
  if (it == groups_.end()) {
    // The first failure of a group is evidence worth having at once: the
    // record names who tried what, before any summary.
    Group& group = groups_[key];
    group.window_start = now;
    group.pending = 1;
    group.first = now;
    group.last = now;
    group.message = failure.message;
    return Summarize(key, group);
  }
  Group& group = it->second;
  if (group.pending == 0) group.first = now;
  ++group.pending;
  group.last = now;
  group.message = failure.message;
  return std::nullopt;
}

std::vector<AuthFailureSummary> AuthFailureAggregator::Tick(absl::Time now) {
  std::vector<AuthFailureSummary> due;
  absl::MutexLock lock(&mu_);
  for (auto* table : {&groups_, &overflow_}) {
    std::vector<Key> quiet;
    for (auto& [key, group] : *table) {
      if (now - group.window_start < options_.interval) continue;
      if (group.pending == 0) {
        quiet.push_back(key);
        continue;
      }
      // Still failing: report the interval's count and keep the group,
      // so a steady flood costs one record per interval.
      due.push_back(Summarize(key, group));
      group.window_start = now;
    }
    for (const Key& key : quiet) table->erase(key);
  }
  return due;
}

std::vector<AuthFailureSummary> AuthFailureAggregator::FlushAll() {
  std::vector<AuthFailureSummary> due;
  absl::MutexLock lock(&mu_);
  for (auto* table : {&groups_, &overflow_}) {
    for (auto& [key, group] : *table) {
      if (group.pending > 0) due.push_back(Summarize(key, group));
    }
    table->clear();
  }
  return due;
}

size_t AuthFailureAggregator::groups() const {
  absl::MutexLock lock(&mu_);
  return groups_.size() + overflow_.size();
}

}  // namespace steward::server
