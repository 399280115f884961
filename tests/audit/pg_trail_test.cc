// The audit trail in PostgreSQL (server/audit/postgresql/): replicas'
// writers group-commit their own hash chains into one database; every chain
// verifies; tampering is found per chain; a lost connection fails the
// records it did not commit (kUnavailable) and the writer recovers; a
// second writer with the same replica name is refused; a record PostgreSQL
// refuses fails alone, never with its batch. On a real PostgreSQL 15
// (tests/testing/postgres_cluster.h), no mocks.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migrations/migrations.h"
#include "server/audit/audit_queries.h"
#include "server/audit/postgresql/pg_audit_queries.h"
#include "server/audit/postgresql/pg_reader.h"
#include "server/audit/postgresql/pg_trail_writer.h"
#include "server/audit/postgresql/pg_verify.h"
#include "server/audit/signed_checkpoint.h"
#include "server/audit/trail_factory.h"
#include "server/store/postgresql/connection.h"
#include "server/store/postgresql/migration_runner.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::testing::IsOk;
using ::steward::testing::PostgresCluster;
using ::steward::testing::StatusIs;
using ::steward::testing::WaitUntil;
using ::testing::HasSubstr;

// A fresh database carrying every PostgreSQL migration; "" (and a test
// failure) when there is no cluster.
std::string NewTrailDatabase() {
  absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
  EXPECT_THAT(cluster.status(), IsOk());
  if (!cluster.ok()) return "";
  absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
  EXPECT_THAT(url.status(), IsOk());
  if (!url.ok()) return "";
  auto connection = store::postgresql::Connection::Open(*url, {});
  EXPECT_THAT(connection.status(), IsOk());
  if (!connection.ok()) return "";
  auto migrated = store::postgresql::RunMigrations(
      **connection, migrations::AllPostgresql(), absl::Now(), true);
  EXPECT_THAT(migrated.status(), IsOk());
  return *url;
}

// Raw SQL beside the writer (what an insider or an operator does); the
// first column of the first row, "" for none; a test failure on error.
std::string Sql(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()),
                                                  PQfinish);
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexec(conn.get(), sql.c_str()), PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
      << sql << ": " << PQerrorMessage(conn.get());
  if (status != PGRES_TUPLES_OK || PQntuples(result.get()) == 0 ||
      PQgetisnull(result.get(), 0, 0)) {
    return "";
  }
  return PQgetvalue(result.get(), 0, 0);
}

// The database name of a cluster URL (its last path segment).
std::string DatabaseName(const std::string& url) {
  return url.substr(url.rfind('/') + 1);
}

// Superuser access to the maintenance database, for ALTER DATABASE.
std::string AdminUrl(const std::string& url) {
  return url.substr(0, url.rfind('/') + 1) + "postgres";
}

std::unique_ptr<PgTrailWriter> OpenWriter(const std::string& url,
                                          const std::string& chain,
                                          PgWriterOptions options = {}) {
  options.conninfo = url;
  options.chain = chain;
  options.reconnect_backoff_min = absl::Milliseconds(10);
  options.reconnect_backoff_max = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<PgTrailWriter>> writer =
      PgTrailWriter::Open(options);
  EXPECT_THAT(writer.status(), IsOk());
  return writer.ok() ? *std::move(writer) : nullptr;
}

// A decision record happening now, with a decision id unique per chain.
AuditRecord Now(const std::string& chain, int i) {
  AuditRecord r = Decision(i);
  r.time = absl::Now();
  r.decision_id = absl::StrCat(chain, "-", i);
  return r;
}

PgVerifyResult Verify(const std::string& url) {
  absl::StatusOr<PgVerifyResult> result = VerifyPgChains(url);
  EXPECT_THAT(result.status(), IsOk());
  if (result.ok()) return *result;
  PgVerifyResult failed;
  failed.ok = false;
  return failed;
}

// Collects the outcomes of commit callbacks. Thread-safe.
class Outcomes {
 public:
  PgTrailWriter::CommitCallback Callback(std::string decision_id) {
    return [this, id = std::move(decision_id)](absl::StatusOr<int64_t> seq) {
      absl::MutexLock lock(&mu_);
      if (seq.ok()) {
        committed_.insert(id);
      } else {
        failed_.insert(id);
        codes_.insert(seq.status().code());
      }
    };
  }
  std::set<std::string> committed() const {
    absl::MutexLock lock(&mu_);
    return committed_;
  }
  std::set<std::string> failed() const {
    absl::MutexLock lock(&mu_);
    return failed_;
  }
  std::set<absl::StatusCode> codes() const {
    absl::MutexLock lock(&mu_);
    return codes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::string> committed_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> failed_ ABSL_GUARDED_BY(mu_);
  std::set<absl::StatusCode> codes_ ABSL_GUARDED_BY(mu_);
};

// The decision ids stored for `chain`.
std::set<std::string> StoredIds(const std::string& url,
                                const std::string& chain) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()),
                                                  PQfinish);
  const char* values[] = {chain.c_str()};
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(
      PQexecParams(conn.get(),
                   "SELECT decision_id FROM audit_records WHERE chain = $1", 1,
                   nullptr, values, nullptr, nullptr, 0),
      PQclear);
  EXPECT_EQ(PQresultStatus(result.get()), PGRES_TUPLES_OK)
      << PQerrorMessage(conn.get());
  std::set<std::string> ids;
  for (int i = 0; i < PQntuples(result.get()); ++i) {
    ids.insert(PQgetvalue(result.get(), i, 0));
  }
  return ids;
}

