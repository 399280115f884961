// Signed audit checkpoints end to end, with the real stewardd and
// stewardctl on a real data directory: `init` creates the signing key,
// `serve --audit-signing-key` signs, `stewardctl audit verify --public-key`
// reports each way an insider with write access can rewrite the trail, and
// stewardd refuses to append to such a trail unless told to start a new
// segment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::steward::audit::testing::ApplyTamper;
using ::steward::audit::testing::OpenRaw;
using ::steward::audit::testing::Tamper;
using ::steward::audit::testing::TamperName;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\nstdout:\n", r.out, "\nstderr:\n",
                      r.err);
}

class SignedAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    key_ = dir_.path() + "/audit-signing.pem";
    init_ = RunCommand({STEWARDD_PATH, "init", "--data-dir", data_,
                        "--admin-key-out", dir_.path() + "/admin.key",
                        "--totp-secret-out", dir_.path() + "/totp",
                        "--create-audit-signing-key", key_});
    ASSERT_EQ(init_.exit_code, 0) << Describe(init_);
  }

  std::vector<std::string> Signed(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"--dev", "--audit-signing-key", key_,
                                     "--audit-checkpoint-records", "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  CommandResult Ctl(const ServerProcess& server, const std::string& role,
                    std::vector<std::string> args) const {
    std::vector<std::string> argv = {
        STEWARDCTL_PATH, "--server", server.address(), "--api-key-file",
        absl::StrCat(data_, "/dev-", role, ".key")};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(
        argv,
        {"STEWARD_SERVER=", "STEWARD_API_KEY=", "STEWARD_OTP=", "NO_COLOR=1"});
  }

  // Ten admin changes, one audit record each, on a signing server that
  // then stops (and signs its tail).
  void WriteSignedTrail() {
    ServerProcess server;
    ASSERT_THAT(server.Start(STEWARDD_PATH, data_, Signed()), IsOk());
    for (int i = 1; i <= 10; ++i) {
      CommandResult r =
          Ctl(server, "admin", {"principal", "add", absl::StrCat("p", i)});
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
    }
    ASSERT_EQ(server.Stop(), 0) << server.Log();
    EXPECT_THAT(server.Log(), HasSubstr("audit checkpoint seq=10 "));
  }

  // `audit verify` through a server that does not sign (the verdict must
  // not depend on the server's configuration), with `args`.
  CommandResult VerifyThroughUnsignedServer(std::vector<std::string> args) {
    ServerProcess server;
    EXPECT_THAT(server.Start(STEWARDD_PATH, data_, {"--dev"}), IsOk());
    args.insert(args.begin(), {"audit", "verify"});
    return Ctl(server, "auditor", args);
  }

  CommandResult StartSigned(std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv = {STEWARDD_PATH, "serve",    "--data-dir",
                                     data_,         "--listen", "127.0.0.1:0"};
    for (const std::string& a : Signed(extra)) argv.push_back(a);
    return RunCommand(argv);
  }

  std::string PublicKey() const { return key_ + ".pub"; }
  std::string Witness() const { return data_ + "/audit-witness.log"; }

  TempDir dir_;
  std::string data_;
  std::string key_;
  CommandResult init_;
};

