// The audit writer on a full volume, simulated with PRAGMA max_page_count
// (a real disk cannot be filled safely in a test): failing commits are
// logged once, not once per batch; raising the limit (freeing space) is
// enough to recover; and the WAL is given back once commits succeed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/audit/writer.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/wait.h"

namespace steward::audit {
namespace {

using testing::Decision;
using testing::TestDb;

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A record that needs pages of its own.
AuditRecord Big(int i) {
  AuditRecord record = Decision(i);
  record.justification = std::string(2000, 'x');
  return record;
}

// A writer on `db` with room for a few records beyond the migrated schema
// (the file holds every page: the last connection checkpointed it when it
// closed).
WriterOptions NearlyFullVolume(const TestDb& db) {
  WriterOptions options;
  options.background_checkpoint = false;
  options.index_batch_rows = 0;
  options.index_idle_delay = absl::ZeroDuration();
  const int64_t pages =
      static_cast<int64_t>(std::filesystem::file_size(db.path()) / 4096);
  options.max_page_count = pages + 4;
  return options;
}

TEST(AuditWriterDiskFullTest, LogsOnceRecoversAndTruncatesTheWal) {
  TestDb db;
  auto log = std::make_shared<std::ostringstream>();
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*log)));
  absl::Cleanup restore = [&] { spdlog::set_default_logger(previous); };

  auto writer = AuditWriter::Open(db.path(), NearlyFullVolume(db));
  ASSERT_TRUE(writer.ok()) << writer.status();

  absl::Status refused;
  int committed = 0;
  for (int i = 0; i < 500 && refused.ok(); ++i) {
    absl::StatusOr<int64_t> seq = (*writer)->SubmitAndWait(Big(i));
    if (seq.ok()) {
      ++committed;
    } else {
      refused = seq.status();
    }
  }
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ((*writer)->SubmitAndWait(Big(1000 + i)).status().code(),
              absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(CountOf(log->str(), "audit trail: commit failed"), 1) << log->str();
  EXPECT_EQ(CountOf(log->str(), "still failing"), 0) << log->str();

  // Space is freed: the next batch commits, and the writer says so once.
  (*writer)->SetMaxPageCount(1'000'000);
  absl::StatusOr<int64_t> seq = (*writer)->SubmitAndWait(Big(2000));
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, committed + 1);
  EXPECT_EQ(CountOf(log->str(), "commits succeed again"), 1) << log->str();
  EXPECT_EQ(std::filesystem::file_size(db.path() + "-wal"), 0u);
  ASSERT_TRUE((*writer)->SubmitAndWait(Decision(2001)).ok());
  EXPECT_EQ(CountOf(log->str(), "commits succeed again"), 1);
}

// What async Checks rely on: the writer says it is failing from the first
// failed commit until one succeeds, and counts what it holds uncommitted.
TEST(AuditWriterDiskFullTest, FailingFromTheFirstFailedCommitUntilOneSucceeds) {
  TestDb db;
  auto writer = AuditWriter::Open(db.path(), NearlyFullVolume(db));
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_FALSE((*writer)->failing());
  int i = 0;
  while ((*writer)->SubmitAndWait(Big(i)).ok()) ASSERT_LT(++i, 500);
  EXPECT_TRUE((*writer)->failing());
  EXPECT_TRUE((*writer)->metrics().failing);
  // The counters are updated just after the callbacks run.
  steward::testing::WaitUntil(
      [&] { return (*writer)->metrics().uncommitted == 0; }, absl::Seconds(5),
      "the refused records to be counted");
  (*writer)->SetMaxPageCount(1'000'000);
  ASSERT_TRUE((*writer)->SubmitAndWait(Big(1000)).ok());
  EXPECT_FALSE((*writer)->failing());
  EXPECT_FALSE((*writer)->metrics().failing);
}

}  // namespace
}  // namespace steward::audit
