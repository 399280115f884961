// Deferred indexes (migrations/0005, 0006, server/audit/indexer.h): queries
// give the same answer whether the rows are in the index tables (over many
// generations), above the watermark, or split by it; paging stays exact when
// the watermark moves between pages; the writer catches up after a restart with
// a stale watermark; the migration rebuilds and indexes an existing trail;
// retention removes the purged rows' keys.
#include "server/audit/indexer.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/reader.h"
#include "server/audit/retention.h"
#include "server/audit/writer.h"
#include "server/store/clock.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::kT0;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;
using ::steward::testing::WaitUntil;

constexpr int kRecords = 300;

// A writer that never indexes by itself: every row stays above the
// watermark until the test moves it.
WriterOptions NoIndexing() {
  WriterOptions options;
  options.index_batch_rows = 0;
  options.index_idle_delay = absl::ZeroDuration();
  options.index_on_shutdown = false;
  return options;
}

AuditRecord Numbered(int i) {
  AuditRecord r = Decision(i, absl::StrCat("p", i % 7));
  // Shared timestamps, and times not in seq order, so paging must break
  // ties by seq and the order is by time first.
  r.time = kT0 + absl::Seconds((i * 37) % 90);
  // Rare values, read by generation (migrations/0007): two exports far
  // apart, two deletes, three calls by another key side by side, two uses
  // of a break-glass rule and two records of a rare purpose.
  if (i == 0 || i == 151) r.action = "export";
  if (i == 140 || i == 141) r.action = "delete";
  if (i >= 249 && i <= 251) r.caller = "batch-job";
  if (i == 170 || i == 172) r.rule_id = "break_glass/1";  // both allowed
  if (i == 10 || i == 11) r.purpose = "fraud_review";
  return r;
}

int64_t QueryInt(store::sqlite::Connection& c, const char* sql) {
  auto stmt = c.Prepare(sql);
  EXPECT_THAT(stmt.status(), IsOk());
  if (!stmt.ok()) return -1;
  auto row = stmt->Step();
  EXPECT_THAT(row.status(), IsOk());
  return row.ok() && *row ? stmt->Int(0) : -1;
}

class IndexerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto writer = AuditWriter::Open(db_.path(), NoIndexing());
    ASSERT_THAT(writer, IsOk());
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_THAT((*writer)->Submit(Numbered(i)), IsOk());
    }
    ASSERT_THAT((*writer)->Shutdown(), IsOk());
    auto reader = AuditReader::Open(db_.path());
    ASSERT_THAT(reader, IsOk());
    reader_ = *std::move(reader);
    raw_ = OpenRaw(db_.path());
    // Generations of 16 rows (migrations/0006): the 300 records span 19,
    // and their times are not in seq order, so a newer row can sit in an
    // older generation.
    ASSERT_THAT(raw_->Exec("UPDATE audit_index_state SET gen_shift = 4"),
                IsOk());
  }

  // The seqs of every record matching `filter`, following page tokens.
  std::vector<int64_t> All(const QueryFilter& filter, int page_size) {
    std::vector<int64_t> seqs;
    for (const AuditRecord& r :
         testing::QueryAllPages(*reader_, filter, page_size)) {
      seqs.push_back(r.seq);
    }
    return seqs;
  }

  // The expected answer, computed from the records themselves.
  static std::vector<int64_t> Expected(bool (*match)(const AuditRecord&)) {
    std::vector<std::pair<absl::Time, int64_t>> rows;
    for (int i = 0; i < kRecords; ++i) {
      AuditRecord r = Numbered(i);
      if (match(r)) rows.emplace_back(r.time, i + 1);
    }
    std::sort(rows.rbegin(), rows.rend());
    std::vector<int64_t> seqs;
    for (const auto& row : rows) seqs.push_back(row.second);
    return seqs;
  }

  struct Case {
    QueryFilter filter;
    std::vector<int64_t> expected;
  };
  static std::vector<Case> Cases() {
    std::vector<Case> cases;
    QueryFilter f;
    f.principal = "p3";
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.principal == "p3";
                     })});
    f = {};
    f.resource_kind = "customer";
    f.resource_id = "c4";
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.resource_id == "c4";
                     })});
    f = {};
    f.principal = "p2";
    f.rule_id = "support_agent/1";
    f.effect = RecordEffect::kAllow;
    f.kinds = {RecordKind::kDecision};
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.principal == "p2" &&
                              r.rule_id == "support_agent/1" &&
                              r.effect == RecordEffect::kAllow;
                     })});
    f = {};
    f.principal = "p5";
    f.since = kT0 + absl::Seconds(20);
    f.until = kT0 + absl::Seconds(70);
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.principal == "p5" &&
                              r.time >= kT0 + absl::Seconds(20) &&
                              r.time < kT0 + absl::Seconds(70);
                     })});
    f = {};
    f.action = "export";
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.action == "export";
                     })});
    f.kinds = {RecordKind::kDecision, RecordKind::kAdminChange};
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.action == "export";
                     })});
    f = {};
    f.action = "delete";
    f.effect = RecordEffect::kAllow;
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.action == "delete" &&
                              r.effect == RecordEffect::kAllow;
                     })});
    f = {};
    f.effect = RecordEffect::kDeny;
    f.caller = "batch-job";
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.caller == "batch-job" &&
                              r.effect == RecordEffect::kDeny;
                     })});
    f = {};
    f.caller = "batch-job";
    f.resource_kind = "customer";
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.caller == "batch-job";
                     })});
    f = {};
    f.rule_id = "break_glass/1";
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.rule_id == "break_glass/1";
                     })});
    f = {};
    f.purpose = "fraud_review";
    f.effect = RecordEffect::kAllow;
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.purpose == "fraud_review" &&
                              r.effect == RecordEffect::kAllow;
                     })});
    f = {};
    f.action = "read";  // common: the time-index walk
    f.since = kT0 + absl::Seconds(80);
    f.until = kT0 + absl::Seconds(90);  // later tests add newer records
    cases.push_back({f, Expected([](const AuditRecord& r) {
                       return r.action == "read" &&
                              r.time >= kT0 + absl::Seconds(80);
                     })});
    return cases;
  }

  void ExpectAllCasesExact() {
    for (const Case& c : Cases()) {
      ASSERT_FALSE(c.expected.empty());
      for (int page_size : {1, 3, 7, 1000}) {
        EXPECT_EQ(All(c.filter, page_size), c.expected)
            << "page size " << page_size << " principal " << c.filter.principal
            << " resource " << c.filter.resource_id;
      }
    }
  }

  // Index passes run on the writer thread: waits (up to 10 s) until its
  // watermark reaches `seq`, and fails the test if it does not.
  static void WaitForIndexedThrough(AuditWriter& writer, int64_t seq) {
    WaitUntil([&] { return writer.metrics().indexed_through == seq; },
              absl::Seconds(10),
              absl::StrCat("the writer's index watermark to reach seq ", seq));
  }

  int64_t Watermark() {
    return QueryInt(*raw_, "SELECT indexed_through FROM audit_index_state");
  }

  TestDb db_;
  std::unique_ptr<AuditReader> reader_;
  std::unique_ptr<store::sqlite::Connection> raw_;
};

