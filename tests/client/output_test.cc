// Tests of stewardctl's output formats (client/output.h): RFC 4180 CSV,
// aligned tables, JSON with stable snake_case names.
#include "client/output.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/authorization.pb.h"

namespace steward::client {
namespace {

using ::testing::HasSubstr;

struct CsvCase {
  std::string name;
  std::string value;
  std::string expected;
};

class CsvFieldTest : public ::testing::TestWithParam<CsvCase> {};

TEST_P(CsvFieldTest, QuotesPerRfc4180) {
  EXPECT_EQ(CsvField(GetParam().value), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, CsvFieldTest,
    ::testing::Values(CsvCase{"Plain", "abc", "abc"}, CsvCase{"Empty", "", ""},
                      CsvCase{"Comma", "a,b", "\"a,b\""},
                      CsvCase{"Quote", "say \"hi\"", "\"say \"\"hi\"\"\""},
                      CsvCase{"Newline", "a\nb", "\"a\nb\""},
                      CsvCase{"CarriageReturn", "a\rb", "\"a\rb\""},
                      CsvCase{"LeadingSpace", " a", "\" a\""},
                      CsvCase{"Json", "{\"k\":\"v\"}",
                              "\"{\"\"k\"\":\"\"v\"\"}\""},
                      CsvCase{"Utf8", "Zoë", "Zoë"}),
    [](const ::testing::TestParamInfo<CsvCase>& info) {
      return info.param.name;
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
  const std::string json = ToJson(response, /*pretty=*/false);
  EXPECT_THAT(json, HasSubstr("\"decision_id\":\"d-1\""));
  EXPECT_THAT(json, HasSubstr("\"effect\":\"DENY\""));
  // Unset fields are present so scripts see a stable shape.
  EXPECT_THAT(json, HasSubstr("\"rule_id\":\"\""));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("\n")));
}

TEST(TimestampTest, UnsetIsEmptyAndRoundTrips) {
  EXPECT_EQ(FormatTimestamp(google::protobuf::Timestamp()), "");
  const absl::Time t = absl::FromUnixSeconds(1800000000);
  EXPECT_EQ(FromProtoTime(ToProtoTime(t)), t);
  EXPECT_EQ(FormatTimestamp(ToProtoTime(t)), "2027-01-15T08:00:00Z");
}

}  // namespace
}  // namespace steward::client