// Ends the writer's sessions on the database of `url` from the server side,
// as a restarted PostgreSQL (or a network cut it noticed) would, and waits
// until they are gone. Runs on the maintenance database, so it works while
// the test database refuses connections.
void TerminateWriterSessions(const std::string& url) {
  Sql(AdminUrl(url),
      absl::StrCat("SELECT count(pg_terminate_backend(l.pid, 10000)) "
                   "FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                   "WHERE l.locktype = 'advisory' AND l.granted "
                   "AND d.datname = '",
                   DatabaseName(url), "'"));
}

TEST(PgTrailTest, TwoReplicasGroupCommitTheirOwnChainsAndBothVerify) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> a = OpenWriter(url, "replica-a");
  std::unique_ptr<PgTrailWriter> b = OpenWriter(url, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRecords = 3000;
  Outcomes outcomes;
  auto submit = [&](PgTrailWriter* writer) {
    for (int i = 0; i < kRecords; ++i) {
      AuditRecord r = Now(writer->chain(), i);
      std::string id = r.decision_id;
      ASSERT_THAT(writer->Submit(std::move(r), outcomes.Callback(id)), IsOk());
    }
  };
  std::thread ta(submit, a.get());
  std::thread tb(submit, b.get());
  ta.join();
  tb.join();
  ASSERT_THAT(a->Flush(), IsOk());
  ASSERT_THAT(b->Flush(), IsOk());
  EXPECT_EQ(outcomes.committed().size(), 2u * kRecords);
  EXPECT_TRUE(outcomes.failed().empty());
  for (PgTrailWriter* w : {a.get(), b.get()}) {
    const WriterMetrics m = w->metrics();
    EXPECT_EQ(m.records_committed, static_cast<uint64_t>(kRecords));
    EXPECT_EQ(m.last_seq, kRecords);
    // Group commit: far fewer transactions than records.
    EXPECT_GT(m.max_batch_size, 1u);
    EXPECT_LT(m.batches_committed, static_cast<uint64_t>(kRecords));
    EXPECT_FALSE(w->failing());
  }
  EXPECT_EQ(Sql(url, "SELECT count(*) FROM audit_records"),
            absl::StrCat(2 * kRecords));
  // Dense seqs per chain, and the head row is the chain's last record.
  EXPECT_EQ(Sql(url,
                "SELECT count(DISTINCT seq) || '/' || min(seq) || '/' || "
                "max(seq) FROM audit_records WHERE chain = 'replica-b'"),
            absl::StrCat(kRecords, "/1/", kRecords));
  EXPECT_EQ(Sql(url,
                "SELECT count(*) FROM audit_chains c JOIN audit_records r "
                "ON r.chain = c.chain AND r.seq = c.last_seq "
                "AND r.hash = c.last_hash"),
            "2");
  const PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
  ASSERT_EQ(verified.chains.size(), 2u);
  for (const ChainVerifyResult& c : verified.chains) {
    EXPECT_TRUE(c.result.ok) << c.result.message;
    EXPECT_EQ(c.result.records_checked, kRecords);
    EXPECT_EQ(c.result.last_seq, kRecords);
  }
  EXPECT_EQ(verified.chains[0].chain, "replica-a");
  EXPECT_THAT(verified.message, HasSubstr("2 chains verified: 6000 records"));
}

TEST(PgTrailTest, ChainHashesAreTheSqliteTrailsHashes) {
  // The same records give the same hashes as record.h's chain computed
  // directly: the encoding is reused, not re-implemented.
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  Hash prev = kZeroHash;
  for (int i = 1; i <= 3; ++i) {
    AuditRecord r = Decision(i);
    r.attributes = std::string("{\"a\":\"\\u00e9\"}\x01\xff", 16);
    r.details = "{\"x\":1}";
    r.totp_verified = true;
    // What array literals must escape or could mistake for NULL.
    r.principal = "we\"ird\\ NULL,{}";
    r.resource_id = "NULL";
    ASSERT_THAT(w->SubmitAndWait(r).status(), IsOk());
    r.seq = i;
    prev = ChainHash(prev, CanonicalEncoding(r));
  }
  EXPECT_EQ(Sql(url,
                "SELECT encode(hash, 'hex') FROM audit_records "
                "WHERE chain = 'r1' AND seq = 3"),
            HashHex(prev));
  EXPECT_EQ(Sql(url,
                "SELECT principal || '|' || resource_id || '|' || "
                "encode(attributes, 'hex') FROM audit_records "
                "WHERE seq = 1"),
            "we\"ird\\ NULL,{}|NULL|7b2261223a225c7530306539227d01ff");
  EXPECT_TRUE(Verify(url).ok);
}

