// DecisionFold, the usage aggregate both engines share (usage_fold.h):
// the one place the engines differ (which seq a use keeps), what
// Summarize asks of the engine for a day a window cuts through, and what
// a purge drops. The end-to-end answers on real trails are in
// tests/server/reports_test.cc and tests/audit/pg_reports_test.cc (the
// same reports on both engines); these pin the pieces they rely on.
#include "server/audit/usage_fold.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Pair;

// 2024-03-01T00:00:00Z, a day start.
const absl::Time kDay0 = absl::FromUnixSeconds(1709251200);
const int64_t kDay0Number = 1709251200 / 86400;

// One decision row, as both engines feed it.
void Fold(DecisionFold& fold, int64_t seq, absl::Time time,
          absl::string_view principal, absl::string_view rule_id,
          absl::string_view scope, bool allow) {
  fold.AddDecision(seq, time, principal, allow);
  if (allow) fold.AddAllow(seq, time, principal, rule_id, scope);
}

absl::Status NoReads(absl::Time, absl::Time, DecisionFold::DecisionSink) {
  ADD_FAILURE() << "unexpected read";
  return absl::InternalError("unexpected read");
}

const ScopedUse& OnlyUse(const DecisionFold& fold, const std::string& who) {
  const auto it = fold.uses().find(who);
  EXPECT_NE(it, fold.uses().end());
  EXPECT_EQ(it->second.size(), 1u);
  return it->second.front();
}

// SQLite (one seq order): the newest time and the largest seq, each on its
// own; a clock stepped back does not pull either back.
TEST(DecisionFoldTest, LargestKeepsTheNewestTimeAndTheLargestSeq) {
  DecisionFold fold(DecisionFold::UseSeq::kLargest);
  Fold(fold, 1, kDay0 + absl::Hours(5), "alice", "r1", "s", true);
  Fold(fold, 2, kDay0 + absl::Hours(3), "alice", "r1", "s", true);
  const ScopedUse& use = OnlyUse(fold, "alice");
  EXPECT_EQ(use.last_allow, kDay0 + absl::Hours(5));
  EXPECT_EQ(use.last_seq, 2);
}

// PostgreSQL (seqs per chain): the seq of the newest use, so it names the
// record the time came from; an older use from another chain, with a
// larger seq there, changes nothing.
TEST(DecisionFoldTest, OfNewestKeepsTheSeqOfTheNewestUse) {
  DecisionFold fold(DecisionFold::UseSeq::kOfNewest);
  Fold(fold, 7, kDay0 + absl::Hours(5), "alice", "r1", "s", true);
  Fold(fold, 40, kDay0 + absl::Hours(3), "alice", "r1", "s", true);
  EXPECT_EQ(OnlyUse(fold, "alice").last_allow, kDay0 + absl::Hours(5));
  EXPECT_EQ(OnlyUse(fold, "alice").last_seq, 7);
  Fold(fold, 3, kDay0 + absl::Hours(6), "alice", "r1", "s", true);
  EXPECT_EQ(OnlyUse(fold, "alice").last_allow, kDay0 + absl::Hours(6));
  EXPECT_EQ(OnlyUse(fold, "alice").last_seq, 3);
}

// A deny or a rule-less allow counts but is no use; uses are per
// (rule, scope).
TEST(DecisionFoldTest, OnlyAllowsWithARuleAreUses) {
  DecisionFold fold(DecisionFold::UseSeq::kLargest);
  Fold(fold, 1, kDay0, "alice", "r1", "s", false);
  Fold(fold, 2, kDay0, "bob", "", "s", true);
  Fold(fold, 3, kDay0, "carol", "r1", "s1", true);
  Fold(fold, 4, kDay0, "carol", "r1", "s2", true);
  EXPECT_EQ(fold.uses().count("alice"), 0u);
  EXPECT_EQ(fold.uses().count("bob"), 0u);
  EXPECT_EQ(fold.uses().at("carol").size(), 2u);
  const DecisionFoldSize size = fold.Size();
  EXPECT_EQ(size.days, 1);
  EXPECT_EQ(size.deny_entries, 1);
  EXPECT_EQ(size.principals, 1);
}

