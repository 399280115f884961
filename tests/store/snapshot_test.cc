// Snapshots: evaluation through policy::Evaluate with snapshot entries
// (scope ancestry, expiry by injected clock, disabled and unknown
// principals, principal attributes), incremental updates sharing unchanged
// entries, equality with a full reload, and atomic swap under concurrent
// readers.
#include "server/store/snapshot.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/evaluator.h"
#include "tests/store/store_test_util.h"

namespace steward::store {
namespace {

using ::steward::testing::IsOk;
using ::testing::SizeIs;
using testing::StoreTest;

class SnapshotTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ApplyTestPolicy();
  }

  // Evaluates ACTION on a customer in `scope` for `principal` against the
  // store's current snapshot at the fake clock's time.
  policy::Decision Check(const std::string& principal,
                         const std::string& action,
                         const std::string& scope = "",
                         const std::string& region = "") {
    std::shared_ptr<const Snapshot> snapshot = store_->snapshot();
    policy::Request request;
    snapshot->FillRequest(principal, request);
    request.action = action;
    request.kind = "customer";
    request.resource_id = "c1";
    request.scope = scope;
    policy::NamedValue attrs[] = {{"region", policy::Value::String(region)}};
    if (!region.empty()) request.resource_attributes = attrs;
    request.now = clock_.Now();
    return policy::Evaluate(*snapshot->program(), request);
  }
};

TEST_F(SnapshotTest, ScopeAncestry) {
  AddPrincipal("u1");
  ASSERT_THAT(GrantRole("u1", "editor", "acme"), IsOk());
  EXPECT_TRUE(Check("u1", "update", "acme").allowed());
  EXPECT_TRUE(Check("u1", "update", "acme/eu").allowed());
  EXPECT_TRUE(Check("u1", "read", "acme/eu/fr").allowed());  // via extends
  EXPECT_FALSE(Check("u1", "update", "acmex").allowed());
  EXPECT_FALSE(Check("u1", "update", "").allowed());
  EXPECT_EQ(Check("u1", "update", "other").reason,
            policy::Reason::kNoMatchingRule);
}

TEST_F(SnapshotTest, ExpiryUsesRequestTimeWithoutRebuild) {
  AddPrincipal("u1");
  ASSERT_THAT(GrantRole("u1", "viewer", "", clock_.Now() + absl::Hours(1)),
              IsOk());
  const std::shared_ptr<const Snapshot> before = store_->snapshot();
  EXPECT_TRUE(Check("u1", "read").allowed());
  clock_.Advance(absl::Minutes(59));
  EXPECT_TRUE(Check("u1", "read").allowed());
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(Check("u1", "read").allowed());
  // Same snapshot object: expiry needed no rebuild.
  EXPECT_EQ(store_->snapshot(), before);
}

TEST_F(SnapshotTest, DisabledAndUnknownPrincipals) {
  AddPrincipal("u1");
  ASSERT_THAT(GrantRole("u1", "viewer"), IsOk());
  EXPECT_TRUE(Check("u1", "read").allowed());
  ASSERT_THAT(store_->SetPrincipalDisabled("u1", true), IsOk());
  EXPECT_EQ(Check("u1", "read").reason, policy::Reason::kPrincipalDisabled);
  ASSERT_THAT(store_->SetPrincipalDisabled("u1", false), IsOk());
  EXPECT_TRUE(Check("u1", "read").allowed());
  EXPECT_EQ(Check("nobody", "read").reason, policy::Reason::kUnknownPrincipal);
  ASSERT_THAT(store_->DeletePrincipal("u1"), IsOk());
  EXPECT_EQ(Check("u1", "read").reason, policy::Reason::kUnknownPrincipal);
}

TEST_F(SnapshotTest, PrincipalAttributesReachConditions) {
  AddPrincipal("u1", {{"region", std::string("eu")}});
  ASSERT_THAT(GrantRole("u1", "regional"), IsOk());
  EXPECT_TRUE(Check("u1", "update", "", "eu").allowed());
  EXPECT_FALSE(Check("u1", "update", "", "us").allowed());
  // Attribute change is visible after the upsert commits.
  AddPrincipal("u1", {{"region", std::string("us")}});
  EXPECT_TRUE(Check("u1", "update", "", "us").allowed());
  // Absent attribute: unknown, so the allow does not match.
  AddPrincipal("u1", {});
  EXPECT_FALSE(Check("u1", "update", "", "us").allowed());
}