TEST_F(IndexerTest, SameAnswersWhetherRowsAreIndexedOrInTheTail) {
  ASSERT_EQ(Watermark(), 0);
  ASSERT_EQ(QueryInt(*raw_, "SELECT count(*) FROM audit_idx_principal"), 0);
  ExpectAllCasesExact();  // everything in the tail

  // Watermark in the middle, then at the end.
  for (int64_t rows : {int64_t{131}, int64_t{0}}) {
    auto pass = internal::IndexTail(*raw_, rows);
    ASSERT_THAT(pass, IsOk());
    EXPECT_EQ(pass->through, rows == 0 ? kRecords : 131);
    EXPECT_EQ(Watermark(), pass->through);
    ExpectAllCasesExact();
  }
  EXPECT_EQ(QueryInt(*raw_, "SELECT count(*) FROM audit_idx_principal"),
            kRecords);
  EXPECT_EQ(QueryInt(*raw_, "SELECT count(*) FROM audit_idx_resource"),
            kRecords);
  // Every key is in its row's generation, and every generation's time
  // bounds are exactly those of its rows.
  EXPECT_EQ(QueryInt(*raw_,
                     "SELECT count(*) FROM audit_idx_principal "
                     "WHERE gen <> seq >> 4"),
            0);
  EXPECT_EQ(QueryInt(*raw_, "SELECT count(*) FROM audit_idx_generations"),
            kRecords / 16 + 1);
  EXPECT_EQ(QueryInt(*raw_,
                     "SELECT count(*) FROM audit_idx_generations g WHERE "
                     "min_time <> (SELECT MIN(time) FROM audit_log "
                     "WHERE seq >> 4 = g.gen) OR max_time <> (SELECT "
                     "MAX(time) FROM audit_log WHERE seq >> 4 = g.gen)"),
            0);
  // Each generation's value counts are exactly those of its rows.
  EXPECT_EQ(QueryInt(*raw_,
                     "SELECT count(*) FROM audit_idx_values v WHERE n <> "
                     "(SELECT count(*) FROM audit_log a WHERE a.seq >> 4 = "
                     "v.gen AND CASE v.col WHEN 'kind' THEN a.kind WHEN "
                     "'action' THEN a.action WHEN 'resource_kind' THEN "
                     "a.resource_kind WHEN 'caller' THEN a.caller WHEN "
                     "'effect' THEN a.effect WHEN 'rule_id' THEN a.rule_id "
                     "ELSE a.purpose END = v.value)"),
            0);
  for (const char* col : {"kind", "action", "resource_kind", "caller", "effect",
                          "rule_id", "purpose"}) {
    const std::string sql = absl::StrCat(
        "SELECT SUM(n) FROM audit_idx_values WHERE col = '", col, "'");
    EXPECT_EQ(QueryInt(*raw_, sql.c_str()), kRecords) << col;
  }
  // Nothing left: a pass changes nothing.
  auto pass = internal::IndexTail(*raw_);
  ASSERT_THAT(pass, IsOk());
  EXPECT_EQ(pass->from, pass->through);
}

TEST_F(IndexerTest, PagingIsExactWhenTheWatermarkMovesBetweenPages) {
  for (const Case& c : Cases()) {
    // Fresh start: everything back in the tail.
    ASSERT_THAT(raw_->Exec("DELETE FROM audit_idx_principal;"
                           "DELETE FROM audit_idx_resource;"
                           "DELETE FROM audit_idx_values;"
                           "UPDATE audit_index_state SET indexed_through = 0"),
                IsOk());
    std::vector<int64_t> got;
    std::string token;
    int pages = 0;
    do {
      auto page = reader_->Query(c.filter, 2, token);
      ASSERT_THAT(page, IsOk());
      for (const auto& r : page->records) got.push_back(r.seq);
      token = page->next_page_token;
      // The indexer runs between pages, 40 rows at a time.
      ASSERT_THAT(internal::IndexTail(*raw_, 40), IsOk());
    } while (!token.empty() && ++pages < 1000);
    EXPECT_EQ(got, c.expected) << c.filter.principal << c.filter.resource_id;
  }
}

