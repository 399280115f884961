// Migration runner: empty -> latest, idempotence, refusal of a newer schema,
// of an edited migration and of foreign databases; one transaction per
// migration. Plus the SQLite -> absl::Status code table.
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migrations/migrations.h"
#include "server/store/secrets.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/migration_runner.h"
#include "server/store/sqlite/sqlite_status.h"
#include "server/store/store.h"
#include "tests/store/store_test_util.h"

namespace steward::store {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;
using testing::RawDb;
using testing::TempDir;

constexpr char kZeroChecksum[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

absl::StatusOr<std::unique_ptr<sqlite::Connection>> OpenConnection(
    const std::string& path) {
  sqlite::ConnectionOptions options;
  options.create_if_missing = true;
  return sqlite::Connection::Open(path, options);
}

TEST(EmbeddedMigrationsTest, SortedAndChecksummed) {
  absl::Span<const migrations::Migration> all = migrations::All();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].name, "0001_initial.sql");
  EXPECT_EQ(all[0].version, 1);
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) {
      EXPECT_GT(all[i].version, all[i - 1].version) << all[i].name;
    }
    EXPECT_EQ(all[i].sha256.size(), 64u);
    EXPECT_FALSE(all[i].sql.empty());
    EXPECT_EQ(internal::Sha256Hex(all[i].sql), all[i].sha256) << all[i].name;
  }
}

TEST(MigrationRunnerTest, RefusesMigrationInsertedBelowAppliedOnes) {
  TempDir dir;
  FakeClock clock;
  const migrations::Migration first = migrations::All()[0];
  const migrations::Migration second{
      2, "0002_late.sql", "CREATE TABLE late (x INTEGER) STRICT;",
      "3333333333333333333333333333333333333333333333333333333333333333"};
  const migrations::Migration third{
      3, "0003_early.sql", "CREATE TABLE early (x INTEGER) STRICT;",
      "4444444444444444444444444444444444444444444444444444444444444444"};
  auto connection = OpenConnection(dir.File("m.db"));
  ASSERT_THAT(connection, IsOk());
  const migrations::Migration with_gap[] = {first, third};
  ASSERT_THAT(sqlite::RunMigrations(**connection, with_gap, clock.Now()),
              IsOk());
  const migrations::Migration filled[] = {first, second, third};
  EXPECT_THAT(sqlite::RunMigrations(**connection, filled, clock.Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("0002_late.sql")));
}

TEST(MigrationRunnerTest, EmptyToLatestThenNothingToDo) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  FakeClock clock;
  {
    auto connection = OpenConnection(path);
    ASSERT_THAT(connection, IsOk());
    auto result =
        sqlite::RunMigrations(**connection, migrations::All(), clock.Now());
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->version_before, 0);
    EXPECT_EQ(result->version_after, migrations::All().back().version);
    EXPECT_EQ(result->applied, static_cast<int>(migrations::All().size()));
    EXPECT_THAT((*connection)->CheckIntegrity(), IsOk());
  }
  {
    auto connection = OpenConnection(path);
    ASSERT_THAT(connection, IsOk());
    auto result =
        sqlite::RunMigrations(**connection, migrations::All(), clock.Now());
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->applied, 0);
    EXPECT_EQ(result->version_before, result->version_after);
  }
  RawDb raw(path);
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM schema_migrations"),
            std::to_string(migrations::All().size()));
  EXPECT_EQ(raw.QueryText("SELECT max(version) FROM schema_migrations"),
            std::to_string(migrations::All().back().version));
  EXPECT_EQ(raw.QueryText("SELECT checksum FROM schema_migrations "
                          "WHERE version = 1"),
            std::string(migrations::All()[0].sha256));
  EXPECT_EQ(raw.QueryText("PRAGMA application_id"),
            std::to_string(sqlite::kApplicationId));
  EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "wal");
  for (const char* table :
       {"schema_migrations", "store_meta", "principals", "role_bindings",
        "policy_versions", "api_keys", "audit_log", "audit_checkpoints"}) {
    EXPECT_EQ(raw.QueryText(absl::StrCat(
                  "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                  "AND name = '",
                  table, "'")),
              "1")
        << table;
  }
}

