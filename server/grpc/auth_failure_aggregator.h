// Bounds what failed authentications cost the audit trail. A refused call
// is cheap for its sender and, recorded one by one, costs the writer a
// record, a hash and a share of an fsync: a keyless flood would fill the
// trail (and, with sync durability, the disk that Checks need). Failures
// are grouped by (peer host, RPC, reason, key name): the first of a group
// in an interval is reported at once, the rest are counted and reported as
// one summary when the interval ends, or at shutdown. The table is capped;
// failures of groups beyond the cap are counted per (RPC, reason) under one
// "(other peers)" entry, so memory is bounded whatever the peers.
//
// Internal to server/grpc: the TrailAuditSink feeds it and turns what it
// reports into AUTH_FAILURE records.
#ifndef STEWARD_SERVER_GRPC_AUTH_FAILURE_AGGREGATOR_H_
#define STEWARD_SERVER_GRPC_AUTH_FAILURE_AGGREGATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/authenticator.h"

namespace steward::server {

// Failures of one group over a span of time: what one AUTH_FAILURE record
// states.
struct AuthFailureSummary {
  std::string peer;  // PeerHost(); kOtherPeers for the overflow entry
  std::string rpc;
  std::string key_name;
  std::string reason;   // AuthFailureReasonName()
  std::string message;  // what the last caller of the group was told
  int64_t count = 0;
  absl::Time first;  // the first and last failure this summary counts
  absl::Time last;
};

// The peer of failures counted after the table was full.
inline constexpr absl::string_view kOtherPeers = "(other peers)";

// The gRPC peer without its port ("ipv4:10.0.0.7:51234" ->
// "ipv4:10.0.0.7"): every new connection has a new port, and a flood must
// not escape aggregation by reconnecting. Other forms are returned as they
// are.
std::string PeerHost(absl::string_view peer);

// Thread-safe. Time is passed in, so tests drive it without sleeping. It
// only counts: what it returns is for the caller to record.
class AuthFailureAggregator {
 public:
  struct Options {
    // How long failures of one group are counted before their summary is
    // reported.
    absl::Duration interval = absl::Minutes(1);
    // Groups tracked individually; further ones go to the overflow entry.
    size_t max_groups = 4096;
  };
  explicit AuthFailureAggregator(Options options);

  // Counts `failure`. Returns it as a summary of one to record now when it
  // is the first of its group since the group was forgotten; nullopt when
  // it was counted towards a later summary.
  std::optional<AuthFailureSummary> Add(const AuthFailure& failure,
                                        absl::Time now);

  // The summaries due by `now`: groups whose interval has ended and that
  // counted failures since their last summary (they stay, for the next
  // interval). Forgets groups that counted none for a whole interval. Call
  // it at least once per interval.
  std::vector<AuthFailureSummary> Tick(absl::Time now);

  // Every counted failure not yet summarized; forgets all groups
  // (shutdown).
  std::vector<AuthFailureSummary> FlushAll();

  // Groups tracked now, for tests.
  size_t groups() const;

 private:
  // peer host, rpc, reason, key name.
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  struct Group {
    absl::Time window_start;  // when its current interval began
    int64_t pending = 0;      // counted, not yet reported
    absl::Time first;         // of the pending failures
    absl::Time last;
    std::string message;
  };
  static AuthFailureSummary Summarize(const Key& key, Group& group);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Group> groups_ ABSL_GUARDED_BY(mu_);
  // (rpc, reason) -> failures of groups that found the table full. RPC
  // names are the server's own and reasons a fixed set, so this is small.
  absl::flat_hash_map<Key, Group> overflow_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_AUTH_FAILURE_AGGREGATOR_H_
