// Role closures: a chain of roles extending one another
// must compile into closures that share storage (linear, not quadratic, in
// the number of roles), and sharing must not change any closure: each is
// still the role, then its ancestors breadth-first, as spec §3 and every
// consumer (evaluator, lint, separation of duties, reports) expect.
#include "policy/role_closure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "policy/compiler.h"
#include "policy/program.h"

namespace steward::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::string_view kDoc =
    "resource doc { attributes { owner: string } actions { read, update } }\n";

CompileResult CompileText(const std::string& text) {
  const SourceFile file{"closure.policy", text};
  return Compile({&file, 1});
}

// c0 <- c1 <- ... <- c{n-1}, each role extending the previous one.
std::string Chain(int roles, absl::string_view root_rules,
                  absl::string_view leaf_rules) {
  std::string text = absl::StrCat(kDoc, "role c0 {\n", root_rules, "}\n");
  for (int r = 1; r < roles; ++r) {
    absl::StrAppend(&text, "role c", r, " extends c", r - 1, " {\n",
                    r == roles - 1 ? leaf_rules : "  allow update on doc\n",
                    "}\n");
  }
  return text;
}

// The spec's closure, computed naively: breadth-first over the direct
// parents, each role once.
std::vector<RoleId> ReferenceClosure(
    const std::function<std::vector<RoleId>(RoleId)>& parents, RoleId role) {
  std::vector<RoleId> out = {role};
  for (size_t i = 0; i < out.size(); ++i) {
    for (RoleId p : parents(out[i])) {
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
  }
  return out;
}

std::vector<RoleId> Vec(absl::Span<const RoleId> span) {
  return {span.begin(), span.end()};
}

// The structural bound behind the compile-time target: however the
// closures are laid out, all of them together must sit in O(roles) words.
// Materialised per role, a chain of 10,000 needs 50,005,000 entries (and
// hundreds of MB while compiling); this test would fail on that layout
// without timing anything.
TEST(RoleClosureTest, ChainOfTenThousandRolesStoresLinearClosures) {
  constexpr int kRoles = 10000;  // the default role limit
  const CompileResult result = CompileText(
      Chain(kRoles, "  allow read on doc\n", "  allow read on doc\n"));
  ASSERT_TRUE(result.ok()) << (result.diagnostics.empty()
                                   ? ""
                                   : result.diagnostics[0].ToString());
  const Program& program = *result.program;
  ASSERT_EQ(program.role_count(), kRoles);
  const RoleId* lo = nullptr;
  const RoleId* hi = nullptr;
  for (RoleId r = 0; r < kRoles; ++r) {
    absl::Span<const RoleId> c = program.RoleClosure(r);
    ASSERT_EQ(c.size(), static_cast<size_t>(r) + 1);
    ASSERT_EQ(c.front(), r);
    ASSERT_EQ(c.back(), 0);
    if (lo == nullptr || c.data() < lo) lo = c.data();
    if (hi == nullptr || c.data() + c.size() > hi) hi = c.data() + c.size();
  }
  // Every closure lies in [lo, hi): that range is what the closures cost.
  EXPECT_LE(hi - lo, 2 * kRoles);
}

TEST(RoleClosureTest, ClosureIsSelfThenAncestorsBreadthFirst) {
  // d extends b, c; b and c extend a; e extends d and a (a already seen).
  const CompileResult result =
      CompileText(absl::StrCat(kDoc,
                               "role a { allow read on doc }\n"
                               "role b extends a { allow read on doc }\n"
                               "role c extends a { allow read on doc }\n"
                               "role d extends c, b { allow read on doc }\n"
                               "role e extends d, a { allow read on doc }\n"
                               "role f extends b { allow read on doc }\n"));
  ASSERT_TRUE(result.ok());
  const Program& p = *result.program;
  auto names = [&p](RoleId r) {
    std::vector<std::string> out;
    for (RoleId x : p.RoleClosure(r)) out.emplace_back(p.role_name(x));
    return out;
  };
  EXPECT_THAT(names(*p.FindRole("a")), ElementsAre("a"));
  EXPECT_THAT(names(*p.FindRole("b")), ElementsAre("b", "a"));
  EXPECT_THAT(names(*p.FindRole("c")), ElementsAre("c", "a"));
  EXPECT_THAT(names(*p.FindRole("d")), ElementsAre("d", "c", "b", "a"));
  EXPECT_THAT(names(*p.FindRole("e")), ElementsAre("e", "d", "a", "c", "b"));
  EXPECT_THAT(names(*p.FindRole("f")), ElementsAre("f", "b", "a"));
}

// Seeded random acyclic hierarchies (roles declared in shuffled order, so
// parents are often declared after their children; single parents, second
// children, diamonds): every closure equals the reference, order included.
TEST(RoleClosureTest, RandomHierarchiesMatchReference) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) {
      return std::uniform_int_distribution<int>(0, n - 1)(rng);
    };
    const int n = 1 + pick(40);
    // Rank i may extend only lower ranks; declaration order is shuffled.
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::string text(kDoc);
    for (int i : order) {
      absl::StrAppend(&text, "role r", i);
      const int roll = pick(10);
      const int parents = i == 0 || roll < 2 ? 0 : roll < 8 ? 1 : 2 + pick(2);
      for (int k = 0; k < parents; ++k) {
        absl::StrAppend(&text, k == 0 ? " extends r" : ", r", pick(i));
      }
      absl::StrAppend(&text, " { allow read on doc }\n");
    }
    const CompileResult result = CompileText(text);
    ASSERT_TRUE(result.ok()) << "seed " << seed << "\n" << text;
    const Program& p = *result.program;
    for (RoleId r = 0; r < p.role_count(); ++r) {
      EXPECT_EQ(
          Vec(p.RoleClosure(r)),
          ReferenceClosure([&p](RoleId x) { return p.RoleParents(x); }, r))
          << "seed " << seed << " role " << p.role_name(r) << "\n"
          << text;
    }
  }
}