TEST_F(SignedAuditTest, InitWritesAnOwnerOnlyKeyAndPrintsItsPublicKey) {
  struct stat info;
  ASSERT_EQ(::stat(key_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_THAT(init_.out, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  EXPECT_THAT(init_.out, Not(HasSubstr("PRIVATE KEY")));
  ASSERT_EQ(::stat(PublicKey().c_str(), &info), 0);
  // A second init never replaces the key.
  CommandResult again = RunCommand({STEWARDD_PATH, "init", "--data-dir", data_,
                                    "--create-audit-signing-key", key_});
  EXPECT_EQ(again.exit_code, 1) << Describe(again);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
}

TEST_F(SignedAuditTest, UnsignedTrailStillVerifiesAndSaysUnsigned) {
  ServerProcess server;
  ASSERT_THAT(server.Start(STEWARDD_PATH, data_, {"--dev"}), IsOk());
  ASSERT_EQ(Ctl(server, "admin", {"principal", "add", "p1"}).exit_code, 0);
  CommandResult r = Ctl(server, "auditor", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("unsigned"));
  // An auditor who expects signatures is told there are none.
  CommandResult expecting =
      Ctl(server, "auditor", {"audit", "verify", "--public-key", PublicKey()});
  EXPECT_EQ(expecting.exit_code, 1) << Describe(expecting);
  EXPECT_THAT(expecting.out, HasSubstr("no signed checkpoint"));
}

TEST_F(SignedAuditTest, SignedTrailVerifiesWithThePublicKeyAndWitness) {
  WriteSignedTrail();
  CommandResult r = VerifyThroughUnsignedServer(
      {"--public-key", PublicKey(), "--witness", Witness()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("valid: "));
  // An intact trail is appended to on the next start.
  ServerProcess again;
  EXPECT_THAT(again.Start(STEWARDD_PATH, data_, Signed()), IsOk());
  EXPECT_THAT(again.Log(), HasSubstr("tail verified"));
}

struct TamperCase {
  Tamper tamper;
  std::string reported;  // what `audit verify --public-key` says
};

class SignedAuditTamperTest : public SignedAuditTest,
                              public ::testing::WithParamInterface<TamperCase> {
};

TEST_P(SignedAuditTamperTest, VerifyReportsItAndStewarddRefusesToAppend) {
  WriteSignedTrail();
  {
    auto raw = OpenRaw(data_ + "/steward.db");
    ASSERT_NE(raw, nullptr);
    ApplyTamper(*raw, GetParam().tamper);
  }
  CommandResult r = VerifyThroughUnsignedServer({"--public-key", PublicKey()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ok               no")) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("error: audit chain broken"));
  EXPECT_THAT(r.out, HasSubstr(GetParam().reported)) << Describe(r);

  CommandResult refused = StartSigned();
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("the audit trail does not verify"));
  EXPECT_THAT(refused.err, HasSubstr("--audit-start-new-segment"));

  ServerProcess segment;
  ASSERT_THAT(segment.Start(STEWARDD_PATH, data_,
                            Signed({"--audit-start-new-segment"})),
              IsOk());
  EXPECT_THAT(segment.Log(), HasSubstr("new audit segment starts at record"));
  ASSERT_EQ(segment.Stop(), 0) << segment.Log();
  // The new segment is signed, so the next start accepts the tail; the
  // rewritten history stays reported.
  ServerProcess next;
  ASSERT_THAT(next.Start(STEWARDD_PATH, data_, Signed()), IsOk()) << next.Log();
  CommandResult after =
      Ctl(next, "auditor", {"audit", "verify", "--public-key", PublicKey()});
  EXPECT_EQ(after.exit_code, 1) << Describe(after);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SignedAuditTamperTest,
    ::testing::Values(
        TamperCase{Tamper::kEditAndRehash,
                   "records 5..8 were rewritten: the chain no longer reaches "
                   "the head signed at record 8"},
        TamperCase{Tamper::kDeleteAndRenumber,
                   "records 1..4 were rewritten: the chain no longer reaches "
                   "the head signed at record 4"},
        TamperCase{Tamper::kCutTail,
                   "the trail ends at record 6 but a signed checkpoint covers "
                   "records up to 10: records 7..10 were removed from the end"},
        TamperCase{Tamper::kDeleteEveryRow,
                   "the trail is empty but a signed checkpoint covers records "
                   "up to 10: every record was removed"}),
    [](const ::testing::TestParamInfo<TamperCase>& info) {
      return std::string(TamperName(info.param.tamper));
    });

TEST_F(SignedAuditTest, CutWithItsCheckpointsIsCaughtByTheWitness) {
  WriteSignedTrail();
  {
    auto raw = OpenRaw(data_ + "/steward.db");
    ASSERT_NE(raw, nullptr);
    ApplyTamper(*raw, Tamper::kCutTail);
    ASSERT_THAT(raw->Exec("DELETE FROM audit_signed_checkpoints WHERE seq > 6"),
                IsOk());
  }
  CommandResult keyed =
      VerifyThroughUnsignedServer({"--public-key", PublicKey()});
  EXPECT_EQ(keyed.exit_code, 0) << Describe(keyed);
  CommandResult witnessed = VerifyThroughUnsignedServer(
      {"--public-key", PublicKey(), "--witness", Witness()});
  EXPECT_EQ(witnessed.exit_code, 1) << Describe(witnessed);
  EXPECT_THAT(witnessed.out, HasSubstr("witnessed checkpoint at record 10"));
  CommandResult refused = StartSigned();
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("witness"));
  // A new segment continues past the witnessed seq, so the next start
  // finds the newest witness line in the trail again.
  ServerProcess segment;
  ASSERT_THAT(segment.Start(STEWARDD_PATH, data_,
                            Signed({"--audit-start-new-segment"})),
              IsOk());
  EXPECT_THAT(segment.Log(),
              HasSubstr("new audit segment starts at record 11"));
  ASSERT_EQ(segment.Stop(), 0) << segment.Log();
  ServerProcess next;
  EXPECT_THAT(next.Start(STEWARDD_PATH, data_, Signed()), IsOk()) << next.Log();
}

}  // namespace
}  // namespace steward::testing
