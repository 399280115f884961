// Signed checkpoints against an insider with write access to the file:
// every rewrite that keeps the chain self-consistent (edit and rehash,
// delete and renumber, cut the tail, delete everything) is caught by the
// signed heads, by VerifyChain and by the start-up tail check; a cut that
// also removes the covering checkpoints is caught by the witness.
#include "server/audit/signed_checkpoint.h"

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/reader.h"
#include "server/audit/verify.h"
#include "server/audit/writer.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::ApplyTamper;
using ::steward::audit::testing::Decision;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::Tamper;
using ::steward::audit::testing::TamperName;
using ::steward::audit::testing::TestDb;
using ::steward::audit::testing::VerifyTrail;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

std::shared_ptr<const CheckpointSigningKey> NewKey() {
  auto key = CheckpointSigningKey::Generate();
  EXPECT_THAT(key, IsOk());
  return std::make_shared<const CheckpointSigningKey>(*std::move(key));
}

TEST(CheckpointKeyTest, SignsAndVerifiesThroughPem) {
  auto key = NewKey();
  auto reloaded = CheckpointSigningKey::FromPem(key->PrivatePem());
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_EQ(reloaded->key_id(), key->key_id());
  EXPECT_EQ(key->key_id().size(), 16u);
  auto public_key = CheckpointPublicKey::FromPem(key->public_key().Pem());
  ASSERT_THAT(public_key, IsOk());
  Hash head{};
  head[0] = 7;
  auto signed_checkpoint = reloaded->Sign(42, head, absl::FromUnixMicros(5));
  ASSERT_THAT(signed_checkpoint, IsOk());
  EXPECT_TRUE(public_key->Verify(*signed_checkpoint));
  SignedCheckpoint altered = *signed_checkpoint;
  altered.seq = 41;
  EXPECT_FALSE(public_key->Verify(altered));
  altered = *signed_checkpoint;
  altered.head[1] = 1;
  EXPECT_FALSE(public_key->Verify(altered));
  EXPECT_FALSE(NewKey()->public_key().Verify(*signed_checkpoint));
}

TEST(CheckpointKeyTest, WitnessLineRoundTripsInsideALogLine) {
  auto key = NewKey();
  Hash head{};
  head[31] = 9;
  auto c = key->Sign(7, head, absl::FromUnixMicros(1234567));
  ASSERT_THAT(c, IsOk());
  auto parsed = ParseWitnessLine(absl::StrCat(
      "2026-01-01T00:00:00.000000Z info stewardd ", WitnessLine(*c)));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->seq, 7);
  EXPECT_EQ(parsed->head, head);
  EXPECT_EQ(parsed->time_micros, 1234567);
  EXPECT_TRUE(key->public_key().Verify(*parsed));
  EXPECT_FALSE(ParseWitnessLine("audit checkpoint seq=x").has_value());
}

TEST(CheckpointKeyTest, RefusesAPrivateKeyFileOthersCanRead) {
  TestDb db;
  const std::string path = db.dir() + "/signing.pem";
  std::string pem = NewKey()->PrivatePem();
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(pem.c_str(), f);
  std::fclose(f);
  ::chmod(path.c_str(), 0644);
  EXPECT_THAT(CheckpointSigningKey::LoadFile(path),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ::chmod(path.c_str(), 0600);
  EXPECT_THAT(CheckpointSigningKey::LoadFile(path), IsOk());
}

// A trail of 10 records written with a signing key and a checkpoint every
// 4 records: checkpoints at 0 (start), 4, 8 and 10 (shutdown).
class SignedTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = NewKey();
    WriteRecords(1, 10);
    raw_ = OpenRaw(db_.path());
  }

  void WriteRecords(int from, int to) {
    WriterOptions options;
    options.signing_key = key_;
    options.signed_checkpoint_records = 4;
    options.signed_checkpoint_interval = absl::Hours(1);
    options.on_signed_checkpoint = [this](const SignedCheckpoint& c) {
      witnessed_.push_back(c);
    };
    auto writer = AuditWriter::Open(db_.path(), options);
    ASSERT_THAT(writer, IsOk());
    for (int i = from; i <= to; ++i) {
      ASSERT_THAT((*writer)->SubmitAndWait(Decision(i)), IsOk());
    }
    ASSERT_THAT((*writer)->Shutdown(), IsOk());
  }

  VerifyResult Verify() { return VerifyTrail(db_.path()); }

  VerifyResult VerifyTail(std::optional<SignedCheckpoint> witness) {
    auto result = VerifySignedTail(db_.path(), key_->public_key(), witness);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : VerifyResult{};
  }

  std::vector<int64_t> SignedSeqs(const VerifyResult& r) {
    std::vector<int64_t> seqs;
    for (const CheckpointCheck& c : r.checkpoints) {
      seqs.push_back(c.checkpoint.seq);
    }
    return seqs;
  }

  TestDb db_;
  std::shared_ptr<const CheckpointSigningKey> key_;
  std::vector<SignedCheckpoint> witnessed_;
  std::unique_ptr<store::sqlite::Connection> raw_;
};

