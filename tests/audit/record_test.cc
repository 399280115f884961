// Canonical encoding: golden bytes (computed independently from the format
// documented in server/audit/record.h), injectivity spot checks, and the
// stored-row round trip.
#include "server/audit/record.h"

#include <openssl/sha.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace steward::audit {
namespace {

AuditRecord Minimal() {
  AuditRecord r;
  r.seq = 1;
  r.time = absl::FromUnixMicros(1000000);
  r.kind = RecordKind::kDecision;
  r.decision_id = "d1";
  r.caller = "k";
  r.principal = "p";
  r.action = "a";
  r.resource_kind = "r";
  r.effect = RecordEffect::kAllow;
  r.reason = "R";
  r.store_revision = 2;
  return r;
}

constexpr char kGoldenHex[] =
    "01"                          // format version
    "010000000000000001"          // seq
    "0100000000000f4240"          // time (us)
    "02000000086465636973696f6e"  // kind "decision"
    "02000000026431"              // decision_id "d1"
    "02000000016b"                // caller
    "020000000170"                // principal
    "020000000161"                // action
    "020000000172"                // resource_kind
    "0200000000"                  // resource_id
    "0200000000"                  // resource_scope
    "0200000005414c4c4f57"        // effect "ALLOW"
    "020000000152"                // reason
    "0200000000"                  // rule_id
    "00"                          // policy_version NULL
    "010000000000000002"          // store_revision
    "0200000000"                  // request_id
    "02000000025b5d"              // fields "[]"
    "0200000000"                  // purpose
    "0200000000"                  // justification
    "00"                          // attributes NULL
    "00"                          // key_id NULL
    "00"                          // details NULL
    "00";                         // totp_verified NULL

TEST(CanonicalEncodingTest, GoldenBytes) {
  EXPECT_EQ(absl::BytesToHexString(CanonicalEncoding(Minimal())), kGoldenHex);
}

TEST(CanonicalEncodingTest, GoldenHashFromZero) {
  // sha256(32 zero bytes || golden bytes), computed with Python's hashlib.
  EXPECT_EQ(HashHex(ChainHash(kZeroHash, CanonicalEncoding(Minimal()))),
            "acea1507026a3ef8ee2619d2980d25c95c2a609562da742b4256651975a7ed1f");
}

TEST(CanonicalEncodingTest, EveryFieldChangesTheEncoding) {
  const std::string base = CanonicalEncoding(Minimal());
  std::vector<AuditRecord> variants(12, Minimal());
  variants[0].seq = 2;
  variants[1].time += absl::Microseconds(1);
  variants[2].caller = "k2";
  variants[3].principal = "";  // moves bytes between adjacent fields
  variants[3].caller = "kp";
  variants[4].policy_version = 0;  // NULL vs 0
  variants[5].fields = {"a"};
  variants[6].attributes = "";  // NULL vs empty blob
  variants[7].key_id = "x";
  variants[7].attributes = "{}";
  variants[8].details = "{}";
  variants[9].totp_verified = false;
  variants[10].kind = RecordKind::kAdminChange;
  variants[11].effect = RecordEffect::kDeny;
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(CanonicalEncoding(variants[i]), base) << "variant " << i;
  }
  // Hashes and chain position are not part of the encoding.
  AuditRecord with_hashes = Minimal();
  with_hashes.prev_hash[0] = 1;
  with_hashes.hash[0] = 2;
  EXPECT_EQ(CanonicalEncoding(with_hashes), base);
}

TEST(CanonicalEncodingTest, ChainDependsOnPrevious) {
  Hash other = kZeroHash;
  other[31] = 1;
  const std::string c = CanonicalEncoding(Minimal());
  EXPECT_NE(ChainHash(kZeroHash, c), ChainHash(other, c));
}

TEST(StoredRowTest, RoundTrip) {
  AuditRecord r = Minimal();
  r.fields = {"email", "phone"};
  r.attributes = R"({"resource":{"owner":"u7"}})";
  r.key_id = "0a1b2c3d";
  r.details = R"({"before":null})";
  r.totp_verified = true;
  r.policy_version = 4;
  Hash prev = kZeroHash;
  prev[0] = 9;
  Hash hash = kZeroHash;
  hash[1] = 7;
  auto back = internal::FromStoredRow(internal::ToStoredRow(r), prev, hash);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(CanonicalEncoding(*back), CanonicalEncoding(r));
  EXPECT_EQ(back->fields, r.fields);
  EXPECT_EQ(back->prev_hash, prev);
  EXPECT_EQ(back->hash, hash);
  EXPECT_EQ(back->totp_verified, std::optional<bool>(true));
}

