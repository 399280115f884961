// The PostgreSQL engine's own guarantees, beyond the repository contracts
// that store_test runs on both engines: its migration runner (checksums,
// a newer schema refused, foreign databases untouched), admin changes from
// two stewardd-like store instances on one database serializing with no
// lost update, the revision notification, the SQLSTATE table, and
// connection strings never showing their password. On a real PostgreSQL
// (tests/testing/postgres_cluster.h).
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migrations/migrations.h"
#include "server/store/postgresql/connection.h"
#include "server/store/postgresql/database.h"
#include "server/store/postgresql/migration_runner.h"
#include "server/store/postgresql/pg_status.h"
#include "server/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/postgres_cluster.h"

namespace steward::store {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::PostgresCluster;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RawQueryText;

// A fresh database URL; fails the test when there is no cluster.
std::string NewDatabase() {
  absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
  EXPECT_TRUE(cluster.ok()) << cluster.status();
  if (!cluster.ok()) return "";
  absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("");
}

// Runs raw SQL around the store; "" on success, else the error.
std::string RawExec(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()),
                                                  PQfinish);
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexec(conn.get(), sql.c_str()), PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return "";
  return PQerrorMessage(conn.get());
}

absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& url,
                                            const Clock& clock,
                                            bool create = false) {
  Store::Options options;
  options.create_if_missing = create;
  return OpenStore(url, clock, options);
}

// ---- Migrations.

TEST(PostgresqlMigrationTest, EmptyDatabaseIsNotFoundUnlessCreating) {
  const std::string url = NewDatabase();
  FakeClock clock;
  EXPECT_THAT(Open(url, clock).status(), StatusIs(absl::StatusCode::kNotFound,
                                                  HasSubstr("stewardd init")));
  // Nothing was written.
  EXPECT_EQ(RawQueryText(url,
                         "SELECT count(*) FROM pg_tables WHERE "
                         "schemaname = 'public'"),
            "0");
  ASSERT_THAT(Open(url, clock, /*create=*/true).status(), IsOk());
  std::vector<std::string> applied;
  for (const migrations::Migration& m : migrations::AllPostgresql()) {
    applied.push_back(absl::StrCat(m.name, ":", m.sha256));
  }
  EXPECT_EQ(RawQueryText(url,
                         "SELECT string_agg(name || ':' || checksum, ',' "
                         "ORDER BY version) FROM schema_migrations"),
            absl::StrJoin(applied, ","));
  // Opening again applies nothing and works without create.
  EXPECT_THAT(Open(url, clock).status(), IsOk());
}

TEST(PostgresqlMigrationTest, EditedMigrationIsRefused) {
  const std::string url = NewDatabase();
  FakeClock clock;
  ASSERT_THAT(Open(url, clock, true).status(), IsOk());
  ASSERT_EQ(RawExec(url,
                    "UPDATE schema_migrations SET checksum = "
                    "repeat('0', 64) WHERE version = 1"),
            "");
  EXPECT_THAT(Open(url, clock).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("must never be edited")));
}