TEST(PgTrailTest, ReopenedWriterContinuesItsChainFromTheHead) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  {
    std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
    ASSERT_NE(w, nullptr);
    for (int i = 0; i < 10; ++i) {
      ASSERT_THAT(w->SubmitAndWait(Now("r1", i)).status(), IsOk());
    }
  }
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  absl::StatusOr<int64_t> seq = w->SubmitAndWait(Now("r1", 10));
  ASSERT_THAT(seq.status(), IsOk());
  EXPECT_EQ(*seq, 11);
  const PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
  ASSERT_EQ(verified.chains.size(), 1u);
  EXPECT_EQ(verified.chains[0].result.records_checked, 11);
}

TEST(PgTrailTest, SecondWriterWithTheSameReplicaNameIsRefused) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> first = OpenWriter(url, "r1");
  ASSERT_NE(first, nullptr);
  PgWriterOptions options;
  options.conninfo = url;
  options.chain = "r1";
  options.chain_lock_wait = absl::Milliseconds(200);
  EXPECT_THAT(PgTrailWriter::Open(options).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("same --replica-name")));
  // Another name is another chain, and is welcome.
  EXPECT_NE(OpenWriter(url, "r2"), nullptr);
  // Once the first stops, the name is free again.
  ASSERT_THAT(first->Shutdown(), IsOk());
  EXPECT_NE(OpenWriter(url, "r1"), nullptr);
  options.chain = "bad name!";
  EXPECT_THAT(PgTrailWriter::Open(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad replica name \"bad name!\"")));
}

TEST(PgTrailTest, TamperingIsDetectedInTheChainItHits) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  {
    std::unique_ptr<PgTrailWriter> a = OpenWriter(url, "a");
    std::unique_ptr<PgTrailWriter> b = OpenWriter(url, "b");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (int i = 0; i < 20; ++i) {
      ASSERT_THAT(a->Submit(Now("a", i)), IsOk());
      ASSERT_THAT(b->Submit(Now("b", i)), IsOk());
    }
  }
  ASSERT_TRUE(Verify(url).ok);

  // A changed column.
  Sql(url,
      "UPDATE audit_records SET effect = 'ALLOW', reason = 'x' "
      "WHERE chain = 'a' AND seq = 5");
  PgVerifyResult v = Verify(url);
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.chains.size(), 2u);
  EXPECT_FALSE(v.chains[0].result.ok);
  EXPECT_EQ(v.chains[0].result.first_bad_seq, 5);
  EXPECT_THAT(v.chains[0].result.message,
              HasSubstr("chain a: record 5 does not match its hash"));
  EXPECT_TRUE(v.chains[1].result.ok) << v.chains[1].result.message;

  // A removed record in the middle of b.
  Sql(url, "DELETE FROM audit_records WHERE chain = 'b' AND seq = 7");
  v = Verify(url);
  EXPECT_FALSE(v.chains[1].result.ok);
  EXPECT_EQ(v.chains[1].result.first_bad_seq, 7);
  EXPECT_THAT(v.chains[1].result.message,
              HasSubstr("records 7..7 are missing"));

  // A removed tail: the chain no longer reaches its head.
  const std::string url_tail = NewTrailDatabase();
  {
    std::unique_ptr<PgTrailWriter> c = OpenWriter(url_tail, "c");
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 5; ++i) ASSERT_THAT(c->Submit(Now("c", i)), IsOk());
  }
  Sql(url_tail, "DELETE FROM audit_records WHERE chain = 'c' AND seq >= 4");
  v = Verify(url_tail);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.message,
              HasSubstr("ends at record 3 but its head is record 5"));

  // Rows under a chain name no writer holds.
  const std::string url_orphan = NewTrailDatabase();
  {
    std::unique_ptr<PgTrailWriter> d = OpenWriter(url_orphan, "d");
    ASSERT_NE(d, nullptr);
    ASSERT_THAT(d->SubmitAndWait(Now("d", 0)).status(), IsOk());
  }
  Sql(url_orphan,
      "INSERT INTO audit_records SELECT 'zz', seq, time, kind, decision_id, "
      "caller, principal, action, resource_kind, resource_id, "
      "resource_scope, effect, reason, rule_id, policy_version, "
      "store_revision, request_id, fields, purpose, justification, "
      "attributes, key_id, details, totp_verified, prev_hash, hash "
      "FROM audit_records");
  v = Verify(url_orphan);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.message, HasSubstr("records of chain zz, which has no head"));
}