// Whole days come from the aggregate without a read; the one day the
// window cuts through is read for exactly the part inside the window, and
// a principal met only there (never folded) is ranked under its name.
TEST(DecisionFoldTest, SummarizeReadsOnlyTheCutDayPart) {
  DecisionFold fold(DecisionFold::UseSeq::kLargest);
  for (int d = 0; d < 3; ++d) {
    const absl::Time t = kDay0 + absl::Hours(24 * d + 1);
    Fold(fold, 10 * d + 1, t, "alice", "r1", "s", true);
    Fold(fold, 10 * d + 2, t, "mallory", "", "", false);
    Fold(fold, 10 * d + 3, t, "eve", "", "", false);
  }
  DecisionWindow window;
  window.since = kDay0;
  window.until = kDay0 + absl::Hours(24 * 2 + 12);  // cuts day 2
  window.top_denied = 2;
  std::vector<std::pair<absl::Time, absl::Time>> reads;
  absl::StatusOr<DecisionSummary> summary =
      fold.Summarize(window,
                     [&](absl::Time from, absl::Time to,
                         DecisionFold::DecisionSink sink) -> absl::Status {
                       reads.emplace_back(from, to);
                       sink(0, "mallory", false);
                       sink(0, "zed", false);  // denied only in the part read
                       sink(0, "zed", false);
                       sink(0, "alice", true);
                       return absl::OkStatus();
                     });
  ASSERT_THAT(summary, IsOk());
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].first, kDay0 + absl::Hours(48));
  EXPECT_EQ(reads[0].second, kDay0 + absl::Hours(60));
  ASSERT_EQ(summary->days.size(), 3u);
  EXPECT_EQ(summary->days[0].day, kDay0Number);
  EXPECT_EQ(summary->days[2].allow, 1);
  EXPECT_EQ(summary->days[2].deny, 3);
  EXPECT_EQ(summary->total_allow, 3);
  EXPECT_EQ(summary->total_deny, 7);
  EXPECT_EQ(summary->denied_principals, 3);
  // mallory 3, eve 2, zed 2: ties by name.
  EXPECT_THAT(summary->top_denied,
              ElementsAre(Pair("mallory", 3), Pair("eve", 2)));
  EXPECT_EQ(summary->first_seq, 0);  // the engine sets these
}

TEST(DecisionFoldTest, SummarizeReturnsTheReadsError) {
  DecisionFold fold(DecisionFold::UseSeq::kLargest);
  Fold(fold, 1, kDay0 + absl::Hours(1), "alice", "", "", false);
  DecisionWindow window;
  window.since = kDay0 + absl::Minutes(30);
  EXPECT_THAT(
      fold.Summarize(window,
                     [](absl::Time, absl::Time, DecisionFold::DecisionSink) {
                       return absl::UnavailableError("gone");
                     }),
      StatusIs(absl::StatusCode::kUnavailable));
  // Whole days need no read at all.
  window.since = kDay0;
  EXPECT_THAT(fold.Summarize(window, NoReads), IsOk());
}

// A purge of seqs < 12: day 0 (seqs 1-2) goes whole, with its only use and
// its only denied name; day 1 (seqs 11-13) is cut and recounted from what
// the engine reads of it; day 2 is untouched.
TEST(DecisionFoldTest, DropBeforeDropsWholeDaysAndRecountsACutOne) {
  DecisionFold fold(DecisionFold::UseSeq::kLargest);
  Fold(fold, 1, kDay0 + absl::Hours(1), "old", "r0", "s", true);
  Fold(fold, 2, kDay0 + absl::Hours(2), "gone", "", "", false);
  Fold(fold, 11, kDay0 + absl::Hours(25), "bob", "", "", false);
  Fold(fold, 12, kDay0 + absl::Hours(26), "bob", "", "", false);
  Fold(fold, 13, kDay0 + absl::Hours(27), "alice", "r1", "s", true);
  Fold(fold, 21, kDay0 + absl::Hours(49), "carol", "", "", false);
  EXPECT_EQ(fold.Size().principals, 3);

  std::vector<absl::Time> recounted;
  ASSERT_THAT(
      fold.DropBefore(12,
                      [&](absl::Time from, absl::Time to,
                          DecisionFold::DecisionSink sink) -> absl::Status {
                        recounted.push_back(from);
                        EXPECT_EQ(to - from, absl::Hours(24));
                        sink(12, "bob", false);
                        sink(13, "alice", true);
                        return absl::OkStatus();
                      }),
      IsOk());
  EXPECT_THAT(recounted, ElementsAre(kDay0 + absl::Hours(24)));
  EXPECT_EQ(fold.uses().count("old"), 0u);
  EXPECT_EQ(fold.uses().count("alice"), 1u);
  const DecisionFoldSize size = fold.Size();
  EXPECT_EQ(size.days, 2);
  EXPECT_EQ(size.principals, 2);  // "gone" is forgotten
  absl::StatusOr<DecisionSummary> all = fold.Summarize({}, NoReads);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->total_allow, 1);
  EXPECT_EQ(all->total_deny, 2);
  EXPECT_THAT(all->top_denied, ElementsAre(Pair("bob", 1), Pair("carol", 1)));
}

// A failed recount leaves the cut day's counts as they were.
TEST(DecisionFoldTest, AFailedRecountKeepsTheDay) {
  DecisionFold fold(DecisionFold::UseSeq::kLargest);
  Fold(fold, 11, kDay0 + absl::Hours(1), "bob", "", "", false);
  Fold(fold, 12, kDay0 + absl::Hours(2), "bob", "", "", false);
  EXPECT_THAT(
      fold.DropBefore(12,
                      [](absl::Time, absl::Time, DecisionFold::DecisionSink) {
                        return absl::UnavailableError("busy");
                      }),
      StatusIs(absl::StatusCode::kUnavailable));
  absl::StatusOr<DecisionSummary> all = fold.Summarize({}, NoReads);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->total_deny, 2);
}

}  // namespace
}  // namespace steward::audit