TEST_F(IndexerTest, QueryPlansSearchTheIndexTablesAndBoundTheTail) {
  QueryFilter f;
  f.principal = "p1";
  auto plan = reader_->ExplainQuery(f);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, ::testing::HasSubstr(
                         "SEARCH audit_idx_principal USING PRIMARY KEY"));
  EXPECT_THAT(*plan, ::testing::HasSubstr("INTEGER PRIMARY KEY (rowid>?)"));
  f.rule_id = "support_agent/1";
  f.effect = RecordEffect::kAllow;
  f.kinds = {RecordKind::kDecision};
  // The reports' probe (principal, rule, effect, kind): since 0006, the
  // principal's keys, the rest tested on the rows.
  plan = reader_->ExplainQuery(f);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, ::testing::HasSubstr(
                         "SEARCH audit_idx_principal USING PRIMARY KEY"));
}

TEST_F(IndexerTest, RareValuesAreReadByGenerationCommonOnesByTime) {
  // Generations of 256 rows, more than a page: reading one costs more
  // than walking the time index to a page of a common value.
  ASSERT_THAT(raw_->Exec("UPDATE audit_index_state SET gen_shift = 8"), IsOk());
  ASSERT_THAT(internal::IndexTail(*raw_), IsOk());
  QueryFilter f;
  f.action = "export";
  auto plan = reader_->ExplainQuery(f);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan,
              ::testing::HasSubstr("SEARCH audit_log USING INTEGER PRIMARY KEY "
                                   "(rowid>? AND rowid<?)"));
  EXPECT_THAT(*plan, ::testing::HasSubstr("UNION ALL"));
  // Absent from the trail: no generation is read, nothing is found.
  f.action = "purge";
  EXPECT_THAT(reader_->ExplainQuery(f), IsOk());
  EXPECT_TRUE(All(f, 10).empty());
  f = {};
  f.kinds = {RecordKind::kAuthFailure};
  EXPECT_TRUE(All(f, 10).empty());
  // Common: walking the time index fills a page at once.
  f = {};
  f.action = "read";
  plan = reader_->ExplainQuery(f);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, ::testing::HasSubstr("audit_log_by_time"));
  EXPECT_THAT(*plan, ::testing::Not(::testing::HasSubstr("UNION ALL")));
}

TEST_F(IndexerTest, WriterCatchesUpAfterRestartWithAStaleWatermark) {
  // The previous writer stopped (as after a crash) with every row above
  // the watermark. A new one indexes them once the tail reaches
  // index_batch_rows, and everything at shutdown.
  WriterOptions options;
  options.index_batch_rows = 50;
  options.index_idle_delay = absl::ZeroDuration();
  auto writer = AuditWriter::Open(db_.path(), options);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(1000, "p-new")), IsOk());
  // The pass runs on the writer thread right after the batch's callbacks.
  WaitForIndexedThrough(**writer, kRecords + 1);
  EXPECT_EQ((*writer)->metrics().indexed_through, kRecords + 1);
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(1001, "p-new")), IsOk());
  EXPECT_EQ((*writer)->metrics().indexed_through, kRecords + 1);  // lag 1
  ASSERT_THAT((*writer)->Shutdown(), IsOk());
  EXPECT_EQ(Watermark(), kRecords + 2);
  EXPECT_EQ(QueryInt(*raw_, "SELECT count(*) FROM audit_idx_principal"),
            kRecords + 2);
  ExpectAllCasesExact();
  QueryFilter f;
  f.principal = "p-new";
  EXPECT_EQ(All(f, 1), (std::vector<int64_t>{kRecords + 2, kRecords + 1}));
}

TEST_F(IndexerTest, WriterIndexesWhenIdle) {
  WriterOptions options;
  options.index_batch_rows = 0;
  options.index_idle_delay = absl::Milliseconds(20);
  options.index_on_shutdown = false;
  auto writer = AuditWriter::Open(db_.path(), options);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(1000, "p-new")), IsOk());
  WaitForIndexedThrough(**writer, kRecords + 1);
  EXPECT_EQ((*writer)->metrics().indexed_through, kRecords + 1);
  EXPECT_GE((*writer)->metrics().index_passes, uint64_t{1});
  EXPECT_EQ(Watermark(), kRecords + 1);
}