TEST(PgTrailTest, LostConnectionFailsUncommittedRecordsAndTheWriterRecovers) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(w->SubmitAndWait(Now("r1", i)).status(), IsOk());
  }
  // PostgreSQL refuses connections to the database and drops the writer's.
  Sql(AdminUrl(url), absl::StrCat("ALTER DATABASE \"", DatabaseName(url),
                                  "\" ALLOW_CONNECTIONS false"));
  TerminateWriterSessions(url);
  std::set<std::string> refused;
  for (int i = 5; i < 10; ++i) {
    absl::StatusOr<int64_t> seq = w->SubmitAndWait(Now("r1", i));
    EXPECT_THAT(seq.status(), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr("not committed")));
    refused.insert(absl::StrCat("r1-", i));
  }
  // Callbacks run before the counters move; Flush waits for both.
  ASSERT_THAT(w->Flush(), IsOk());
  EXPECT_TRUE(w->failing());
  EXPECT_TRUE(w->metrics().failing);
  EXPECT_EQ(w->metrics().records_failed, 5u);
  // PostgreSQL is back: the writer reconnects on its own.
  Sql(AdminUrl(url), absl::StrCat("ALTER DATABASE \"", DatabaseName(url),
                                  "\" ALLOW_CONNECTIONS true"));
  int next = 10;
  EXPECT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<int64_t> seq = w->SubmitAndWait(Now("r1", next));
        if (!seq.ok()) refused.insert(absl::StrCat("r1-", next));
        ++next;
        return seq.ok();
      },
      absl::Seconds(20), "writer recovers after PostgreSQL returns"));
  EXPECT_FALSE(w->failing());
  ASSERT_THAT(w->Shutdown(), IsOk());
  // No refused record is in the trail; the chain continues densely.
  const std::set<std::string> stored = StoredIds(url, "r1");
  for (const std::string& id : refused) EXPECT_EQ(stored.count(id), 0u) << id;
  EXPECT_EQ(stored.size(), static_cast<size_t>(next - refused.size()));
  const PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
}

// A session that dies while idle (PostgreSQL restarted, an idle timeout)
// is found out by the next batch's first statement; nothing was sent, so
// the writer replaces it and that batch still commits.
TEST(PgTrailTest, SessionKilledWhileIdleIsReplacedWithoutFailingTheNextBatch) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(w->SubmitAndWait(Now("r1", i)).status(), IsOk());
  }
  TerminateWriterSessions(url);
  for (int i = 3; i < 6; ++i) {
    EXPECT_THAT(w->SubmitAndWait(Now("r1", i)).status(), IsOk());
  }
  EXPECT_FALSE(w->failing());
  ASSERT_THAT(w->Shutdown(), IsOk());
  EXPECT_EQ(StoredIds(url, "r1").size(), 6u);
  const PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
}

TEST(PgTrailTest, ConnectionLossMidStreamLosesNothingThatWasAnswered) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  Outcomes outcomes;
  constexpr int kRecords = 20000;
  std::atomic<bool> done{false};
  std::thread killer([&] {
    // Three cuts while records stream in, each with PostgreSQL refusing
    // new sessions for a moment, so the writer's retry on a fresh session
    // fails too and some records are refused.
    const std::string allow = absl::StrCat(
        "ALTER DATABASE \"", DatabaseName(url), "\" ALLOW_CONNECTIONS ");
    for (int i = 0; i < 3 && !done.load(); ++i) {
      absl::SleepFor(absl::Milliseconds(60));
      Sql(AdminUrl(url), allow + "false");
      TerminateWriterSessions(url);
      absl::SleepFor(absl::Milliseconds(30));
      Sql(AdminUrl(url), allow + "true");
    }
  });
  for (int i = 0; i < kRecords; ++i) {
    AuditRecord r = Now("r1", i);
    std::string id = r.decision_id;
    ASSERT_THAT(w->Submit(std::move(r), outcomes.Callback(id)), IsOk());
    if (i % 1000 == 999) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_THAT(w->Flush(), IsOk());
  done.store(true);
  killer.join();
  // The last cut may end after the stream did: the writer comes back with
  // the next record.
  int extra = kRecords;
  EXPECT_TRUE(
      WaitUntil([&] { return w->SubmitAndWait(Now("r1", extra++)).ok(); },
                absl::Seconds(20), "writer recovers after the last cut"));
  ASSERT_THAT(w->Shutdown(), IsOk());
  const std::set<std::string> committed = outcomes.committed();
  const std::set<std::string> failed = outcomes.failed();
  EXPECT_EQ(committed.size() + failed.size(), static_cast<size_t>(kRecords));
  // The cuts hit: some records failed, and the writer came back after each.
  EXPECT_FALSE(failed.empty());
  EXPECT_FALSE(w->failing());
  // Whatever a caller was told is committed is stored ...
  const std::set<std::string> stored = StoredIds(url, "r1");
  for (const std::string& id : committed) {
    ASSERT_EQ(stored.count(id), 1u) << id << " was answered but is missing";
  }
  // ... failures are kUnavailable only, and the chain is whole.
  for (absl::StatusCode code : outcomes.codes()) {
    EXPECT_EQ(code, absl::StatusCode::kUnavailable);
  }
  const PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
  ASSERT_EQ(verified.chains.size(), 1u);
  EXPECT_EQ(verified.chains[0].result.records_checked,
            static_cast<int64_t>(stored.size()));
}

