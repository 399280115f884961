// Tests of the v1 contract's value rules (proto/steward/v1/validation.h):
// principal ids of [A-Za-z0-9_.@:-]{1,256}, the older rule stored ids may
// follow, and google.protobuf.Timestamp's range.
#include "proto/steward/v1/validation.h"

#include <cstdint>
#include <string>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::v1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct IdCase {
  std::string name;
  std::string id;
  bool valid;
  std::string problem;  // part of the message when invalid
};

class IdTest : public ::testing::TestWithParam<IdCase> {};

TEST_P(IdTest, FollowsTheContractCharset) {
  const IdCase& c = GetParam();
  absl::Status s = ValidateId("principal.id", c.id);
  if (c.valid) {
    EXPECT_TRUE(s.ok()) << s;
    return;
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("principal.id: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr(c.problem));
}

INSTANTIATE_TEST_SUITE_P(
    Ids, IdTest,
    ::testing::Values(IdCase{"Plain", "u7", true, ""},
                      IdCase{"EveryAllowedKind", "svc:crm@eu.Example-1_a", true,
                             ""},
                      IdCase{"Longest", std::string(256, 'a'), true, ""},
                      IdCase{"Empty", "", false, "is required"},
                      IdCase{"TooLong", std::string(257, 'a'), false,
                             "is 257 bytes; at most 256"},
                      IdCase{"Space", "a b/c", false, "byte 2 is not allowed"},
                      IdCase{"Slash", "a/b", false, "byte 2"},
                      IdCase{"NonAscii", "\xc3\xa9", false, "byte 1"},
                      IdCase{"Markup", "<script>", false, "byte 1"},
                      IdCase{"Star", "*", false, "byte 1"},
                      IdCase{"ControlCharacter", "a\nb", false, "byte 2"},
                      IdCase{"Nul", std::string("a\0b", 3), false, "byte 2"}),
    [](const ::testing::TestParamInfo<IdCase>& info) {
      return info.param.name;
    });

TEST(IdTest, NeverEchoesTheId) {
  absl::Status s = ValidateId("principal_id", "<script>");
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("<script>")));
}

TEST(IdTest, OwnLengthLimitForOtherNames) {
  EXPECT_TRUE(ValidateId("name", std::string(128, 'k'), 128).ok());
  EXPECT_FALSE(ValidateId("name", std::string(129, 'k'), 128).ok());
}

TEST(IdTest, CharsetIsExactlyLettersDigitsAndFivePunctuationMarks) {
  std::string allowed;
  for (int c = 0; c < 256; ++c) {
    if (IsIdChar(static_cast<char>(c))) allowed += static_cast<char>(c);
  }
  EXPECT_EQ(allowed,
            "-.0123456789:@ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
            "abcdefghijklmnopqrstuvwxyz");
}

TEST(StoredIdTest, AcceptsWhatOlderStoresHold) {
  EXPECT_TRUE(ValidateStoredId("id", "a b/c").ok());
  EXPECT_TRUE(ValidateStoredId("id", "<script>").ok());
  EXPECT_TRUE(ValidateStoredId("id", "\xc3\xa9").ok());
  EXPECT_FALSE(ValidateStoredId("id", "").ok());
  EXPECT_FALSE(ValidateStoredId("id", std::string(257, 'a')).ok());
  EXPECT_FALSE(ValidateStoredId("id", "a\x7f").ok());
}

struct TimestampCase {
  std::string name;
  int64_t seconds;
  int32_t nanos;
  bool valid;
};

class TimestampTest : public ::testing::TestWithParam<TimestampCase> {};

TEST_P(TimestampTest, GoogleProtobufTimestampRange) {
  const TimestampCase& c = GetParam();
  absl::Status s = ValidateTimestamp("expires_at", c.seconds, c.nanos);
  absl::StatusOr<absl::Time> t =
      TimeFromTimestamp("expires_at", c.seconds, c.nanos);
  if (c.valid) {
    EXPECT_TRUE(s.ok()) << s;
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(*t,
              absl::FromUnixSeconds(c.seconds) + absl::Nanoseconds(c.nanos));
    EXPECT_TRUE(ValidateTime("t", *t).ok());
    return;
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("expires_at: "));
  EXPECT_EQ(t.status(), s);
}

INSTANTIATE_TEST_SUITE_P(
    Timestamps, TimestampTest,
    ::testing::Values(
        TimestampCase{"Epoch", 0, 0, true},
        TimestampCase{"Now", 1800000000, 500, true},
        TimestampCase{"First", kMinTimestampSeconds, 0, true},
        TimestampCase{"Last", kMaxTimestampSeconds, 999999999, true},
        TimestampCase{"BeforeYearOne", kMinTimestampSeconds - 1, 0, false},
        TimestampCase{"AfterYear9999", kMaxTimestampSeconds + 1, 0, false},
        TimestampCase{"TwoToThe62", int64_t{1} << 62, 0, false},
        TimestampCase{"Year294247", 9223372036854, 0, false},
        TimestampCase{"Int64Min", INT64_MIN, 0, false},
        TimestampCase{"NegativeNanos", 1800000000, -1, false},
        TimestampCase{"NanosOneSecond", 1800000000, 1000000000, false}),
    [](const ::testing::TestParamInfo<TimestampCase>& info) {
      return info.param.name;
    });

TEST(TimestampTest, RangeIsYearOneToYear9999) {
  EXPECT_EQ(absl::ToCivilSecond(absl::FromUnixSeconds(kMinTimestampSeconds),
                                absl::UTCTimeZone()),
            absl::CivilSecond(1, 1, 1, 0, 0, 0));
  EXPECT_EQ(absl::ToCivilSecond(absl::FromUnixSeconds(kMaxTimestampSeconds),
                                absl::UTCTimeZone()),
            absl::CivilSecond(9999, 12, 31, 23, 59, 59));
}

TEST(TimeTest, OutsideTheRangeAndInfiniteTimesAreRefused) {
  EXPECT_TRUE(ValidateTime("t", absl::UnixEpoch()).ok());
  EXPECT_TRUE(ValidateTime("t", absl::FromUnixSeconds(kMaxTimestampSeconds) +
                                    absl::Nanoseconds(999999999))
                  .ok());
  EXPECT_FALSE(ValidateTime("t", absl::FromUnixSeconds(kMaxTimestampSeconds) +
                                     absl::Seconds(1))
                   .ok());
  EXPECT_FALSE(ValidateTime("t", absl::FromUnixSeconds(kMinTimestampSeconds) -
                                     absl::Nanoseconds(1))
                   .ok());
  EXPECT_FALSE(ValidateTime("t", absl::InfiniteFuture()).ok());
  EXPECT_FALSE(ValidateTime("t", absl::InfinitePast()).ok());
  absl::Status s = ValidateTime("--expires", absl::InfiniteFuture());
  EXPECT_THAT(std::string(s.message()), StartsWith("--expires: "));
}

}  // namespace
}  // namespace steward::v1
