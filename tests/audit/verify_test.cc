// VerifyChain against tampering done directly in the SQLite file: a changed
// field, a deleted row, swapped rows, an edited hash, a recomputed hash, a
// truncated tail. Each names the first bad record.
#include "server/audit/verify.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/reader.h"
#include "server/audit/rows.h"
#include "server/audit/writer.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::TestDb;
using ::steward::audit::testing::VerifyTrail;
using ::steward::testing::IsOk;
using ::testing::HasSubstr;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto writer = AuditWriter::Open(db_.path());
    ASSERT_THAT(writer, IsOk());
    for (int i = 1; i <= 10; ++i) {
      ASSERT_THAT((*writer)->SubmitAndWait(Decision(i)), IsOk());
    }
    raw_ = OpenRaw(db_.path());
  }

  VerifyResult Verify() { return VerifyTrail(db_.path()); }

  void Exec(const char* sql) { ASSERT_THAT(raw_->Exec(sql), IsOk()); }

  TestDb db_;
  std::unique_ptr<store::sqlite::Connection> raw_;
};

TEST_F(VerifyTest, IntactChainVerifies) {
  VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.records_checked, 10);
  EXPECT_EQ(r.first_seq, 1);
  EXPECT_EQ(r.last_seq, 10);
  EXPECT_EQ(r.first_bad_seq, 0);
}

TEST_F(VerifyTest, DetectsAChangedField) {
  Exec(
      "UPDATE audit_log SET effect = 'ALLOW', reason = 'ALLOWED_BY_RULE' "
      "WHERE seq = 6");
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6);
  EXPECT_THAT(r.message, HasSubstr("record 6"));
}

TEST_F(VerifyTest, DetectsADeletedRow) {
  Exec("DELETE FROM audit_log WHERE seq = 4");
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
  EXPECT_THAT(r.message, HasSubstr("missing"));
}

TEST_F(VerifyTest, DetectsSwappedRows) {
  Exec(
      "UPDATE audit_log SET seq = 1000 WHERE seq = 3;"
      "UPDATE audit_log SET seq = 3 WHERE seq = 7;"
      "UPDATE audit_log SET seq = 7 WHERE seq = 1000;");
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
}

TEST_F(VerifyTest, DetectsAnEditedHash) {
  Exec("UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 5");
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
}

TEST_F(VerifyTest, DetectsARecomputedHash) {
  // A forger changes record 5 and recomputes its hash correctly; record 6
  // still links to the old hash, so the chain breaks there.
  Exec("UPDATE audit_log SET principal = 'someone-else' WHERE seq = 5");
  auto stmt = raw_->Prepare(absl::StrCat("SELECT ", internal::kRowColumns,
                                         " FROM audit_log WHERE seq = 5"));
  ASSERT_THAT(stmt, IsOk());
  ASSERT_THAT(stmt->Step(), IsOk());
  auto row = internal::ReadRow(*stmt);
  ASSERT_THAT(row, IsOk());
  const Hash forged =
      ChainHash(row->prev_hash, internal::CanonicalEncoding(row->row));
  { auto done = std::move(*stmt); }
  auto update = raw_->Prepare("UPDATE audit_log SET hash = ? WHERE seq = 5");
  ASSERT_THAT(update, IsOk());
  update->BindBlob(1, absl::Span<const uint8_t>(forged.data(), forged.size()));
  ASSERT_THAT(update->Run(), IsOk());

  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6);
  EXPECT_THAT(r.message, HasSubstr("prev_hash"));
}

TEST_F(VerifyTest, DetectsATruncatedTail) {
  Exec("DELETE FROM audit_log WHERE seq >= 9");
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 9);
  EXPECT_EQ(r.records_checked, 8);
}

TEST_F(VerifyTest, WriterDoesNotReuseSeqsOfADeletedTail) {
  Exec("DELETE FROM audit_log WHERE seq = 10");
  auto writer = AuditWriter::Open(db_.path());
  ASSERT_THAT(writer, IsOk());
  auto seq = (*writer)->SubmitAndWait(Decision(11));
  ASSERT_THAT(seq, IsOk());
  EXPECT_EQ(*seq, 11);
  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 10);
}

}  // namespace
}  // namespace steward::audit