// The builder also serves the checker on policies with extends cycles
// (reported as errors, but separation checks still read closures).
TEST(RoleClosureTest, BuilderKeepsEachRoleOnceOnCycles) {
  // 0 <-> 1, 2 extends 1, 3 extends 2, 4 extends itself, 5 extends 4 and 3.
  const std::vector<std::vector<RoleId>> parents = {{1}, {0}, {1},
                                                    {2}, {4}, {4, 3}};
  std::vector<absl::Span<const RoleId>> spans(parents.begin(), parents.end());
  const internal::RoleClosures closures = internal::BuildRoleClosures(spans);
  for (RoleId r = 0; r < static_cast<RoleId>(parents.size()); ++r) {
    EXPECT_EQ(Vec(closures.Of(r)),
              ReferenceClosure([&parents](RoleId x) { return parents[x]; }, r))
        << "role " << r;
  }
}

TEST(RoleClosureTest, BuilderStoresOneEntryPerChainRole) {
  constexpr int kRoles = 1000;
  std::vector<std::vector<RoleId>> parents(kRoles);
  for (RoleId r = 1; r < kRoles; ++r) parents[r] = {r - 1};
  std::vector<absl::Span<const RoleId>> spans(parents.begin(), parents.end());
  const internal::RoleClosures closures = internal::BuildRoleClosures(spans);
  EXPECT_EQ(closures.roles.size(), static_cast<size_t>(kRoles));
  EXPECT_EQ(closures.Of(kRoles - 1).size(), static_cast<size_t>(kRoles));
}

// The lint's unreachable-allow check looks through closures for
// unconditional denies; at the end of a 10,000-role chain it must still
// find the root's, and name it.
TEST(RoleClosureTest, LintFindsDenyAtTheRootOfALongChain) {
  constexpr int kRoles = 10000;
  const CompileResult result = CompileText(
      Chain(kRoles, "  deny read on doc\n", "  allow read on doc\n"));
  ASSERT_TRUE(result.ok());
  std::vector<std::string> unreachable;
  for (const Diagnostic& d : result.diagnostics) {
    if (d.message.find("can never apply") != std::string::npos) {
      unreachable.push_back(d.message);
    }
  }
  EXPECT_THAT(unreachable, ElementsAre(absl::StrCat(
                               "allow 'c", kRoles - 1,
                               "/1' can never apply: unconditional "
                               "deny 'c0/1' of role 'c0' always wins")));
}

// Separation of duties reads the first two separated roles of each
// closure in closure order.
TEST(RoleClosureTest, SeparationNamesRolesInClosureOrder) {
  const CompileResult result = CompileText(
      absl::StrCat(Chain(4, "  allow read on doc\n", "  allow read on doc\n"),
                   "separate c0, c1\n"));
  ASSERT_FALSE(result.ok());
  std::vector<std::string> errors;
  for (const Diagnostic& d : result.diagnostics) errors.push_back(d.message);
  EXPECT_THAT(errors, ElementsAre(HasSubstr("role 'c1' holds separated roles "
                                            "'c1' and 'c0'"),
                                  HasSubstr("role 'c2' holds separated roles "
                                            "'c1' and 'c0'"),
                                  HasSubstr("role 'c3' holds separated roles "
                                            "'c1' and 'c0'")));
}

}  // namespace
}  // namespace steward::policy
