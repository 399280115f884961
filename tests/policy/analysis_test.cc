// Tests of the public analyses of policy/analysis.h: role expansion (the
// permission matrix), the attributes conditions read, and effective-role
// resolution over bindings.
#include "policy/analysis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "tests/policy/compiled_policy_test.h"

namespace steward::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::string_view kPolicy = R"(
policy analysis_test
principal { region: string  level: int }
context { mfa: bool  ip: string }
purposes { support_case }

resource customer {
  attributes { owner: string, region: string, email: string, tier: string }
  fields { id, name, notes, email pii }
  actions { read, update, export }
}
resource order {
  attributes { owner: string, total: int, tier: string }
  fields { id, total }
  actions { read, cancel }
}

role sales_rep { allow read on customer }
role account_manager extends sales_rep {
  allow update on customer when resource.owner == principal.id
}
role regional_lead extends account_manager {
  allow read on customer fields { email } as "email-read" when resource.region == principal.region
}
role admin {
  allow * on *
  allow read on customer fields { * }
  deny read on customer fields { notes }
  deny export on customer unless context.mfa
}
role clerk {
  allow read on order for support_case when resource.total > 100 && principal.level >= 2
  allow cancel on order when has(resource.tier)
}
)";

struct AnalysisPolicy {
  static constexpr absl::string_view kFile = "analysis.policy";
  static constexpr absl::string_view kText = kPolicy;
};

class AnalysisTest : public CompiledPolicyTest<AnalysisPolicy> {
 protected:
  // The names of the roles set in `roles`.
  static std::vector<std::string> Names(const std::vector<uint64_t>& roles) {
    std::vector<std::string> out;
    for (RoleId r = 0; r < program().role_count(); ++r) {
      if ((roles[r >> 6] >> (r & 63)) & 1) {
        out.emplace_back(program().role_name(r));
      }
    }
    return out;
  }
  // Resolves `bindings` at `scope` and `now`; fails the test if a role id
  // was reported unknown.
  static std::vector<std::string> Resolve(
      const std::vector<RoleBinding>& bindings, absl::string_view scope,
      absl::Time now) {
    std::vector<uint64_t> roles(1, ~uint64_t{0});
    EXPECT_TRUE(ResolveEffectiveRoles(program(), bindings, scope, now,
                                      absl::MakeSpan(roles)));
    return Names(roles);
  }
};

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// ---- Role expansion -------------------------------------------------------

TEST_F(AnalysisTest, ExpandRoleShowsTheInheritanceChain) {
  const std::vector<PermissionRow> rows =
      ExpandRole(program(), Role("regional_lead"));
  // Source order of the rules: sales_rep's, account_manager's, its own.
  ASSERT_EQ(rows.size(), 3u);

  EXPECT_EQ(rows[0].role, "regional_lead");
  EXPECT_EQ(rows[0].source_role, "sales_rep");
  EXPECT_EQ(rows[0].inherited_via,
            "regional_lead > account_manager > sales_rep");
  EXPECT_EQ(rows[0].kind, "customer");
  EXPECT_EQ(rows[0].action, "read");
  EXPECT_TRUE(rows[0].allow);
  EXPECT_EQ(rows[0].rule_id, "sales_rep/1");
  EXPECT_EQ(rows[0].condition, "");
  // No fields clause: the kind's non-PII fields.
  EXPECT_THAT(rows[0].fields, ElementsAre("id", "name", "notes"));
  EXPECT_THAT(rows[0].pii_fields, IsEmpty());

  EXPECT_EQ(rows[1].source_role, "account_manager");
  EXPECT_EQ(rows[1].inherited_via, "regional_lead > account_manager");
  EXPECT_EQ(rows[1].action, "update");
  EXPECT_EQ(rows[1].condition, "when resource.owner == principal.id");

  EXPECT_EQ(rows[2].source_role, "regional_lead");
  EXPECT_EQ(rows[2].inherited_via, "");
  EXPECT_EQ(rows[2].rule_id, "email-read");
  EXPECT_THAT(rows[2].fields, ElementsAre("email"));
  EXPECT_THAT(rows[2].pii_fields, ElementsAre("email"));
  EXPECT_FALSE(rows[2].removes_fields_only);
}

TEST_F(AnalysisTest, ExpandRoleOfTheBaseRoleHasOnlyItsOwnRule) {
  const std::vector<PermissionRow> rows =
      ExpandRole(program(), Role("sales_rep"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].inherited_via, "");
  EXPECT_EQ(rows[0].source_role, "sales_rep");
}