TEST_F(IndexerTest, RetentionDeletesThePurgedRowsKeys) {
  ASSERT_THAT(internal::IndexTail(*raw_, 200), IsOk());  // split: 200 | 100
  auto writer = AuditWriter::Open(db_.path(), NoIndexing());
  ASSERT_THAT(writer, IsOk());
  // Numbered() times are kT0 + [0, 90) s; purge those before kT0 + 45 s.
  store::FakeClock clock(kT0 + absl::Seconds(45) + absl::Hours(24));
  RetentionOptions options;
  options.retention = absl::Hours(24);
  options.batch_rows = 64;
  auto purger = RetentionPurger::Open(db_.path(), clock, **writer, options);
  ASSERT_THAT(purger, IsOk());
  auto result = (*purger)->PurgeExpired();
  ASSERT_THAT(result, IsOk());
  ASSERT_GT(result->purged, 0);
  for (const char* table : {"audit_idx_principal", "audit_idx_resource"}) {
    const std::string sql =
        absl::StrCat("SELECT count(*) FROM ", table,
                     " WHERE seq NOT IN (SELECT seq FROM audit_log)");
    EXPECT_EQ(QueryInt(*raw_, sql.c_str()), 0) << table;
  }
  // Fully purged generations lose their value counts; a cut one keeps them.
  EXPECT_EQ(QueryInt(*raw_,
                     "SELECT count(*) FROM audit_idx_values WHERE gen NOT IN "
                     "(SELECT seq >> 4 FROM audit_log)"),
            0);
  // Every query now returns exactly the retained records.
  const int64_t first = result->checkpoint_seq;
  ASSERT_THAT(internal::IndexTail(*raw_), IsOk());
  for (const Case& c : Cases()) {
    std::vector<int64_t> expected;
    for (int64_t seq : c.expected) {
      if (seq > first) expected.push_back(seq);
    }
    EXPECT_EQ(All(c.filter, 5), expected);
  }
}

