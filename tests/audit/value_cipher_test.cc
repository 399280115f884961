// The audit key file and the AES-256-GCM value envelope.
#include "server/audit/value_cipher.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::audit {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;

const std::string kHexKey =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string WriteFile(const std::string& path, const std::string& contents,
                      mode_t mode) {
  std::ofstream(path, std::ios::binary) << contents;
  ::chmod(path.c_str(), mode);
  return path;
}

TEST(AuditKeyTest, ParsesHexAndRawToTheSameKey) {
  auto hex = AuditKey::Parse(kHexKey + "\n");
  auto raw = AuditKey::Parse(absl::HexStringToBytes(kHexKey));
  ASSERT_THAT(hex, IsOk());
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(hex->key_id(), raw->key_id());
  // key id = first 8 hex chars of SHA-256(key bytes).
  const std::string bytes = absl::HexStringToBytes(kHexKey);
  uint8_t digest[32];
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  EXPECT_EQ(hex->key_id(), absl::BytesToHexString(absl::string_view(
                               reinterpret_cast<char*>(digest), 4)));
}

TEST(AuditKeyTest, RejectsBadContents) {
  EXPECT_THAT(AuditKey::Parse("short"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AuditKey::Parse(std::string(64, 'g')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AuditKey::Parse(kHexKey + "00"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AuditKeyTest, LoadFileChecksPermissions) {
  steward::testing::TempDir dir;
  const std::string good = WriteFile(dir.path() + "/k600", kHexKey, 0600);
  EXPECT_THAT(AuditKey::LoadFile(good), IsOk());
  const std::string group = WriteFile(dir.path() + "/k640", kHexKey, 0640);
  EXPECT_THAT(AuditKey::LoadFile(group),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("0640")));
  const std::string world = WriteFile(dir.path() + "/k604", kHexKey, 0604);
  EXPECT_THAT(AuditKey::LoadFile(world),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(AuditKey::LoadFile(dir.path() + "/missing"),
              StatusIs(absl::StatusCode::kNotFound));
  const std::string bad = WriteFile(dir.path() + "/bad", "nope", 0600);
  auto loaded = AuditKey::LoadFile(bad);
  EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(loaded.status().message()),
              ::testing::Not(HasSubstr("nope")));
}

TEST(ValueCipherTest, RoundTripWithFreshNonces) {
  auto key = AuditKey::Parse(kHexKey);
  ASSERT_THAT(key, IsOk());
  auto a = EncryptValue(*key, "resource.email", "\"a@example.com\"");
  auto b = EncryptValue(*key, "resource.email", "\"a@example.com\"");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);  // random nonce
  EXPECT_TRUE(absl::StartsWith(*a, "v1:" + key->key_id() + ":")) << *a;
  EXPECT_FALSE(absl::StrContains(*a, "example.com"));
  auto id = EnvelopeKeyId(*a);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*id, key->key_id());
  auto plain = DecryptValue(*key, "resource.email", *a);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(*plain, "\"a@example.com\"");
}

TEST(ValueCipherTest, WrongKeyLabelOrTamperingFails) {
  auto key = AuditKey::Parse(kHexKey);
  auto other = AuditKey::Parse(std::string(64, 'a'));
  ASSERT_THAT(key, IsOk());
  ASSERT_THAT(other, IsOk());
  auto env = EncryptValue(*key, "resource.email", "\"x\"");
  ASSERT_THAT(env, IsOk());
  EXPECT_THAT(DecryptValue(*other, "resource.email", *env),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(DecryptValue(*key, "resource.phone", *env),
              StatusIs(absl::StatusCode::kDataLoss));
  // Flip one ciphertext bit (inside the base64 payload).
  std::string payload;
  ASSERT_TRUE(absl::Base64Unescape(env->substr(12), &payload));
  payload[13] ^= 1;
  const std::string tampered = env->substr(0, 12) + absl::Base64Escape(payload);
  EXPECT_THAT(DecryptValue(*key, "resource.email", tampered),
              StatusIs(absl::StatusCode::kDataLoss));
  // A different key forged to claim the right id still fails the tag.
  std::string forged = *EncryptValue(*other, "resource.email", "\"x\"");
  forged.replace(3, 8, key->key_id());
  EXPECT_THAT(DecryptValue(*key, "resource.email", forged),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecryptValue(*key, "resource.email", "garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace steward::audit