TEST_F(AnalysisTest, ExpandRoleExpandsStarsAndMarksPiiAndFieldDenies) {
  const std::vector<PermissionRow> rows = ExpandRole(program(), Role("admin"));
  std::vector<std::string> pairs;
  for (const PermissionRow& row : rows) {
    pairs.push_back(row.kind + "." + row.action + (row.allow ? "+" : "-"));
  }
  // `allow * on *`: every kind, every action in declaration order; then the
  // other rules in source order.
  EXPECT_THAT(pairs, ElementsAre("customer.read+", "customer.update+",
                                 "customer.export+", "order.read+",
                                 "order.cancel+", "customer.read+",
                                 "customer.read-", "customer.export-"));
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_THAT(rows[3].fields, ElementsAre("id", "total"));
  // `fields { * }` reaches the PII field too.
  EXPECT_THAT(rows[5].fields, ElementsAre("id", "name", "notes", "email"));
  EXPECT_THAT(rows[5].pii_fields, ElementsAre("email"));
  // A deny with a fields clause removes fields, not the action.
  EXPECT_FALSE(rows[6].allow);
  EXPECT_TRUE(rows[6].removes_fields_only);
  EXPECT_THAT(rows[6].fields, ElementsAre("notes"));
  EXPECT_FALSE(rows[7].removes_fields_only);
  EXPECT_EQ(rows[7].condition, "unless context.mfa");
  // The key ignores provenance but not the effect.
  EXPECT_NE(rows[5].Key(), rows[6].Key());
  PermissionRow renamed = rows[0];
  renamed.rule_id = "other";
  renamed.source_role = "other";
  EXPECT_EQ(renamed.Key(), rows[0].Key());
}

TEST_F(AnalysisTest, ExpandRoleKeepsPurposes) {
  const std::vector<PermissionRow> rows = ExpandRole(program(), Role("clerk"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0].purposes, ElementsAre("support_case"));
  EXPECT_THAT(rows[1].purposes, IsEmpty());
  EXPECT_EQ(rows[1].condition, "when has(resource.tier)");
}

TEST_F(AnalysisTest, ExpandAllIsEveryRoleInIdOrder) {
  std::vector<PermissionRow> expected;
  for (RoleId r = 0; r < program().role_count(); ++r) {
    for (PermissionRow& row : ExpandRole(program(), r)) {
      expected.push_back(std::move(row));
    }
  }
  const std::vector<PermissionRow> all = ExpandAll(program());
  ASSERT_EQ(all.size(), expected.size());
  EXPECT_EQ(all.size(), 1u + 2u + 3u + 8u + 2u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].Key(), expected[i].Key()) << i;
    EXPECT_EQ(all[i].rule_id, expected[i].rule_id) << i;
  }
}

// ---- Referenced attributes ------------------------------------------------

TEST_F(AnalysisTest, ReferencedAttributesOfCustomer) {
  const ReferencedAttributes refs =
      FindReferencedAttributes(program(), Kind("customer"));
  // owner (update rule), region (email-read); not email, not tier (only an
  // order rule reads a `tier`).
  EXPECT_THAT(refs.resource, ElementsAre(0, 1));
  EXPECT_THAT(refs.principal, ElementsAre(0));  // region
  EXPECT_THAT(refs.context, ElementsAre(0));    // mfa, not ip
}

TEST_F(AnalysisTest, ReferencedAttributesOfOrder) {
  const ReferencedAttributes refs =
      FindReferencedAttributes(program(), Kind("order"));
  // total (comparison), tier (has()); not owner, which only customer's
  // conditions read.
  EXPECT_THAT(refs.resource, ElementsAre(1, 2));
  EXPECT_THAT(refs.principal, ElementsAre(1));  // level
  EXPECT_THAT(refs.context, IsEmpty());
}

// ---- Effective roles ------------------------------------------------------

TEST(ScopeCoversTest, WholeSegmentAncestry) {
  EXPECT_TRUE(ScopeCovers("", ""));
  EXPECT_TRUE(ScopeCovers("", "acme/eu"));
  EXPECT_TRUE(ScopeCovers("acme", "acme"));
  EXPECT_TRUE(ScopeCovers("acme", "acme/eu"));
  EXPECT_TRUE(ScopeCovers("acme", "acme/eu/paris"));
  EXPECT_FALSE(ScopeCovers("acme", "acmex"));
  EXPECT_FALSE(ScopeCovers("acme", "acmex/eu"));
  EXPECT_FALSE(ScopeCovers("acme/eu", "acme"));
  EXPECT_FALSE(ScopeCovers("acme/eu", "acme/us"));
  EXPECT_FALSE(ScopeCovers("acme", ""));
}

TEST(BindingUnexpiredTest, ExpiryIsExclusive) {
  EXPECT_TRUE(BindingUnexpired(kNow + absl::Nanoseconds(1), kNow));
  EXPECT_FALSE(BindingUnexpired(kNow, kNow));
  EXPECT_FALSE(BindingUnexpired(kNow - absl::Nanoseconds(1), kNow));
  EXPECT_TRUE(BindingUnexpired(absl::InfiniteFuture(), kNow));
}