TEST(MigrationRunnerTest, AppliesOnlyNewMigrationsEachInItsTransaction) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  FakeClock clock;
  const migrations::Migration first = migrations::All()[0];
  const migrations::Migration second{
      2, "0002_add_extra.sql", "CREATE TABLE extra (x INTEGER) STRICT;",
      "1111111111111111111111111111111111111111111111111111111111111111"};
  const migrations::Migration broken{
      3, "0003_broken.sql",
      "CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;",
      "2222222222222222222222222222222222222222222222222222222222222222"};
  auto connection = OpenConnection(path);
  ASSERT_THAT(connection, IsOk());
  const migrations::Migration one[] = {first};
  ASSERT_THAT(sqlite::RunMigrations(**connection, one, clock.Now()), IsOk());

  const migrations::Migration three[] = {first, second, broken};
  auto result = sqlite::RunMigrations(**connection, three, clock.Now());
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInternal,
                               HasSubstr("0003_broken.sql")));
  RawDb raw(path);
  // 0002 committed on its own; 0003 rolled back entirely.
  EXPECT_EQ(raw.QueryText("SELECT max(version) FROM schema_migrations"), "2");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM sqlite_schema "
                          "WHERE name = 'extra'"),
            "1");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM sqlite_schema "
                          "WHERE name = 'half_done'"),
            "0");
}

// 0009 rebuilds audit_log to accept 'plan' records: every row, its seq and
// AUTOINCREMENT's high-water mark survive, and the new kind is accepted
// only with a plan id.
TEST(MigrationRunnerTest, PlanRecordMigrationKeepsTheTrail) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  FakeClock clock;
  absl::Span<const migrations::Migration> all = migrations::All();
  auto plan = std::find_if(all.begin(), all.end(), [](const auto& m) {
    return m.name == "0009_audit_plan_records.sql";
  });
  ASSERT_NE(plan, all.end());
  {
    auto connection = OpenConnection(path);
    ASSERT_THAT(connection, IsOk());
    ASSERT_THAT(sqlite::RunMigrations(
                    **connection,
                    all.subspan(0, static_cast<size_t>(plan - all.begin())),
                    clock.Now()),
                IsOk());
  }
  const std::string hash = "x'" + std::string(64, 'a') + "'";
  auto insert = [&](int seq, const std::string& kind,
                    const std::string& decision_id) {
    return absl::StrCat(
        "INSERT INTO audit_log (seq, time, kind, decision_id, principal, "
        "effect, prev_hash, hash) VALUES (",
        seq, ", ", seq * 1000, ", '", kind, "', ", decision_id, ", 'p", seq,
        "', '", kind == "decision" ? "ALLOW" : "OK", "', ", hash, ", ", hash,
        ")");
  };
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec(insert(1, "decision", "'d1'")), SQLITE_OK);
    ASSERT_EQ(raw.Exec(insert(2, "admin", "NULL")), SQLITE_OK);
    ASSERT_EQ(raw.Exec(insert(3, "decision", "'d3'")), SQLITE_OK);
    // A removed tail: the sequence stays at 3.
    ASSERT_EQ(raw.Exec("DELETE FROM audit_log WHERE seq = 3"), SQLITE_OK);
    std::string error;
    EXPECT_NE(raw.Exec(insert(4, "plan", "'p4'"), &error), SQLITE_OK);
    EXPECT_THAT(error, HasSubstr("CHECK"));
  }
  const std::string rows_sql =
      "SELECT group_concat(seq || ':' || kind || ':' || "
      "coalesce(decision_id, '-') || ':' || principal || ':' || effect, ' ') "
      "FROM (SELECT * FROM audit_log ORDER BY seq)";
  std::string before;
  {
    RawDb raw(path);
    before = raw.QueryText(rows_sql);
  }
  {
    auto connection = OpenConnection(path);
    ASSERT_THAT(connection, IsOk());
    ASSERT_THAT(sqlite::RunMigrations(**connection, all, clock.Now()), IsOk());
  }
  RawDb raw(path);
  EXPECT_EQ(raw.QueryText(rows_sql), before);
  EXPECT_EQ(before, "1:decision:d1:p1:ALLOW 2:admin:-:p2:OK");
  EXPECT_EQ(
      raw.QueryText("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'"),
      "3");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM sqlite_schema WHERE tbl_name "
                          "= 'audit_log' AND type = 'index'"),
            "2");
  EXPECT_EQ(raw.Exec(insert(4, "plan", "'p4'")), SQLITE_OK);
  EXPECT_NE(raw.Exec(insert(5, "plan", "NULL")), SQLITE_OK);
  EXPECT_EQ(raw.QueryText("PRAGMA integrity_check"), "ok");
}