TEST(IndexerMigrationTest, MigrationIndexesAnExistingTrail) {
  TestDb unused;  // only for its temp directory
  const std::string path = unused.dir() + "/old.db";
  auto raw = OpenRaw(path, /*create=*/true);
  ASSERT_NE(raw, nullptr);
  auto all = migrations::All();
  std::vector<migrations::Migration> before;
  for (const auto& m : all) {
    if (m.version < 5) before.push_back(m);
  }
  ASSERT_THAT(store::sqlite::RunMigrations(*raw, before, kT0).status(), IsOk());
  // A trail written before 0005 (rows inserted directly: the hashes do not
  // matter here).
  ASSERT_THAT(
      raw->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                "FROM n WHERE i < 500) "
                "INSERT INTO audit_log (time, kind, decision_id, principal, "
                "resource_kind, resource_id, effect, rule_id, prev_hash, "
                "hash) SELECT i * 1000, 'decision', 'd' || i, 'u' || (i % 9), "
                "'customer', 'c' || (i % 13), "
                "CASE WHEN i % 4 = 0 THEN 'DENY' ELSE 'ALLOW' END, "
                "CASE WHEN i % 4 = 0 THEN '' ELSE 'r' || (i % 3) END, "
                "zeroblob(32), zeroblob(32) FROM n;"
                // Removed from the tail: AUTOINCREMENT remembers 500.
                "DELETE FROM audit_log WHERE seq > 490"),
      IsOk());
  std::vector<migrations::Migration> through_0005;
  for (const auto& m : all) {
    if (m.version <= 5) through_0005.push_back(m);
  }
  ASSERT_THAT(store::sqlite::RunMigrations(*raw, through_0005, kT0).status(),
              IsOk());
  EXPECT_EQ(QueryInt(*raw, "SELECT count(*) FROM audit_idx_principal_rule"),
            368);
  ASSERT_THAT(store::sqlite::RunMigrations(*raw, all, kT0).status(), IsOk());
  EXPECT_EQ(QueryInt(*raw, "SELECT count(*) FROM audit_log"), 490);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT seq FROM sqlite_sequence "
                     "WHERE name = 'audit_log'"),
            500);
  EXPECT_EQ(QueryInt(*raw, "SELECT indexed_through FROM audit_index_state"),
            490);
  EXPECT_EQ(QueryInt(*raw, "SELECT count(*) FROM audit_idx_principal"), 490);
  EXPECT_EQ(QueryInt(*raw, "SELECT count(*) FROM audit_idx_resource"), 490);
  // 0006: keys carry their generation (65,536 seqs each: all in 0 here),
  // and the (principal, rule) table is gone.
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT count(*) FROM sqlite_master "
                     "WHERE name = 'audit_idx_principal_rule'"),
            0);
  EXPECT_EQ(QueryInt(*raw, "SELECT gen_shift FROM audit_index_state"), 16);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT count(*) FROM audit_idx_resource "
                     "WHERE gen = 0"),
            490);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT min_time FROM audit_idx_generations "
                     "WHERE gen = 0"),
            1000);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT max_time FROM audit_idx_generations "
                     "WHERE gen = 0"),
            490000);
  // 0007 counted the indexed rows' values: 490 decisions on customers by
  // the one (default, empty) caller.
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT n FROM audit_idx_values WHERE col = 'kind' "
                     "AND value = 'decision' AND gen = 0"),
            490);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT n FROM audit_idx_values WHERE "
                     "col = 'resource_kind' AND value = 'customer'"),
            490);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT SUM(n) FROM audit_idx_values WHERE "
                     "col = 'caller'"),
            490);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT n FROM audit_idx_values WHERE col = 'effect' "
                     "AND value = 'DENY'"),
            122);  // i % 4 == 0 for i in 1..490
  // Rules '' (denies), r0, r1, r2; purpose ''.
  EXPECT_EQ(QueryInt(*raw, "SELECT count(*) FROM audit_idx_values"), 11);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT SUM(n) FROM audit_idx_values WHERE "
                     "col = 'rule_id' AND value <> ''"),
            490 - 122);
  // and the rule and purpose indexes are gone.
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT count(*) FROM sqlite_master WHERE name IN "
                     "('audit_log_by_rule', 'audit_log_by_purpose')"),
            0);
  // The rebuilt table keeps its rules (written without IN lists).
  EXPECT_FALSE(raw->Exec("INSERT INTO audit_log (time, kind, effect, "
                         "prev_hash, hash) VALUES (1, 'other', 'OK', "
                         "zeroblob(32), zeroblob(32))")
                   .ok());
  EXPECT_FALSE(raw->Exec("INSERT INTO audit_log (time, kind, decision_id, "
                         "effect, prev_hash, hash) VALUES (1, 'decision', "
                         "'x', 'OK', zeroblob(32), zeroblob(32))")
                   .ok());
  EXPECT_FALSE(raw->Exec("INSERT INTO audit_log (time, kind, effect, "
                         "totp_verified, prev_hash, hash) VALUES (1, 'admin', "
                         "'OK', 2, zeroblob(32), zeroblob(32))")
                   .ok());
  EXPECT_EQ(QueryInt(*raw, "SELECT count(*) FROM audit_log"), 490);
  EXPECT_EQ(QueryInt(*raw,
                     "SELECT count(*) FROM sqlite_master WHERE name IN "
                     "('audit_log_by_principal', 'audit_log_by_resource', "
                     "'audit_log_by_principal_rule')"),
            0);
  auto reader = AuditReader::Open(path);
  ASSERT_THAT(reader, IsOk());
  QueryFilter f;
  f.principal = "u4";
  auto page = (*reader)->Query(f, 1000, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->records.size(), size_t{55});  // i = 4, 13, ..., 490
  EXPECT_EQ(page->records.front().seq, 490);
  EXPECT_EQ(page->records.back().seq, 4);
}

}  // namespace
}  // namespace steward::audit
