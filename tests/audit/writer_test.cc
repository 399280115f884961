// AuditWriter: group commit under concurrency, callbacks only after commit,
// dense seqs, back-pressure, commit failures, shutdown.
#include "server/audit/writer.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/reader.h"
#include "server/store/sqlite/connection.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;

TEST(AuditWriterTest, ConcurrentSubmittersGetDenseOrderedSeqs) {
  TestDb db;
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  auto reader = AuditReader::Open(db.path());
  ASSERT_THAT(reader, IsOk());

  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  absl::Mutex mu;
  std::vector<int64_t> seqs;
  std::atomic<int> visible_checked{0};
  std::atomic<int> not_visible{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        AuditRecord r = Decision(n, absl::StrCat("p", t));
        const bool check = i % 50 == 0;
        ASSERT_THAT((*writer)->Submit(
                        std::move(r),
                        [&, n, check](absl::StatusOr<int64_t> seq) {
                          ASSERT_THAT(seq, IsOk());
                          if (check) {
                            // Runs after COMMIT: another connection sees it.
                            auto found =
                                (*reader)->FindDecision(absl::StrCat("d-", n));
                            if (!found.ok() || found->seq != *seq)
                              ++not_visible;
                            ++visible_checked;
                          }
                          absl::MutexLock lock(&mu);
                          seqs.push_back(*seq);
                        }),
                    IsOk());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_THAT((*writer)->Flush(), IsOk());
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(seqs.size(), size_t{kThreads * kPerThread});
    // Callbacks run in commit order on the writer thread.
    for (size_t i = 0; i < seqs.size(); ++i) {
      EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
    }
  }
  EXPECT_EQ(visible_checked.load(), kThreads * kPerThread / 50);
  EXPECT_EQ(not_visible.load(), 0);
  WriterMetrics m = (*writer)->metrics();
  EXPECT_EQ(m.records_committed, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(m.records_failed, 0u);
  EXPECT_EQ(m.last_seq, kThreads * kPerThread);
  EXPECT_LE(m.batches_committed, m.records_committed);
  uint64_t histogram_total = 0;
  for (uint64_t c : m.batch_size_histogram) histogram_total += c;
  EXPECT_EQ(histogram_total, m.batches_committed);
  EXPECT_GT(m.total_commit_time, absl::ZeroDuration());

  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->records_checked, kThreads * kPerThread);
}

TEST(AuditWriterTest, ContinuesTheChainAfterReopen) {
  TestDb db;
  {
    auto writer = AuditWriter::Open(db.path());
    ASSERT_THAT(writer, IsOk());
    for (int i = 0; i < 5; ++i) {
      ASSERT_THAT((*writer)->SubmitAndWait(Decision(i)), IsOk());
    }
  }
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  auto seq = (*writer)->SubmitAndWait(Decision(5));
  ASSERT_THAT(seq, IsOk());
  EXPECT_EQ(*seq, 6);
  auto reader = AuditReader::Open(db.path());
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->records_checked, 6);
}

