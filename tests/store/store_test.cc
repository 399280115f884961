// Repository contracts of Store: policy versions, principals, bindings
// (incl. separation of duties and scope overlap) and API keys, each error
// code the header promises, on every engine: a real temp SQLite file and a
// real PostgreSQL database (tests/testing/postgres_cluster.h).
#include "server/store/store.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/scope.h"
#include "tests/store/store_test_util.h"

namespace steward::store {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kPolicy;
using testing::kPolicyV2;
using ::testing::SizeIs;
using testing::Sources;
using testing::StoreFixture;
using testing::StoreTest;

// ---- Policy versions. ----

TEST_P(StoreTest, ApplyPolicyStoresActivatesAndBumpsRevision) {
  EXPECT_EQ(store_->publisher().revision(), 0);
  EXPECT_EQ(store_->publisher().snapshot()->program(), nullptr);
  auto applied =
      store_->policies().ApplyPolicy(Sources(kPolicy), "alice", "first");
  ASSERT_THAT(applied, IsOk());
  EXPECT_EQ(applied->version.version, 1);
  EXPECT_TRUE(applied->version.active);
  EXPECT_EQ(applied->version.sha256.size(), 64u);
  EXPECT_EQ(applied->tests_passed, 2);
  EXPECT_EQ(applied->store_revision, 1);
  EXPECT_EQ(store_->publisher().revision(), 1);
  auto snapshot = store_->publisher().snapshot();
  ASSERT_NE(snapshot->program(), nullptr);
  EXPECT_EQ(snapshot->policy_version(), 1);
  EXPECT_TRUE(snapshot->program()->FindRole("viewer").has_value());

  auto got = store_->policies().GetPolicy(std::nullopt);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->info.version, 1);
  EXPECT_EQ(got->info.author, "alice");
  EXPECT_EQ(got->info.message, "first");
  ASSERT_THAT(got->sources, SizeIs(1));
  EXPECT_EQ(got->sources[0].path, "test.policy");
  EXPECT_EQ(got->sources[0].text, kPolicy);
  // The documented checksum: SHA-256 of the stored source column.
  EXPECT_EQ(testing::RawQueryText(path_, "SELECT sha256 FROM policy_versions"),
            got->info.sha256);
}

TEST_P(StoreTest, ApplyPolicyWithCompileErrorIsInvalidArgument) {
  auto applied = store_->policies().ApplyPolicy(
      Sources("role r {\n  allow read on nothing\n}\n", "bad.policy"), "alice",
      "");
  EXPECT_THAT(applied, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("bad.policy:2:")));
  EXPECT_EQ(store_->publisher().revision(), 0);
  EXPECT_THAT(store_->policies().ListPolicyVersions(),
              testing::IsOkAndHolds(SizeIs(0)));
}

TEST_P(StoreTest, ApplyPolicyWithFailingTestIsFailedPrecondition) {
  std::string text = kPolicy;
  text += R"(
test "wrong on purpose" {
  given principal "u2" roles { viewer }
  expect allow update on customer "c1"
}
)";
  auto applied =
      store_->policies().ApplyPolicy(Sources(text.c_str()), "alice", "");
  EXPECT_THAT(applied, StatusIs(absl::StatusCode::kFailedPrecondition,
                                AllOf(HasSubstr("expected allow"),
                                      HasSubstr("1 failed"))));
  EXPECT_EQ(store_->publisher().revision(), 0);
}

