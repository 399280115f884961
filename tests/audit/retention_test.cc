// Retention with an injected clock: old records gone (in bounded batches),
// the chain still verifies from the checkpoint, the purge is recorded, and
// writing continues on the same chain.
#include "server/audit/retention.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/audit/reader.h"
#include "server/audit/writer.h"
#include "server/store/clock.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::kT0;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto writer = AuditWriter::Open(db_.path());
    ASSERT_THAT(writer, IsOk());
    writer_ = *std::move(writer);
    // Records 1..20 one day apart: day 0 .. day 19.
    for (int i = 0; i < 20; ++i) {
      AuditRecord r = Decision(i);
      r.time = kT0 + absl::Hours(24 * i);
      ASSERT_THAT(writer_->Submit(std::move(r)), IsOk());
    }
    ASSERT_THAT(writer_->Flush(), IsOk());
    auto reader = AuditReader::Open(db_.path());
    ASSERT_THAT(reader, IsOk());
    reader_ = *std::move(reader);
  }

  std::unique_ptr<RetentionPurger> Purger(int batch_rows) {
    RetentionOptions options;
    options.retention = absl::Hours(24 * 10);
    options.batch_rows = batch_rows;
    auto purger = RetentionPurger::Open(db_.path(), clock_, *writer_, options);
    EXPECT_THAT(purger, IsOk());
    return purger.ok() ? *std::move(purger) : nullptr;
  }

  TestDb db_;
  store::FakeClock clock_{kT0};
  std::unique_ptr<AuditWriter> writer_;
  std::unique_ptr<AuditReader> reader_;
};

TEST_F(RetentionTest, PurgesOldRecordsKeepsChainAndRecordsThePurge) {
  // Now = day 15.5; cutoff = day 5.5: records of days 0..5 (seq 1..6) go.
  clock_.Set(kT0 + absl::Hours(24 * 15 + 12));
  auto purger = Purger(/*batch_rows=*/4);
  auto result = purger->PurgeExpired();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->purged, 6);
  EXPECT_EQ(result->batches, 2);
  EXPECT_EQ(result->checkpoint_seq, 6);
  EXPECT_EQ(result->purge_record_seq, 21);

  EXPECT_THAT(reader_->FindDecision("d-5"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(reader_->FindDecision("d-6"), IsOk());

  auto verified = reader_->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->first_seq, 7);
  EXPECT_EQ(verified->last_seq, 21);

  QueryFilter f;
  f.kinds = {RecordKind::kRetentionPurge};
  auto page = reader_->Query(f, 10, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->records.size(), 1u);
  const AuditRecord& purge = page->records[0];
  EXPECT_EQ(purge.action, "retention_purge");
  EXPECT_EQ(purge.effect, RecordEffect::kOk);
  EXPECT_EQ(purge.time, clock_.Now());
  ASSERT_TRUE(purge.details.has_value());
  nlohmann::json details = nlohmann::json::parse(*purge.details);
  EXPECT_EQ(details["purged"], 6);
  EXPECT_EQ(details["checkpoint_seq"], 6);

  // One checkpoint row for the run, advanced across both batches.
  auto raw = OpenRaw(db_.path());
  auto stmt = raw->Prepare(
      "SELECT count(*), max(seq), sum(purged_count) FROM audit_checkpoints");
  ASSERT_THAT(stmt, IsOk());
  ASSERT_THAT(stmt->Step(), IsOk());
  EXPECT_EQ(stmt->Int(0), 1);
  EXPECT_EQ(stmt->Int(1), 6);
  EXPECT_EQ(stmt->Int(2), 6);
}

TEST_F(RetentionTest, NothingExpiredChangesNothing) {
  clock_.Set(kT0 + absl::Hours(24 * 5));
  auto result = Purger(100)->PurgeExpired();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->purged, 0);
  EXPECT_EQ(result->purge_record_seq, 0);
  auto verified = reader_->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->records_checked, 20);
}

TEST_F(RetentionTest, RepeatedPurgesAndPurgingEverythingStayVerifiable) {
  auto purger = Purger(3);
  clock_.Set(kT0 + absl::Hours(24 * 12 + 1));  // cutoff day 2: seq 1..3
  ASSERT_THAT(purger->PurgeExpired(), IsOk());
  clock_.Set(kT0 + absl::Hours(24 * 100));  // everything, incl. 1st purge
  auto result = purger->PurgeExpired();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->purged, 18);  // seq 4..21
  EXPECT_EQ(result->purge_record_seq, 22);

  auto seq = writer_->SubmitAndWait(Decision(99));
  ASSERT_THAT(seq, IsOk());
  EXPECT_EQ(*seq, 23);
  auto verified = reader_->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->first_seq, 22);
  EXPECT_EQ(verified->records_checked, 2);

  // A writer restarted on the purged trail continues the same chain.
  writer_.reset();
  auto writer = AuditWriter::Open(db_.path());
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(100)), IsOk());
  verified = reader_->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
}

TEST_F(RetentionTest, TamperingWithTheCheckpointIsDetected) {
  clock_.Set(kT0 + absl::Hours(24 * 15 + 12));
  ASSERT_THAT(Purger(100)->PurgeExpired(), IsOk());
  auto raw = OpenRaw(db_.path());
  ASSERT_THAT(raw->Exec("UPDATE audit_checkpoints SET hash = zeroblob(32)"),
              IsOk());
  auto verified = reader_->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_FALSE(verified->ok);
  EXPECT_EQ(verified->first_bad_seq, 7);
}

TEST_F(RetentionTest, RejectsBadOptions) {
  RetentionOptions options;
  options.batch_rows = 0;
  EXPECT_THAT(RetentionPurger::Open(db_.path(), clock_, *writer_, options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace steward::audit

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;

TEST(ForgedCheckpointTest, DeletingAPrefixBehindAForgedCheckpointIsDetected) {
  TestDb db;
  {
    auto writer = AuditWriter::Open(db.path());
    ASSERT_THAT(writer, IsOk());
    for (int i = 0; i < 10; ++i) {
      ASSERT_THAT((*writer)->SubmitAndWait(Decision(i)), IsOk());
    }
  }
  // Delete records 1..4 and forge a checkpoint from record 5's prev_hash,
  // which is exactly what a real purge would have stored.
  auto raw = OpenRaw(db.path());
  ASSERT_THAT(
      raw->Exec("INSERT INTO audit_checkpoints (seq, hash, time, "
                "purged_count, created_at) SELECT 4, prev_hash, time, 4, time "
                "FROM audit_log WHERE seq = 5;"
                "DELETE FROM audit_log WHERE seq <= 4;"),
      IsOk());
  auto reader = AuditReader::Open(db.path());
  ASSERT_THAT(reader, IsOk());
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_FALSE(verified->ok);
  EXPECT_EQ(verified->first_bad_seq, 5);
  EXPECT_THAT(verified->message, ::testing::HasSubstr("not confirmed"));
}

}  // namespace
}  // namespace steward::audit
