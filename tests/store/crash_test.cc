// Crash consistency: a child process performing a stream of admin changes
// (one transaction each) is killed with SIGKILL at an arbitrary point; the
// store reopens, passes PRAGMA integrity_check, and every change is either
// fully present or absent — checked through the revision counter, which
// each change bumps in the same transaction as its rows.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sqlite/connection.h"
#include "tests/store/store_test_util.h"

namespace steward::store {
namespace {

using ::steward::testing::IsOk;
using testing::RawDb;

// Runs in the forked child: never returns. Writes one byte to `progress`
// after each committed change.
[[noreturn]] void ChildWriter(const std::string& path, int progress) {
  RealClock clock;
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenStore(path, clock, Store::Options());
  if (!store.ok()) _exit(2);
  for (int i = 0;; ++i) {
    const std::string id = absl::StrCat("c", i);
    if (!(*store)->principals().UpsertPrincipal(id, "crash", {}).ok()) _exit(3);
    char byte = 'p';
    if (write(progress, &byte, 1) != 1) _exit(4);
    for (const char* role : {"viewer", "editor"}) {
      GrantRequest grant;
      grant.principal = id;
      grant.role = role;
      grant.scope = absl::StrCat("acme/", i);
      grant.reason = absl::StrCat("grant ", i, " ", role);
      grant.granted_by = "crash-test";
      if (!(*store)->principals().Grant(grant).ok()) _exit(5);
      byte = 'g';
      if (write(progress, &byte, 1) != 1) _exit(4);
    }
  }
}

class CrashTest : public testing::StoreFixture,
                  public ::testing::WithParamInterface<int> {};

TEST_P(CrashTest, KilledMidBatchLeavesConsistentStore) {
  ApplyTestPolicy();
  const int64_t base_revision = store_->publisher().revision();
  store_.reset();  // the child opens its own connection

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    ChildWriter(path_, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  // Wait for GetParam() committed changes, then kill without warning: the
  // child is in the middle of its next change.
  int seen = 0;
  char buf[64];
  while (seen < GetParam()) {
    const ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
    ASSERT_GT(n, 0) << "child stopped early";
    seen += static_cast<int>(n);
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  close(pipe_fds[0]);

  // Reopen through the store (recovers the WAL) and check integrity.
  ASSERT_THAT(Reopen(), IsOk());
  {
    sqlite::ConnectionOptions options;
    auto connection = sqlite::Connection::Open(path_, options);
    ASSERT_THAT(connection, IsOk());
    EXPECT_THAT((*connection)->CheckIntegrity(), IsOk());
  }
  RawDb raw(path_);
  const int principals =
      std::stoi(raw.QueryText("SELECT count(*) FROM principals"));
  const int bindings =
      std::stoi(raw.QueryText("SELECT count(*) FROM role_bindings"));
  EXPECT_GE(principals + bindings, GetParam());
  // Each change bumped the revision in its own transaction: no change is
  // half there.
  EXPECT_EQ(store_->publisher().revision(),
            base_revision + principals + bindings);
  // Every present binding is complete.
  EXPECT_EQ(raw.QueryText(
                "SELECT count(*) FROM role_bindings WHERE granted_by <> "
                "'crash-test' OR reason <> 'grant ' || substr(principal, 2) "
                "|| ' ' || role OR scope <> 'acme/' || substr(principal, 2)"),
            "0");
  // Changes are sequential: principals c0..c(n-1), all but the last with
  // both grants.
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM principals p WHERE "
                          "CAST(substr(id, 2) AS INTEGER) < " +
                          std::to_string(principals - 1) +
                          " AND (SELECT count(*) FROM role_bindings b WHERE "
                          "b.principal = p.id) <> 2"),
            "0");
  // The snapshot agrees with the tables.
  EXPECT_EQ(store_->publisher().snapshot()->principal_count(),
            static_cast<size_t>(principals));
  // And the store keeps working.
  EXPECT_THAT(store_->principals().UpsertPrincipal("after-crash", "", {}),
              IsOk());
}

INSTANTIATE_TEST_SUITE_P(KillPoints, CrashTest, ::testing::Values(1, 17, 60));

}  // namespace
}  // namespace steward::store