TEST(PostgresqlMigrationTest, NewerSchemaIsRefused) {
  const std::string url = NewDatabase();
  FakeClock clock;
  ASSERT_THAT(Open(url, clock, true).status(), IsOk());
  ASSERT_EQ(RawExec(url,
                    "INSERT INTO schema_migrations VALUES "
                    "(99, '0099_future.sql', repeat('a', 64), 0)"),
            "");
  EXPECT_THAT(Open(url, clock).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer than this stewardd")));
}

TEST(PostgresqlMigrationTest, ForeignTablesAreNotTouched) {
  const std::string url = NewDatabase();
  ASSERT_EQ(RawExec(url, "CREATE TABLE theirs (x int)"), "");
  FakeClock clock;
  EXPECT_THAT(Open(url, clock, true).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a Steward database")));
  EXPECT_EQ(RawQueryText(url, "SELECT to_regclass('schema_migrations')"), "");
}

TEST(PostgresqlMigrationTest, AppendedMigrationRunsInItsTransaction) {
  const std::string url = NewDatabase();
  FakeClock clock;
  ASSERT_THAT(Open(url, clock, true).status(), IsOk());
  std::vector<migrations::Migration> list(migrations::AllPostgresql().begin(),
                                          migrations::AllPostgresql().end());
  const std::string good_sha(64, 'b');
  // Versions after the embedded ones, however many have landed (and with
  // gaps in the numbering: 0004 may land before 0003).
  const int latest = list.back().version;
  const std::string extra_name = absl::StrFormat("%04d_extra.sql", latest + 1);
  const std::string bad_name = absl::StrFormat("%04d_bad.sql", latest + 2);
  list.push_back(
      {latest + 1, extra_name, "CREATE TABLE extra (x int);", good_sha});
  absl::StatusOr<std::unique_ptr<postgresql::Connection>> c =
      postgresql::Connection::Open(url, {});
  ASSERT_THAT(c.status(), IsOk());
  absl::StatusOr<postgresql::MigrationResult> result =
      postgresql::RunMigrations(**c, list, clock.Now(), false);
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_EQ(result->version_before, latest);
  EXPECT_EQ(result->version_after, latest + 1);
  EXPECT_EQ(result->applied, 1);
  // A failing migration leaves neither its tables nor its row behind.
  list.push_back({latest + 2, bad_name,
                  "CREATE TABLE half (x int); SELECT no_such_function();",
                  good_sha});
  EXPECT_THAT(postgresql::RunMigrations(**c, list, clock.Now(), false).status(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr(bad_name)));
  EXPECT_EQ(RawQueryText(url, "SELECT to_regclass('half')"), "");
  EXPECT_EQ(RawQueryText(url, "SELECT max(version) FROM schema_migrations"),
            absl::StrCat(latest + 1));
  // This binary (which knows only versions up to `latest`) now refuses the
  // database.
  EXPECT_THAT(Open(url, clock).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer than this stewardd")));
}

// ---- Two instances on one database.

TEST(PostgresqlConcurrencyTest, AdminChangesFromTwoStoresSerialize) {
  const std::string url = NewDatabase();
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Store>> a = Open(url, clock, true);
  ASSERT_THAT(a.status(), IsOk());
  absl::StatusOr<std::unique_ptr<Store>> b = Open(url, clock);
  ASSERT_THAT(b.status(), IsOk());
  ASSERT_THAT((*a)->policies()
                  .ApplyPolicy(testing::Sources(testing::kPolicy), "t", "")
                  .status(),
              IsOk());

  constexpr int kPerStore = 25;
  std::vector<int64_t> revisions[2];
  std::vector<int64_t> versions[2];
  std::vector<absl::Status> errors[2];
  auto work = [&](Store* store, int which) {
    for (int i = 0; i < kPerStore; ++i) {
      // Alternate principals and policy versions: both bump the revision,
      // and policy versions are numbered under the same lock.
      if (i % 5 == 0) {
        absl::StatusOr<ApplyPolicyResult> r = store->policies().ApplyPolicy(
            testing::Sources(testing::kPolicy), "t", "");
        if (!r.ok()) {
          errors[which].push_back(r.status());
          continue;
        }
        revisions[which].push_back(r->store_revision);
        versions[which].push_back(r->version.version);
      } else {
        absl::StatusOr<UpsertPrincipalResult> r =
            store->principals().UpsertPrincipal(
                absl::StrCat("p", which, "_", i), "", {});
        if (!r.ok()) {
          errors[which].push_back(r.status());
          continue;
        }
        revisions[which].push_back(r->store_revision);
      }
    }
  };
  std::thread ta(work, a->get(), 0);
  std::thread tb(work, b->get(), 1);
  ta.join();
  tb.join();
  for (int which : {0, 1}) {
    for (const absl::Status& s : errors[which]) ADD_FAILURE() << s;
  }
  // Every change got its own revision, one more than the one before it:
  // after the initial ApplyPolicy (revision 1), exactly 2..2*kPerStore+1.
  std::set<int64_t> all;
  for (int which : {0, 1}) {
    EXPECT_TRUE(
        std::is_sorted(revisions[which].begin(), revisions[which].end()));
    all.insert(revisions[which].begin(), revisions[which].end());
  }
  ASSERT_EQ(all.size(), 2u * kPerStore);
  EXPECT_EQ(*all.begin(), 2);
  EXPECT_EQ(*all.rbegin(), 2 * kPerStore + 1);
  EXPECT_EQ(RawQueryText(url, "SELECT revision FROM store_meta"),
            absl::StrCat(2 * kPerStore + 1));
  // No two policy versions got the same number; exactly one is active.
  std::set<int64_t> numbers(versions[0].begin(), versions[0].end());
  numbers.insert(versions[1].begin(), versions[1].end());
  EXPECT_EQ(numbers.size(), versions[0].size() + versions[1].size());
  EXPECT_EQ(RawQueryText(url,
                         "SELECT count(*) FROM policy_versions WHERE "
                         "active"),
            "1");
  EXPECT_EQ(RawQueryText(url, "SELECT count(*) FROM principals"),
            absl::StrCat(2 * (kPerStore - kPerStore / 5)));
  // A store opened now sees all of it.
  absl::StatusOr<std::unique_ptr<Store>> c = Open(url, clock);
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_EQ((*c)->publisher().revision(), 2 * kPerStore + 1);
  EXPECT_EQ((*c)->publisher().snapshot()->principal_count(),
            static_cast<size_t>(2 * (kPerStore - kPerStore / 5)));
}

TEST(PostgresqlConcurrencyTest, TotpStepIsSingleUseAcrossStores) {
  const std::string url = NewDatabase();
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Store>> a = Open(url, clock, true);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(
      (*a)->keys().CreateApiKey("adm", ServiceRole::kAdmin, "t").status(),
      IsOk());
  absl::StatusOr<std::unique_ptr<Store>> b = Open(url, clock);
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_THAT((*a)->keys().RecordTotpStep("adm", 100), IsOk());
  EXPECT_THAT((*b)->keys().RecordTotpStep("adm", 100),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already used")));
}

TEST(PostgresqlNotifyTest, EveryChangeNotifiesItsRevision) {
  const std::string url = NewDatabase();
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Store>> store = Open(url, clock, true);
  ASSERT_THAT(store.status(), IsOk());
  std::unique_ptr<PGconn, void (*)(PGconn*)> listener(PQconnectdb(url.c_str()),
                                                      PQfinish);
  PQclear(PQexec(listener.get(), "LISTEN steward_revision"));
  ASSERT_THAT((*store)->principals().UpsertPrincipal("u1", "", {}).status(),
              IsOk());
  std::string payload;
  for (int i = 0; i < 50 && payload.empty(); ++i) {
    pollfd pfd{PQsocket(listener.get()), POLLIN, 0};
    ::poll(&pfd, 1, 100);
    PQconsumeInput(listener.get());
    if (PGnotify* n = PQnotifies(listener.get()); n != nullptr) {
      payload = n->extra;
      PQfreemem(n);
    }
  }
  // The revision, and what the change touched (database.h), so that a
  // follower can patch only that principal's entry.
  EXPECT_EQ(payload, "1 p u1");
}

TEST(PostgresqlNotifyTest, NoticesRoundTripAndBadPayloadsMeanRebuild) {
  using postgresql::ChangeSubject;
  using postgresql::DecodeRevisionNotice;
  using postgresql::EncodeRevisionNotice;
  postgresql::RevisionNotice principal = DecodeRevisionNotice(
      EncodeRevisionNotice(7, ChangeSubject::Principal("a.b@c:d")));
  EXPECT_EQ(principal.revision, 7);
  EXPECT_EQ(principal.subject.kind, ChangeSubject::Kind::kPrincipal);
  EXPECT_EQ(principal.subject.principal, "a.b@c:d");
  postgresql::RevisionNotice keys =
      DecodeRevisionNotice(EncodeRevisionNotice(8, ChangeSubject::Keys()));
  EXPECT_EQ(keys.revision, 8);
  EXPECT_EQ(keys.subject.kind, ChangeSubject::Kind::kKeys);
  postgresql::RevisionNotice whole =
      DecodeRevisionNotice(EncodeRevisionNotice(9, ChangeSubject()));
  EXPECT_EQ(whole.revision, 9);
  EXPECT_EQ(whole.subject.kind, ChangeSubject::Kind::kWhole);
  for (const char* bad : {"", "x", "-1", "0", "5 p ", "5 q x"}) {
    postgresql::RevisionNotice notice = DecodeRevisionNotice(bad);
    EXPECT_EQ(notice.subject.kind, ChangeSubject::Kind::kWhole) << bad;
  }
}

// ---- Following another instance's changes.

// Waits up to 5 s for `done`.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(PostgresqlFollowTest, FollowerAppliesAnotherStoresChanges) {
  const std::string url = NewDatabase();
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Store>> a = Open(url, clock, true);
  ASSERT_THAT(a.status(), IsOk());
  absl::StatusOr<std::unique_ptr<Store>> b = Open(url, clock);
  ASSERT_THAT(b.status(), IsOk());
  FollowOptions options;
  // Long enough that only notifications can explain a fast update.
  options.poll_interval = absl::Seconds(30);
  absl::StatusOr<std::unique_ptr<StoreFollower>> follower =
      (*b)->Follow(options);
  ASSERT_THAT(follower.status(), IsOk());
  ASSERT_NE(*follower, nullptr);
  Store& follower_store = **b;

  absl::StatusOr<ApplyPolicyResult> applied =
      (*a)->policies().ApplyPolicy(testing::Sources(testing::kPolicy), "t", "");
  ASSERT_THAT(applied.status(), IsOk());
  EXPECT_TRUE(Eventually([&] {
    return follower_store.publisher().snapshot()->policy_version() ==
           applied->version.version;
  }));
  absl::StatusOr<UpsertPrincipalResult> upserted =
      (*a)->principals().UpsertPrincipal("u1", "", {});
  ASSERT_THAT(upserted.status(), IsOk());
  EXPECT_TRUE(Eventually([&] {
    return follower_store.publisher().snapshot()->FindPrincipal("u1") !=
           nullptr;
  }));
  EXPECT_EQ(follower_store.publisher().revision(), upserted->store_revision);
  absl::StatusOr<NewApiKey> key =
      (*a)->keys().CreateApiKey("k1", ServiceRole::kClient, "t");
  ASSERT_THAT(key.status(), IsOk());
  EXPECT_TRUE(Eventually(
      [&] { return follower_store.keys().AuthenticateApiKey(key->key).ok(); }));
  ASSERT_THAT((*a)->keys().RevokeApiKey("k1").status(), IsOk());
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<AuthenticatedKey> found =
        follower_store.keys().AuthenticateApiKey(key->key);
    return found.ok() && found->revoked;
  }));
  EXPECT_THAT((*follower)->last_error(), IsOk());
  EXPECT_GT((*follower)->last_contact(), absl::InfinitePast());
}