TEST_F(SignedTrailTest, SignsAtStartEveryNRecordsAndAtShutdown) {
  VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_THAT(SignedSeqs(r), ElementsAre(0, 4, 8, 10));
  for (const CheckpointCheck& c : r.checkpoints) {
    EXPECT_EQ(c.state, CheckpointState::kMatches) << c.checkpoint.seq;
    EXPECT_TRUE(key_->public_key().Verify(c.checkpoint)) << c.checkpoint.seq;
  }
  ASSERT_EQ(witnessed_.size(), 4u);
  EXPECT_EQ(witnessed_.back().seq, 10);
  EXPECT_TRUE(VerifyTail(witnessed_.back()).ok);
}

TEST_F(SignedTrailTest, ReopeningContinuesWithoutReSigningTheSameTail) {
  WriteRecords(11, 12);
  VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_THAT(SignedSeqs(r), ElementsAre(0, 4, 8, 10, 12));
}

TEST(UnsignedTrailTest, VerifiesWithoutCheckpoints) {
  TestDb db;
  {
    auto writer = AuditWriter::Open(db.path());
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->SubmitAndWait(Decision(1)), IsOk());
  }
  auto reader = AuditReader::Open(db.path());
  ASSERT_THAT(reader, IsOk());
  auto r = (*reader)->VerifyChain();
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->ok) << r->message;
  EXPECT_TRUE(r->checkpoints.empty());
}

struct TamperCase {
  Tamper tamper;
  std::string verify_message;  // what VerifyChain says
  CheckpointState state;       // what it says of the newest checkpoint
};

class TamperTest : public SignedTrailTest,
                   public ::testing::WithParamInterface<TamperCase> {};

TEST_P(TamperTest, ChainAloneVerifiesButTheSignedHeadsDoNot) {
  const TamperCase& c = GetParam();
  ApplyTamper(*raw_, c.tamper);
  // Without the signed checkpoints the rewrite would pass: the chain
  // itself is consistent again.
  ASSERT_THAT(raw_->Exec("CREATE TABLE hidden AS SELECT * FROM "
                         "audit_signed_checkpoints;"
                         "DELETE FROM audit_signed_checkpoints"),
              IsOk());
  EXPECT_TRUE(Verify().ok) << "the tampering left the chain inconsistent";
  ASSERT_THAT(raw_->Exec("INSERT INTO audit_signed_checkpoints SELECT * FROM "
                         "hidden"),
              IsOk());

  VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr(c.verify_message));
  EXPECT_THAT(r.checkpoints, Contains(Field(&CheckpointCheck::state, c.state)));

  VerifyResult tail = VerifyTail(std::nullopt);
  EXPECT_FALSE(tail.ok);
  EXPECT_THAT(tail.message, HasSubstr("record 10"));
}

INSTANTIATE_TEST_SUITE_P(
    Modes, TamperTest,
    ::testing::Values(TamperCase{Tamper::kEditAndRehash, "were rewritten",
                                 CheckpointState::kMismatch},
                      TamperCase{Tamper::kDeleteAndRenumber, "were rewritten",
                                 CheckpointState::kMismatch},
                      TamperCase{Tamper::kCutTail, "removed from the end",
                                 CheckpointState::kBeyondTrail},
                      TamperCase{Tamper::kDeleteEveryRow,
                                 "every record was removed",
                                 CheckpointState::kBeyondTrail}),
    [](const ::testing::TestParamInfo<TamperCase>& info) {
      return std::string(TamperName(info.param.tamper));
    });

TEST_F(SignedTrailTest, CutWithItsCheckpointsIsCaughtOnlyByTheWitness) {
  ApplyTamper(*raw_, Tamper::kCutTail);
  ASSERT_THAT(raw_->Exec("DELETE FROM audit_signed_checkpoints WHERE seq > 6"),
              IsOk());
  EXPECT_TRUE(Verify().ok);
  EXPECT_TRUE(VerifyTail(std::nullopt).ok);
  VerifyResult r = VerifyTail(witnessed_.back());
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("witness"));
  EXPECT_THAT(r.message, HasSubstr("record 10"));
}

TEST_F(SignedTrailTest, TailCheckRefusesAForgedSignatureAndAnotherKey) {
  ASSERT_THAT(raw_->Exec("UPDATE audit_signed_checkpoints SET time = time + 1 "
                         "WHERE seq = 10"),
              IsOk());
  VerifyResult forged = VerifyTail(std::nullopt);
  EXPECT_FALSE(forged.ok);
  EXPECT_THAT(forged.message, HasSubstr("invalid signature"));

  auto other =
      VerifySignedTail(db_.path(), NewKey()->public_key(), std::nullopt);
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->ok);
  EXPECT_THAT(other->message, HasSubstr("not the configured key"));
}

TEST_F(SignedTrailTest, TailCheckFindsAnEditInTheUnsignedTail) {
  WriteRecords(11, 11);  // signed at shutdown: 11
  ASSERT_THAT(raw_->Exec("DELETE FROM audit_signed_checkpoints WHERE seq = 11"),
              IsOk());
  ASSERT_THAT(raw_->Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 11"),
              IsOk());
  VerifyResult r = VerifyTail(std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 11);
}

}  // namespace
}  // namespace steward::audit