TEST(StoredRowTest, UnknownKindIsDataLoss) {
  internal::StoredRow row = internal::ToStoredRow(Minimal());
  row.kind = "bogus";
  EXPECT_EQ(internal::FromStoredRow(row, kZeroHash, kZeroHash).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(RecordNamesTest, RoundTrip) {
  for (RecordKind k : {RecordKind::kDecision, RecordKind::kAdminChange,
                       RecordKind::kAuthFailure, RecordKind::kRetentionPurge}) {
    EXPECT_EQ(ParseRecordKind(RecordKindName(k)), k);
  }
  for (RecordEffect e : {RecordEffect::kAllow, RecordEffect::kDeny,
                         RecordEffect::kOk, RecordEffect::kFailed}) {
    EXPECT_EQ(ParseRecordEffect(RecordEffectName(e)), e);
  }
}

}  // namespace
}  // namespace steward::audit

namespace steward::audit {
namespace {

TEST(CanonicalEncodingTest, HeadPlusBodyIsTheEncoding) {
  AuditRecord r;
  r.seq = 77;
  r.kind = RecordKind::kAdminChange;
  r.effect = RecordEffect::kOk;
  r.details = R"({"after":{"role":"viewer"}})";
  const internal::StoredRow row = internal::ToStoredRow(r);
  EXPECT_EQ(internal::CanonicalHead(77).size(), 10u);
  EXPECT_EQ(internal::CanonicalHead(77) + internal::CanonicalBody(row),
            CanonicalEncoding(r));
  EXPECT_EQ(internal::ChainHash(kZeroHash, internal::CanonicalHead(77),
                                internal::CanonicalBody(row)),
            ChainHash(kZeroHash, CanonicalEncoding(r)));
}

}  // namespace
}  // namespace steward::audit

namespace steward::audit {
namespace {

// The stored fields text is covered by the chain, so the fast path for
// plain names must write exactly what the JSON library writes.
TEST(StoredRowTest, FieldsJsonMatchesTheJsonLibrary) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"name", "tier"},
      {"a/b", "x y", "~", "0"},
      {"quote\"d", "back\\slash"},
      {"tab\there", std::string("nul\0x", 5), "\x7f"},
      {"caf\xc3\xa9", "plain"},
      {"bad\xff utf8"},
  };
  for (const std::vector<std::string>& fields : cases) {
    AuditRecord r;
    r.fields = fields;
    nlohmann::json array = nlohmann::json::array();
    for (const std::string& f : fields) array.push_back(f);
    EXPECT_EQ(
        internal::ToStoredRow(r).fields_json,
        array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    AuditRecord moved = r;
    EXPECT_EQ(internal::ToStoredRow(std::move(moved)).fields_json,
              internal::ToStoredRow(r).fields_json);
  }
}

// Moving a record into its stored form stores the same values as copying.
TEST(StoredRowTest, MoveAndCopyStoreTheSameRow) {
  AuditRecord r = Minimal();
  r.fields = {"email"};
  r.attributes = R"({"resource":{"owner":"u7"}})";
  r.key_id = "0a1b2c3d";
  r.details = R"({"before":null})";
  r.totp_verified = false;
  const std::string expected = internal::CanonicalEncoding(
      internal::ToStoredRow(static_cast<const AuditRecord&>(r)));
  AuditRecord moved = r;
  EXPECT_EQ(
      internal::CanonicalEncoding(internal::ToStoredRow(std::move(moved))),
      expected);
}

// Records larger than the hasher's stack buffer hash the same way.
TEST(CanonicalEncodingTest, LargeRecordHashesLikeTheWholeEncoding) {
  AuditRecord r = Minimal();
  r.seq = 5;
  r.details = absl::StrCat("{\"x\":\"", std::string(5000, 'a'), "\"}");
  const internal::StoredRow row = internal::ToStoredRow(r);
  const std::string whole = CanonicalEncoding(r);
  EXPECT_GT(whole.size(), 1024u);
  EXPECT_EQ(internal::ChainHash(kZeroHash, internal::CanonicalHead(5),
                                internal::CanonicalBody(row)),
            ChainHash(kZeroHash, whole));
  // Cross-check against an independent SHA-256 of the same bytes.
  std::string input(32, '\0');
  input += whole;
  Hash direct;
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         direct.data());
  EXPECT_EQ(ChainHash(kZeroHash, whole), direct);
}

}  // namespace
}  // namespace steward::audit