// 0010 adds the second-factor lockout columns to api_keys: keys made
// before it start with no failures and no lockout, and the CHECKs refuse
// a negative count.
TEST(MigrationRunnerTest, SecondFactorLockoutMigrationKeepsKeys) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  FakeClock clock;
  absl::Span<const migrations::Migration> all = migrations::All();
  auto lockout = std::find_if(all.begin(), all.end(), [](const auto& m) {
    return m.name == "0010_second_factor_lockout.sql";
  });
  ASSERT_NE(lockout, all.end());
  {
    auto connection = OpenConnection(path);
    ASSERT_THAT(connection, IsOk());
    ASSERT_THAT(sqlite::RunMigrations(
                    **connection,
                    all.subspan(0, static_cast<size_t>(lockout - all.begin())),
                    clock.Now()),
                IsOk());
  }
  {
    RawDb raw(path);
    std::string error;
    ASSERT_EQ(raw.Exec("INSERT INTO api_keys (name, role, key_hash, "
                       "totp_secret, totp_last_step, created_by, created_at) "
                       "VALUES ('root', 'admin', zeroblob(32), "
                       "'ABCDEFGHIJKLMNOP', 7, 'init', 1)",
                       &error),
              SQLITE_OK)
        << error;
  }
  {
    auto connection = OpenConnection(path);
    ASSERT_THAT(connection, IsOk());
    ASSERT_THAT(sqlite::RunMigrations(**connection, all, clock.Now()), IsOk());
  }
  RawDb raw(path);
  EXPECT_EQ(raw.QueryText("SELECT totp_last_step || '/' || totp_failures || "
                          "'/' || coalesce(totp_window_start, '-') || '/' || "
                          "coalesce(totp_locked_until, '-') FROM api_keys"),
            "7/0/-/-");
  std::string error;
  EXPECT_NE(raw.Exec("UPDATE api_keys SET totp_failures = -1", &error),
            SQLITE_OK);
  EXPECT_THAT(error, HasSubstr("CHECK"));
  EXPECT_NE(raw.Exec("UPDATE api_keys SET totp_locked_until = 'soon'", &error),
            SQLITE_OK);
  EXPECT_EQ(raw.QueryText("PRAGMA integrity_check"), "ok");
}

class StoreMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("steward.db");
    Store::Options options;
    options.create_if_missing = true;
    ASSERT_THAT(OpenStore(path_, clock_, options), IsOk());
  }
  absl::Status Open() {
    return OpenStore(path_, clock_, Store::Options()).status();
  }

  TempDir dir_;
  std::string path_;
  FakeClock clock_;
};

TEST_F(StoreMigrationTest, ReopensCleanly) { EXPECT_THAT(Open(), IsOk()); }

TEST_F(StoreMigrationTest, RefusesNewerSchema) {
  {
    RawDb raw(path_);
    ASSERT_EQ(
        raw.Exec(absl::StrCat("INSERT INTO schema_migrations VALUES (9999, "
                              "'9999_from_the_future.sql', '",
                              kZeroChecksum, "', 0)")),
        SQLITE_OK);
  }
  EXPECT_THAT(Open(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat(
                           "database schema version 9999 is newer than this "
                           "stewardd (knows up to ",
                           migrations::All().back().version, ")"))));
}

TEST_F(StoreMigrationTest, RefusesEditedMigration) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec(absl::StrCat("UPDATE schema_migrations SET checksum = '",
                                    kZeroChecksum, "' WHERE version = 1")),
              SQLITE_OK);
  }
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr("0001_initial.sql"),
                                     HasSubstr("never be edited"))));
}

TEST_F(StoreMigrationTest, RefusesMissingEmbeddedVersion) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("UPDATE schema_migrations SET name = '0001_other.sql' "
                       "WHERE version = 1"),
              SQLITE_OK);
  }
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("0001_other.sql")));
}

