// Queries: each filter, newest-first keyset paging without duplicates or
// gaps, subject access, index use (EXPLAIN QUERY PLAN), argument checks.
#include "server/audit/reader.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/writer.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::kT0;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int kRecords = 600;

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto writer = AuditWriter::Open(db_.path());
    ASSERT_THAT(writer, IsOk());
    for (int i = 0; i < kRecords; ++i) {
      AuditRecord r = Decision(i, absl::StrCat("p", i % 7));
      // Several records share a timestamp, so paging must break ties by seq.
      r.time = kT0 + absl::Seconds(i / 4);
      if (i % 5 == 0) r.action = "update";
      ASSERT_THAT((*writer)->Submit(std::move(r)), IsOk());
    }
    AuditRecord admin;
    admin.kind = RecordKind::kAdminChange;
    admin.time = kT0 + absl::Hours(1);
    admin.caller = "root";
    admin.principal = "p1";
    admin.action = "Grant";
    admin.effect = RecordEffect::kOk;
    ASSERT_THAT((*writer)->Submit(std::move(admin)), IsOk());
    ASSERT_THAT((*writer)->Flush(), IsOk());
    auto reader = AuditReader::Open(db_.path());
    ASSERT_THAT(reader, IsOk());
    reader_ = *std::move(reader);
  }

  std::vector<AuditRecord> All(const QueryFilter& filter, int page_size) {
    return testing::QueryAllPages(*reader_, filter, page_size);
  }

  TestDb db_;
  std::unique_ptr<AuditReader> reader_;
};

TEST_F(ReaderTest, PagingHasNoDuplicatesOrGapsAndIsNewestFirst) {
  for (int page_size : {1, 7, 100, 10000}) {
    std::vector<AuditRecord> all = All(QueryFilter{}, page_size);
    ASSERT_EQ(all.size(), size_t{kRecords + 1}) << page_size;
    std::set<int64_t> seqs;
    for (size_t i = 0; i < all.size(); ++i) {
      seqs.insert(all[i].seq);
      if (i > 0) {
        EXPECT_TRUE(
            all[i - 1].time > all[i].time ||
            (all[i - 1].time == all[i].time && all[i - 1].seq > all[i].seq));
      }
    }
    EXPECT_EQ(seqs.size(), all.size());
  }
}

TEST_F(ReaderTest, FiltersByEachColumn) {
  QueryFilter f;
  f.principal = "p3";
  std::vector<AuditRecord> got = All(f, 13);
  EXPECT_EQ(got.size(), size_t{kRecords / 7 + (kRecords % 7 > 3 ? 1 : 0)});
  for (const auto& r : got) EXPECT_EQ(r.principal, "p3");

  f = QueryFilter{};
  f.action = "update";
  EXPECT_EQ(All(f, 50).size(), size_t{kRecords / 5});

  f = QueryFilter{};
  f.resource_kind = "customer";
  f.resource_id = "c3";
  EXPECT_EQ(All(f, 50).size(), size_t{kRecords / 10});

  f = QueryFilter{};
  f.effect = RecordEffect::kDeny;
  EXPECT_EQ(All(f, 50).size(), size_t{kRecords / 3});

  f = QueryFilter{};
  f.rule_id = "support_agent/1";
  EXPECT_EQ(All(f, 50).size(), size_t{kRecords - kRecords / 3});

  f = QueryFilter{};
  f.purpose = "support_case";
  EXPECT_EQ(All(f, 50).size(), size_t{kRecords / 2});

  f = QueryFilter{};
  f.kinds = {RecordKind::kAdminChange};
  got = All(f, 50);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].action, "Grant");

  f = QueryFilter{};
  f.since = kT0 + absl::Seconds(10);  // records 40..
  f.until = kT0 + absl::Seconds(20);  // ..79
  got = All(f, 9);
  ASSERT_EQ(got.size(), 40u);
  EXPECT_EQ(got.front().decision_id, "d-79");
  EXPECT_EQ(got.back().decision_id, "d-40");

  f.principal = "p0";
  f.effect = RecordEffect::kAllow;
  for (const auto& r : All(f, 3)) {
    EXPECT_EQ(r.principal, "p0");
    EXPECT_EQ(r.effect, RecordEffect::kAllow);
  }
}

