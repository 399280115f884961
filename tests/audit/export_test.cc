// JSON Lines and CSV export (RFC 4180 quoting).
#include "server/audit/export.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/csv_cases.h"

namespace steward::audit {
namespace {

AuditRecord Sample() {
  AuditRecord r;
  r.seq = 12;
  r.time = absl::FromUnixMicros(1767225600123456);
  r.kind = RecordKind::kDecision;
  r.decision_id = "d-12";
  r.caller = "crm";
  r.principal = "u7";
  r.action = "read";
  r.resource_kind = "customer";
  r.resource_id = "c1";
  r.effect = RecordEffect::kAllow;
  r.reason = "ALLOWED_BY_RULE";
  r.rule_id = "sales_rep/1";
  r.policy_version = 3;
  r.fields = {"name", "email"};
  r.justification = "ticket \"42\", line1\nline2";
  r.attributes = R"({"resource":{"owner":"u7"}})";
  r.hash[0] = 0xab;
  return r;
}

TEST(ExportTest, JsonLine) {
  const std::string line = ToJsonLine(Sample());
  ASSERT_TRUE(absl::EndsWith(line, "\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["seq"], 12);
  EXPECT_EQ(j["time"], "2026-01-01T00:00:00.123456Z");
  EXPECT_EQ(j["kind"], "decision");
  EXPECT_EQ(j["effect"], "ALLOW");
  EXPECT_EQ(j["fields"], nlohmann::json::array({"name", "email"}));
  EXPECT_EQ(j["attributes"]["resource"]["owner"], "u7");
  EXPECT_TRUE(j["store_revision"].is_null());
  EXPECT_TRUE(j["details"].is_null());
  EXPECT_EQ(j["justification"], "ticket \"42\", line1\nline2");
  EXPECT_EQ(j["hash"].get<std::string>().substr(0, 4), "ab00");
}

// The cases are shared with stewardctl's CsvField (client/output_test):
// both write CSV by the same rule.
class CsvCellTest
    : public ::testing::TestWithParam<steward::testing::CsvQuotingCase> {};

TEST_P(CsvCellTest, QuotesLikeStewardctl) {
  EXPECT_EQ(CsvCell(GetParam().field), GetParam().written);
}

INSTANTIATE_TEST_SUITE_P(
    Cells, CsvCellTest, ::testing::ValuesIn(steward::testing::kCsvQuotingCases),
    [](const ::testing::TestParamInfo<steward::testing::CsvQuotingCase>& info) {
      return std::string(info.param.name);
    });

TEST(ExportTest, CsvQuotesPerRfc4180) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("two\r\nlines"), "\"two\r\nlines\"");
  EXPECT_EQ(CsvCell(""), "");

  const std::string header = CsvHeader();
  EXPECT_TRUE(absl::StartsWith(header, "seq,time,kind,decision_id,"));
  EXPECT_TRUE(absl::EndsWith(header, ",prev_hash,hash\r\n"));
  const std::string row = ToCsvRow(Sample());
  EXPECT_TRUE(absl::StartsWith(
      row, "12,2026-01-01T00:00:00.123456Z,decision,d-12,crm,u7,read,"));
  EXPECT_THAT(row, ::testing::HasSubstr(R"(,"[""name"",""email""]",)"));
  EXPECT_THAT(row, ::testing::HasSubstr("\"ticket \"\"42\"\", line1\nline2\""));
  EXPECT_TRUE(absl::EndsWith(row, "\r\n"));
  // Same column count as the header once quoted cells are accounted for.
  int columns = 1;
  bool quoted = false;
  for (char c : row.substr(0, row.size() - 2)) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) ++columns;
  }
  EXPECT_EQ(columns,
            static_cast<int>(
                std::vector<std::string>(
                    absl::StrSplit(header.substr(0, header.size() - 2), ','))
                    .size()));
}

}  // namespace
}  // namespace steward::audit