TEST_F(SnapshotTest, IncrementalUpdateSharesUnchangedEntries) {
  AddPrincipal("u1");
  AddPrincipal("u2");
  const std::shared_ptr<const Snapshot> s1 = store_->snapshot();
  const PrincipalEntry* u1 = s1->FindPrincipal("u1");
  ASSERT_THAT(GrantRole("u2", "viewer"), IsOk());
  const std::shared_ptr<const Snapshot> s2 = store_->snapshot();
  EXPECT_NE(s1, s2);
  EXPECT_EQ(s2->FindPrincipal("u1"), u1);  // shared, not copied
  EXPECT_THAT(s2->FindPrincipal("u2")->bindings(), SizeIs(1));
  // The old snapshot is immutable.
  EXPECT_THAT(s1->FindPrincipal("u2")->bindings(), SizeIs(0));
  EXPECT_EQ(s1->principal_count(), 2u);
  EXPECT_EQ(s2->store_revision(), s1->store_revision() + 1);
}

TEST_F(SnapshotTest, IncrementalEqualsFullReload) {
  const char* roles[] = {"viewer", "editor", "regional", "finance_clerk"};
  for (int i = 0; i < 40; ++i) {
    const std::string id = absl::StrCat("p", i % 13);
    AddPrincipal(id, {{"level", int64_t{i}}});
    (void)GrantRole(id, roles[i % 4], i % 3 == 0 ? "" : "acme");
    if (i % 5 == 0) (void)store_->Revoke(id, roles[(i + 1) % 4], "acme");
    if (i % 7 == 0) {
      ASSERT_THAT(store_->SetPrincipalDisabled(id, true), IsOk());
    }
    if (i % 11 == 0) {
      ASSERT_THAT(store_->DeletePrincipal(id), IsOk());
    }
  }
  const std::shared_ptr<const Snapshot> incremental = store_->snapshot();
  ASSERT_THAT(store_->ReloadSnapshot(), IsOk());
  const std::shared_ptr<const Snapshot> full = store_->snapshot();
  EXPECT_EQ(full->store_revision(), incremental->store_revision());
  EXPECT_EQ(full->principal_count(), incremental->principal_count());
  full->ForEachPrincipal([&](const PrincipalEntry& f) {
    const PrincipalEntry* i = incremental->FindPrincipal(f.id());
    ASSERT_NE(i, nullptr) << f.id();
    EXPECT_EQ(i->disabled(), f.disabled());
    ASSERT_EQ(i->bindings().size(), f.bindings().size()) << f.id();
    for (size_t b = 0; b < f.bindings().size(); ++b) {
      EXPECT_EQ(i->bindings()[b].role, f.bindings()[b].role);
      EXPECT_EQ(i->bindings()[b].scope, f.bindings()[b].scope);
      EXPECT_EQ(i->bindings()[b].expires_at, f.bindings()[b].expires_at);
    }
    ASSERT_EQ(i->attributes().size(), f.attributes().size());
    for (size_t a = 0; a < f.attributes().size(); ++a) {
      EXPECT_EQ(i->attributes()[a], f.attributes()[a]);
    }
  });
}

TEST_F(SnapshotTest, EffectiveRolesFollowScopeExpiryAndExtends) {
  AddPrincipal("u1");
  ASSERT_THAT(GrantRole("u1", "senior_clerk", "acme"), IsOk());
  ASSERT_THAT(GrantRole("u1", "viewer", "", clock_.Now() + absl::Hours(1)),
              IsOk());
  const auto snapshot = store_->snapshot();
  const policy::Program& program = *snapshot->program();
  const PrincipalEntry* entry = snapshot->FindPrincipal("u1");
  ASSERT_NE(entry, nullptr);
  std::vector<uint64_t> bits((program.role_count() + 63) / 64);
  auto has = [&](const char* role) {
    const policy::RoleId r = *program.FindRole(role);
    return ((bits[r >> 6] >> (r & 63)) & 1) != 0;
  };
  ResolveEffectiveRoles(program, *entry, "acme/eu", clock_.Now(),
                        absl::MakeSpan(bits));
  EXPECT_TRUE(has("senior_clerk"));
  EXPECT_TRUE(has("finance_clerk"));  // through extends
  EXPECT_TRUE(has("viewer"));
  EXPECT_FALSE(has("editor"));
  ResolveEffectiveRoles(program, *entry, "other", clock_.Now() + absl::Hours(2),
                        absl::MakeSpan(bits));
  EXPECT_FALSE(has("senior_clerk"));
  EXPECT_FALSE(has("viewer"));  // expired
}

