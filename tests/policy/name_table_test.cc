// NameTable: the check path's string -> int map, single and pair keys.
#include "policy/name_table.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace steward::policy::internal {
namespace {

TEST(NameTableTest, FindsWhatWasInsertedAcrossRehashes) {
  NameTable t;
  EXPECT_EQ(t.Find("x"), -1);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(
        t.Insert(absl::StrCat("name-", i, std::string(i % 20, 'x')), i));
  }
  EXPECT_FALSE(t.Insert("name-0", 7));
  EXPECT_EQ(t.size(), 1000);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(t.Find(absl::StrCat("name-", i, std::string(i % 20, 'x'))), i);
  }
  EXPECT_EQ(t.Find("name-"), -1);
  EXPECT_EQ(t.Find(""), -1);
  EXPECT_EQ(t.Find("name-1xx"), -1);  // a prefix of a longer key
}

TEST(NameTableTest, PairKeysDoNotConfuseTheSplitPoint) {
  NameTable t;
  EXPECT_TRUE(t.InsertPair("ab", "c", 1));
  EXPECT_TRUE(t.InsertPair("a", "bc", 2));
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(t.InsertPair(absl::StrCat("kind", i), "read", 10 + i));
  }
  EXPECT_EQ(t.FindPair("ab", "c"), 1);
  EXPECT_EQ(t.FindPair("a", "bc"), 2);
  EXPECT_EQ(t.FindPair("abc", ""), -1);
  EXPECT_EQ(t.FindPair("kind42", "read"), 52);
  EXPECT_EQ(t.FindPair("kind42", "write"), -1);
}

}  // namespace
}  // namespace steward::policy::internal
