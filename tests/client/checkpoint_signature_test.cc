// stewardctl reimplements the checkpoint signature format (it may not
// include server/): checkpoints signed by the server's code, as the
// VerifyChain response carries them and as witness lines, verify with the
// CLI's code, and any change to what was signed does not.
#include "client/checkpoint_signature.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/signed_checkpoint.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::client {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;

class CheckpointSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = audit::CheckpointSigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    key_ = std::make_unique<audit::CheckpointSigningKey>(*std::move(key));
    public_path_ = dir_.path() + "/key.pub";
    std::ofstream(public_path_) << key_->public_key().Pem();
    auto verifier = CheckpointVerifier::LoadFile(public_path_);
    ASSERT_THAT(verifier, IsOk());
    verifier_ = std::make_unique<CheckpointVerifier>(*std::move(verifier));
    audit::Hash head{};
    head[3] = 0x42;
    auto c = key_->Sign(1234, head, absl::FromUnixMicros(1767225600123456));
    ASSERT_THAT(c, IsOk());
    server_ = *c;
  }

  // As the AuditService puts it on the wire.
  v1::SignedCheckpoint OnTheWire() const {
    v1::SignedCheckpoint out;
    out.set_seq(server_.seq);
    out.set_head(std::string(reinterpret_cast<const char*>(server_.head.data()),
                             server_.head.size()));
    out.mutable_time()->set_seconds(server_.time_micros / 1000000);
    out.mutable_time()->set_nanos(
        static_cast<int32_t>(server_.time_micros % 1000000) * 1000);
    out.set_key_id(server_.key_id);
    out.set_signature(server_.signature);
    return out;
  }

  steward::testing::TempDir dir_;
  std::unique_ptr<audit::CheckpointSigningKey> key_;
  std::string public_path_;
  std::unique_ptr<CheckpointVerifier> verifier_;
  audit::SignedCheckpoint server_;
};

TEST_F(CheckpointSignatureTest, ServerSignaturesVerifyWithTheCliCode) {
  EXPECT_EQ(verifier_->key_id(), key_->key_id());
  const v1::SignedCheckpoint wire = OnTheWire();
  const std::optional<std::string> message = CheckpointMessage(wire);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(*message, audit::CheckpointMessage(server_.seq, server_.head,
                                               server_.time_micros));
  EXPECT_TRUE(verifier_->Verify(wire));
}

TEST_F(CheckpointSignatureTest, AnyChangeToWhatWasSignedFails) {
  v1::SignedCheckpoint c = OnTheWire();
  c.set_seq(1233);
  EXPECT_FALSE(verifier_->Verify(c));
  c = OnTheWire();
  c.mutable_head()->at(0) ^= 1;
  EXPECT_FALSE(verifier_->Verify(c));
  c = OnTheWire();
  c.mutable_time()->set_seconds(c.time().seconds() + 1);
  EXPECT_FALSE(verifier_->Verify(c));
  c = OnTheWire();
  c.mutable_signature()->at(10) ^= 1;
  EXPECT_FALSE(verifier_->Verify(c));
}

TEST_F(CheckpointSignatureTest, ServerWitnessLinesParseAndVerify) {
  const std::string path = dir_.path() + "/witness.log";
  {
    std::ofstream out(path);
    out << "2026-01-01T00:00:00Z info stewardd listening\n"
        << "2026-01-01T00:00:01Z info stewardd " << audit::WitnessLine(server_)
        << "\n";
  }
  auto latest = LatestWitness(path);
  ASSERT_THAT(latest, IsOk());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->seq(), 1234);
  EXPECT_TRUE(verifier_->Verify(**latest));
  EXPECT_THAT(LatestWitness(dir_.path() + "/none"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CheckpointSignatureTest, RefusesAPrivateKeyAsPublicKey) {
  const std::string path = dir_.path() + "/private.pem";
  std::ofstream(path) << key_->PrivatePem();
  EXPECT_THAT(CheckpointVerifier::LoadFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace steward::client
