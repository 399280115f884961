// Tests of stewardctl's output formats (client/output.h): RFC 4180 CSV,
// aligned tables, JSON with stable snake_case names.
#include "client/output.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/authorization.pb.h"
#include "tests/testing/csv_cases.h"

namespace steward::client {
namespace {

using ::testing::HasSubstr;

using ::steward::testing::CsvQuotingCase;
using ::steward::testing::kCsvQuotingCases;

// The cases are shared with the audit export's CsvCell (audit/export_test):
// both write CSV by the same rule.
class CsvFieldTest : public ::testing::TestWithParam<CsvQuotingCase> {};

TEST_P(CsvFieldTest, QuotesPerRfc4180) {
  EXPECT_EQ(CsvField(GetParam().field), GetParam().written);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, CsvFieldTest, ::testing::ValuesIn(kCsvQuotingCases),
    [](const ::testing::TestParamInfo<CsvQuotingCase>& info) {
      return std::string(info.param.name);
    });

TEST(CsvRowTest, JoinsWithCommasAndEndsWithCrlf) {
  EXPECT_EQ(CsvRow({"a", "b,c", ""}), "a,\"b,c\",\r\n");
}

TEST(TableTest, AlignsColumnsAndUppercasesHeaders) {
  Table table({"id", "name"});
  table.AddRow({"u1", "Ana"});
  table.AddRow({"u1000", "Zoë"});
  EXPECT_EQ(table.Render(OutputFormat::kTable),
            "ID     NAME\n"
            "u1     Ana\n"
            "u1000  Zoë\n");
}

TEST(TableTest, KeepsOneLinePerRow) {
  Table table({"a", "b"});
  table.AddRow({"x\ny", "z"});
  EXPECT_EQ(table.Render(OutputFormat::kTable), "A    B\nx y  z\n");
}

TEST(TableTest, CsvAndJsonKeepSnakeCaseHeaders) {
  Table table({"principal_id", "role"});
  table.AddRow({"u1", "a,b"});
  EXPECT_EQ(table.Render(OutputFormat::kCsv),
            "principal_id,role\r\nu1,\"a,b\"\r\n");
  EXPECT_EQ(table.Render(OutputFormat::kJson),
            "[\n  {\n    \"principal_id\": \"u1\",\n    \"role\": \"a,b\"\n  "
            "}\n]\n");
}

TEST(DetailsTest, RendersFieldValuePairs) {
  EXPECT_EQ(RenderDetails({{"effect", "ALLOW"}, {"decision_id", "d1"}},
                          OutputFormat::kTable),
            "effect       ALLOW\ndecision_id  d1\n");
  EXPECT_EQ(RenderDetails({{"effect", "ALLOW"}}, OutputFormat::kCsv),
            "field,value\r\neffect,ALLOW\r\n");
}

TEST(JsonTest, UsesProtoFieldNamesAndPrintsDefaults) {
  steward::v1::CheckResponse response;
  response.set_effect(steward::v1::DENY);
  response.set_decision_id("d-1");
  const absl::StatusOr<std::string> printed = ToJson(response, false);
  ASSERT_TRUE(printed.ok()) << printed.status();
  const std::string& json = *printed;
  EXPECT_THAT(json, HasSubstr("\"decision_id\":\"d-1\""));
  EXPECT_THAT(json, HasSubstr("\"effect\":\"DENY\""));
  // Unset fields are present so scripts see a stable shape.
  EXPECT_THAT(json, HasSubstr("\"rule_id\":\"\""));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("\n")));
}

// A Timestamp JSON cannot carry (here from a store written before
// timestamps were checked) is an error the command returns, never an
// {"error": …} object printed as if it were the result.
TEST(JsonTest, OutOfRangeTimestampIsAnErrorNotAnErrorObject) {
  steward::v1::Binding binding;
  binding.set_principal_id("u1");
  binding.mutable_expires_at()->set_seconds(9223372036854);  // year 294247
  const absl::StatusOr<std::string> json = ToJson(binding, true);
  ASSERT_FALSE(json.ok()) << *json;
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(json.status().message(), HasSubstr("cannot be printed as JSON"));
  binding.mutable_expires_at()->set_seconds(0);
  binding.mutable_expires_at()->set_nanos(-1);
  EXPECT_FALSE(ToJson(binding, false).ok());
}

TEST(TimestampTest, OutOfRangeIsShownAsInvalid) {
  google::protobuf::Timestamp t;
  t.set_seconds(int64_t{1} << 62);
  EXPECT_EQ(FormatTimestamp(t), "(invalid)");
  t.set_seconds(1800000000);
  t.set_nanos(1000000000);
  EXPECT_EQ(FormatTimestamp(t), "(invalid)");
}

TEST(TimestampTest, UnsetIsEmptyAndRoundTrips) {
  EXPECT_EQ(FormatTimestamp(google::protobuf::Timestamp()), "");
  const absl::Time t = absl::FromUnixSeconds(1800000000);
  EXPECT_EQ(FromProtoTime(ToProtoTime(t)), t);
  EXPECT_EQ(FormatTimestamp(ToProtoTime(t)), "2027-01-15T08:00:00Z");
}

}  // namespace
}  // namespace steward::client
