// Tests of command-line value parsing (client/arguments.h): KEY=VALUE as
// JSON-or-string, durations, times and KIND/ID references.
#include "client/arguments.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace steward::client {
namespace {

struct KeyValueCase {
  std::string name;
  std::string argument;
  std::string key;
  std::string value_json;  // the google.protobuf.Value as JSON
};

class KeyValueTest : public ::testing::TestWithParam<KeyValueCase> {};

TEST_P(KeyValueTest, ParsesJsonElseString) {
  const KeyValueCase& c = GetParam();
  absl::StatusOr<std::pair<std::string, google::protobuf::Value>> parsed =
      ParseKeyValue(c.argument);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->first, c.key);
  std::string json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(parsed->second, &json).ok());
  EXPECT_EQ(json, c.value_json);
}

INSTANTIATE_TEST_SUITE_P(
    Values, KeyValueTest,
    ::testing::Values(
        KeyValueCase{"Integer", "amount=50", "amount", "50"},
        KeyValueCase{"Negative", "delta=-12", "delta", "-12"},
        KeyValueCase{"True", "mfa=true", "mfa", "true"},
        KeyValueCase{"False", "mfa=false", "mfa", "false"},
        KeyValueCase{"List", "teams=[\"a\",\"b\"]", "teams", "[\"a\",\"b\"]"},
        KeyValueCase{"QuotedString", "region=\"eu\"", "region", "\"eu\""},
        KeyValueCase{"BareString", "owner=u7", "owner", "\"u7\""},
        KeyValueCase{"Empty", "note=", "note", "\"\""},
        KeyValueCase{"EqualsInValue", "expr=a=b", "expr", "\"a=b\""},
        KeyValueCase{"NotQuiteJson", "list=[a,b]", "list", "\"[a,b]\""},
        KeyValueCase{"Null", "x=null", "x", "null"},
        KeyValueCase{"Object", "o={\"k\":1}", "o", "{\"k\":1}"}),
    [](const ::testing::TestParamInfo<KeyValueCase>& info) {
      return info.param.name;
    });

TEST(KeyValueTest, RejectsMissingKeyOrEquals) {
  EXPECT_FALSE(ParseKeyValue("amount").ok());
  EXPECT_FALSE(ParseKeyValue("=50").ok());
  EXPECT_THAT(std::string(ParseKeyValue("amount").status().message()),
              ::testing::HasSubstr("KEY=VALUE"));
}

TEST(KeyValueTest, LastRepeatedKeyWins) {
  google::protobuf::Map<std::string, google::protobuf::Value> map;
  ASSERT_TRUE(ParseKeyValues({"a=1", "b=x", "a=2"}, &map).ok());
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.at("a").number_value(), 2);
  EXPECT_EQ(map.at("b").string_value(), "x");
}

struct DurationCase {
  std::string name;
  std::string text;
  absl::Duration expected;
};

class DurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(DurationTest, Parses) {
  absl::StatusOr<absl::Duration> parsed = ParseDuration(GetParam().text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Units, DurationTest,
    ::testing::Values(DurationCase{"Days", "30d", absl::Hours(24 * 30)},
                      DurationCase{"Hours", "24h", absl::Hours(24)},
                      DurationCase{"Minutes", "90m", absl::Minutes(90)},
                      DurationCase{"Seconds", "45s", absl::Seconds(45)},
                      DurationCase{"Weeks", "2w", absl::Hours(24 * 14)},
                      DurationCase{"Compound", "1d12h", absl::Hours(36)}),
    [](const ::testing::TestParamInfo<DurationCase>& info) {
      return info.param.name;
    });

TEST(DurationTest, RejectsMalformed) {
  for (const char* bad :
       {"", "30", "d", "30x", "1.5d", "-3d", "3d4", "9999999999d"}) {
    absl::StatusOr<absl::Duration> parsed = ParseDuration(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_THAT(std::string(parsed.status().message()),
                  ::testing::HasSubstr("invalid duration"));
    }
  }
}

TEST(TimeTest, ParsesRfc3339AndDates) {
  absl::StatusOr<absl::Time> t = ParseTimestamp("2026-12-31T23:00:00Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatUtcTime(*t), "2026-12-31T23:00:00Z");
  t = ParseTimestamp("2026-12-31T23:00:00.5+01:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatUtcTime(*t), "2026-12-31T22:00:00Z");
  t = ParseTimestamp("2026-12-31");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatUtcTime(*t), "2026-12-31T00:00:00Z");
  EXPECT_FALSE(ParseTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseTimestamp("2026-13-01T00:00:00Z").ok());
}

TEST(TimeTest, PastAndFutureRelativeToNow) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  absl::StatusOr<absl::Time> since = ParsePastTime("24h", now);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(*since, now - absl::Hours(24));
  absl::StatusOr<absl::Time> expires = ParseFutureTime("30d", now);
  ASSERT_TRUE(expires.ok());
  EXPECT_EQ(*expires, now + absl::Hours(24 * 30));
  // An expiry already in the past is a typing mistake, not a grant.
  EXPECT_FALSE(ParseFutureTime("2001-01-01T00:00:00Z", now).ok());
  EXPECT_FALSE(ParseFutureTime("soon", now).ok());
}

// Times a google.protobuf.Timestamp cannot carry are refused on the
// command line, before any call.
TEST(TimeTest, RefusesTimesOutsideTheTimestampRange) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  EXPECT_TRUE(ParseTimestamp("9999-12-31T23:59:59Z").ok());
  EXPECT_TRUE(ParseTimestamp("0001-01-01").ok());
  absl::StatusOr<absl::Time> t = ParseTimestamp("10000-01-01T00:00:00Z");
  EXPECT_FALSE(t.ok());
  EXPECT_FALSE(ParseTimestamp("+294247-01-10T04:00:54Z").ok());
  EXPECT_FALSE(ParseFutureTime("999999999w", now).ok());
  EXPECT_FALSE(ParsePastTime("999999999w", now).ok());
  t = ParseFutureTime("99999999w", now);  // ~1.9 million years
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()),
              ::testing::HasSubstr("outside 0001-01-01..9999-12-31"));
}

TEST(PrincipalIdTest, OnlyTheContractCharset) {
  EXPECT_TRUE(CheckPrincipalId("PRINCIPAL", "u7").ok());
  EXPECT_TRUE(CheckPrincipalId("PRINCIPAL", "svc:crm@eu.example-1_a").ok());
  for (const char* bad : {"a b/c", "\xc3\xa9", "<script>", "*", "", "a/b"}) {
    absl::Status s = CheckPrincipalId("PRINCIPAL", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("PRINCIPAL: "));
  }
  // `principal get|delete` still reach ids stored before the rule.
  EXPECT_TRUE(CheckStoredPrincipalId("ID", "a b/c").ok());
  EXPECT_FALSE(CheckStoredPrincipalId("ID", "a\nb").ok());
}

TEST(ResourceRefTest, SplitsAtFirstSlash) {
  auto ref = ParseResourceRef("customer/c-1042", true);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->first, "customer");
  EXPECT_EQ(ref->second, "c-1042");
  ref = ParseResourceRef("doc/a/b", true);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->second, "a/b");
  ref = ParseResourceRef("customer", false);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->second, "");
  EXPECT_FALSE(ParseResourceRef("customer", true).ok());
  EXPECT_FALSE(ParseResourceRef("/c1", false).ok());
  EXPECT_FALSE(ParseResourceRef("customer/", false).ok());
}

}  // namespace
}  // namespace steward::client