TEST(PgTrailTest, RecordPostgresqlRefusesFailsAloneNotItsBatch) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  Outcomes outcomes;
  for (int i = 0; i < 200; ++i) {
    AuditRecord r = Now("r1", i);
    // Not UTF-8: PostgreSQL refuses the row (SQLite would have kept it).
    if (i == 77) r.principal = "bad\xff\xfe";
    std::string id = r.decision_id;
    ASSERT_THAT(w->Submit(std::move(r), outcomes.Callback(id)), IsOk());
  }
  ASSERT_THAT(w->Flush(), IsOk());
  EXPECT_EQ(outcomes.failed(), std::set<std::string>{"r1-77"});
  EXPECT_EQ(outcomes.codes(),
            std::set<absl::StatusCode>{absl::StatusCode::kInvalidArgument});
  EXPECT_EQ(outcomes.committed().size(), 199u);
  EXPECT_FALSE(w->failing());
  const PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
  EXPECT_EQ(verified.chains[0].result.records_checked, 199);
  // A NUL byte would be cut off by PostgreSQL text, so the stored row
  // would no longer be what was hashed: refused before queuing.
  AuditRecord nul = Now("r1", 300);
  nul.principal = std::string("nul\0byte", 8);
  EXPECT_THAT(w->Submit(nul), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("NUL byte in principal")));
  // Refused before queuing, as by the SQLite writer.
  AuditRecord no_id = Now("r1", 500);
  no_id.decision_id.clear();
  EXPECT_THAT(w->Submit(no_id), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PgTrailTest, RecordsGoToTheirMonthsPartitionAndPlansAreAccepted) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1");
  ASSERT_NE(w, nullptr);
  AuditRecord plan = Now("r1", 1);
  plan.kind = RecordKind::kPlan;
  plan.effect = RecordEffect::kOk;
  plan.reason = "CONDITIONAL/ALLOWED_BY_RULE";
  ASSERT_THAT(w->SubmitAndWait(plan).status(), IsOk());
  // A record from a month without a partition (a clock far off).
  AuditRecord old = Decision(2);                // 2026-01-01
  old.time = absl::FromUnixSeconds(946684800);  // 2000-01-01
  ASSERT_THAT(w->SubmitAndWait(old).status(), IsOk());
  const std::string month =
      absl::FormatTime("y%Ym%m", absl::Now(), absl::UTCTimeZone());
  EXPECT_EQ(Sql(url,
                "SELECT tableoid::regclass::text FROM audit_records "
                "WHERE kind = 'plan'"),
            absl::StrCat("audit_records_", month));
  EXPECT_EQ(Sql(url,
                "SELECT tableoid::regclass::text FROM audit_records "
                "WHERE seq = 2"),
            "audit_records_default");
  // Three months ahead exist; a month whose rows sit in DEFAULT gets none.
  EXPECT_EQ(Sql(url,
                "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                "'audit_records'::regclass"),
            "4");
  EXPECT_EQ(Sql(url,
                "SELECT steward_audit_ensure_partitions(946684800000000, "
                "1)"),
            "0");
  EXPECT_TRUE(Verify(url).ok);
}

