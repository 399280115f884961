// The schema's constraints, row by row: each bad row written directly with
// SQL (as a restore script or the sqlite3 shell could) is rejected, and a
// matching good row is accepted, so each rejection is the constraint's doing.
#include <sqlite3.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/store.h"
#include "tests/store/store_test_util.h"

namespace steward::store {
namespace {

using testing::RawDb;
using testing::TempDir;

constexpr char kHash32[] =
    "X'00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF'";
constexpr char kHex64[] =
    "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'";

struct RowCase {
  const char* name;
  std::string sql;
  bool accepted;
};
void PrintTo(const RowCase& c, std::ostream* os) { *os << c.name; }

std::string Principal(const std::string& id, const std::string& attributes,
                      const std::string& disabled = "0",
                      const std::string& updated_at = "10") {
  return absl::StrCat(
      "INSERT INTO principals (id, display_name, attributes, disabled, "
      "created_at, updated_at) VALUES (",
      id, ", 'n', ", attributes, ", ", disabled, ", 10, ", updated_at, ")");
}

std::string BindingRow(const std::string& principal, const std::string& role,
                       const std::string& scope,
                       const std::string& expires_at = "NULL",
                       const std::string& granted_by = "'admin'") {
  return absl::StrCat(
      "INSERT INTO role_bindings (principal, role, scope, granted_by, "
      "granted_at, expires_at, reason) VALUES (",
      principal, ", ", role, ", ", scope, ", ", granted_by, ", 100, ",
      expires_at, ", '')");
}

std::string PolicyRow(const std::string& version, const std::string& source,
                      const std::string& sha, const std::string& active) {
  return absl::StrCat(
      "INSERT INTO policy_versions (version, source, sha256, author, message, "
      "created_at, active) VALUES (",
      version, ", ", source, ", ", sha, ", 'me', '', 1, ", active, ")");
}

std::string KeyRow(const std::string& name, const std::string& role,
                   const std::string& hash, const std::string& totp,
                   const std::string& last_step = "NULL") {
  return absl::StrCat(
      "INSERT INTO api_keys (name, role, key_hash, totp_secret, "
      "totp_last_step, created_by, created_at) VALUES (",
      name, ", ", role, ", ", hash, ", ", totp, ", ", last_step,
      ", 'init', 5)");
}

std::string AuditRow(const std::string& kind, const std::string& effect,
                     const std::string& decision_id,
                     const std::string& hash = kHash32,
                     const std::string& fields = "'[]'") {
  return absl::StrCat(
      "INSERT INTO audit_log (time, kind, decision_id, effect, fields, "
      "prev_hash, hash) VALUES (1, ",
      kind, ", ", decision_id, ", ", effect, ", ", fields, ", ", kHash32, ", ",
      hash, ")");
}

const std::string kSource = "'[{\"path\":\"a\",\"text\":\"b\"}]'";

class SchemaTest : public ::testing::TestWithParam<RowCase> {
 protected:
  void SetUp() override {
    path_ = dir_.File("schema.db");
    Store::Options options;
    options.create_if_missing = true;
    ASSERT_TRUE(OpenStore(path_, clock_, options).ok());
    raw_ = std::make_unique<RawDb>(path_);
    // Fixtures some cases refer to.
    ASSERT_EQ(raw_->Exec(Principal("'p1'", "'{}'")), SQLITE_OK);
    ASSERT_EQ(raw_->Exec(BindingRow("'p1'", "'viewer'", "''")), SQLITE_OK);
    ASSERT_EQ(raw_->Exec(PolicyRow("1", kSource, kHex64, "1")), SQLITE_OK);
  }