TEST_P(StoreTest, ApplyPolicyArgumentChecks) {
  EXPECT_THAT(store_->policies().ApplyPolicy({}, "alice", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->policies().ApplyPolicy(Sources(kPolicy), "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreTest, ValidatePolicyStoresNothing) {
  policy::CompileResult result =
      store_->policies().ValidatePolicy(Sources(kPolicy));
  EXPECT_TRUE(result.ok());
  policy::CompileResult bad =
      store_->policies().ValidatePolicy(Sources("role {"));
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(bad.diagnostics.empty());
  EXPECT_EQ(store_->publisher().revision(), 0);
}

TEST_P(StoreTest, ActivateRollsBackAndForward) {
  ApplyTestPolicy();
  ASSERT_THAT(store_->policies().ApplyPolicy(Sources(kPolicyV2), "bob", "v2"),
              IsOk());
  EXPECT_EQ(store_->publisher().snapshot()->policy_version(), 2);
  EXPECT_FALSE(store_->publisher()
                   .snapshot()
                   ->program()
                   ->FindRole("regional")
                   .has_value());

  auto revision = store_->policies().ActivatePolicyVersion(1);
  ASSERT_THAT(revision, IsOk());
  EXPECT_EQ(store_->publisher().snapshot()->policy_version(), 1);
  EXPECT_TRUE(store_->publisher()
                  .snapshot()
                  ->program()
                  ->FindRole("regional")
                  .has_value());
  auto versions = store_->policies().ListPolicyVersions();
  ASSERT_THAT(versions, IsOk());
  ASSERT_THAT(*versions, SizeIs(2));
  EXPECT_EQ((*versions)[0].version, 2);
  EXPECT_FALSE((*versions)[0].active);
  EXPECT_TRUE((*versions)[1].active);

  // Activating the active version is a no-op.
  const int64_t before = store_->publisher().revision();
  EXPECT_THAT(store_->policies().ActivatePolicyVersion(1),
              testing::IsOkAndHolds(before));
  EXPECT_EQ(store_->publisher().revision(), before);

  EXPECT_THAT(store_->policies().ActivatePolicyVersion(2), IsOk());
  EXPECT_EQ(store_->publisher().snapshot()->policy_version(), 2);
  EXPECT_THAT(store_->policies().ActivatePolicyVersion(7),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->policies().GetPolicy(7),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreTest, GetActivePolicyWithoutAnyIsNotFound) {
  EXPECT_THAT(store_->policies().GetPolicy(std::nullopt),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreTest, ActivePolicySurvivesReopen) {
  ApplyTestPolicy();
  ASSERT_THAT(store_->policies().ApplyPolicy(Sources(kPolicyV2), "bob", "v2"),
              IsOk());
  ASSERT_THAT(store_->policies().ActivatePolicyVersion(1), IsOk());
  const int64_t revision = store_->publisher().revision();
  ASSERT_THAT(Reopen(), IsOk());
  EXPECT_EQ(store_->publisher().snapshot()->policy_version(), 1);
  EXPECT_EQ(store_->publisher().revision(), revision);
}

TEST_P(StoreTest, PolicyChangeKeepsMismatchedAttributesOutOfSnapshot) {
  ApplyTestPolicy();
  AddPrincipal("u1", {{"region", policy::OwnedValue::String("eu")},
                      {"teams", policy::OwnedValue::StringSet({"b", "a"})},
                      {"level", policy::OwnedValue::Int(3)}});
  ASSERT_THAT(GrantRole("u1", "regional"), IsOk());
  ASSERT_THAT(GrantRole("u1", "viewer"), IsOk());
  ASSERT_THAT(store_->policies().ApplyPolicy(Sources(kPolicyV2), "bob", "v2"),
              IsOk());
  auto snapshot = store_->publisher().snapshot();
  const PrincipalEntry* entry = snapshot->FindPrincipal("u1");
  ASSERT_NE(entry, nullptr);
  // region is now an int (stored string dropped), level undeclared,
  // teams kept; the `regional` binding is skipped, `viewer` kept.
  const policy::Program& program = *snapshot->program();
  const int region = *program.FindPrincipalAttribute("region");
  const int teams = *program.FindPrincipalAttribute("teams");
  auto attrs = entry->attributes();
  EXPECT_TRUE(region >= static_cast<int>(attrs.size()) ||
              !attrs[region].present());
  ASSERT_GT(static_cast<int>(attrs.size()), teams);
  ASSERT_TRUE(attrs[teams].present());
  EXPECT_THAT(attrs[teams].set_value(), ElementsAre("a", "b"));
  ASSERT_THAT(entry->bindings(), SizeIs(1));
  EXPECT_EQ(program.role_name(entry->bindings()[0].role), "viewer");
  // Stored data is untouched: rolling back restores everything.
  auto principal = store_->principals().GetPrincipal("u1");
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->attributes.size(), 3u);
  ASSERT_THAT(store_->policies().ActivatePolicyVersion(1), IsOk());
  entry = store_->publisher().snapshot()->FindPrincipal("u1");
  ASSERT_NE(entry, nullptr);
  EXPECT_THAT(entry->bindings(), SizeIs(2));
}

// ---- Principals. ----

TEST_P(StoreTest, UpsertCreatesThenReplaces) {
  ApplyTestPolicy();
  auto created = store_->principals().UpsertPrincipal(
      "u1", "User One",
      {{"region", policy::OwnedValue::String("eu")},
       {"vip", policy::OwnedValue::Bool(true)}});
  ASSERT_THAT(created, IsOk());
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->principal.display_name, "User One");
  EXPECT_EQ(created->store_revision, 2);
  clock_.Advance(absl::Minutes(1));
  auto updated = store_->principals().UpsertPrincipal(
      "u1", "User 1", {{"level", policy::OwnedValue::Int(5)}});
  ASSERT_THAT(updated, IsOk());
  EXPECT_FALSE(updated->created);
  EXPECT_EQ(updated->principal.created_at, created->principal.created_at);
  EXPECT_EQ(updated->principal.updated_at, clock_.Now());
  auto got = store_->principals().GetPrincipal("u1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->display_name, "User 1");
  ASSERT_EQ(got->attributes.size(), 1u);
  EXPECT_EQ(got->attributes.at("level").view().int_value(), 5);
}

TEST_P(StoreTest, UpsertValidatesAttributesAgainstActivePolicy) {
  EXPECT_THAT(store_->principals().UpsertPrincipal(
                  "u1", "", {{"region", policy::OwnedValue::String("eu")}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Without attributes a principal can exist before any policy.
  EXPECT_THAT(store_->principals().UpsertPrincipal("u0", "", {}), IsOk());
  ApplyTestPolicy();
  EXPECT_THAT(
      store_->principals().UpsertPrincipal(
          "u1", "", {{"shoe_size", policy::OwnedValue::Int(42)}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"shoe_size\"")));
  EXPECT_THAT(store_->principals().UpsertPrincipal(
                  "u1", "", {{"region", policy::OwnedValue::Int(42)}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("\"region\""), HasSubstr("string"))));
  EXPECT_THAT(
      store_->principals().UpsertPrincipal(
          "u1", "", {{"teams", policy::OwnedValue::String("x")}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("set<string>")));
  EXPECT_THAT(store_->principals().GetPrincipal("u1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreTest, UpsertRejectsBadIds) {
  ApplyTestPolicy();
  EXPECT_THAT(store_->principals().UpsertPrincipal("", "", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      store_->principals().UpsertPrincipal(std::string(257, 'a'), "", {}),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->principals().UpsertPrincipal("a\nb", "", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      store_->principals().UpsertPrincipal("ok", std::string(2000, 'n'), {}),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_->publisher().revision(), 1);
}

TEST_P(StoreTest, ListPrincipalsPagesByKeyset) {
  ApplyTestPolicy();
  for (int i = 0; i < 25; ++i) AddPrincipal(absl::StrCat("p", 100 + i));
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = store_->principals().ListPrincipals(10, token);
    ASSERT_THAT(page, IsOk());
    for (const Principal& p : page->principals) seen.push_back(p.id);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_THAT(store_->principals().ListPrincipals(10, "%%%"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreTest, DisableAndDelete) {
  ApplyTestPolicy();
  AddPrincipal("u1");
  ASSERT_THAT(GrantRole("u1", "viewer"), IsOk());
  ASSERT_THAT(store_->principals().SetPrincipalDisabled("u1", true), IsOk());
  EXPECT_TRUE(store_->principals().GetPrincipal("u1")->disabled);
  EXPECT_TRUE(store_->publisher().snapshot()->FindPrincipal("u1")->disabled());
  ASSERT_THAT(store_->principals().SetPrincipalDisabled("u1", false), IsOk());
  EXPECT_FALSE(store_->publisher().snapshot()->FindPrincipal("u1")->disabled());
  EXPECT_THAT(store_->principals().SetPrincipalDisabled("nobody", true),
              StatusIs(absl::StatusCode::kNotFound));

  const int64_t before = store_->publisher().revision();
  auto deleted = store_->principals().DeletePrincipal("u1");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, before + 1);
  EXPECT_THAT(store_->principals().GetPrincipal("u1"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->publisher().snapshot()->FindPrincipal("u1"), nullptr);
  auto bindings = store_->principals().ListBindings({"u1", ""}, 0, "");
  ASSERT_THAT(bindings, IsOk());
  EXPECT_THAT(bindings->bindings, SizeIs(0));
  EXPECT_THAT(store_->principals().DeletePrincipal("u1"),
              StatusIs(absl::StatusCode::kNotFound));
}

// ---- Bindings. ----

TEST_P(StoreTest, GrantErrors) {
  ApplyTestPolicy();
  EXPECT_THAT(GrantRole("ghost", "viewer"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ghost")));
  AddPrincipal("u1");
  EXPECT_THAT(
      GrantRole("u1", "wizard"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"wizard\"")));
  EXPECT_THAT(GrantRole("u1", "viewer", "/bad"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GrantRole("u1", "viewer", "", clock_.Now()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not in the future")));
  EXPECT_THAT(GrantRole("u1", "viewer", "", clock_.Now() - absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  GrantRequest no_granter;
  no_granter.principal = "u1";
  no_granter.role = "viewer";
  EXPECT_THAT(store_->principals().Grant(no_granter),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(GrantRole("u1", "viewer", "acme"), IsOk());
  EXPECT_THAT(GrantRole("u1", "viewer", "acme"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // Same role in another scope is a different binding.
  EXPECT_THAT(GrantRole("u1", "viewer", "acme/eu"), IsOk());
}

TEST_P(StoreTest, GrantWithoutPolicyIsFailedPrecondition) {
  ASSERT_THAT(store_->principals().UpsertPrincipal("u1", "", {}), IsOk());
  EXPECT_THAT(GrantRole("u1", "viewer"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(StoreTest, GrantRecordsEverythingAndRevokes) {
  ApplyTestPolicy();
  AddPrincipal("u1");
  const absl::Time expires = clock_.Now() + absl::Hours(24);
  auto granted = GrantRole("u1", "editor", "acme/eu", expires);
  ASSERT_THAT(granted, IsOk());
  EXPECT_EQ(granted->binding.granted_at, clock_.Now());
  auto page = store_->principals().ListBindings({"u1", ""}, 0, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->bindings, SizeIs(1));
  const Binding& b = page->bindings[0];
  EXPECT_EQ(b.role, "editor");
  EXPECT_EQ(b.scope, "acme/eu");
  EXPECT_EQ(b.granted_by, "admin-key");
  EXPECT_EQ(b.reason, "test");
  EXPECT_EQ(b.expires_at, expires);
  EXPECT_EQ(b.granted_at, clock_.Now());

  EXPECT_THAT(store_->principals().Revoke("u1", "editor", "acme"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(store_->principals().Revoke("u1", "editor", "acme/eu"), IsOk());
  EXPECT_THAT(store_->principals().Revoke("u1", "editor", "acme/eu"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->publisher().snapshot()->FindPrincipal("u1")->bindings(),
              SizeIs(0));
}

TEST_P(StoreTest, ListBindingsFiltersAndPages) {
  ApplyTestPolicy();
  for (const char* p : {"a", "b", "c"}) {
    AddPrincipal(p);
    ASSERT_THAT(GrantRole(p, "viewer"), IsOk());
    ASSERT_THAT(GrantRole(p, "editor", "s1"), IsOk());
    ASSERT_THAT(GrantRole(p, "editor", "s2"), IsOk());
  }
  auto by_role = store_->principals().ListBindings({"", "editor"}, 0, "");
  ASSERT_THAT(by_role, IsOk());
  EXPECT_THAT(by_role->bindings, SizeIs(6));
  auto by_both = store_->principals().ListBindings({"b", "editor"}, 0, "");
  ASSERT_THAT(by_both, IsOk());
  EXPECT_THAT(by_both->bindings, SizeIs(2));

  std::vector<std::string> keys;
  std::string token;
  do {
    auto page = store_->principals().ListBindings({}, 4, token);
    ASSERT_THAT(page, IsOk());
    for (const Binding& b : page->bindings) {
      keys.push_back(absl::StrCat(b.principal, "/", b.role, "/", b.scope));
    }
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(keys.size(), 9u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

// Separation of duties, directly, through `extends`, and by scope overlap.
struct SodCase {
  const char* name;
  const char* held_role;
  const char* held_scope;
  const char* new_role;
  const char* new_scope;
  bool refused;
};
void PrintTo(const SodCase& c, std::ostream* os) { *os << c.name; }

class SeparationTest : public StoreFixture,
                       public ::testing::WithParamInterface<SodCase> {};

TEST_P(SeparationTest, Grant) {
  ApplyTestPolicy();
  AddPrincipal("u1");
  const SodCase& c = GetParam();
  ASSERT_THAT(GrantRole("u1", c.held_role, c.held_scope), IsOk());
  auto result = GrantRole("u1", c.new_role, c.new_scope);
  if (c.refused) {
    EXPECT_THAT(result,
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(c.held_role), HasSubstr(c.new_role),
                               HasSubstr("separation of duties"))));
  } else {
    EXPECT_THAT(result, IsOk());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SeparationTest,
    ::testing::Values(SodCase{"GlobalBoth", "finance_clerk", "",
                              "finance_approver", "", true},
                      SodCase{"SameScope", "finance_clerk", "acme",
                              "finance_approver", "acme", true},
                      SodCase{"HeldGlobal", "finance_clerk", "",
                              "finance_approver", "acme/eu", true},
                      SodCase{"NewGlobal", "finance_clerk", "acme/eu",
                              "finance_approver", "", true},
                      SodCase{"AncestorScope", "finance_clerk", "acme",
                              "finance_approver", "acme/eu", true},
                      SodCase{"DescendantScope", "finance_clerk", "acme/eu/fr",
                              "finance_approver", "acme", true},
                      SodCase{"SiblingScopes", "finance_clerk", "acme/eu",
                              "finance_approver", "acme/us", false},
                      SodCase{"PrefixNotAncestor", "finance_clerk", "acme",
                              "finance_approver", "acmex", false},
                      SodCase{"ThroughExtends", "senior_clerk", "acme",
                              "finance_approver", "acme", true},
                      SodCase{"ThroughExtendsReverse", "finance_approver", "",
                              "senior_clerk", "", true},
                      SodCase{"UnrelatedRoles", "finance_clerk", "", "viewer",
                              "", false},
                      SodCase{"SameRoleOtherScope", "finance_clerk", "a",
                              "finance_clerk", "a/b", false}),
    [](const ::testing::TestParamInfo<SodCase>& info) {
      return std::string(info.param.name);
    });

TEST_P(StoreTest, ExpiredBindingDoesNotBlockSeparatedGrant) {
  ApplyTestPolicy();
  AddPrincipal("u1");
  ASSERT_THAT(
      GrantRole("u1", "finance_clerk", "", clock_.Now() + absl::Hours(1)),
      IsOk());
  EXPECT_THAT(GrantRole("u1", "finance_approver"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  clock_.Advance(absl::Hours(2));
  EXPECT_THAT(GrantRole("u1", "finance_approver"), IsOk());
}

TEST(ScopeTest, CoversAndOverlaps) {
  EXPECT_TRUE(ScopeCovers("", "anything"));
  EXPECT_TRUE(ScopeCovers("acme", "acme"));
  EXPECT_TRUE(ScopeCovers("acme", "acme/eu"));
  EXPECT_FALSE(ScopeCovers("acme", "acmex"));
  EXPECT_FALSE(ScopeCovers("acme/eu", "acme"));
  EXPECT_FALSE(ScopeCovers("acme", ""));
  EXPECT_TRUE(ScopesOverlap("acme/eu", "acme"));
  EXPECT_TRUE(ScopesOverlap("", "acme"));
  EXPECT_FALSE(ScopesOverlap("acme/eu", "acme/us"));
  EXPECT_TRUE(ValidateScope("").ok());
  EXPECT_TRUE(ValidateScope("acme/eu-1/x_y.z:w@v").ok());
  for (const char* bad : {"/a", "a/", "a//b", "a b", "ü", "a/\n"}) {
    EXPECT_FALSE(ValidateScope(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateScope(std::string(257, 'a')).ok());
}

// ---- API keys. ----

TEST_P(StoreTest, ApiKeyLifecycle) {
  EXPECT_THAT(store_->keys().HasAnyAdminKey(), testing::IsOkAndHolds(false));
  auto admin = store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init");
  ASSERT_THAT(admin, IsOk());
  EXPECT_TRUE(absl::StartsWith(admin->key, "stw_"));
  EXPECT_EQ(admin->key.size(), 4u + 43u);
  EXPECT_EQ(admin->totp_secret.size(), 32u);
  EXPECT_THAT(store_->keys().HasAnyAdminKey(), testing::IsOkAndHolds(true));
  auto client = store_->keys().CreateApiKey("ci", ServiceRole::kClient, "root");
  ASSERT_THAT(client, IsOk());
  EXPECT_TRUE(client->totp_secret.empty());
  EXPECT_NE(client->key, admin->key);

  // Only the hash is stored (in SQL both engines accept: LIKE's `_` makes
  // the pattern broader than the key prefix, never narrower).
  EXPECT_EQ(testing::RawQueryText(path_,
                                  "SELECT count(*) FROM api_keys WHERE "
                                  "CAST(key_hash AS TEXT) LIKE '%stw_%'"),
            "0");
  EXPECT_EQ(testing::RawQueryText(
                path_, "SELECT length(key_hash) FROM api_keys LIMIT 1"),
            "32");

  auto auth = store_->keys().AuthenticateApiKey(admin->key);
  ASSERT_THAT(auth, IsOk());
  EXPECT_EQ(auth->name, "root");
  EXPECT_EQ(auth->role, ServiceRole::kAdmin);
  EXPECT_EQ(auth->totp_secret, admin->totp_secret);
  EXPECT_FALSE(auth->revoked);
  EXPECT_THAT(store_->keys().AuthenticateApiKey("stw_nope"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->keys().AuthenticateApiKey(""),
              StatusIs(absl::StatusCode::kUnauthenticated));

  EXPECT_THAT(store_->keys().CreateApiKey("ci", ServiceRole::kAuditor, "root"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(
      store_->keys().CreateApiKey("bad name", ServiceRole::kAuditor, "root"),
      StatusIs(absl::StatusCode::kInvalidArgument));

  ASSERT_THAT(store_->keys().RevokeApiKey("ci"), IsOk());
  EXPECT_THAT(store_->keys().RevokeApiKey("ci"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->keys().RevokeApiKey("nobody"),
              StatusIs(absl::StatusCode::kNotFound));
  auto revoked = store_->keys().AuthenticateApiKey(client->key);
  ASSERT_THAT(revoked, IsOk());
  EXPECT_TRUE(revoked->revoked);
  // Names are never reused.
  EXPECT_THAT(store_->keys().CreateApiKey("ci", ServiceRole::kClient, "root"),
              StatusIs(absl::StatusCode::kAlreadyExists));

  auto keys = store_->keys().ListApiKeys();
  ASSERT_THAT(keys, IsOk());
  ASSERT_THAT(*keys, SizeIs(2));
  EXPECT_EQ((*keys)[0].name, "ci");
  EXPECT_TRUE((*keys)[0].revoked_at.has_value());
  EXPECT_EQ((*keys)[1].role, ServiceRole::kAdmin);

  // Keys survive a reopen (the in-memory index is rebuilt).
  ASSERT_THAT(Reopen(), IsOk());
  EXPECT_THAT(store_->keys().AuthenticateApiKey(admin->key), IsOk());
}

TEST_P(StoreTest, TotpStepsAreSingleUse) {
  auto admin = store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init");
  ASSERT_THAT(admin, IsOk());
  ASSERT_THAT(store_->keys().CreateApiKey("ci", ServiceRole::kClient, "root"),
              IsOk());
  EXPECT_THAT(store_->keys().RecordTotpStep("root", 1000), IsOk());
  EXPECT_THAT(store_->keys().RecordTotpStep("root", 1000),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already used")));
  EXPECT_THAT(store_->keys().RecordTotpStep("root", 999),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->keys().RecordTotpStep("root", 1001), IsOk());
  EXPECT_THAT(store_->keys().RecordTotpStep("ci", 5000),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->keys().RecordTotpStep("nobody", 5000),
              StatusIs(absl::StatusCode::kNotFound));
  const int64_t revision = store_->publisher().revision();
  ASSERT_THAT(store_->keys().RevokeApiKey("root"), IsOk());
  EXPECT_THAT(
      store_->keys().RecordTotpStep("root", 2000),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("revoked")));
  EXPECT_EQ(store_->publisher().revision(), revision + 1);
}

// ---- Second-factor failures and lockout. ----

// Three failures within a minute lock for 30 s in these tests.
SecondFactorLimits TestLimits() {
  SecondFactorLimits limits;
  limits.max_failures = 3;
  limits.failure_window = absl::Seconds(60);
  limits.lockout = absl::Seconds(30);
  return limits;
}

TEST_P(StoreTest, SecondFactorFailuresCountWithinTheWindowThenLock) {
  ASSERT_THAT(store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init"),
              IsOk());
  const int64_t revision = store_->publisher().revision();
  const absl::Time t0 = clock_.Now();
  KeyRepository& keys = store_->keys();
  EXPECT_THAT(keys.SecondFactorLockedUntil("root"),
              testing::IsOkAndHolds(std::optional<absl::Time>()));

  auto first = keys.RecordSecondFactorFailure("root", t0, TestLimits());
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->failures, 1);
  EXPECT_EQ(first->window_start, t0);
  EXPECT_EQ(first->locked_until, std::nullopt);
  auto second = keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(10),
                                               TestLimits());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->failures, 2);
  EXPECT_EQ(second->window_start, t0);
  EXPECT_EQ(second->locked_until, std::nullopt);
  EXPECT_THAT(keys.SecondFactorLockedUntil("root"),
              testing::IsOkAndHolds(std::optional<absl::Time>()));

  auto third = keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(50),
                                              TestLimits());
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->failures, 3);
  EXPECT_EQ(third->window_start, t0);
  EXPECT_EQ(third->locked_until, t0 + absl::Seconds(80));
  EXPECT_THAT(
      keys.SecondFactorLockedUntil("root"),
      testing::IsOkAndHolds(std::optional<absl::Time>(t0 + absl::Seconds(80))));
  // A further failure in the window (its very end still counts) extends
  // the lockout from its own time.
  auto fourth = keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(60),
                                               TestLimits());
  ASSERT_THAT(fourth, IsOk());
  EXPECT_EQ(fourth->failures, 4);
  EXPECT_EQ(fourth->locked_until, t0 + absl::Seconds(90));
  // Counting is not an admin change.
  EXPECT_EQ(store_->publisher().revision(), revision);
  // Kept in the store: a restart does not lift the lockout.
  ASSERT_THAT(Reopen(), IsOk());
  EXPECT_THAT(
      store_->keys().SecondFactorLockedUntil("root"),
      testing::IsOkAndHolds(std::optional<absl::Time>(t0 + absl::Seconds(90))));
}

TEST_P(StoreTest, SecondFactorWindowExpiryStartsANewCount) {
  ASSERT_THAT(store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init"),
              IsOk());
  KeyRepository& keys = store_->keys();
  const absl::Time t0 = clock_.Now();
  ASSERT_THAT(keys.RecordSecondFactorFailure("root", t0, TestLimits()), IsOk());
  ASSERT_THAT(keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(30),
                                             TestLimits()),
              IsOk());
  // 60 s after the window's FIRST failure (not its last) it is over.
  const absl::Time later = t0 + absl::Seconds(60) + absl::Microseconds(1);
  auto fresh = keys.RecordSecondFactorFailure("root", later, TestLimits());
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(fresh->failures, 1);
  EXPECT_EQ(fresh->window_start, later);
  EXPECT_EQ(fresh->locked_until, std::nullopt);
  EXPECT_THAT(keys.SecondFactorLockedUntil("root"),
              testing::IsOkAndHolds(std::optional<absl::Time>()));
}

TEST_P(StoreTest, SecondFactorLockoutExpires) {
  ASSERT_THAT(store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init"),
              IsOk());
  KeyRepository& keys = store_->keys();
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(keys.RecordSecondFactorFailure("root", t0, TestLimits()),
                IsOk());
  }
  ASSERT_THAT(
      keys.SecondFactorLockedUntil("root"),
      testing::IsOkAndHolds(std::optional<absl::Time>(t0 + absl::Seconds(30))));
  // After the lockout but within the window, the count goes on: one more
  // failure locks again at once (the authenticator's semantics since the
  // count was in memory).
  auto relock = keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(40),
                                               TestLimits());
  ASSERT_THAT(relock, IsOk());
  EXPECT_EQ(relock->failures, 4);
  EXPECT_EQ(relock->locked_until, t0 + absl::Seconds(70));
  // Past the window, a failure starts a new count and leaves the old,
  // expired lockout as it was: the key is usable.
  auto fresh = keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(80),
                                              TestLimits());
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(fresh->failures, 1);
  EXPECT_EQ(fresh->locked_until, t0 + absl::Seconds(70));
  auto locked_until = keys.SecondFactorLockedUntil("root");
  ASSERT_THAT(locked_until, IsOk());
  ASSERT_TRUE(locked_until->has_value());
  EXPECT_LT(**locked_until, t0 + absl::Seconds(80));
}

TEST_P(StoreTest, SecondFactorSuccessDoesNotResetTheCount) {
  ASSERT_THAT(store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init"),
              IsOk());
  KeyRepository& keys = store_->keys();
  const absl::Time t0 = clock_.Now();
  ASSERT_THAT(keys.RecordSecondFactorFailure("root", t0, TestLimits()), IsOk());
  ASSERT_THAT(keys.RecordSecondFactorFailure("root", t0, TestLimits()), IsOk());
  ASSERT_THAT(keys.RecordTotpStep("root", 1000), IsOk());
  auto third = keys.RecordSecondFactorFailure("root", t0 + absl::Seconds(1),
                                              TestLimits());
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->failures, 3);
  EXPECT_EQ(third->locked_until, t0 + absl::Seconds(31));
}

TEST_P(StoreTest, SecondFactorFailureArgumentsAndUnknownKeys) {
  ASSERT_THAT(store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init"),
              IsOk());
  KeyRepository& keys = store_->keys();
  const absl::Time now = clock_.Now();
  EXPECT_THAT(keys.RecordSecondFactorFailure("nobody", now, TestLimits()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
  EXPECT_THAT(keys.SecondFactorLockedUntil("nobody"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
  SecondFactorLimits limits = TestLimits();
  limits.max_failures = 0;
  EXPECT_THAT(
      keys.RecordSecondFactorFailure("root", now, limits),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_failures")));
  limits = TestLimits();
  limits.failure_window = -absl::Seconds(1);
  EXPECT_THAT(keys.RecordSecondFactorFailure("root", now, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("failure window")));
  limits = TestLimits();
  limits.lockout = absl::InfiniteDuration();
  EXPECT_THAT(
      keys.RecordSecondFactorFailure("root", now, limits),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lockout")));
  // Refused arguments counted nothing.
  EXPECT_EQ(
      testing::RawQueryText(
          path_, "SELECT totp_failures FROM api_keys WHERE name = 'root'"),
      "0");
}

// Two stores on one database (two connections: on PostgreSQL what two
// replicas are), two threads: every failure is counted once, and no two
// see the same count (no read-modify-write between them).
TEST_P(StoreTest, ConcurrentSecondFactorFailuresAreAllCounted) {
  ASSERT_THAT(store_->keys().CreateApiKey("root", ServiceRole::kAdmin, "init"),
              IsOk());
  Store::Options options;
  absl::StatusOr<std::unique_ptr<Store>> other =
      OpenStore(path_, clock_, options);
  ASSERT_THAT(other, IsOk());
  SecondFactorLimits limits;
  limits.max_failures = 1000;
  limits.failure_window = absl::Hours(1);
  limits.lockout = absl::Minutes(1);
  constexpr int kPerThread = 100;
  std::vector<int> seen[2];
  absl::Status errors[2];
  const absl::Time now = clock_.Now();
  auto run = [&](KeyRepository* keys, int index) {
    for (int i = 0; i < kPerThread; ++i) {
      auto counted = keys->RecordSecondFactorFailure("root", now, limits);
      if (!counted.ok()) {
        errors[index] = counted.status();
        return;
      }
      seen[index].push_back(counted->failures);
    }
  };
  std::thread a(run, &store_->keys(), 0);
  std::thread b(run, &(*other)->keys(), 1);
  a.join();
  b.join();
  ASSERT_THAT(errors[0], IsOk());
  ASSERT_THAT(errors[1], IsOk());
  std::vector<int> all = seen[0];
  all.insert(all.end(), seen[1].begin(), seen[1].end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(2 * kPerThread);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(all, expected);
  EXPECT_EQ(
      testing::RawQueryText(
          path_, "SELECT totp_failures FROM api_keys WHERE name = 'root'"),
      std::to_string(2 * kPerThread));
}

TEST_P(StoreTest, EveryMutationBumpsRevisionExactlyOnce) {
  int64_t expected = 0;
  auto step = [&](absl::Status s) {
    ASSERT_THAT(s, IsOk());
    ++expected;
    EXPECT_EQ(store_->publisher().revision(), expected);
    EXPECT_EQ(store_->publisher().snapshot()->store_revision(), expected);
    EXPECT_EQ(testing::RawQueryText(path_, "SELECT revision FROM store_meta"),
              std::to_string(expected));
  };
  step(store_->policies().ApplyPolicy(Sources(kPolicy), "a", "").status());
  step(store_->principals().UpsertPrincipal("u1", "", {}).status());
  step(GrantRole("u1", "viewer").status());
  step(store_->principals().SetPrincipalDisabled("u1", true).status());
  step(store_->principals().Revoke("u1", "viewer", "").status());
  step(store_->keys().CreateApiKey("k", ServiceRole::kClient, "a").status());
  step(store_->keys().RevokeApiKey("k").status());
  step(store_->policies().ApplyPolicy(Sources(kPolicyV2), "a", "").status());
  step(store_->policies().ActivatePolicyVersion(1).status());
  step(store_->principals().DeletePrincipal("u1").status());
  // Failed mutations change nothing.
  EXPECT_FALSE(store_->principals().DeletePrincipal("u1").ok());
  EXPECT_EQ(store_->publisher().revision(), expected);
}

TEST(AttributesTest, JsonRoundTripAndErrors) {
  auto parsed =
      ParseAttributesJson(R"({"b":true,"a":"x","n":-5,"s":["z","y","z"]})");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(AttributesToJson(*parsed),
            R"({"a":"x","b":true,"n":-5,"s":["y","z"]})");
  for (const char* bad :
       {"[1]", "{", R"({"f":1.5})", R"({"o":{}})", R"({"n":null})",
        R"({"l":[1]})", R"({"big":18446744073709551615})"}) {
    EXPECT_THAT(ParseAttributesJson(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

// Every engine the store has. A new engine is one more value here.
INSTANTIATE_TEST_SUITE_P(Engines, StoreTest,
                         ::testing::Values(testing::SqliteEngine(),
                                           testing::PostgresqlEngine()),
                         testing::EngineName);

}  // namespace
}  // namespace steward::store
