// Shared fixtures for the store tests: a fresh temp directory per test, the
// policy the tests apply, the store engines the repository tests run on
// (SQLite on a temp file, PostgreSQL on a fresh database of the test
// binary's throwaway cluster), and raw database access for reading and
// tampering around the store the way an attacker or a careless operator
// would.
#ifndef STEWARD_TESTS_STORE_STORE_TEST_UTIL_H_
#define STEWARD_TESTS_STORE_STORE_TEST_UTIL_H_

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/compiler.h"
#include "server/store/clock.h"
#include "server/store/store.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"

namespace steward::store::testing {

// status_matchers.h has no IsOkAndHolds; this one is enough for the store.
MATCHER_P(IsOkAndHolds, inner, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

// A policy with a principal schema, inheritance and a separation of duties,
// including one through `extends` (senior_clerk extends finance_clerk).
inline constexpr char kPolicy[] = R"(policy store_test

principal {
  region: string
  teams: set<string>
  level: int
  vip: bool?
}

resource customer {
  attributes { owner: string, region: string }
  fields { id, name, email pii }
  actions { read, update }
}

resource refund {
  attributes { created_by: string, amount: int }
  actions { create, approve }
}

role viewer "Reads customers" {
  allow read on customer
}

role editor extends viewer {
  allow update on customer
}

role regional {
  allow update on customer when resource.region == principal.region
}

role finance_clerk {
  allow create on refund
}

role senior_clerk extends finance_clerk {
  allow read on customer
}

role finance_approver {
  allow approve on refund when resource.created_by != principal.id
}

separate finance_clerk, finance_approver

test "viewer reads, cannot update" {
  given principal "u1" roles { viewer }
  expect allow read on customer "c1"
  expect deny update on customer "c1"
}
)";

// The same policy without `regional`, without `level`, and with `region`
// turned into an int: for attribute/role drift on policy change.
inline constexpr char kPolicyV2[] = R"(policy store_test

principal {
  region: int
  teams: set<string>
}

resource customer {
  attributes { owner: string }
  fields { id, name }
  actions { read, update }
}

role viewer {
  allow read on customer
}

role editor extends viewer {
  allow update on customer
}
)";

inline std::vector<policy::SourceFile> Sources(
    const char* text, const char* path = "test.policy") {
  return {policy::SourceFile{path, text}};
}

// A directory under TEST_TMPDIR or /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp",
                                       "/steward_store_test.XXXXXX");
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(absl::string_view name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

// A raw SQLite connection for tests that write around the store.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) db_ = nullptr;
    if (db_ != nullptr) {
      sqlite3_exec(db_, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
      sqlite3_busy_timeout(db_, 5000);
    }
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // SQLITE_OK or the error code; *error receives SQLite's message.
  int Exec(const std::string& sql, std::string* error = nullptr) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    if (error != nullptr) *error = message != nullptr ? message : "";
    sqlite3_free(message);
    return rc;
  }
  // The first column of the first row as text ("" when no row).
  std::string QueryText(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string result;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) result = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return result;
  }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// The first column of the first row of `sql` as text ("" when no row or
// on error), on whichever engine `location` names: for the few checks
// that read the database around the store, in SQL both engines accept.
inline std::string RawQueryText(const std::string& location,
                                const std::string& sql) {
  if (!IsPostgresqlLocation(location)) return RawDb(location).QueryText(sql);
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(location.c_str()),
                                                  PQfinish);
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexec(conn.get(), sql.c_str()), PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK ||
      PQntuples(result.get()) == 0 || PQgetisnull(result.get(), 0, 0)) {
    return "";
  }
  return PQgetvalue(result.get(), 0, 0);
}

// One store engine as the tests see it: how to name a fresh, empty store
// for one test. OpenStore picks the engine from that location, so an
// engine is one more StoreEngine and one more value in the
// INSTANTIATE_TEST_SUITE_P of store_test.cc.
struct StoreEngine {
  std::string name;  // the instantiation's test-name suffix
  std::function<absl::StatusOr<std::string>(const TempDir& dir)> new_location;
};

inline void PrintTo(const StoreEngine& engine, std::ostream* os) {
  *os << engine.name;
}

inline StoreEngine SqliteEngine() {
  return {"Sqlite", [](const TempDir& dir) { return dir.File("steward.db"); }};
}

// A fresh database on the test binary's PostgreSQL cluster. Fails (never
// skips) when PostgreSQL is not installed.
inline StoreEngine PostgresqlEngine() {
  return {"Postgresql", [](const TempDir&) -> absl::StatusOr<std::string> {
            absl::StatusOr<::steward::testing::PostgresCluster*> cluster =
                ::steward::testing::PostgresCluster::Shared();
            if (!cluster.ok()) return cluster.status();
            return (*cluster)->CreateDatabase();
          }};
}

inline std::string EngineName(
    const ::testing::TestParamInfo<StoreEngine>& info) {
  return info.param.name;
}

// A test with a fresh store and helpers to fill it, on the engine that
// engine() names (SQLite unless a parameterized subclass says otherwise).
class StoreFixture : public ::testing::Test {
 protected:
  virtual StoreEngine engine() const { return SqliteEngine(); }

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    absl::StatusOr<std::string> location = engine().new_location(dir_);
    ASSERT_TRUE(location.ok()) << location.status();
    path_ = *std::move(location);
    Store::Options options;
    options.create_if_missing = true;
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenStore(path_, clock_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void ApplyTestPolicy() {
    absl::StatusOr<ApplyPolicyResult> applied =
        store_->policies().ApplyPolicy(Sources(kPolicy), "tester", "initial");
    ASSERT_TRUE(applied.ok()) << applied.status();
  }

  void AddPrincipal(const std::string& id, AttributeMap attributes = {}) {
    absl::StatusOr<UpsertPrincipalResult> r =
        store_->principals().UpsertPrincipal(id, id + " name", attributes);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  absl::StatusOr<GrantResult> GrantRole(
      const std::string& principal, const std::string& role,
      const std::string& scope = "",
      std::optional<absl::Time> expires_at = std::nullopt) {
    GrantRequest request;
    request.principal = principal;
    request.role = role;
    request.scope = scope;
    request.expires_at = expires_at;
    request.reason = "test";
    request.granted_by = "admin-key";
    return store_->principals().Grant(request);
  }

  absl::Status Reopen() {
    store_.reset();
    Store::Options options;
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenStore(path_, clock_, options);
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
    return absl::OkStatus();
  }

  TempDir dir_;
  std::string path_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

// The repository tests, run once per engine (INSTANTIATE_TEST_SUITE_P in
// store_test.cc).
class StoreTest : public StoreFixture,
                  public ::testing::WithParamInterface<StoreEngine> {
 protected:
  StoreEngine engine() const override { return GetParam(); }
};

}  // namespace steward::store::testing

#endif  // STEWARD_TESTS_STORE_STORE_TEST_UTIL_H_