TEST(PgTrailTest, SignedCheckpointsPerChainAreCheckedAgainstTheChain) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  absl::StatusOr<CheckpointSigningKey> key = CheckpointSigningKey::Generate();
  ASSERT_THAT(key.status(), IsOk());
  auto shared_key =
      std::make_shared<const CheckpointSigningKey>(*std::move(key));
  std::vector<SignedCheckpoint> witnessed;
  {
    PgWriterOptions options;
    options.signing_key = shared_key;
    options.signed_checkpoint_records = 10;
    options.on_signed_checkpoint = [&](const SignedCheckpoint& c) {
      witnessed.push_back(c);
    };
    std::unique_ptr<PgTrailWriter> w = OpenWriter(url, "r1", options);
    ASSERT_NE(w, nullptr);
    for (int i = 0; i < 25; ++i) {
      ASSERT_THAT(w->SubmitAndWait(Now("r1", i)).status(), IsOk());
    }
  }
  // seq 0 at start, every 10 records, and the tail at shutdown.
  ASSERT_GE(witnessed.size(), 3u);
  EXPECT_EQ(witnessed.front().seq, 0);
  EXPECT_EQ(witnessed.back().seq, 25);
  for (const SignedCheckpoint& c : witnessed) {
    EXPECT_TRUE(shared_key->public_key().Verify(c));
  }
  PgVerifyResult v = Verify(url);
  ASSERT_TRUE(v.ok) << v.message;
  ASSERT_EQ(v.chains[0].result.checkpoints.size(), witnessed.size());
  for (const CheckpointCheck& c : v.chains[0].result.checkpoints) {
    EXPECT_EQ(c.state, CheckpointState::kMatches) << c.checkpoint.seq;
  }
  // Cut the chain and its head back to record 20: the checkpoint at 25
  // shows the cut.
  Sql(url, "DELETE FROM audit_records WHERE seq > 20");
  Sql(url,
      "UPDATE audit_chains SET last_seq = 20, last_hash = "
      "(SELECT hash FROM audit_records WHERE seq = 20)");
  v = Verify(url);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.message, HasSubstr("a signed checkpoint covers record 25"));
}

// Every page of `filter`, following tokens; checks page sizes.
std::vector<ChainRecord> QueryAll(PgAuditReader& reader,
                                  const QueryFilter& filter, int page_size) {
  std::vector<ChainRecord> out;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<PgQueryPage> page = reader.Query(filter, page_size, token);
    EXPECT_THAT(page.status(), IsOk());
    if (!page.ok()) break;
    EXPECT_LE(static_cast<int>(page->records.size()), page_size);
    for (ChainRecord& r : page->records) out.push_back(std::move(r));
    token = page->next_page_token;
  } while (!token.empty() && ++pages < 1000);
  return out;
}