TEST_F(AnalysisTest, EffectiveRolesCloseOverExtends) {
  EXPECT_THAT(Resolve({{Role("regional_lead"), ""}}, "", kNow),
              ElementsAre("sales_rep", "account_manager", "regional_lead"));
  EXPECT_THAT(Resolve({{Role("account_manager"), ""}}, "", kNow),
              ElementsAre("sales_rep", "account_manager"));
  EXPECT_THAT(Resolve({}, "", kNow), IsEmpty());
}

TEST_F(AnalysisTest, EffectiveRolesExpiryBoundary) {
  const RoleId admin = Role("admin");
  EXPECT_THAT(Resolve({{admin, "", kNow + absl::Nanoseconds(1)}}, "", kNow),
              ElementsAre("admin"));
  EXPECT_THAT(Resolve({{admin, "", kNow}}, "", kNow), IsEmpty());
  EXPECT_THAT(Resolve({{admin, "", kNow - absl::Seconds(1)}}, "", kNow),
              IsEmpty());
}

TEST_F(AnalysisTest, EffectiveRolesScopeAncestorNotSibling) {
  const std::vector<RoleBinding> bindings = {{Role("admin"), "acme"},
                                             {Role("clerk"), "acme/eu"}};
  EXPECT_THAT(Resolve(bindings, "acme", kNow), ElementsAre("admin"));
  EXPECT_THAT(Resolve(bindings, "acme/eu", kNow),
              ElementsAre("admin", "clerk"));
  EXPECT_THAT(Resolve(bindings, "acme/eu/paris", kNow),
              ElementsAre("admin", "clerk"));
  EXPECT_THAT(Resolve(bindings, "acme/us", kNow), ElementsAre("admin"));
  EXPECT_THAT(Resolve(bindings, "acmex", kNow), IsEmpty());
  EXPECT_THAT(Resolve(bindings, "", kNow), IsEmpty());
}

TEST_F(AnalysisTest, EffectiveRolesSkipUnknownRoleIds) {
  const std::vector<RoleBinding> bindings = {
      {program().role_count(), ""},
      {Role("sales_rep"), ""},
      {-1, ""},
  };
  std::vector<uint64_t> roles(2, ~uint64_t{0});
  EXPECT_FALSE(ResolveEffectiveRoles(program(), bindings, "", kNow,
                                     absl::MakeSpan(roles)));
  EXPECT_THAT(Names(roles), ElementsAre("sales_rep"));
  // Every word is overwritten, including those past the last role.
  EXPECT_EQ(roles[1], 0u);
}

// The evaluator resolves bindings with the same function: a request with
// bindings and one with the roles resolved beforehand decide alike.
TEST_F(AnalysisTest, EvaluatorAgreesWithResolvedRoles) {
  const std::vector<RoleBinding> bindings = {
      {Role("account_manager"), "acme"},
      {Role("admin"), "acme/eu", kNow + absl::Seconds(1)}};
  for (absl::string_view scope : {"", "acme", "acme/eu", "acmex", "acme/us"}) {
    for (absl::Time now : {kNow, kNow + absl::Seconds(1)}) {
      for (absl::string_view action : {"read", "update", "export"}) {
        Request request;
        request.principal_id = "u1";
        request.kind = "customer";
        request.action = action;
        request.scope = scope;
        request.now = now;
        request.bindings = bindings;
        const Decision from_bindings = Evaluate(program(), request);
        std::vector<uint64_t> roles(1);
        ASSERT_TRUE(ResolveEffectiveRoles(program(), bindings, scope, now,
                                          absl::MakeSpan(roles)));
        request.effective_roles = roles;
        const Decision from_roles = Evaluate(program(), request);
        EXPECT_EQ(from_bindings.effect, from_roles.effect)
            << scope << " " << action;
        EXPECT_EQ(from_bindings.reason, from_roles.reason)
            << scope << " " << action;
        EXPECT_EQ(from_bindings.rule_id, from_roles.rule_id)
            << scope << " " << action;
      }
    }
  }
}

TEST_F(AnalysisTest, EvaluatorDeniesUnknownRoleIds) {
  const std::vector<RoleBinding> bindings = {{Role("sales_rep"), ""},
                                             {program().role_count(), ""}};
  Request request;
  request.principal_id = "u1";
  request.kind = "customer";
  request.action = "read";
  request.now = kNow;
  request.bindings = bindings;
  const Decision d = Evaluate(program(), request);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kEvaluationError);
}

}  // namespace
}  // namespace steward::policy
