// Data minimization: unreferenced attributes dropped, PII omitted without a
// key, encrypted (and decryptable only with the key) with one.
#include "server/audit/minimize.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "policy/compiler.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using Json = nlohmann::json;

constexpr char kPolicy[] = R"(
context {
  mfa: bool
  ip: string
}
resource customer {
  attributes { owner: string, region: string, tier: string, email: string }
  fields { id, name, email pii }
  actions { read, update }
}
resource refund {
  attributes { amount: int, created_by: string }
  actions { approve }
}
role sales {
  allow read on customer when resource.owner == principal.id && resource.email != ""
}
role guard {
  deny update on customer unless context.mfa
}
role finance {
  allow approve on refund when resource.amount <= 100
}
)";

TEST(MinimizationPlanTest, FromProgramKeepsOnlyReferencedAttributes) {
  policy::CompileResult compiled =
      policy::Compile({policy::SourceFile{"audit.policy", kPolicy}});
  ASSERT_TRUE(compiled.ok())
      << (compiled.diagnostics.empty() ? std::string()
                                       : compiled.diagnostics[0].message);
  const MinimizationPlan plan =
      MinimizationPlan::FromProgram(*compiled.program);
  EXPECT_EQ(plan.ResourceAttribute("customer", "owner"),
            AttributeTreatment::kKeep);
  EXPECT_EQ(plan.ResourceAttribute("customer", "email"),
            AttributeTreatment::kPii);
  EXPECT_EQ(plan.ResourceAttribute("customer", "region"),
            AttributeTreatment::kDrop);
  EXPECT_EQ(plan.ResourceAttribute("customer", "tier"),
            AttributeTreatment::kDrop);
  EXPECT_EQ(plan.ResourceAttribute("customer", "undeclared"),
            AttributeTreatment::kDrop);
  EXPECT_EQ(plan.ResourceAttribute("refund", "amount"),
            AttributeTreatment::kKeep);
  EXPECT_EQ(plan.ResourceAttribute("refund", "created_by"),
            AttributeTreatment::kDrop);
  // Per kind: refund's rules do not read customer's owner.
  EXPECT_EQ(plan.ResourceAttribute("refund", "owner"),
            AttributeTreatment::kDrop);
  EXPECT_EQ(plan.ContextAttribute("mfa"), AttributeTreatment::kKeep);
  EXPECT_EQ(plan.ContextAttribute("ip"), AttributeTreatment::kDrop);
}

class MinimizeTest : public ::testing::Test {
 protected:
  MinimizeTest() {
    plan_.SetResourceAttribute("customer", "owner", AttributeTreatment::kKeep);
    plan_.SetResourceAttribute("customer", "email", AttributeTreatment::kPii);
    plan_.SetResourceAttribute("customer", "teams", AttributeTreatment::kKeep);
    plan_.SetContextAttribute("mfa", AttributeTreatment::kKeep);
    plan_.SetContextAttribute("amount", AttributeTreatment::kKeep);
    resource_ = {
        {"owner", policy::Value::String("u7")},
        {"email", policy::Value::String("alice@example.com")},
        {"region", policy::Value::String("eu")},  // not referenced
        {"teams", policy::Value::StringSet(teams_)},
        {"absent", policy::Value()},
    };
    context_ = {{"mfa", policy::Value::Bool(true)},
                {"amount", policy::Value::Int(42)},
                {"ip", policy::Value::String("10.0.0.1")}};
  }

  std::vector<absl::string_view> teams_ = {"a", "b"};
  MinimizationPlan plan_;
  std::vector<policy::NamedValue> resource_;
  std::vector<policy::NamedValue> context_;
};

TEST_F(MinimizeTest, WithoutKeyPiiIsOmitted) {
  auto m = MinimizeAttributes(plan_, "customer", resource_, context_, nullptr);
  ASSERT_THAT(m, IsOk());
  ASSERT_TRUE(m->json.has_value());
  EXPECT_EQ(m->key_id, "");
  EXPECT_EQ(
      *m->json,
      R"({"context":{"amount":42,"mfa":true},"omitted":["resource.email"],)"
      R"("resource":{"owner":"u7","teams":["a","b"]}})");
  EXPECT_FALSE(absl::StrContains(*m->json, "alice"));
  EXPECT_FALSE(absl::StrContains(*m->json, "10.0.0.1"));
  EXPECT_FALSE(absl::StrContains(*m->json, "eu"));
}

TEST_F(MinimizeTest, WithKeyPiiIsEncryptedAndDecryptable) {
  auto key = AuditKey::Parse(std::string(64, '7'));
  ASSERT_THAT(key, IsOk());
  auto m = MinimizeAttributes(plan_, "customer", resource_, context_, &*key);
  ASSERT_THAT(m, IsOk());
  ASSERT_TRUE(m->json.has_value());
  EXPECT_EQ(m->key_id, key->key_id());
  EXPECT_FALSE(absl::StrContains(*m->json, "alice"));
  Json doc = Json::parse(*m->json);
  ASSERT_TRUE(doc["resource"]["email"].is_object());
  EXPECT_FALSE(doc.contains("omitted"));

  auto clear = DecryptAttributes(*key, *m->json);
  ASSERT_THAT(clear, IsOk());
  EXPECT_EQ(Json::parse(*clear)["resource"]["email"], "alice@example.com");
  EXPECT_EQ(Json::parse(*clear)["resource"]["owner"], "u7");

  auto wrong = AuditKey::Parse(std::string(64, '8'));
  ASSERT_THAT(wrong, IsOk());
  EXPECT_THAT(DecryptAttributes(*wrong, *m->json),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(MinimizeTest, NothingReferencedStoresNothing) {
  auto m = MinimizeAttributes(plan_, "order", resource_, {}, nullptr);
  ASSERT_THAT(m, IsOk());
  EXPECT_FALSE(m->json.has_value());
}

TEST(DecryptAttributesTest, RejectsMalformedJson) {
  auto key = AuditKey::Parse(std::string(64, '7'));
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(DecryptAttributes(*key, "not json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecryptAttributes(*key, R"({"resource":{"x":{"y":1}}})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace steward::audit