TEST(PrincipalEntryTest, CopiesEverythingIntoItsBlock) {
  std::string id = "user-1";
  std::string scope = "acme/eu";
  std::string region = "eu";
  std::vector<std::string> teams = {"a", "b"};
  std::vector<absl::string_view> team_views(teams.begin(), teams.end());
  policy::RoleBinding bindings[] = {{3, scope, absl::InfiniteFuture()}};
  policy::Value values[] = {policy::Value::String(region), policy::Value(),
                            policy::Value::StringSet(team_views),
                            policy::Value::Int(7), policy::Value()};
  auto entry = PrincipalEntry::Create(id, true, bindings, values);
  // Overwrite the sources: the entry must not point at them.
  id.assign("xxxxxx");
  scope.assign("zzzzzzz");
  region.assign("zz");
  teams[0].assign("z");
  EXPECT_EQ(entry->id(), "user-1");
  EXPECT_TRUE(entry->disabled());
  ASSERT_THAT(entry->bindings(), SizeIs(1));
  EXPECT_EQ(entry->bindings()[0].scope, "acme/eu");
  EXPECT_EQ(entry->bindings()[0].role, 3);
  ASSERT_THAT(entry->attributes(), SizeIs(4));  // trailing absent dropped
  EXPECT_EQ(entry->attributes()[0].string_value(), "eu");
  EXPECT_FALSE(entry->attributes()[1].present());
  EXPECT_THAT(entry->attributes()[2].set_value(),
              ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(entry->attributes()[3].int_value(), 7);
}

// Readers keep loading and using snapshots while a writer commits grants
// and revokes; every snapshot a reader sees is internally consistent and
// revisions never go backwards.
TEST_F(SnapshotTest, AtomicSwapUnderConcurrentReaders) {
  AddPrincipal("hot");
  for (int i = 0; i < 20; ++i) AddPrincipal(absl::StrCat("cold", i));
  std::atomic<bool> done{false};
  std::atomic<int64_t> checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      int64_t last_revision = 0;
      int64_t local = 0;
      while (!done.load(std::memory_order_acquire)) {
        std::shared_ptr<const Snapshot> snapshot = store_->snapshot();
        EXPECT_GE(snapshot->store_revision(), last_revision);
        last_revision = snapshot->store_revision();
        const PrincipalEntry* hot = snapshot->FindPrincipal("hot");
        ASSERT_NE(hot, nullptr);
        // The writer toggles one binding: 0 or 1, never torn.
        EXPECT_LE(hot->bindings().size(), 1u);
        policy::Request request;
        hot->FillRequest(request);
        request.action = "read";
        request.kind = "customer";
        request.resource_id = "c";
        request.now = absl::FromUnixSeconds(1767225600);
        const policy::Decision d =
            policy::Evaluate(*snapshot->program(), request);
        EXPECT_EQ(d.allowed(), hot->bindings().size() == 1);
        EXPECT_EQ(snapshot->principal_count(), 21u);
        ++local;
      }
      checks += local;
    });
  }
  for (int i = 0; i < 60; ++i) {
    ASSERT_THAT(GrantRole("hot", "viewer"), IsOk());
    ASSERT_THAT(store_->Revoke("hot", "viewer", ""), IsOk());
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  EXPECT_GT(checks.load(), 0);
}

// Repository reads from several threads while another thread writes: all
// serialized by the store's mutex, none fails.
TEST_F(SnapshotTest, ConcurrentRepositoryReadersDuringWrites) {
  for (int i = 0; i < 10; ++i) AddPrincipal(absl::StrCat("p", i));
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      while (!done.load(std::memory_order_acquire)) {
        auto principal = store_->GetPrincipal(absl::StrCat("p", t));
        EXPECT_THAT(principal, IsOk());
        auto page = store_->ListBindings({}, 50, "");
        EXPECT_THAT(page, IsOk());
        auto list = store_->ListPrincipals(5, "");
        EXPECT_THAT(list, IsOk());
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(GrantRole(absl::StrCat("p", i), "viewer"), IsOk());
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  auto page = store_->ListBindings({}, 50, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->bindings, SizeIs(10));
}

TEST(SnapshotHolderTest, InFlightReadersKeepTheOldSnapshot) {
  SnapshotHolder holder(std::make_shared<Snapshot>());
  std::shared_ptr<const Snapshot> old = holder.Get();
  auto entry = PrincipalEntry::Create("a", false, {}, {});
  holder.Publish(old->WithPrincipal(entry, 5));
  EXPECT_EQ(old->FindPrincipal("a"), nullptr);
  EXPECT_EQ(old->store_revision(), 0);
  EXPECT_NE(holder.Get()->FindPrincipal("a"), nullptr);
  EXPECT_EQ(holder.Get()->store_revision(), 5);
  holder.Publish(holder.Get()->WithoutPrincipal("a", 6));
  EXPECT_EQ(holder.Get()->FindPrincipal("a"), nullptr);
  EXPECT_EQ(holder.Get()->principal_count(), 0u);
}

}  // namespace
}  // namespace steward::store