TEST(PgTrailTest, QueriesReadEveryChainNewestFirstAcrossPartitions) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  const absl::Time now = absl::Now();
  const absl::Time last_year = now - absl::Hours(24 * 400);
  {
    std::unique_ptr<PgTrailWriter> a = OpenWriter(url, "a");
    std::unique_ptr<PgTrailWriter> b = OpenWriter(url, "b");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (int i = 0; i < 30; ++i) {
      // Interleaved times: a at even seconds, b at odd ones; the first
      // ten of each a year back (the DEFAULT partition), and one instant
      // both chains share.
      const absl::Time base = i < 10 ? last_year : now - absl::Minutes(10);
      AuditRecord ra = Now("a", i);
      ra.time = base + absl::Seconds(2 * i);
      ra.principal = i % 2 == 0 ? "alice" : "bob";
      AuditRecord rb = Now("b", i);
      rb.time = i == 29 ? ra.time : base + absl::Seconds(2 * i + 1);
      rb.principal = "carol";
      if (i == 5) {
        rb.kind = RecordKind::kPlan;
        rb.effect = RecordEffect::kOk;
      }
      ASSERT_THAT(a->Submit(ra), IsOk());
      ASSERT_THAT(b->Submit(rb), IsOk());
    }
  }
  absl::StatusOr<std::unique_ptr<PgAuditReader>> reader =
      PgAuditReader::Open(url);
  ASSERT_THAT(reader.status(), IsOk());
  const std::vector<ChainRecord> all = QueryAll(**reader, {}, 7);
  ASSERT_EQ(all.size(), 60u);
  std::set<std::string> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i].record.decision_id);
    EXPECT_EQ(all[i].record.decision_id.substr(0, 2), all[i].chain + "-");
    if (i == 0) continue;
    // Newest first; at equal times by chain, then seq, descending.
    const ChainRecord& prev = all[i - 1];
    EXPECT_TRUE(
        prev.record.time > all[i].record.time ||
        (prev.record.time == all[i].record.time && prev.chain > all[i].chain))
        << i;
  }
  EXPECT_EQ(ids.size(), 60u);
  EXPECT_EQ(all[0].chain, "b");  // the shared instant: b before a
  EXPECT_EQ(all[1].chain, "a");
  EXPECT_EQ(all[0].record.time, all[1].record.time);

  QueryFilter alice;
  alice.principal = "alice";
  EXPECT_EQ(QueryAll(**reader, alice, 4).size(), 15u);
  QueryFilter recent;
  recent.since = now - absl::Hours(1);
  EXPECT_EQ(QueryAll(**reader, recent, 100).size(), 40u);
  QueryFilter old_b;
  old_b.until = now - absl::Hours(1);
  old_b.principal = "carol";
  EXPECT_EQ(QueryAll(**reader, old_b, 100).size(), 10u);
  QueryFilter plans;
  plans.kinds = {RecordKind::kPlan};
  const std::vector<ChainRecord> plan_records = QueryAll(**reader, plans, 10);
  ASSERT_EQ(plan_records.size(), 1u);
  EXPECT_EQ(plan_records[0].record.decision_id, "b-5");
  EXPECT_EQ(plan_records[0].record.kind, RecordKind::kPlan);

  absl::StatusOr<ChainRecord> found = (*reader)->FindDecision("b-17");
  ASSERT_THAT(found.status(), IsOk());
  EXPECT_EQ(found->chain, "b");
  EXPECT_EQ(found->record.seq, 18);
  EXPECT_EQ(found->record.principal, "carol");
  EXPECT_THAT((*reader)->FindDecision("nope").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT((*reader)->Query({}, 10, "garbage").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("malformed page token")));
  EXPECT_THAT((*reader)->Query({}, kMaxPageSize + 1, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<PgVerifyResult> verified = (*reader)->VerifyChains();
  ASSERT_THAT(verified.status(), IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
}

// What the AuditService asks of the trail (audit_queries.h), answered over
// every chain: one page across replicas, newest first, and one verdict
// that names the first broken chain and its first bad seq.
TEST(PgTrailTest, AuditQueriesAnswerOverEveryChain) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  {
    std::unique_ptr<PgTrailWriter> a = OpenWriter(url, "a");
    std::unique_ptr<PgTrailWriter> b = OpenWriter(url, "b");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (int i = 0; i < 3; ++i) {
      ASSERT_THAT(a->SubmitAndWait(Now("a", i)).status(), IsOk());
      ASSERT_THAT(b->SubmitAndWait(Now("b", i)).status(), IsOk());
    }
  }
  absl::StatusOr<std::unique_ptr<PgAuditReader>> reader =
      PgAuditReader::Open(url);
  ASSERT_THAT(reader.status(), IsOk());
  PgAuditQueries pg(reader->get());
  AuditQueries& queries = pg;

  absl::StatusOr<QueryPage> page = queries.Query(QueryFilter(), 4, "");
  ASSERT_THAT(page.status(), IsOk());
  std::vector<std::string> ids;
  for (const AuditRecord& record : page->records) {
    ids.push_back(record.decision_id);
  }
  EXPECT_THAT(ids, ::testing::ElementsAre("b-2", "a-2", "b-1", "a-1"));
  ASSERT_FALSE(page->next_page_token.empty());
  page = queries.Query(QueryFilter(), 4, page->next_page_token);
  ASSERT_THAT(page.status(), IsOk());
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].decision_id, "b-0");
  EXPECT_EQ(page->records[1].decision_id, "a-0");
  EXPECT_TRUE(page->next_page_token.empty());
  EXPECT_THAT(queries.Query(QueryFilter(), -1, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));

  absl::StatusOr<VerifyResult> verified = queries.VerifyChain();
  ASSERT_THAT(verified.status(), IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_EQ(verified->records_checked, 6);
  EXPECT_EQ(verified->first_bad_seq, 0);
  EXPECT_THAT(verified->message, HasSubstr("2 chains verified: 6 records"));

  // b broken at 2 (a verifies): the verdict is b's.
  Sql(url,
      "UPDATE audit_records SET reason = 'x' WHERE chain = 'b' AND seq = 2");
  verified = queries.VerifyChain();
  ASSERT_THAT(verified.status(), IsOk());
  EXPECT_FALSE(verified->ok);
  EXPECT_EQ(verified->first_bad_seq, 2);
  EXPECT_THAT(verified->message, HasSubstr("chain b: record 2"));
  // a broken too, at 3: a is the first broken chain by name.
  Sql(url,
      "UPDATE audit_records SET reason = 'x' WHERE chain = 'a' AND seq = 3");
  verified = queries.VerifyChain();
  ASSERT_THAT(verified.status(), IsOk());
  EXPECT_FALSE(verified->ok);
  EXPECT_EQ(verified->first_bad_seq, 3);
  EXPECT_THAT(verified->message, HasSubstr("chain a: record 3"));
}

// A chain's own message not naming it still comes out naming the chain.
TEST(PgTrailTest, FoldedVerdictAlwaysNamesTheBrokenChain) {
  PgVerifyResult chains;
  chains.ok = false;
  chains.message = "record 7 does not match its hash";
  ChainVerifyResult good;
  good.chain = "a";
  good.result.records_checked = 5;
  ChainVerifyResult bad;
  bad.chain = "b";
  bad.result.ok = false;
  bad.result.records_checked = 6;
  bad.result.first_bad_seq = 7;
  bad.result.message = "record 7 does not match its hash";
  chains.chains = {good, bad};
  const VerifyResult folded = FoldPgVerifyResult(chains);
  EXPECT_FALSE(folded.ok);
  EXPECT_EQ(folded.first_bad_seq, 7);
  EXPECT_EQ(folded.records_checked, 11);
  EXPECT_EQ(folded.message, "chain b: record 7 does not match its hash");
}