TEST(AuditWriterTest, FullQueueIsResourceExhaustedAndRecovers) {
  TestDb db;
  WriterOptions options;
  options.queue_capacity = 4;
  auto writer = AuditWriter::Open(db.path(), options);
  ASSERT_THAT(writer, IsOk());

  // Stall the writer thread inside a callback so the queue cannot drain.
  absl::Notification entered, release;
  ASSERT_THAT((*writer)->Submit(Decision(0),
                                [&](absl::StatusOr<int64_t>) {
                                  entered.Notify();
                                  release.WaitForNotification();
                                }),
              IsOk());
  entered.WaitForNotification();
  std::atomic<int> committed{0};
  for (int i = 1; i <= 4; ++i) {
    ASSERT_THAT((*writer)->TrySubmit(Decision(i),
                                     [&](absl::StatusOr<int64_t> s) {
                                       if (s.ok()) ++committed;
                                     }),
                IsOk());
  }
  EXPECT_EQ((*writer)->metrics().queue_depth, 4u);
  EXPECT_THAT((*writer)->TrySubmit(Decision(5)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ((*writer)->metrics().rejected_full, 1u);

  release.Notify();
  ASSERT_THAT((*writer)->Flush(), IsOk());
  EXPECT_EQ(committed.load(), 4);
  EXPECT_THAT((*writer)->TrySubmit(Decision(5)), IsOk());
  ASSERT_THAT((*writer)->Flush(), IsOk());
  EXPECT_EQ((*writer)->metrics().records_committed, 6u);
}

TEST(AuditWriterTest, CommitFailureFailsTheBatchAndRecovers) {
  TestDb db;
  WriterOptions options;
  options.busy_timeout = absl::Milliseconds(50);
  auto writer = AuditWriter::Open(db.path(), options);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(0)), IsOk());

  // Another connection holds the write lock: the writer's BEGIN IMMEDIATE
  // times out and the record must be reported as not committed.
  auto blocker = OpenRaw(db.path());
  ASSERT_THAT(blocker->Exec("BEGIN IMMEDIATE"), IsOk());
  EXPECT_THAT((*writer)->SubmitAndWait(Decision(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT((*writer)->Flush(), IsOk());
  ASSERT_THAT(blocker->Exec("ROLLBACK"), IsOk());

  auto seq = (*writer)->SubmitAndWait(Decision(2));
  ASSERT_THAT(seq, IsOk());
  EXPECT_EQ(*seq, 2);
  WriterMetrics m = (*writer)->metrics();
  EXPECT_EQ(m.records_failed, 1u);
  EXPECT_EQ(m.batches_failed, 1u);
  auto reader = AuditReader::Open(db.path());
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_THAT((*reader)->FindDecision("d-1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(AuditWriterTest, OneBadRecordFailsAloneInItsBatch) {
  TestDb db;
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(7)), IsOk());

  absl::Notification entered, release;
  ASSERT_THAT((*writer)->Submit(Decision(100),
                                [&](absl::StatusOr<int64_t>) {
                                  entered.Notify();
                                  release.WaitForNotification();
                                }),
              IsOk());
  entered.WaitForNotification();
  // Queued together, so they form one batch: the duplicate decision id
  // violates the unique index.
  std::vector<absl::Status> results(3);
  ASSERT_THAT((*writer)->Submit(
                  Decision(8),
                  [&](absl::StatusOr<int64_t> s) { results[0] = s.status(); }),
              IsOk());
  ASSERT_THAT((*writer)->Submit(
                  Decision(7),
                  [&](absl::StatusOr<int64_t> s) { results[1] = s.status(); }),
              IsOk());
  ASSERT_THAT((*writer)->Submit(
                  Decision(9),
                  [&](absl::StatusOr<int64_t> s) { results[2] = s.status(); }),
              IsOk());
  release.Notify();
  EXPECT_THAT((*writer)->Flush(), IsOk());
  EXPECT_EQ((*writer)->metrics().records_failed, 1u);
  EXPECT_THAT(results[0], IsOk());
  EXPECT_THAT(results[1], StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(results[2], IsOk());
  auto reader = AuditReader::Open(db.path());
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->records_checked, 4);
}

TEST(AuditWriterTest, RejectsRecordsTheSchemaWouldRefuse) {
  TestDb db;
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  AuditRecord no_id = Decision(1);
  no_id.decision_id.clear();
  EXPECT_THAT((*writer)->Submit(no_id),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuditRecord ok_decision = Decision(1);
  ok_decision.effect = RecordEffect::kOk;
  EXPECT_THAT((*writer)->Submit(ok_decision),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuditRecord admin;
  admin.kind = RecordKind::kAdminChange;
  admin.effect = RecordEffect::kAllow;
  EXPECT_THAT((*writer)->Submit(admin),
              StatusIs(absl::StatusCode::kInvalidArgument));
  admin.effect = RecordEffect::kOk;
  admin.details = "{not json";
  EXPECT_THAT((*writer)->Submit(admin),
              StatusIs(absl::StatusCode::kInvalidArgument));
  admin.details = R"({"before":null,"after":{"role":"viewer"}})";
  admin.totp_verified = true;
  EXPECT_THAT((*writer)->SubmitAndWait(admin), IsOk());
}

TEST(AuditWriterTest, ShutdownCommitsEverythingThenRefuses) {
  TestDb db;
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  std::atomic<int> committed{0};
  for (int i = 0; i < 500; ++i) {
    ASSERT_THAT((*writer)->Submit(Decision(i),
                                  [&](absl::StatusOr<int64_t> s) {
                                    if (s.ok()) ++committed;
                                  }),
                IsOk());
  }
  EXPECT_THAT((*writer)->Shutdown(), IsOk());
  EXPECT_EQ(committed.load(), 500);
  EXPECT_THAT((*writer)->Submit(Decision(1000)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT((*writer)->Shutdown(), IsOk());  // idempotent
}

TEST(AuditWriterTest, MissingDatabaseIsNotFound) {
  steward::testing::TempDir dir;
  EXPECT_THAT(AuditWriter::Open(dir.path() + "/nope.db"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace steward::audit

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;

TEST(AuditWriterTest, BlockingCallsFromACallbackFailInsteadOfDeadlocking) {
  TestDb db;
  WriterOptions options;
  options.queue_capacity = 1;
  auto writer = AuditWriter::Open(db.path(), options);
  ASSERT_THAT(writer, IsOk());
  absl::Status flush, wait, submit;
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(0)), IsOk());
  absl::Notification done;
  ASSERT_THAT(
      (*writer)->Submit(Decision(1),
                        [&](absl::StatusOr<int64_t>) {
                          flush = (*writer)->Flush();
                          wait = (*writer)->SubmitAndWait(Decision(2)).status();
                          // Room for one: accepted without waiting.
                          submit = (*writer)->Submit(Decision(3));
                          done.Notify();
                        }),
      IsOk());
  done.WaitForNotification();
  EXPECT_THAT(flush, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(wait, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(submit, IsOk());
  EXPECT_THAT((*writer)->Flush(), IsOk());
  EXPECT_EQ((*writer)->metrics().records_committed, 3u);
}

}  // namespace
}  // namespace steward::audit

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;

TEST(AuditWriterTest, MultiRowBatchesKeepEveryColumnOfEveryRecord) {
  TestDb db;
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  absl::Notification entered, release;
  ASSERT_THAT((*writer)->Submit(Decision(0),
                                [&](absl::StatusOr<int64_t>) {
                                  entered.Notify();
                                  release.WaitForNotification();
                                }),
              IsOk());
  entered.WaitForNotification();
  // 70 records queued while the writer is stalled: one batch, three
  // multi-row INSERT chunks (32 + 32 + 6).
  std::vector<AuditRecord> sent;
  for (int i = 1; i <= 70; ++i) {
    AuditRecord r = Decision(i);
    r.attributes = absl::StrCat(R"({"resource":{"n":)", i, "}}");
    r.details = absl::StrCat(R"({"i":)", i, "}");
    r.totp_verified = i % 3 == 0;
    r.decision_id = i % 5 == 0 ? absl::StrCat("d-", i) : r.decision_id;
    sent.push_back(r);
    ASSERT_THAT((*writer)->Submit(std::move(r)), IsOk());
  }
  release.Notify();
  ASSERT_THAT((*writer)->Flush(), IsOk());
  EXPECT_EQ((*writer)->metrics().max_batch_size, 70u);
  // Written by the multi-row path, not by the one-record-per-transaction
  // fallback that a failed batch takes.
  EXPECT_EQ((*writer)->metrics().batches_failed, 0u);

  auto reader = AuditReader::Open(db.path());
  ASSERT_THAT(reader, IsOk());
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->records_checked, 71);
  for (const AuditRecord& want : sent) {
    auto got = (*reader)->FindDecision(want.decision_id);
    ASSERT_THAT(got, IsOk());
    AuditRecord expected = want;
    expected.seq = got->seq;
    EXPECT_EQ(CanonicalEncoding(*got), CanonicalEncoding(expected))
        << want.decision_id;
  }
}

}  // namespace
}  // namespace steward::audit