TEST(PostgresqlFollowTest, OwnChangeAfterAnothersCatchesUpWithBoth) {
  const std::string url = NewDatabase();
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Store>> a = Open(url, clock, true);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT((*a)->policies()
                  .ApplyPolicy(testing::Sources(testing::kPolicy), "t", "")
                  .status(),
              IsOk());
  absl::StatusOr<std::unique_ptr<Store>> b = Open(url, clock);
  ASSERT_THAT(b.status(), IsOk());
  // Changes through a that b does not follow (no follower)...
  ASSERT_THAT((*a)->principals().UpsertPrincipal("from-a", "", {}).status(),
              IsOk());
  absl::StatusOr<NewApiKey> key =
      (*a)->keys().CreateApiKey("key-from-a", ServiceRole::kClient, "t");
  ASSERT_THAT(key.status(), IsOk());
  // ...then one through b: its revision is not b's published one plus one,
  // so b must not label its patched snapshot with it; it catches up with
  // everything.
  absl::StatusOr<UpsertPrincipalResult> own =
      (*b)->principals().UpsertPrincipal("from-b", "", {});
  ASSERT_THAT(own.status(), IsOk());
  std::shared_ptr<const Snapshot> snapshot = (*b)->publisher().snapshot();
  EXPECT_EQ(snapshot->store_revision(), own->store_revision);
  EXPECT_NE(snapshot->FindPrincipal("from-a"), nullptr);
  EXPECT_NE(snapshot->FindPrincipal("from-b"), nullptr);
  EXPECT_THAT((*b)->keys().AuthenticateApiKey(key->key).status(), IsOk());
}