TEST(PgTrailTest, OpenTrailWriterPicksTheEngineFromTheLocation) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  absl::StatusOr<std::unique_ptr<TrailWriter>> pg =
      OpenTrailWriter(url, "r1", WriterOptions{});
  ASSERT_THAT(pg.status(), IsOk());
  ASSERT_THAT((*pg)->SubmitAndWait(Now("r1", 0)).status(), IsOk());
  EXPECT_EQ(Sql(url, "SELECT chain FROM audit_records"), "r1");
  EXPECT_THAT(OpenTrailWriter(url, "", WriterOptions{}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("needs a replica name")));
  // A file path is the SQLite trail, which has one chain.
  testing::TestDb db;
  EXPECT_THAT(OpenTrailWriter(db.path(), "r1", WriterOptions{}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("given for a SQLite audit trail")));
  absl::StatusOr<std::unique_ptr<TrailWriter>> sqlite =
      OpenTrailWriter(db.path(), "", WriterOptions{});
  ASSERT_THAT(sqlite.status(), IsOk());
  absl::StatusOr<int64_t> seq = (*sqlite)->SubmitAndWait(Decision(1));
  ASSERT_THAT(seq.status(), IsOk());
  EXPECT_EQ(*seq, 1);
}

// The child of the SIGKILL test: one replica submitting from 4 threads;
// each commit callback writes "<n>\n" to `fd` (what the replica answered).
// Never returns.
[[noreturn]] void RunReplicaChild(const std::string& url, int fd) {
  PgWriterOptions options;
  options.conninfo = url;
  options.chain = "r1";
  auto writer = PgTrailWriter::Open(options);
  if (!writer.ok()) ::_exit(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        const int n = i * 4 + t;
        absl::Status s = (*writer)->Submit(
            Now("r1", n), [fd, n](absl::StatusOr<int64_t> seq) {
              if (!seq.ok()) return;
              const std::string line = absl::StrCat(n, "\n");
              // A pipe write of < PIPE_BUF bytes is atomic.
              if (::write(fd, line.data(), line.size()) < 0) ::_exit(4);
            });
        if (!s.ok()) ::_exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST(PgTrailTest, ReplicaKilledWithSigkillLosesNothingItAnswered) {
  const std::string url = NewTrailDatabase();
  ASSERT_FALSE(url.empty());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    RunReplicaChild(url, fds[1]);
  }
  ::close(fds[1]);
  std::string buffer;
  std::set<std::string> answered;
  auto consume = [&] {
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      int n = 0;
      ASSERT_TRUE(absl::SimpleAtoi(buffer.substr(start, nl - start), &n));
      answered.insert(absl::StrCat("r1-", n));
    }
    buffer.erase(0, start);
  };
  char chunk[4096];
  while (answered.size() < 3000) {
    const ssize_t got = ::read(fds[0], chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    ASSERT_GT(got, 0) << "the replica exited early";
    buffer.append(chunk, static_cast<size_t>(got));
    consume();
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  while (true) {
    const ssize_t got = ::read(fds[0], chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    buffer.append(chunk, static_cast<size_t>(got));
  }
  consume();
  ::close(fds[0]);

  const std::set<std::string> stored = StoredIds(url, "r1");
  int missing = 0;
  for (const std::string& id : answered) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0) << "of " << answered.size() << " answered";
  PgVerifyResult verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;

  // The replica restarts under its name once PostgreSQL has seen the dead
  // session go (its advisory lock with it), and the chain continues.
  std::unique_ptr<PgTrailWriter> again;
  EXPECT_TRUE(WaitUntil(
      [&] {
        PgWriterOptions options;
        options.conninfo = url;
        options.chain = "r1";
        auto w = PgTrailWriter::Open(options);
        if (w.ok()) again = *std::move(w);
        return w.ok();
      },
      absl::Seconds(20), "the killed replica's chain is free again"));
  ASSERT_NE(again, nullptr);
  absl::StatusOr<int64_t> seq = again->SubmitAndWait(Now("r1", -1));
  ASSERT_THAT(seq.status(), IsOk());
  EXPECT_EQ(*seq, static_cast<int64_t>(stored.size()) + 1);
  verified = Verify(url);
  EXPECT_TRUE(verified.ok) << verified.message;
}

}  // namespace
}  // namespace steward::audit