TEST(StoreOpenTest, MissingFileIsNotFoundUnlessCreating) {
  TempDir dir;
  FakeClock clock;
  EXPECT_THAT(OpenStore(dir.File("absent.db"), clock, Store::Options()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(StoreOpenTest, CreatesOwnerOnlyFile) {
  TempDir dir;
  FakeClock clock;
  Store::Options options;
  options.create_if_missing = true;
  const std::string path = dir.File("new.db");
  ASSERT_THAT(OpenStore(path, clock, options), IsOk());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(StoreOpenTest, RefusesForeignDatabase) {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.File("other.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE customers (id TEXT)"), SQLITE_OK);
  }
  EXPECT_THAT(OpenStore(path, clock, Store::Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a Steward database")));
}

TEST(StoreOpenTest, NotADatabaseIsDataLoss) {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.File("garbage.db");
  {
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    for (int i = 0; i < 512; ++i) fputs("this is not sqlite ", f);
    fclose(f);
  }
  EXPECT_THAT(OpenStore(path, clock, Store::Options()),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(StoreInitializeTest, SecondInitializeChangesNothing) {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.File("init.db");
  bool created = false;
  {
    auto store = InitializeStore(path, clock, Store::Options(), &created);
    ASSERT_THAT(store, IsOk());
    EXPECT_TRUE(created);
    EXPECT_THAT((*store)->IsInitialized(), testing::IsOkAndHolds(true));
  }
  const std::string before = RawDb(path).QueryText(
      "SELECT revision || '/' || initialized_at FROM store_meta");
  clock.Advance(absl::Hours(1));
  {
    auto store = InitializeStore(path, clock, Store::Options(), &created);
    ASSERT_THAT(store, IsOk());
    EXPECT_FALSE(created);
  }
  EXPECT_EQ(RawDb(path).QueryText(
                "SELECT revision || '/' || initialized_at FROM store_meta"),
            before);
}

struct CodeCase {
  int sqlite_code;
  absl::StatusCode expected;
};

class SqliteStatusTest : public ::testing::TestWithParam<CodeCase> {};

TEST_P(SqliteStatusTest, MapsToStatusCode) {
  EXPECT_EQ(sqlite::SqliteCodeToStatusCode(GetParam().sqlite_code),
            GetParam().expected);
  absl::Status s =
      sqlite::SqliteStatus(GetParam().sqlite_code, nullptr, "testing");
  EXPECT_EQ(s.code(), GetParam().expected);
  EXPECT_THAT(std::string(s.message()), HasSubstr("testing"));
}

INSTANTIATE_TEST_SUITE_P(
    AllCodes, SqliteStatusTest,
    ::testing::Values(
        CodeCase{SQLITE_BUSY, absl::StatusCode::kUnavailable},
        CodeCase{SQLITE_BUSY_SNAPSHOT, absl::StatusCode::kUnavailable},
        CodeCase{SQLITE_LOCKED, absl::StatusCode::kUnavailable},
        CodeCase{SQLITE_IOERR_FSYNC, absl::StatusCode::kUnavailable},
        CodeCase{SQLITE_IOERR_NOMEM, absl::StatusCode::kResourceExhausted},
        CodeCase{SQLITE_CANTOPEN, absl::StatusCode::kUnavailable},
        CodeCase{SQLITE_FULL, absl::StatusCode::kResourceExhausted},
        CodeCase{SQLITE_NOMEM, absl::StatusCode::kResourceExhausted},
        CodeCase{SQLITE_CORRUPT, absl::StatusCode::kDataLoss},
        CodeCase{SQLITE_NOTADB, absl::StatusCode::kDataLoss},
        CodeCase{SQLITE_CONSTRAINT_UNIQUE, absl::StatusCode::kAlreadyExists},
        CodeCase{SQLITE_CONSTRAINT_PRIMARYKEY,
                 absl::StatusCode::kAlreadyExists},
        CodeCase{SQLITE_CONSTRAINT_CHECK, absl::StatusCode::kInvalidArgument},
        CodeCase{SQLITE_CONSTRAINT_NOTNULL, absl::StatusCode::kInvalidArgument},
        CodeCase{SQLITE_CONSTRAINT_FOREIGNKEY,
                 absl::StatusCode::kFailedPrecondition},
        CodeCase{SQLITE_CONSTRAINT, absl::StatusCode::kFailedPrecondition},
        CodeCase{SQLITE_TOOBIG, absl::StatusCode::kInvalidArgument},
        CodeCase{SQLITE_READONLY, absl::StatusCode::kPermissionDenied},
        CodeCase{SQLITE_PERM, absl::StatusCode::kPermissionDenied},
        CodeCase{SQLITE_INTERRUPT, absl::StatusCode::kCancelled},
        CodeCase{SQLITE_ABORT, absl::StatusCode::kAborted},
        CodeCase{SQLITE_ERROR, absl::StatusCode::kInternal},
        CodeCase{SQLITE_MISUSE, absl::StatusCode::kInternal},
        CodeCase{SQLITE_RANGE, absl::StatusCode::kInternal}));

}  // namespace
}  // namespace steward::store
