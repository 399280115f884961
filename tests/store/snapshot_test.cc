// Snapshots: evaluation through policy::Evaluate with snapshot entries
// (scope ancestry, expiry by injected clock, disabled and unknown
// principals, principal attributes), incremental updates sharing unchanged
// entries, equality with a full reload, and atomic swap under concurrent
// readers.
#include "server/store/snapshot.h"

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/snapshot_loader.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/policy_workload.h"

namespace steward::store {
namespace {

using ::steward::testing::IsOk;
using ::testing::SizeIs;
using testing::StoreFixture;

class SnapshotTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    ApplyTestPolicy();
  }

  // Evaluates ACTION on a customer in `scope` for `principal` against the
  // store's current snapshot at the fake clock's time.
  policy::Decision Check(const std::string& principal,
                         const std::string& action,
                         const std::string& scope = "",
                         const std::string& region = "") {
    std::shared_ptr<const Snapshot> snapshot = store_->publisher().snapshot();
    policy::Request request;
    snapshot->FillRequest(principal, request);
    request.action = action;
    request.kind = "customer";
    request.resource_id = "c1";
    request.scope = scope;
    policy::NamedValue attrs[] = {{"region", policy::Value::String(region)}};
    if (!region.empty()) request.resource_attributes = attrs;
    request.now = clock_.Now();
    const policy::Decision decision =
        policy::Evaluate(*snapshot->program(), request);
    // The server's path (roles resolved by the snapshot) decides the same.
    uint64_t roles[(policy::kMaxRoles + 63) / 64];
    snapshot->FillRequestAndRoles(
        principal,
        absl::MakeSpan(roles, (snapshot->program()->role_count() + 63) / 64),
        request);
    const policy::Decision resolved =
        policy::Evaluate(*snapshot->program(), request);
    EXPECT_EQ(resolved.effect, decision.effect);
    EXPECT_EQ(resolved.reason, decision.reason);
    EXPECT_EQ(resolved.rule_id, decision.rule_id);
    return decision;
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
  const std::shared_ptr<const Snapshot> before = store_->publisher().snapshot();
  EXPECT_TRUE(Check("u1", "read").allowed());
  clock_.Advance(absl::Minutes(59));
  EXPECT_TRUE(Check("u1", "read").allowed());
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(Check("u1", "read").allowed());
  // Same snapshot object: expiry needed no rebuild.
  EXPECT_EQ(store_->publisher().snapshot(), before);
}

TEST_F(SnapshotTest, DisabledAndUnknownPrincipals) {
  AddPrincipal("u1");
  ASSERT_THAT(GrantRole("u1", "viewer"), IsOk());
  EXPECT_TRUE(Check("u1", "read").allowed());
  ASSERT_THAT(store_->principals().SetPrincipalDisabled("u1", true), IsOk());
  EXPECT_EQ(Check("u1", "read").reason, policy::Reason::kPrincipalDisabled);
  ASSERT_THAT(store_->principals().SetPrincipalDisabled("u1", false), IsOk());
  EXPECT_TRUE(Check("u1", "read").allowed());
  EXPECT_EQ(Check("nobody", "read").reason, policy::Reason::kUnknownPrincipal);
  ASSERT_THAT(store_->principals().DeletePrincipal("u1"), IsOk());
  EXPECT_EQ(Check("u1", "read").reason, policy::Reason::kUnknownPrincipal);
}

TEST_F(SnapshotTest, PrincipalAttributesReachConditions) {
  AddPrincipal("u1", {{"region", policy::OwnedValue::String("eu")}});
  ASSERT_THAT(GrantRole("u1", "regional"), IsOk());
  EXPECT_TRUE(Check("u1", "update", "", "eu").allowed());
  EXPECT_FALSE(Check("u1", "update", "", "us").allowed());
  // Attribute change is visible after the upsert commits.
  AddPrincipal("u1", {{"region", policy::OwnedValue::String("us")}});
  EXPECT_TRUE(Check("u1", "update", "", "us").allowed());
  // Absent attribute: unknown, so the allow does not match.
  AddPrincipal("u1", {});
  EXPECT_FALSE(Check("u1", "update", "", "us").allowed());
}

TEST_F(SnapshotTest, IncrementalUpdateSharesUnchangedEntries) {
  AddPrincipal("u1");
  AddPrincipal("u2");
  const std::shared_ptr<const Snapshot> s1 = store_->publisher().snapshot();
  const PrincipalEntry* u1 = s1->FindPrincipal("u1");
  ASSERT_THAT(GrantRole("u2", "viewer"), IsOk());
  const std::shared_ptr<const Snapshot> s2 = store_->publisher().snapshot();
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
    AddPrincipal(id, {{"level", policy::OwnedValue::Int(i)}});
    (void)GrantRole(id, roles[i % 4], i % 3 == 0 ? "" : "acme");
    if (i % 5 == 0)
      (void)store_->principals().Revoke(id, roles[(i + 1) % 4], "acme");
    if (i % 7 == 0) {
      ASSERT_THAT(store_->principals().SetPrincipalDisabled(id, true), IsOk());
    }
    if (i % 11 == 0) {
      ASSERT_THAT(store_->principals().DeletePrincipal(id), IsOk());
    }
  }
  const std::shared_ptr<const Snapshot> incremental =
      store_->publisher().snapshot();
  ASSERT_THAT(store_->publisher().ReloadSnapshot(), IsOk());
  const std::shared_ptr<const Snapshot> full = store_->publisher().snapshot();
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
  const auto snapshot = store_->publisher().snapshot();
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
        std::shared_ptr<const Snapshot> snapshot =
            store_->publisher().snapshot();
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
    ASSERT_THAT(store_->principals().Revoke("hot", "viewer", ""), IsOk());
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
        auto principal =
            store_->principals().GetPrincipal(absl::StrCat("p", t));
        EXPECT_THAT(principal, IsOk());
        auto page = store_->principals().ListBindings({}, 50, "");
        EXPECT_THAT(page, IsOk());
        auto list = store_->principals().ListPrincipals(5, "");
        EXPECT_THAT(list, IsOk());
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(GrantRole(absl::StrCat("p", i), "viewer"), IsOk());
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  auto page = store_->principals().ListBindings({}, 50, "");
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

// The threaded full load (entries built on a second thread, fed in
// batches) builds the same snapshot as the single-threaded one.
TEST_F(SnapshotTest, ThreadedFullLoadEqualsInline) {
  const char* roles[] = {"viewer", "editor", "regional", "finance_clerk"};
  for (int i = 0; i < 45; ++i) {
    const std::string id = absl::StrCat("u", i);
    AttributeMap attributes = {{"level", policy::OwnedValue::Int(i)}};
    if (i % 2 == 0) {
      attributes["region"] = policy::OwnedValue::String(i % 4 ? "eu" : "us");
    }
    if (i % 3 == 0) {
      attributes["teams"] =
          policy::OwnedValue::StringSet({"a", absl::StrCat("t", i)});
    }
    AddPrincipal(id, attributes);
    for (int b = 0; b < i % 3; ++b) {
      ASSERT_THAT(GrantRole(id, roles[(i + b) % 4], b == 0 ? "" : "acme/eu",
                            i % 5 == 0 ? std::optional<absl::Time>(
                                             clock_.Now() + absl::Hours(i))
                                       : std::nullopt),
                  IsOk());
    }
    if (i % 7 == 0) {
      ASSERT_THAT(store_->principals().SetPrincipalDisabled(id, true), IsOk());
    }
  }
  const std::shared_ptr<const Snapshot> current =
      store_->publisher().snapshot();
  auto connection =
      sqlite::Connection::Open(path_, sqlite::ConnectionOptions());
  ASSERT_THAT(connection.status(), IsOk());
  sqlite::LoadStats inline_stats;
  auto inline_load = sqlite::LoadSnapshot(
      **connection, current->program(), current->policy_version(),
      current->store_revision(), &inline_stats);
  ASSERT_THAT(inline_load.status(), IsOk());
  sqlite::LoadStats threaded_stats;
  sqlite::LoadOptions options;
  options.min_principals_for_worker = 0;
  options.batch_principals = 4;  // many batches, a full queue
  auto threaded_load = sqlite::LoadSnapshot(
      **connection, current->program(), current->policy_version(),
      current->store_revision(), &threaded_stats, options);
  ASSERT_THAT(threaded_load.status(), IsOk());
  const Snapshot& a = **inline_load;
  const Snapshot& b = **threaded_load;
  EXPECT_EQ(a.principal_count(), 45u);
  EXPECT_EQ(b.principal_count(), 45u);
  EXPECT_EQ(threaded_stats.principals, inline_stats.principals);
  EXPECT_EQ(threaded_stats.bindings_loaded, inline_stats.bindings_loaded);
  EXPECT_EQ(threaded_stats.attributes_skipped, inline_stats.attributes_skipped);
  a.ForEachPrincipal([&](const PrincipalEntry& x) {
    const PrincipalEntry* y = b.FindPrincipal(x.id());
    ASSERT_NE(y, nullptr) << x.id();
    EXPECT_EQ(y->disabled(), x.disabled());
    ASSERT_EQ(y->bindings().size(), x.bindings().size()) << x.id();
    for (size_t i = 0; i < x.bindings().size(); ++i) {
      EXPECT_EQ(y->bindings()[i].role, x.bindings()[i].role);
      EXPECT_EQ(y->bindings()[i].scope, x.bindings()[i].scope);
      EXPECT_EQ(y->bindings()[i].expires_at, x.bindings()[i].expires_at);
    }
    ASSERT_EQ(y->attributes().size(), x.attributes().size()) << x.id();
    for (size_t i = 0; i < x.attributes().size(); ++i) {
      EXPECT_EQ(y->attributes()[i], x.attributes()[i]) << x.id();
    }
    // And both equal the store's incrementally maintained snapshot.
    const PrincipalEntry* z = current->FindPrincipal(x.id());
    ASSERT_NE(z, nullptr);
    ASSERT_EQ(z->attributes().size(), x.attributes().size()) << x.id();
    ASSERT_EQ(z->bindings().size(), x.bindings().size()) << x.id();
  });
  const PrincipalEntry* u3 = b.FindPrincipal("u3");
  ASSERT_NE(u3, nullptr);
  EXPECT_FALSE(u3->attributes().empty());
}

// ---- The index and the arena (snapshot.h "Memory layout").

// What one principal should look like in a snapshot.
struct Expected {
  bool disabled = false;
  std::vector<std::pair<policy::RoleId, std::string>> bindings;
  std::string region;  // attribute slot 0; "" = absent
};

void ExpectEntry(const PrincipalEntry* entry, const std::string& id,
                 const Expected& want) {
  ASSERT_NE(entry, nullptr) << id;
  EXPECT_EQ(entry->id(), id);
  EXPECT_EQ(entry->id_hash(), absl::Hash<absl::string_view>{}(id));
  EXPECT_EQ(entry->disabled(), want.disabled) << id;
  ASSERT_EQ(entry->bindings().size(), want.bindings.size()) << id;
  for (size_t b = 0; b < want.bindings.size(); ++b) {
    EXPECT_EQ(entry->bindings()[b].role, want.bindings[b].first) << id;
    EXPECT_EQ(entry->bindings()[b].scope, want.bindings[b].second) << id;
    EXPECT_EQ(entry->bindings()[b].expires_at, absl::FromUnixSeconds(1000 + b))
        << id;
  }
  if (want.region.empty()) {
    EXPECT_TRUE(entry->attributes().empty()) << id;
  } else {
    ASSERT_EQ(entry->attributes().size(), 1u) << id;
    EXPECT_EQ(entry->attributes()[0].string_value(), want.region) << id;
  }
}

// The principal's parts as SnapshotBuilder::Add / PrincipalEntry::Create
// take them; views into `want` and `storage`.
struct Parts {
  std::vector<policy::RoleBinding> bindings;
  std::vector<policy::Value> values;
};
Parts PartsOf(const Expected& want) {
  Parts parts;
  for (size_t b = 0; b < want.bindings.size(); ++b) {
    parts.bindings.push_back(
        policy::RoleBinding{want.bindings[b].first, want.bindings[b].second,
                            absl::FromUnixSeconds(1000 + b)});
  }
  if (!want.region.empty()) {
    parts.values.push_back(policy::Value::String(want.region));
  }
  return parts;
}

std::shared_ptr<const PrincipalEntry> CreateEntry(const std::string& id,
                                                  const Expected& want) {
  const Parts parts = PartsOf(want);
  return PrincipalEntry::Create(id, want.disabled, parts.bindings,
                                parts.values);
}

Expected ExpectedFor(int i) {
  Expected want;
  want.disabled = i % 7 == 0;
  for (int b = 0; b < i % 4; ++b) {
    want.bindings.emplace_back(
        static_cast<policy::RoleId>((i + b) % 5),
        b == 0 ? "" : absl::StrCat("tenant-", i % 13, b == 2 ? "/eu" : ""));
  }
  if (i % 3 != 0) want.region = absl::StrCat("region-", i % 5);
  return want;
}

// Ids of every length from 1 to 256 bytes (every alignment of the arrays
// that follow the id in the block), through both the arena and Create().
TEST(SnapshotIndexTest, IdsOfEveryLengthThroughArenaAndCreate) {
  std::vector<std::string> ids;
  for (int length = 1; length <= 256; ++length) {
    ids.push_back(std::string(length, static_cast<char>('a' + length % 26)));
  }
  SnapshotBuilder builder(nullptr, 1, ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const Expected want = ExpectedFor(static_cast<int>(i));
    const Parts parts = PartsOf(want);
    if (i % 2 == 0) {
      builder.Add(ids[i], want.disabled, parts.bindings, parts.values);
    } else {
      builder.Add(CreateEntry(ids[i], want));
    }
  }
  const auto snapshot = std::move(builder).Build(9);
  EXPECT_EQ(snapshot->principal_count(), ids.size());
  EXPECT_EQ(snapshot->store_revision(), 9);
  for (size_t i = 0; i < ids.size(); ++i) {
    ExpectEntry(snapshot->FindPrincipal(ids[i]), ids[i],
                ExpectedFor(static_cast<int>(i)));
    // Prefixes and extensions of an id are other principals.
    EXPECT_EQ(snapshot->FindPrincipal(ids[i] + "x"), nullptr);
  }
  EXPECT_EQ(snapshot->FindPrincipal(""), nullptr);
  size_t visited = 0;
  snapshot->ForEachPrincipal([&](const PrincipalEntry&) { ++visited; });
  EXPECT_EQ(visited, ids.size());
}

// Ids that differ in one byte, at every position, for the lengths the
// lookup compares with word loads (8 to 16 bytes) and around them.
TEST(SnapshotIndexTest, IdsDifferingInOneByte) {
  std::vector<std::string> ids;
  for (int length = 6; length <= 18; ++length) {
    const std::string base(length, 'k');
    ids.push_back(base);
    for (int at = 0; at < length; ++at) {
      std::string variant = base;
      variant[at] = 'K';
      ids.push_back(variant);
    }
  }
  SnapshotBuilder builder(nullptr, 1, ids.size());
  for (size_t i = 0; i < ids.size(); i += 2) {
    builder.Add(ids[i], false, {}, {});
  }
  const auto snapshot = std::move(builder).Build(1);
  for (size_t i = 0; i < ids.size(); ++i) {
    const PrincipalEntry* entry = snapshot->FindPrincipal(ids[i]);
    if (i % 2 == 0) {
      ASSERT_NE(entry, nullptr) << ids[i];
      EXPECT_EQ(entry->id(), ids[i]);
    } else {
      EXPECT_EQ(entry, nullptr) << ids[i];
    }
  }
}

// A full build stores each distinct scope once; Create() copies its own.
TEST(SnapshotIndexTest, BuilderInternsScopes) {
  SnapshotBuilder builder(nullptr, 1, 3);
  std::string scope = "acme/eu";
  policy::RoleBinding bindings[] = {{1, scope, absl::InfiniteFuture()},
                                    {2, "", absl::InfiniteFuture()}};
  builder.Add("a", false, bindings, {});
  scope.assign("acme/eu");  // a new buffer each time would be fine too
  builder.Add("b", false, bindings, {});
  builder.Add(PrincipalEntry::Create("c", false, bindings, {}));
  scope.assign("zzzz/zz");  // the builder must not point at the source
  const auto snapshot = std::move(builder).Build(1);
  const PrincipalEntry* a = snapshot->FindPrincipal("a");
  const PrincipalEntry* b = snapshot->FindPrincipal("b");
  const PrincipalEntry* c = snapshot->FindPrincipal("c");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(a->bindings()[0].scope, "acme/eu");
  EXPECT_EQ(b->bindings()[0].scope, "acme/eu");
  EXPECT_EQ(c->bindings()[0].scope, "acme/eu");
  EXPECT_EQ(a->bindings()[0].scope.data(), b->bindings()[0].scope.data());
  EXPECT_NE(c->bindings()[0].scope.data(), a->bindings()[0].scope.data());
  EXPECT_EQ(a->bindings()[1].scope, "");
  EXPECT_EQ(a->bindings()[1].role, 2);
}

// Random upserts and removals against a std::map model, starting from a
// full build: long probe runs in small tables, growth, backward-shift
// removal and replacement of arena and individually owned entries. Every
// earlier snapshot must keep its own contents.
TEST(SnapshotIndexTest, RandomChangesMatchAModel) {
  std::map<std::string, int> model;  // id -> ExpectedFor() seed
  SnapshotBuilder builder(nullptr, 1, 500);
  for (int i = 0; i < 500; ++i) {
    const std::string id = absl::StrCat("p", i);
    const Expected want = ExpectedFor(i);
    const Parts parts = PartsOf(want);
    builder.Add(id, want.disabled, parts.bindings, parts.values);
    model[id] = i;
  }
  std::shared_ptr<const Snapshot> snapshot = std::move(builder).Build(1);
  std::vector<
      std::pair<std::shared_ptr<const Snapshot>, std::map<std::string, int>>>
      history;
  std::mt19937 rng(11);
  for (int step = 0; step < 6000; ++step) {
    // Ids from a range wider than the build's so tables grow and shrink.
    const int who = static_cast<int>(rng() % 3000);
    const std::string id = absl::StrCat("p", who);
    if (rng() % 3 == 0) {
      snapshot = snapshot->WithoutPrincipal(id, snapshot->store_revision() + 1);
      model.erase(id);
    } else {
      const int seed = static_cast<int>(rng() % 1000);
      snapshot = snapshot->WithPrincipal(CreateEntry(id, ExpectedFor(seed)),
                                         snapshot->store_revision() + 1);
      model[id] = seed;
    }
    if (step % 1000 == 0) history.emplace_back(snapshot, model);
  }
  history.emplace_back(snapshot, model);
  for (const auto& [s, m] : history) {
    ASSERT_EQ(s->principal_count(), m.size());
    for (int who = 0; who < 3000; ++who) {
      const std::string id = absl::StrCat("p", who);
      auto it = m.find(id);
      if (it == m.end()) {
        EXPECT_EQ(s->FindPrincipal(id), nullptr) << id;
      } else {
        ExpectEntry(s->FindPrincipal(id), id, ExpectedFor(it->second));
      }
    }
    size_t visited = 0;
    s->ForEachPrincipal([&](const PrincipalEntry& e) {
      ++visited;
      EXPECT_TRUE(m.contains(std::string(e.id()))) << e.id();
    });
    EXPECT_EQ(visited, m.size());
  }
}

// Entries of a full build stay valid in derived snapshots after the
// built one is gone (the shards keep the arena alive).
TEST(SnapshotIndexTest, DerivedSnapshotsKeepTheArenaAlive) {
  std::shared_ptr<const Snapshot> derived;
  {
    SnapshotBuilder builder(nullptr, 1, 2000);
    for (int i = 0; i < 2000; ++i) {
      const Expected want = ExpectedFor(i);
      const Parts parts = PartsOf(want);
      builder.Add(absl::StrCat("user-", i), want.disabled, parts.bindings,
                  parts.values);
    }
    std::shared_ptr<const Snapshot> built = std::move(builder).Build(1);
    derived = built->WithoutPrincipal("user-5", 2)
                  ->WithPrincipal(CreateEntry("user-7", ExpectedFor(3)), 3);
  }
  EXPECT_EQ(derived->principal_count(), 1999u);
  EXPECT_EQ(derived->FindPrincipal("user-5"), nullptr);
  ExpectEntry(derived->FindPrincipal("user-7"), "user-7", ExpectedFor(3));
  for (int i = 0; i < 2000; ++i) {
    if (i == 5 || i == 7) continue;
    ExpectEntry(derived->FindPrincipal(absl::StrCat("user-", i)),
                absl::StrCat("user-", i), ExpectedFor(i));
  }
}

// Effective roles through arena entries with interned scopes: scope
// ancestry by whole segments, expiry against the given time.
TEST(SnapshotIndexTest, ResolveEffectiveRolesOnArenaEntries) {
  policy::CompileResult compiled =
      policy::Compile({{"t.policy", testing::kPolicy}});
  ASSERT_TRUE(compiled.ok());
  std::shared_ptr<const policy::Program> program = compiled.program;
  const policy::RoleId a = *program->FindRole("viewer");
  const policy::RoleId b = *program->FindRole("editor");  // extends viewer
  const policy::RoleId c = *program->FindRole("finance_clerk");
  const absl::Time now = absl::FromUnixSeconds(5000);
  SnapshotBuilder builder(program, 1, 1);
  policy::RoleBinding bindings[] = {{b, "acme", absl::InfiniteFuture()},
                                    {c, "", now}};
  builder.Add("u", false, bindings, {});
  const auto snapshot = std::move(builder).Build(1);
  uint64_t bits = 0;
  auto has = [&](policy::RoleId r) { return ((bits >> r) & 1) != 0; };
  ResolveEffectiveRoles(*program, *snapshot->FindPrincipal("u"), "acme/eu",
                        now - absl::Seconds(1), absl::MakeSpan(&bits, 1));
  EXPECT_TRUE(has(a) && has(b) && has(c));
  ResolveEffectiveRoles(*program, *snapshot->FindPrincipal("u"), "acmex", now,
                        absl::MakeSpan(&bits, 1));
  EXPECT_FALSE(has(a) || has(b) || has(c));
}

// ---- Snapshot::ResolveEffectiveRoles: scope numbering, compact bindings
// and closure bitsets must give exactly what the string path gives.

// A policy with roles r0..r{n-1}; every role not divisible by 3 extends
// the one before it (chains of three).
std::shared_ptr<const policy::Program> ChainPolicy(int roles) {
  std::string text = "policy chain\nresource doc {\n  actions { read }\n}\n";
  for (int r = 0; r < roles; ++r) {
    absl::StrAppend(&text, "role r", r,
                    r % 3 != 0 ? absl::StrCat(" extends r", r - 1) : "",
                    " { allow read on doc }\n");
  }
  policy::CompileResult compiled = policy::Compile({{"chain.policy", text}});
  EXPECT_TRUE(compiled.ok());
  return compiled.program;
}

// Binding scopes: similar prefixes (eu / europe / euro), nested scopes
// with and without their intermediate levels, and scopes the grant path
// would refuse but the builder accepts ("/", "x/", "/lead").
const std::vector<std::string>& BindingScopes() {
  static const auto* scopes = new std::vector<std::string>{
      "",     "eu",      "europe",        "eu/fr",   "europe/fr/paris",
      "acme", "acme/eu", "acme/eu/paris", "a/b/c/d", "a/b",
      "x/",   "/",       "/lead",         "acme-x",  "acme.eu",
      "euro", "e"};
  return *scopes;
}

// Resource scopes: every binding scope, their ancestors and descendants,
// trailing and doubled '/', near misses, and an embedded NUL.
std::vector<std::string> ResourceScopes() {
  std::vector<std::string> scopes = {"",
                                     "/",
                                     "//",
                                     "eu/",
                                     "eu/fr/lyon",
                                     "europe/fr",
                                     "europe/fr/paris/x",
                                     "eur",
                                     "acme/",
                                     "acme//eu",
                                     "acme/eu/",
                                     "acme/euro",
                                     "acmex",
                                     "acme-x/eu",
                                     "a",
                                     "a/b/c",
                                     "a/b/c/d/e",
                                     "a/bc",
                                     "x",
                                     "x//",
                                     "/lead/x",
                                     "lead",
                                     "zzz",
                                     std::string("acme\0/eu", 8),
                                     std::string("acme/eu\0", 8)};
  for (const std::string& s : BindingScopes()) scopes.push_back(s);
  return scopes;
}

// Expiry times around `now` (equal, a nanosecond and a quarter nanosecond
// either side), beyond the int64 nanosecond range and infinite.
std::vector<absl::Time> Times(absl::Time now) {
  return {absl::InfiniteFuture(),
          absl::InfinitePast(),
          now,
          now + absl::Nanoseconds(1),
          now - absl::Nanoseconds(1),
          now + absl::Nanoseconds(1) / 4,
          now - absl::Nanoseconds(1) / 4,
          absl::FromUnixSeconds(int64_t{1} << 40),
          absl::FromUnixSeconds(-(int64_t{1} << 40)),
          absl::FromUnixSeconds(1'000'000)};
}

void ExpectSameRoles(const Snapshot& snapshot, const PrincipalEntry& entry,
                     absl::string_view scope, absl::Time now) {
  const policy::Program& program = *snapshot.program();
  // One word more than needed: both must clear it.
  const size_t words = (program.role_count() + 63) / 64 + 1;
  std::vector<uint64_t> want(words, ~uint64_t{0});
  std::vector<uint64_t> got(words, ~uint64_t{0});
  ResolveEffectiveRoles(program, entry, scope, now, absl::MakeSpan(want));
  snapshot.ResolveEffectiveRoles(entry, snapshot.PrepareScope(scope), now,
                                 absl::MakeSpan(got));
  EXPECT_EQ(got, want) << "principal " << entry.id() << " scope \""
                       << std::string(scope) << "\" now " << now;
}

// Every binding scope x resource scope x expiry x time, for role counts
// that take the one-word path (6), the multi-word path (130) and the
// fallback for programs too large for closure bitsets (3,000), through
// arena entries (compact) and Create() entries (string path).
TEST(SnapshotResolveTest, MatchesTheStringPathEverywhere) {
  for (int role_count : {6, 130, 3000}) {
    SCOPED_TRACE(role_count);
    std::shared_ptr<const policy::Program> program = ChainPolicy(role_count);
    ASSERT_NE(program, nullptr);
    const absl::Time base = absl::FromUnixSeconds(1'000'000);
    const std::vector<absl::Time> expiries = Times(base);
    const std::vector<std::string>& scopes = BindingScopes();
    SnapshotBuilder builder(program, 1, 64);
    std::vector<std::string> ids;
    for (size_t i = 0; i < scopes.size() * 2; ++i) {
      // Two to four bindings, over scopes, roles and expiries.
      std::vector<policy::RoleBinding> bindings;
      for (size_t b = 0; b < 2 + i % 3; ++b) {
        const size_t k = i + b * 5;
        bindings.push_back(policy::RoleBinding{
            static_cast<policy::RoleId>((k * 37) % role_count),
            scopes[k % scopes.size()], expiries[(i + b) % expiries.size()]});
      }
      const std::string id = absl::StrCat("p", i);
      ids.push_back(id);
      if (i % 4 == 3) {
        builder.Add(PrincipalEntry::Create(id, false, bindings, {}));
      } else {
        builder.Add(id, false, bindings, {});
      }
    }
    const auto built = std::move(builder).Build(1);
    // A derived snapshot: Create() entries next to the arena's.
    const policy::RoleBinding extra[] = {
        {0, "eu", absl::InfiniteFuture()},
        {static_cast<policy::RoleId>(role_count - 1), "acme/eu", base}};
    const auto derived =
        built->WithPrincipal(PrincipalEntry::Create("p1", false, extra, {}), 2);
    size_t compact = 0;
    for (const auto* snapshot : {built.get(), derived.get()}) {
      for (const std::string& id : ids) {
        const PrincipalEntry* entry = snapshot->FindPrincipal(id);
        ASSERT_NE(entry, nullptr);
        compact += !entry->compact_bindings().empty();
        for (const std::string& scope : ResourceScopes()) {
          for (absl::Time now : Times(base)) {
            ExpectSameRoles(*snapshot, *entry, scope, now);
          }
        }
      }
    }
    EXPECT_GT(compact, ids.size());  // most entries took the compact path
  }
}

// The cases spelled out: whole segments, not string prefixes.
TEST(SnapshotResolveTest, ScopeNumberingFollowsWholeSegments) {
  std::shared_ptr<const policy::Program> program = ChainPolicy(6);
  ASSERT_NE(program, nullptr);
  SnapshotBuilder builder(program, 1, 4);
  const policy::RoleBinding eu[] = {{0, "eu", absl::InfiniteFuture()}};
  const policy::RoleBinding europe[] = {{3, "europe", absl::InfiniteFuture()}};
  const policy::RoleBinding deep[] = {
      {2, "acme/eu/paris", absl::InfiniteFuture()},  // r2 extends r1, r0
      {3, "", absl::FromUnixSeconds(100)}};
  builder.Add("eu", false, eu, {});
  builder.Add("europe", false, europe, {});
  builder.Add("deep", false, deep, {});
  const auto snapshot = std::move(builder).Build(1);
  const absl::Time now = absl::FromUnixSeconds(50);
  auto roles = [&](const char* id, absl::string_view scope,
                   absl::Time at) -> uint64_t {
    uint64_t bits = ~uint64_t{0};
    snapshot->ResolveEffectiveRoles(*snapshot->FindPrincipal(id),
                                    snapshot->PrepareScope(scope), at,
                                    absl::MakeSpan(&bits, 1));
    return bits;
  };
  EXPECT_EQ(roles("eu", "eu", now), 0b1u);
  EXPECT_EQ(roles("eu", "eu/fr", now), 0b1u);
  EXPECT_EQ(roles("eu", "europe", now), 0u);
  EXPECT_EQ(roles("eu", "eur", now), 0u);
  EXPECT_EQ(roles("eu", "", now), 0u);
  EXPECT_EQ(roles("eu", "/", now), 0u);
  EXPECT_EQ(roles("europe", "europe/de", now), 0b1000u);
  EXPECT_EQ(roles("europe", "eu", now), 0u);
  EXPECT_EQ(roles("deep", "acme/eu/paris/x", now), 0b1111u);
  EXPECT_EQ(roles("deep", "acme/eu", now), 0b1000u);  // global only
  EXPECT_EQ(roles("deep", "acme/eu/parisx", now), 0b1000u);
  EXPECT_EQ(roles("deep", "acme/eu/paris", absl::FromUnixSeconds(100)),
            0b111u);  // expired exactly at expires_at
  EXPECT_EQ(
      roles("deep", "", absl::FromUnixSeconds(100) - absl::Nanoseconds(1) / 4),
      0b1000u);
}

// Deep scope trees: the interval test agrees with the string path at
// every depth, with and without intermediate levels.
TEST(SnapshotResolveTest, DeepScopeTreesMatchTheStringPath) {
  std::shared_ptr<const policy::Program> program = ChainPolicy(6);
  ASSERT_NE(program, nullptr);
  const std::vector<std::string> levels = {"d1", "d1/d2", "d1/d2/d3",
                                           "d1/d2/d3/d4", "d1/d2/d3/d4/d5"};
  SnapshotBuilder builder(program, 1, 8);
  std::vector<std::string> ids;
  for (size_t i = 0; i < levels.size(); ++i) {
    // Principal i holds role i at level i, and role 5 at level i - 2.
    std::vector<policy::RoleBinding> bindings = {
        {static_cast<policy::RoleId>(i), levels[i], absl::InfiniteFuture()}};
    if (i >= 2) bindings.push_back({5, levels[i - 2], absl::InfiniteFuture()});
    ids.push_back(absl::StrCat("deep", i));
    builder.Add(ids.back(), false, bindings, {});
  }
  // Skips a level: "d1/d2/d3/d4/d5/d6/d7" has no "d1/d2/d3/d4/d5/d6".
  const policy::RoleBinding skip[] = {
      {3, "d1/d2/d3/d4/d5/d6/d7", absl::InfiniteFuture()},
      {4, "d1", absl::InfiniteFuture()}};
  builder.Add("skip", false, skip, {});
  ids.push_back("skip");
  const auto snapshot = std::move(builder).Build(1);
  const absl::Time now = absl::FromUnixSeconds(50);
  std::vector<std::string> scopes = {"", "d1x", "d1/d2x", "d2"};
  for (const std::string& level : levels) {
    scopes.push_back(level);
    scopes.push_back(level + "/x");
  }
  scopes.push_back("d1/d2/d3/d4/d5/d6");
  scopes.push_back("d1/d2/d3/d4/d5/d6/d7");
  scopes.push_back("d1/d2/d3/d4/d5/d6/d7/d8");
  for (const std::string& id : ids) {
    const PrincipalEntry* entry = snapshot->FindPrincipal(id);
    ASSERT_NE(entry, nullptr);
    ASSERT_FALSE(entry->compact_bindings().empty());
    for (const std::string& scope : scopes) {
      ExpectSameRoles(*snapshot, *entry, scope, now);
    }
  }
  uint64_t bits = 0;
  snapshot->ResolveEffectiveRoles(*snapshot->FindPrincipal("deep4"),
                                  snapshot->PrepareScope("d1/d2/d3/d4/d5/x"),
                                  now, absl::MakeSpan(&bits, 1));
  // r4 at level 5 and r5 at level 3 (r5 extends r4 extends r3).
  EXPECT_EQ(bits, 0b111000u);
}

// Snapshot::Prefetch only starts loads: every stage, on known and unknown
// ids and any scope, of built, derived and empty snapshots, leaves every
// lookup's answer as it was (and reads nothing out of bounds: ASan preset).
TEST(SnapshotResolveTest, PrefetchChangesNothing) {
  std::shared_ptr<const policy::Program> program = ChainPolicy(6);
  ASSERT_NE(program, nullptr);
  SnapshotBuilder builder(program, 1, 4);
  const policy::RoleBinding bindings[] = {
      {0, "acme/eu", absl::InfiniteFuture()}, {4, "", absl::InfiniteFuture()}};
  builder.Add("a", false, bindings, {});
  builder.Add(PrincipalEntry::Create("b", false, bindings, {}));
  const auto built = std::move(builder).Build(1);
  const auto derived =
      built->WithPrincipal(PrincipalEntry::Create("c", false, bindings, {}), 2);
  const auto empty = std::make_shared<const Snapshot>();
  const absl::Time now = absl::FromUnixSeconds(50);
  for (const Snapshot* snapshot : {built.get(), derived.get(), empty.get()}) {
    for (const char* id : {"a", "b", "c", "", "nobody"}) {
      for (const std::string& scope : ResourceScopes()) {
        for (const auto stage :
             {Snapshot::PrefetchStage::kIndex, Snapshot::PrefetchStage::kEntry,
              Snapshot::PrefetchStage::kBindings}) {
          snapshot->Prefetch(id, scope, stage);
        }
        const PrincipalEntry* entry = snapshot->FindPrincipal(id);
        if (entry != nullptr) ExpectSameRoles(*snapshot, *entry, scope, now);
      }
    }
  }
  EXPECT_NE(derived->FindPrincipal("c"), nullptr);
  EXPECT_EQ(empty->FindPrincipal("a"), nullptr);
}

// The decision path (Snapshot::FillRequestAndRoles: effective roles
// resolved by the snapshot) against the evaluator's own walk of the
// bindings (Snapshot::FillRequest): the whole decision and the
// explanation must be the same.
void ExpectSameDecision(const Snapshot& snapshot, policy::Request request,
                        bool explain, int* allows) {
  const policy::Program& program = *snapshot.program();
  policy::Request by_bindings = request;
  snapshot.FillRequest(request.principal_id, by_bindings);
  ASSERT_TRUE(by_bindings.effective_roles.empty());
  std::vector<uint64_t> roles((program.role_count() + 63) / 64, ~uint64_t{0});
  const PrincipalEntry* entry = snapshot.FillRequestAndRoles(
      request.principal_id, absl::MakeSpan(roles), request);
  EXPECT_EQ(entry != nullptr && !entry->disabled(),
            !request.effective_roles.empty());
  const std::string where = absl::StrCat(
      request.principal_id, " ", request.action, " ", request.kind, " scope \"",
      request.scope, "\" at ", absl::FormatTime(request.now));
  policy::Explanation want_explanation;
  policy::Explanation got_explanation;
  const policy::Decision want =
      explain ? policy::Evaluate(program, by_bindings, &want_explanation)
              : policy::Evaluate(program, by_bindings);
  const policy::Decision got =
      explain ? policy::Evaluate(program, request, &got_explanation)
              : policy::Evaluate(program, request);
  EXPECT_EQ(got.effect, want.effect) << where;
  EXPECT_EQ(got.reason, want.reason) << where;
  EXPECT_EQ(got.rule_id, want.rule_id) << where;
  EXPECT_EQ(got.kind, want.kind) << where;
  EXPECT_TRUE(got.allowed_fields == want.allowed_fields) << where;
  EXPECT_TRUE(got.denied_fields == want.denied_fields) << where;
  if (explain) {
    EXPECT_EQ(got_explanation.ToString(), want_explanation.ToString()) << where;
  }
  *allows += got.allowed();
}

// The shared CRM workload (300 principals, 10,000 checks with known
// answers) through both paths: as published (global bindings, no scope;
// every answer must also be the expected one), then with every binding
// moved to a scope and given an expiry from the tables above and every
// check asked at a resource scope and time from them, so the scope
// interval tests, expiry keys and closures all decide real rules. A fifth
// of the principals are Create() entries (the string path inside
// FillRequestAndRoles), one is disabled, and some checks name unknown
// principals.
TEST(SnapshotWorkloadTest, ResolvedRolesDecideLikeBindings) {
  policy::testing::Workload workload;
  ASSERT_THAT(workload.Load(
                  policy::testing::Workload::Dir(STEWARD_WORKLOAD_DIR_DEFAULT)),
              IsOk());
  ASSERT_EQ(workload.checks().size(), 10000u);
  const absl::Time base = absl::FromUnixSeconds(1'000'000);
  const std::vector<absl::Time> times = Times(base);
  const std::vector<std::string>& binding_scopes = BindingScopes();
  const std::vector<std::string> resource_scopes = ResourceScopes();
  for (const bool scoped : {false, true}) {
    SCOPED_TRACE(scoped ? "scoped and expiring" : "as published");
    // The principals, in workload order (checks point at them).
    std::map<std::string, std::vector<policy::RoleBinding>> bindings;
    std::map<std::string, std::vector<policy::Value>> attributes;
    size_t i = 0;
    for (const policy::testing::Workload::Check& c : workload.checks()) {
      if (c.principal == nullptr || bindings.count(c.principal->id)) continue;
      std::vector<policy::RoleBinding>& b = bindings[c.principal->id];
      b = c.principal->bindings;
      if (scoped) {
        // Each role at a scope and expiry, plus each role again globally
        // with an expiry, so principals hold roles in some scopes only.
        const size_t n = b.size();
        for (size_t j = 0; j < n; ++j) {
          b[j].scope = binding_scopes[(i + j * 7) % binding_scopes.size()];
          b[j].expires_at = times[(i * 3 + j) % times.size()];
          b.push_back(policy::RoleBinding{b[j].role, "",
                                          times[(i + j + 1) % times.size()]});
        }
      }
      attributes[c.principal->id] = c.principal->attributes;
      ++i;
    }
    SnapshotBuilder builder(workload.shared_program(), 1, bindings.size());
    i = 0;
    for (const auto& [id, b] : bindings) {
      const bool disabled = i == 7;
      if (i % 5 == 0) {
        builder.Add(PrincipalEntry::Create(id, disabled, b, attributes[id]));
      } else {
        builder.Add(id, disabled, b, attributes[id]);
      }
      ++i;
    }
    const std::shared_ptr<const Snapshot> snapshot =
        std::move(builder).Build(1);
    ASSERT_EQ(snapshot->principal_count(), bindings.size());
    const std::string disabled_id = std::next(bindings.begin(), 7)->first;
    int allows = 0;
    int mismatches = 0;
    size_t k = 0;
    for (const policy::testing::Workload::Check& c : workload.checks()) {
      policy::Request request = workload.MakeRequest(c, base);
      if (scoped) {
        request.scope = resource_scopes[k % resource_scopes.size()];
        request.now = times[(k / 3) % times.size()];
        if (k % 97 == 0) request.principal_id = "nobody";
      }
      const int before = allows;
      ExpectSameDecision(*snapshot, request, /*explain=*/k % 10 == 0, &allows);
      if (!scoped && c.principal_id != disabled_id &&
          (allows > before) != c.expected_allow && ++mismatches <= 5) {
        ADD_FAILURE() << "check " << k << " (" << c.principal_id << " "
                      << c.action << " " << c.kind << "): expected "
                      << (c.expected_allow ? "ALLOW" : "DENY");
      }
      ++k;
    }
    EXPECT_EQ(mismatches, 0);
    // Both answers occur, so the comparison decided something.
    EXPECT_GT(allows, 500);
    EXPECT_LT(allows, 9500);
  }
}

}  // namespace
}  // namespace steward::store
