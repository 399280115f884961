// AuthFailureAggregator: which failures are recorded at once, what is
// summarized when an interval ends or at shutdown, and that the table of
// peers stays bounded whatever the number of peers.
#include "server/grpc/auth_failure_aggregator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace steward::server {
namespace {

constexpr absl::string_view kCheck = "/steward.v1.AuthorizationService/Check";

AuthFailure Keyless(const std::string& peer) {
  return AuthFailure{peer, std::string(kCheck), "",
                     AuthFailureReason::kMissingKey, "missing API key"};
}

int64_t Sum(const std::vector<AuthFailureSummary>& summaries) {
  int64_t sum = 0;
  for (const AuthFailureSummary& s : summaries) sum += s.count;
  return sum;
}

TEST(PeerHostTest, DropsThePortOnly) {
  EXPECT_EQ(PeerHost("ipv4:10.0.0.7:51234"), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5000"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("ipv6:[::1]"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("unix:/run/steward.sock"), "unix:/run/steward.sock");
}

TEST(AuthFailureAggregatorTest, FirstFailureAtOnceTheRestAsOneSummary) {
  AuthFailureAggregator aggregator({absl::Minutes(1), 16});
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  std::optional<AuthFailureSummary> first =
      aggregator.Add(Keyless("ipv4:10.0.0.7:1000"), t0);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->count, 1);
  EXPECT_EQ(first->peer, "ipv4:10.0.0.7");
  EXPECT_EQ(first->rpc, kCheck);
  EXPECT_EQ(first->reason, "missing_key");
  // New connections (ports) of the same host are the same group.
  for (int i = 1; i < 100; ++i) {
    EXPECT_FALSE(aggregator
                     .Add(Keyless(absl::StrCat("ipv4:10.0.0.7:", 1000 + i)),
                          t0 + absl::Seconds(i % 50))
                     .has_value());
  }
  EXPECT_TRUE(aggregator.Tick(t0 + absl::Seconds(59)).empty());
  std::vector<AuthFailureSummary> due = aggregator.Tick(t0 + absl::Minutes(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].count, 99);
  EXPECT_EQ(due[0].last, t0 + absl::Seconds(49));
  // Still failing in the next interval: counted, not recorded at once.
  EXPECT_FALSE(
      aggregator.Add(Keyless("ipv4:10.0.0.7:9"), t0 + absl::Seconds(61))
          .has_value());
  EXPECT_EQ(Sum(aggregator.Tick(t0 + absl::Minutes(2))), 1);
  // Quiet for a whole interval: forgotten, so the next is recorded at once.
  EXPECT_TRUE(aggregator.Tick(t0 + absl::Minutes(3)).empty());
  EXPECT_EQ(aggregator.groups(), 0u);
  EXPECT_TRUE(aggregator.Add(Keyless("ipv4:10.0.0.7:9"), t0 + absl::Minutes(4))
                  .has_value());
}

TEST(AuthFailureAggregatorTest, GroupsByRpcReasonAndKey) {
  AuthFailureAggregator aggregator({absl::Minutes(1), 16});
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  AuthFailure failure = Keyless("ipv4:10.0.0.7:1");
  EXPECT_TRUE(aggregator.Add(failure, t0).has_value());
  failure.reason = AuthFailureReason::kUnknownKey;
  EXPECT_TRUE(aggregator.Add(failure, t0).has_value());
  failure.rpc = "/steward.v1.AuthorizationService/BatchCheck";
  EXPECT_TRUE(aggregator.Add(failure, t0).has_value());
  failure.reason = AuthFailureReason::kRevokedKey;
  failure.key_name = "old-ci";
  EXPECT_TRUE(aggregator.Add(failure, t0).has_value());
  EXPECT_FALSE(aggregator.Add(failure, t0).has_value());
  EXPECT_EQ(aggregator.groups(), 4u);
  std::vector<AuthFailureSummary> rest = aggregator.FlushAll();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].key_name, "old-ci");
  EXPECT_EQ(rest[0].reason, "revoked_key");
  EXPECT_EQ(aggregator.groups(), 0u);
}

TEST(AuthFailureAggregatorTest, PeersBeyondTheCapShareOneCountPerRpcAndReason) {
  constexpr size_t kCap = 8;
  AuthFailureAggregator aggregator({absl::Minutes(1), kCap});
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  int at_once = 0;
  constexpr int kPeers = 10'000;
  for (int i = 0; i < kPeers; ++i) {
    const std::string peer = absl::StrCat(
        "ipv4:10.", i / 65536, ".", (i / 256) % 256, ".", i % 256, ":4242");
    if (aggregator.Add(Keyless(peer), t0).has_value()) ++at_once;
  }
  EXPECT_EQ(at_once, static_cast<int>(kCap));
  EXPECT_EQ(aggregator.groups(), kCap + 1);
  std::vector<AuthFailureSummary> rest = aggregator.FlushAll();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].peer, kOtherPeers);
  EXPECT_EQ(rest[0].rpc, kCheck);
  EXPECT_EQ(rest[0].reason, "missing_key");
  EXPECT_EQ(rest[0].count, kPeers - static_cast<int>(kCap));
}

}  // namespace
}  // namespace steward::server