TEST_F(ReaderTest, SubjectAccessListsEveryAccessToOneResource) {
  auto page = reader_->SubjectAccess("customer", "c4", std::nullopt,
                                     std::nullopt, 1000, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->records.size(), size_t{kRecords / 10});
  for (const auto& r : page->records) EXPECT_EQ(r.resource_id, "c4");
  EXPECT_THAT(reader_->SubjectAccess("customer", "", std::nullopt, std::nullopt,
                                     10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// The part of a plan that reads `table` (the index table's range scan and
// its row lookups, up to the part for the rows above the watermark): it
// must not sort, i.e. the index delivers (time, seq) order and the part
// stops at its LIMIT.
std::string IndexedPart(const std::string& plan, const std::string& table) {
  const size_t begin = plan.find("SEARCH " + table + " ");
  if (begin == std::string::npos) return "";
  return plan.substr(begin, plan.find("UNION ALL", begin) - begin);
}

TEST_F(ReaderTest, QueriesByPrincipalAndResourceUseTheirIndexes) {
  // Principal and resource: the deferred index tables of migrations/0005,
  // searched in (time, seq) order within one generation (0006), plus a rowid
  // range scan of the rows above the watermark.
  QueryFilter by_principal;
  by_principal.principal = "p1";
  auto plan = reader_->ExplainQuery(by_principal);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, HasSubstr("SEARCH audit_idx_principal USING PRIMARY KEY "
                               "(gen=? AND principal=?"));
  EXPECT_THAT(IndexedPart(*plan, "audit_idx_principal"),
              ::testing::AllOf(HasSubstr("SEARCH audit_log USING INTEGER "
                                         "PRIMARY KEY (rowid=?)"),
                               ::testing::Not(HasSubstr("TEMP B-TREE"))));
  EXPECT_THAT(*plan, HasSubstr("INTEGER PRIMARY KEY (rowid>?)"));

  QueryFilter by_resource;
  by_resource.resource_kind = "customer";
  by_resource.resource_id = "c1";
  plan = reader_->ExplainQuery(by_resource);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, HasSubstr("SEARCH audit_idx_resource USING PRIMARY KEY "
                               "(gen=? AND resource_kind=? AND "
                               "resource_id=?"));
  EXPECT_THAT(IndexedPart(*plan, "audit_idx_resource"),
              ::testing::AllOf(::testing::Not(::testing::IsEmpty()),
                               ::testing::Not(HasSubstr("TEMP B-TREE"))));
  EXPECT_THAT(*plan, HasSubstr("INTEGER PRIMARY KEY (rowid>?)"));

  // Rules (like purposes, actions...) are counted per generation
  // (migrations/0007): a common rule walks the time index, a rare or
  // absent one reads only the generations that hold it, by rowid.
  QueryFilter by_rule;
  by_rule.rule_id = "support_agent/1";
  plan = reader_->ExplainQuery(by_rule);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, HasSubstr("audit_log_by_time"));
  by_rule.rule_id = "break_glass/1";
  plan = reader_->ExplainQuery(by_rule);
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, HasSubstr("INTEGER PRIMARY KEY (rowid>? AND rowid<?)"));

  plan = reader_->ExplainQuery(QueryFilter{});
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(*plan, HasSubstr("audit_log_by_time"));
}

TEST_F(ReaderTest, RejectsBadArguments) {
  EXPECT_THAT(reader_->Query({}, kMaxPageSize + 1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader_->Query({}, -1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader_->Query({}, 10, "not-a-token"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  QueryFilter f;
  f.since = kT0 + absl::Seconds(5);
  f.until = kT0;
  EXPECT_THAT(reader_->Query(f, 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto page = reader_->Query({}, 0, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->records.size(), size_t{kDefaultPageSize});
}

TEST_F(ReaderTest, FindDecision) {
  auto r = reader_->FindDecision("d-42");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->seq, 43);
  EXPECT_EQ(r->fields, std::vector<std::string>{"name"});
  EXPECT_THAT(reader_->FindDecision("nope"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace steward::audit