  TempDir dir_;
  std::string path_;
  FakeClock clock_;
  std::unique_ptr<RawDb> raw_;
};

TEST_P(SchemaTest, Row) {
  std::string error;
  const int rc = raw_->Exec(GetParam().sql, &error);
  if (GetParam().accepted) {
    EXPECT_EQ(rc, SQLITE_OK) << error;
  } else {
    EXPECT_EQ(rc & 0xff, SQLITE_CONSTRAINT) << "accepted: " << GetParam().sql;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Constraints, SchemaTest,
    ::testing::Values(
        // principals
        RowCase{"PrincipalOk", Principal("'p2'", "'{\"region\":\"eu\"}'"),
                true},
        RowCase{"PrincipalEmptyId", Principal("''", "'{}'"), false},
        RowCase{"PrincipalNullId", Principal("NULL", "'{}'"), false},
        RowCase{
            "PrincipalLongId",
            Principal(absl::StrCat("'", std::string(257, 'x'), "'"), "'{}'"),
            false},
        RowCase{"PrincipalControlCharInId",
                Principal("'a' || char(10)", "'{}'"), false},
        RowCase{"PrincipalDuplicateId", Principal("'p1'", "'{}'"), false},
        RowCase{"PrincipalAttributesNotJson", Principal("'p3'", "'{nope'"),
                false},
        RowCase{"PrincipalAttributesArray", Principal("'p3'", "'[1]'"), false},
        RowCase{"PrincipalDisabledTwo", Principal("'p3'", "'{}'", "2"), false},
        RowCase{"PrincipalUpdatedBeforeCreated",
                Principal("'p3'", "'{}'", "0", "5"), false},
        RowCase{"PrincipalBlobId", Principal("X'0102'", "'{}'"), false},
        // role_bindings
        RowCase{"BindingOk", BindingRow("'p1'", "'editor'", "'acme/eu'"), true},
        RowCase{"BindingUnknownPrincipal",
                BindingRow("'ghost'", "'viewer'", "''"), false},
        RowCase{"BindingDuplicate", BindingRow("'p1'", "'viewer'", "''"),
                false},
        RowCase{"BindingEmptyRole", BindingRow("'p1'", "''", "''"), false},
        RowCase{"BindingRoleNotIdentifier",
                BindingRow("'p1'", "'bad role'", "''"), false},
        RowCase{"BindingRoleLeadingDigit", BindingRow("'p1'", "'1x'", "''"),
                false},
        RowCase{"BindingNullScope", BindingRow("'p1'", "'editor'", "NULL"),
                false},
        RowCase{"BindingScopeLeadingSlash",
                BindingRow("'p1'", "'editor'", "'/acme'"), false},
        RowCase{"BindingScopeTrailingSlash",
                BindingRow("'p1'", "'editor'", "'acme/'"), false},
        RowCase{"BindingScopeDoubleSlash",
                BindingRow("'p1'", "'editor'", "'acme//eu'"), false},
        RowCase{"BindingScopeSpace",
                BindingRow("'p1'", "'editor'", "'acme eu'"), false},
        RowCase{"BindingExpiresBeforeGrant",
                BindingRow("'p1'", "'editor'", "''", "100"), false},
        RowCase{"BindingExpiresAfterGrant",
                BindingRow("'p1'", "'editor'", "''", "101"), true},
        RowCase{"BindingEmptyGrantedBy",
                BindingRow("'p1'", "'editor'", "''", "NULL", "''"), false},
        // policy_versions
        RowCase{"PolicyOk", PolicyRow("2", kSource, kHex64, "0"), true},
        RowCase{"PolicySecondActive", PolicyRow("2", kSource, kHex64, "1"),
                false},
        RowCase{"PolicyVersionZero", PolicyRow("0", kSource, kHex64, "0"),
                false},
        RowCase{"PolicySourceNotArray",
                PolicyRow("2", "'{\"a\":1}'", kHex64, "0"), false},
        RowCase{"PolicySourceEmptyArray", PolicyRow("2", "'[]'", kHex64, "0"),
                false},
        RowCase{"PolicyShaShort", PolicyRow("2", kSource, "'abc'", "0"), false},
        RowCase{"PolicyShaUppercase",
                PolicyRow("2", kSource,
                          "'0123456789ABCDEF0123456789abcdef0123456789abcdef01"
                          "23456789abcdef'",
                          "0"),
                false},
        RowCase{"PolicyActiveTwo", PolicyRow("2", kSource, kHex64, "2"), false},
        // api_keys
        RowCase{"KeyClientOk", KeyRow("'ci'", "'client'", kHash32, "NULL"),
                true},
        RowCase{"KeyAdminOk",
                KeyRow("'root'", "'admin'", kHash32,
                       "'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'"),
                true},
        RowCase{"KeyUnknownRole", KeyRow("'x'", "'root'", kHash32, "NULL"),
                false},
        RowCase{"KeyShortHash", KeyRow("'x'", "'client'", "X'0011'", "NULL"),
                false},
        RowCase{"KeyAdminWithoutTotp",
                KeyRow("'x'", "'admin'", kHash32, "NULL"), false},
        RowCase{"KeyClientWithTotp",
                KeyRow("'x'", "'client'", kHash32,
                       "'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'"),
                false},
        RowCase{"KeyTotpNotBase32",
                KeyRow("'x'", "'admin'", kHash32, "'lowercase-secret-0189'"),
                false},
        RowCase{"KeyClientTotpStep",
                KeyRow("'x'", "'client'", kHash32, "NULL", "5"), false},
        RowCase{"KeyBadName", KeyRow("'a b'", "'client'", kHash32, "NULL"),
                false},
        // audit_log
        RowCase{"AuditDecisionOk", AuditRow("'decision'", "'ALLOW'", "'d1'"),
                true},
        RowCase{"AuditAdminOk", AuditRow("'admin'", "'OK'", "NULL"), true},
        RowCase{"AuditUnknownKind", AuditRow("'other'", "'OK'", "NULL"), false},
        RowCase{"AuditDecisionWithAdminEffect",
                AuditRow("'decision'", "'OK'", "'d1'"), false},
        RowCase{"AuditBadEffect", AuditRow("'decision'", "'MAYBE'", "'d1'"),
                false},
        RowCase{"AuditDecisionWithoutId",
                AuditRow("'decision'", "'DENY'", "NULL"), false},
        RowCase{"AuditShortHash",
                AuditRow("'decision'", "'DENY'", "'d1'", "X'00'"), false},
        RowCase{"AuditFieldsNotArray",
                AuditRow("'decision'", "'DENY'", "'d1'", kHash32, "'{}'"),
                false}),
    [](const ::testing::TestParamInfo<RowCase>& info) {
      return std::string(info.param.name);
    });

TEST(SchemaCascadeTest, DeletingPrincipalDeletesBindingsNotAudit) {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.File("cascade.db");
  Store::Options options;
  options.create_if_missing = true;
  ASSERT_TRUE(OpenStore(path, clock, options).ok());
  RawDb raw(path);
  ASSERT_EQ(raw.Exec(Principal("'p1'", "'{}'")), SQLITE_OK);
  ASSERT_EQ(raw.Exec(BindingRow("'p1'", "'viewer'", "''")), SQLITE_OK);
  ASSERT_EQ(raw.Exec("INSERT INTO audit_log (time, kind, decision_id, "
                     "principal, effect, prev_hash, hash) VALUES (1, "
                     "'decision', 'd1', 'p1', 'ALLOW', " +
                     std::string(kHash32) + ", " + kHash32 + ")"),
            SQLITE_OK);
  ASSERT_EQ(raw.Exec("DELETE FROM principals WHERE id = 'p1'"), SQLITE_OK);
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM role_bindings"), "0");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM audit_log"), "1");
}

}  // namespace
}  // namespace steward::store
