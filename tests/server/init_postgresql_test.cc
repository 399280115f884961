// `stewardd init --store postgresql://...` on the real binary against a
// real PostgreSQL (tests/testing/postgres_cluster.h): the store is created
// and initialized in the database, re-running changes nothing, and the
// URL's password appears in no output.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/clock.h"
#include "server/store/store.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "hunter2-not-shown";

// A fresh database's URL with a password in it (the test cluster trusts
// local connections, so the server never asks for it; it must still never
// be printed).
std::string UrlWithPassword() {
  absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
  EXPECT_THAT(cluster.status(), IsOk());
  if (!cluster.ok()) return "";
  absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
  EXPECT_THAT(url.status(), IsOk());
  if (!url.ok()) return "";
  const std::string prefix = "postgresql://steward@";
  return absl::StrCat("postgresql://steward:", kPassword, "@",
                      url->substr(prefix.size()));
}

TEST(InitPostgresqlTest, CreatesTheStoreInTheDatabaseOnce) {
  TempDir dir;
  const std::string url = UrlWithPassword();
  const std::string data = dir.path() + "/data";
  CommandResult init =
      RunCommand({STEWARDD_PATH, "init", "--data-dir", data, "--store", url,
                  "--policy", std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy",
                  "--admin-key-out", dir.path() + "/admin.key",
                  "--totp-secret-out", dir.path() + "/admin.totp"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_THAT(init.out, HasSubstr("store created in postgresql://steward:"
                                  "REDACTED@127.0.0.1:"));
  EXPECT_THAT(init.out + init.err, Not(HasSubstr(kPassword)));

  store::FakeClock clock;
  absl::StatusOr<std::unique_ptr<store::Store>> store =
      store::OpenStore(url, clock, {});
  ASSERT_THAT(store.status(), IsOk());
  absl::StatusOr<bool> initialized = (*store)->IsInitialized();
  ASSERT_THAT(initialized.status(), IsOk());
  EXPECT_TRUE(*initialized);
  absl::StatusOr<bool> has_admin = (*store)->keys().HasAnyAdminKey();
  ASSERT_THAT(has_admin.status(), IsOk());
  EXPECT_TRUE(*has_admin);
  EXPECT_EQ((*store)->publisher().snapshot()->policy_version(), 1);
  // Policy version 1 and the admin key: two changes.
  EXPECT_EQ((*store)->publisher().revision(), 2);

  // INTERFACES.md's form: with --store, no data dir is needed.
  CommandResult again = RunCommand({STEWARDD_PATH, "init", "--store", url});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("nothing changed"));
  EXPECT_THAT(again.out + again.err, Not(HasSubstr(kPassword)));
}

TEST(InitPostgresqlTest, WithoutStoreTheDataDirIsRequired) {
  CommandResult init = RunCommand({STEWARDD_PATH, "init"});
  EXPECT_EQ(init.exit_code, 2) << init.err;
  EXPECT_THAT(init.err, HasSubstr("error: --data-dir is required"));
}

TEST(InitPostgresqlTest, BadStoreIsAClearErrorWithoutThePassword) {
  TempDir dir;
  // Nothing listens on port 1.
  CommandResult unreachable = RunCommand(
      {STEWARDD_PATH, "init", "--data-dir", dir.path() + "/data", "--store",
       absl::StrCat("postgresql://u:", kPassword, "@127.0.0.1:1/db")});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err,
              AllOf(HasSubstr("cannot connect"), HasSubstr("REDACTED"),
                    Not(HasSubstr(kPassword))));
  CommandResult not_url =
      RunCommand({STEWARDD_PATH, "init", "--data-dir", dir.path() + "/data",
                  "--store", dir.path() + "/x.db"});
  EXPECT_NE(not_url.exit_code, 0);
  EXPECT_THAT(not_url.err, HasSubstr("--store takes a postgresql:// URL"));
}

}  // namespace
}  // namespace steward::testing