// Ends every other session on the database, as a restart or failover of
// the server would.
void TerminateOtherSessions(const std::string& url) {
  ASSERT_EQ(RawExec(url,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"),
            "");
}

// The store's session died while idle: its next change runs on a new
// session (BEGIN had no effect), so the restart costs the caller nothing.
TEST(PostgresqlConnectionTest, SessionLostWhileIdleIsReplacedForTheNextCall) {
  const std::string url = NewDatabase();
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Store>> store = Open(url, clock, true);
  ASSERT_THAT(store.status(), IsOk());
  ASSERT_NO_FATAL_FAILURE(TerminateOtherSessions(url));
  absl::StatusOr<UpsertPrincipalResult> first =
      (*store)->principals().UpsertPrincipal("u1", "", {});
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(first->store_revision, 1);
  EXPECT_TRUE(first->created);
  // Reads too.
  ASSERT_NO_FATAL_FAILURE(TerminateOtherSessions(url));
  EXPECT_THAT((*store)->principals().GetPrincipal("u1").status(), IsOk());
}

// What may already have had an effect is never run twice: a write outside
// a transaction, or any statement inside one, fails UNAVAILABLE when the
// session is lost, and the next statement runs on a new session.
TEST(PostgresqlConnectionTest, LostSessionNeverRerunsAWriteOrATransaction) {
  using postgresql::Connection;
  using postgresql::Transaction;
  const std::string url = NewDatabase();
  ASSERT_EQ(RawExec(url, "CREATE TABLE t (n int)"), "");
  postgresql::ConnectionOptions options;
  options.rerun_reads_on_new_session = true;
  absl::StatusOr<std::unique_ptr<Connection>> c =
      Connection::Open(url, options);
  ASSERT_THAT(c.status(), IsOk());

  ASSERT_NO_FATAL_FAILURE(TerminateOtherSessions(url));
  EXPECT_THAT((*c)->Exec("insert", "INSERT INTO t VALUES (1)").status(),
              StatusIs(absl::StatusCode::kUnavailable));
  {
    absl::StatusOr<Transaction> transaction =
        Transaction::Begin(**c, Transaction::Mode::kWrite);
    ASSERT_THAT(transaction.status(), IsOk());
    ASSERT_THAT((*c)->Exec("insert", "INSERT INTO t VALUES (2)").status(),
                IsOk());
    ASSERT_NO_FATAL_FAILURE(TerminateOtherSessions(url));
    EXPECT_THAT((*c)->Exec("select", "SELECT count(*) FROM t").status(),
                StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(transaction->Commit(),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_EQ(RawQueryText(url, "SELECT count(*) FROM t"), "0");
  absl::StatusOr<postgresql::Result> count =
      (*c)->Exec("select", "SELECT count(*) FROM t");
  ASSERT_THAT(count.status(), IsOk());
  EXPECT_EQ(count->Text(0, 0), "0");
}

// The test cluster runs with synchronous_commit=off (postgres_cluster.h);
// our sessions must not inherit it, since a commit we answered for would
// then be lost by a crash of the server.
TEST(PostgresqlConnectionTest, SessionsCommitDurablyAndNameThemselves) {
  using postgresql::Connection;
  using postgresql::Result;
  const std::string url = NewDatabase();
  constexpr const char* kSettings =
      "SELECT current_setting('synchronous_commit'), "
      "current_setting('application_name')";
  absl::StatusOr<std::unique_ptr<Connection>> plain = Connection::Open(url, {});
  ASSERT_THAT(plain.status(), IsOk());
  absl::StatusOr<Result> settings = (*plain)->Exec("settings", kSettings);
  ASSERT_THAT(settings.status(), IsOk());
  EXPECT_EQ(settings->Text(0, 0), "on");
  EXPECT_EQ(settings->Text(0, 1), "stewardd");
  // The operator's string wins over our defaults, and a stronger commit
  // level is kept.
  absl::StatusOr<std::unique_ptr<Connection>> tuned = Connection::Open(
      absl::StrCat(url,
                   "?application_name=billing-pdp&options=-csynchronous_"
                   "commit%3Dremote_apply"),
      {});
  ASSERT_THAT(tuned.status(), IsOk());
  settings = (*tuned)->Exec("settings", kSettings);
  ASSERT_THAT(settings.status(), IsOk());
  EXPECT_EQ(settings->Text(0, 0), "remote_apply");
  EXPECT_EQ(settings->Text(0, 1), "billing-pdp");
}

// ---- Errors and secrets.

TEST(PostgresqlStatusTest, SqlStatesMapToTheSqliteEnginesCodes) {
  using postgresql::SqlStateToStatusCode;
  EXPECT_EQ(SqlStateToStatusCode("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(SqlStateToStatusCode("23514"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqlStateToStatusCode("23502"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqlStateToStatusCode("22001"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqlStateToStatusCode("23503"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqlStateToStatusCode("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(SqlStateToStatusCode("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(SqlStateToStatusCode("55P03"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqlStateToStatusCode("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqlStateToStatusCode("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqlStateToStatusCode("53100"),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(SqlStateToStatusCode("XX001"), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SqlStateToStatusCode("42501"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(SqlStateToStatusCode("28P01"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(SqlStateToStatusCode("3D000"), absl::StatusCode::kNotFound);
  EXPECT_EQ(SqlStateToStatusCode("42P01"), absl::StatusCode::kInternal);
}

TEST(PostgresqlStatusTest, ConstraintViolationsFromTheServerAreMapped) {
  const std::string url = NewDatabase();
  FakeClock clock;
  ASSERT_THAT(Open(url, clock, true).status(), IsOk());
  absl::StatusOr<std::unique_ptr<postgresql::Connection>> c =
      postgresql::Connection::Open(url, {});
  ASSERT_THAT(c.status(), IsOk());
  const char* insert =
      "INSERT INTO principals (id, created_at, updated_at) VALUES ($1, 0, 0)";
  ASSERT_THAT(
      (*c)->Exec("insert", insert, postgresql::Params().Text("dup")).status(),
      IsOk());
  // The value never appears in the message (PostgreSQL's DETAIL would
  // quote it).
  EXPECT_THAT(
      (*c)->Exec("insert", insert, postgresql::Params().Text("dup")).status(),
      StatusIs(absl::StatusCode::kAlreadyExists,
               AllOf(HasSubstr("principals_pkey"), HasSubstr("23505"),
                     Not(HasSubstr("(dup)")))));
  EXPECT_THAT(
      (*c)->Exec("insert", insert, postgresql::Params().Text("")).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("23514")));
}

TEST(RedactStoreLocationTest, UrlPasswordIsRedacted) {
  EXPECT_EQ(RedactStoreLocation("postgresql://u:secret@h/db"),
            "postgresql://u:REDACTED@h/db");
  EXPECT_EQ(RedactStoreLocation("postgres://u:s%40cr:et@h:5432/db?sslmode="
                                "verify-full"),
            "postgres://u:REDACTED@h:5432/db?sslmode=verify-full");
  EXPECT_EQ(RedactStoreLocation("postgresql://u:p@ss@h"),
            "postgresql://u:REDACTED@h");
  EXPECT_EQ(RedactStoreLocation(
                "postgresql://h/db?user=u&password=secret&sslmode=require"),
            "postgresql://h/db?user=u&password=REDACTED&sslmode=require");
  EXPECT_EQ(RedactStoreLocation("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactStoreLocation("/var/lib/steward/steward.db"),
            "/var/lib/steward/steward.db");
}

TEST(RedactStoreLocationTest, KeywordValuePasswordIsRedacted) {
  EXPECT_EQ(RedactStoreLocation("host=h dbname=d password=secret user=u"),
            "host=h dbname=d password=REDACTED user=u");
  EXPECT_EQ(RedactStoreLocation("password = 'se cr\\'et' host=h"),
            "password = REDACTED host=h");
  EXPECT_EQ(RedactStoreLocation("PASSWORD=x"), "PASSWORD=REDACTED");
  for (const char* text :
       {"host=h password=secret", "password='secret' host=h",
        "postgresql://u:secret@h/db", "postgresql://h?password=secret"}) {
    EXPECT_THAT(RedactStoreLocation(text), Not(HasSubstr("secret"))) << text;
  }
}

TEST(PostgresqlConnectionTest, ErrorsNeverShowThePassword) {
  absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
  ASSERT_THAT(cluster.status(), IsOk());
  FakeClock clock;
  // Nothing listens on port 1; and a database that does not exist.
  for (const std::string& url :
       {std::string("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2"),
        absl::StrCat("postgresql://steward:secret@127.0.0.1:",
                     (*cluster)->port(), "/no_such_db")}) {
    absl::StatusOr<std::unique_ptr<Store>> store = Open(url, clock);
    EXPECT_THAT(store.status(), StatusIs(absl::StatusCode::kUnavailable,
                                         AllOf(HasSubstr("cannot connect"),
                                               Not(HasSubstr("secret")))));
  }
  EXPECT_THAT(Open("postgresql://u:secret@h/db?nonsense=1", clock).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("nonsense"), Not(HasSubstr("secret")))));
}

}  // namespace
}  // namespace steward::store
