#include "server/auth/totp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::server {
namespace {

// RFC 6238 appendix B, SHA-1 rows (8 digits), key "12345678901234567890".
struct Vector {
  int64_t unix_seconds;
  std::string code;
};

class Rfc6238Test : public ::testing::TestWithParam<Vector> {};

TEST_P(Rfc6238Test, MatchesTheRfc) {
  const std::string key = "12345678901234567890";
  EXPECT_EQ(TotpCode(key, GetParam().unix_seconds / 30, 8), GetParam().code);
}

INSTANTIATE_TEST_SUITE_P(AppendixB, Rfc6238Test,
                         ::testing::Values(Vector{59, "94287082"},
                                           Vector{1111111109, "07081804"},
                                           Vector{1111111111, "14050471"},
                                           Vector{1234567890, "89005924"},
                                           Vector{2000000000, "69279037"},
                                           Vector{20000000000, "65353130"}));

TEST(TotpCodeTest, SixDigitsAreTheLastSixOfTheRfcCode) {
  EXPECT_EQ(TotpCode("12345678901234567890", 59 / 30), "287082");
}

TEST(TotpCodeTest, AcceptsOneStepOfSkewEitherWay) {
  const std::string key = "12345678901234567890";
  absl::Time now = absl::FromUnixSeconds(1111111111);
  int64_t step = TotpStep(now);
  for (int64_t delta : {-1, 0, 1}) {
    std::optional<int64_t> match =
        VerifyTotp(key, TotpCode(key, step + delta), now);
    ASSERT_TRUE(match.has_value()) << delta;
    EXPECT_EQ(*match, step + delta);
  }
}

TEST(TotpCodeTest, RefusesStaleWrongAndMalformedCodes) {
  const std::string key = "12345678901234567890";
  absl::Time now = absl::FromUnixSeconds(1111111111);
  int64_t step = TotpStep(now);
  EXPECT_FALSE(VerifyTotp(key, TotpCode(key, step - 2), now).has_value());
  EXPECT_FALSE(VerifyTotp(key, TotpCode(key, step + 2), now).has_value());
  std::string wrong = TotpCode(key, step);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyTotp(key, wrong, now).has_value());
  EXPECT_FALSE(VerifyTotp(key, "12345", now).has_value());
  EXPECT_FALSE(VerifyTotp(key, "", now).has_value());
}

TEST(TotpCodeTest, Base32RoundTrip) {
  const std::string bytes = "12345678901234567890";
  std::string encoded = EncodeBase32(bytes);
  EXPECT_EQ(encoded, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  absl::StatusOr<std::string> decoded = DecodeBase32(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, bytes);
  EXPECT_FALSE(DecodeBase32("not base32!").ok());
}

TEST(TotpCodeTest, UriNamesIssuerAndSecret) {
  EXPECT_EQ(TotpUri("admin one", "ABC"),
            "otpauth://totp/Steward:admin%20one?secret=ABC&issuer=Steward&"
            "algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace steward::server
