// The access reports and subject access over the audit trail in
// PostgreSQL (server/audit/postgresql/pg_usage.h, pg_audit_queries.h):
// the same records written into a SQLite trail (one chain) and into a
// PostgreSQL trail (spread over two replicas' chains, across monthly
// partitions and the DEFAULT one) give the same reports; and retention by
// partition keeps every chain verifying. On a real
// PostgreSQL 15 (tests/testing/postgres_cluster.h) and real SQLite files;
// no mocks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "migrations/migrations.h"
#include "server/audit/access_reports.h"
#include "server/audit/audit_queries.h"
#include "server/audit/postgresql/pg_audit_queries.h"
#include "server/audit/postgresql/pg_reader.h"
#include "server/audit/postgresql/pg_retention.h"
#include "server/audit/postgresql/pg_trail_writer.h"
#include "server/audit/postgresql/pg_usage.h"
#include "server/audit/postgresql/pg_verify.h"
#include "server/audit/reader.h"
#include "server/audit/usage.h"
#include "server/audit/writer.h"
#include "server/store/clock.h"
#include "server/store/postgresql/connection.h"
#include "server/store/postgresql/migration_runner.h"
#include "server/store/store.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::audit {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::PostgresCluster;
using ::steward::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPolicy[] = R"(policy pg_reports_test

purposes { support_case }

resource customer {
  fields { id, name, email pii }
  actions { read, export }
}

role viewer {
  allow read on customer fields { id, name }
}

role support extends viewer {
  allow read on customer fields { email } for support_case
}

role exporter {
  allow export on customer
}

separate support, exporter
)";

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

std::unique_ptr<PgTrailWriter> OpenPgWriter(const std::string& url,
                                            const std::string& chain) {
  PgWriterOptions options;
  options.conninfo = url;
  options.chain = chain;
  absl::StatusOr<std::unique_ptr<PgTrailWriter>> writer =
      PgTrailWriter::Open(options);
  EXPECT_THAT(writer.status(), IsOk());
  return writer.ok() ? *std::move(writer) : nullptr;
}

// One store (SQLite; the reports read its bindings and policy) and two
// trails holding the same records: the store's own SQLite trail and a
// PostgreSQL trail whose records alternate between chains "a" and "b".
class PgReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Whole seconds, mid-day UTC: the windows below cut days in two.
    now_ = absl::FromUnixSeconds(
        (absl::ToUnixSeconds(absl::Now()) / 86400) * 86400 + 12 * 3600 + 7);
    clock_.Set(now_);
    db_ = dir_.path() + "/steward.db";
    bool created = false;
    absl::StatusOr<std::unique_ptr<store::Store>> opened =
        store::InitializeStore(db_, clock_, {}, &created);
    ASSERT_THAT(opened.status(), IsOk());
    store_ = std::move(*opened);
    ASSERT_THAT(
        store_->policies()
            .ApplyPolicy({policy::SourceFile{"p.policy", kPolicy}}, "test", "")
            .status(),
        IsOk());
    url_ = NewTrailDatabase();
    ASSERT_FALSE(url_.empty());
  }

  void Grant(const std::string& principal, const std::string& role,
             const std::string& scope,
             std::optional<absl::Time> expires_at = std::nullopt) {
    ASSERT_THAT(store_->principals().UpsertPrincipal(principal, "", {}),
                IsOk());
    store::GrantRequest grant;
    grant.principal = principal;
    grant.role = role;
    grant.scope = scope;
    grant.expires_at = expires_at;
    grant.granted_by = "test";
    ASSERT_THAT(store_->principals().Grant(grant).status(), IsOk());
  }

  // Writes `records` into both trails, then opens the readers (on the
  // first call; later calls add to the trails the readers already read).
  void WriteBoth(const std::vector<AuditRecord>& records) {
    {
      absl::StatusOr<std::unique_ptr<AuditWriter>> sqlite =
          AuditWriter::Open(db_);
      ASSERT_THAT(sqlite.status(), IsOk());
      std::unique_ptr<PgTrailWriter> a = OpenPgWriter(url_, "a");
      std::unique_ptr<PgTrailWriter> b = OpenPgWriter(url_, "b");
      ASSERT_NE(a, nullptr);
      ASSERT_NE(b, nullptr);
      for (size_t i = 0; i < records.size(); ++i) {
        ASSERT_THAT((*sqlite)->SubmitAndWait(records[i]).status(), IsOk());
        ASSERT_THAT((i % 2 == 0 ? *a : *b).SubmitAndWait(records[i]).status(),
                    IsOk());
      }
    }
    if (sqlite_reader_ != nullptr) return;  // opened by an earlier call
    absl::StatusOr<std::unique_ptr<AuditReader>> reader =
        AuditReader::Open(db_);
    ASSERT_THAT(reader.status(), IsOk());
    sqlite_reader_ = std::move(*reader);
    sqlite_queries_ =
        std::make_unique<SqliteAuditQueries>(sqlite_reader_.get());
    absl::StatusOr<std::unique_ptr<UsageIndex>> usage = UsageIndex::Open(db_);
    ASSERT_THAT(usage.status(), IsOk());
    sqlite_usage_ = std::move(*usage);
    absl::StatusOr<std::unique_ptr<PgAuditReader>> pg_reader =
        PgAuditReader::Open(url_);
    ASSERT_THAT(pg_reader.status(), IsOk());
    pg_reader_ = std::move(*pg_reader);
    pg_queries_ = std::make_unique<PgAuditQueries>(pg_reader_.get());
    absl::StatusOr<std::unique_ptr<PgTrailUsage>> pg_usage =
        PgTrailUsage::Open(url_);
    ASSERT_THAT(pg_usage.status(), IsOk());
    pg_usage_ = std::move(*pg_usage);
  }

  AccessReports SqliteReports(bool with_usage = true) {
    return AccessReports(&store_->principals(), &store_->publisher(),
                         sqlite_queries_.get(), &clock_,
                         with_usage ? sqlite_usage_.get() : nullptr);
  }
  AccessReports PgReports(bool with_usage = true) {
    return AccessReports(&store_->principals(), &store_->publisher(),
                         pg_queries_.get(), &clock_,
                         with_usage ? pg_usage_.get() : nullptr);
  }

  absl::Time now_;
  steward::testing::TempDir dir_;
  store::FakeClock clock_;
  std::string db_;
  std::string url_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditReader> sqlite_reader_;
  std::unique_ptr<SqliteAuditQueries> sqlite_queries_;
  std::unique_ptr<UsageIndex> sqlite_usage_;
  std::unique_ptr<PgAuditReader> pg_reader_;
  std::unique_ptr<PgAuditQueries> pg_queries_;
  std::unique_ptr<PgTrailUsage> pg_usage_;
};

AuditRecord DecisionAt(absl::Time time, int i, const std::string& principal,
                       bool allow, const std::string& rule_id,
                       const std::string& scope, const std::string& resource) {
  AuditRecord r;
  r.time = time;
  r.kind = RecordKind::kDecision;
  r.decision_id = absl::StrCat("d-", i);
  r.caller = "crm-backend";
  r.principal = principal;
  r.action = "read";
  r.resource_kind = "customer";
  r.resource_id = resource;
  r.resource_scope = scope;
  r.effect = allow ? RecordEffect::kAllow : RecordEffect::kDeny;
  r.reason = allow ? "ALLOWED_BY_RULE" : "NO_MATCHING_RULE";
  r.rule_id = allow ? rule_id : "";
  r.policy_version = 1;
  r.store_revision = 1;
  r.request_id = absl::StrCat("req-", i);
  return r;
}

// A comparable form of each report.
using UnusedRow = std::tuple<std::string, std::string, std::string,
                             std::optional<absl::Time>>;
std::vector<UnusedRow> Rows(const absl::StatusOr<std::vector<UnusedGrant>>& g) {
  EXPECT_THAT(g.status(), IsOk());
  std::vector<UnusedRow> out;
  if (!g.ok()) return out;
  for (const UnusedGrant& u : *g) {
    out.emplace_back(u.binding.principal, u.binding.role, u.binding.scope,
                     u.last_used);
  }
  return out;
}

struct SummaryRows {
  std::vector<std::tuple<int64_t, int64_t, int64_t>> days;
  std::vector<std::pair<std::string, int64_t>> top_denied;
  int64_t total_allow = 0, total_deny = 0, denied_principals = 0;
  bool operator==(const SummaryRows& o) const {
    return days == o.days && top_denied == o.top_denied &&
           total_allow == o.total_allow && total_deny == o.total_deny &&
           denied_principals == o.denied_principals;
  }
};
std::ostream& operator<<(std::ostream& os, const SummaryRows& s) {
  os << "allow " << s.total_allow << " deny " << s.total_deny << " denied "
     << s.denied_principals << " days";
  for (const auto& [d, a, n] : s.days) os << " " << d << ":" << a << "/" << n;
  os << " top";
  for (const auto& [p, n] : s.top_denied) os << " " << p << "=" << n;
  return os;
}
SummaryRows Rows(const absl::StatusOr<DecisionSummaryReport>& r) {
  EXPECT_THAT(r.status(), IsOk());
  SummaryRows out;
  if (!r.ok()) return out;
  for (const DecisionSummary::Day& d : r->decisions.days) {
    out.days.emplace_back(d.day, d.allow, d.deny);
  }
  out.top_denied = r->decisions.top_denied;
  out.total_allow = r->decisions.total_allow;
  out.total_deny = r->decisions.total_deny;
  out.denied_principals = r->decisions.denied_principals;
  return out;
}

// Every page of subject access on one resource: decision ids in order.
std::vector<std::string> SubjectIds(AuditQueries& queries,
                                    const std::string& resource,
                                    std::optional<absl::Time> since,
                                    std::optional<absl::Time> until) {
  std::vector<std::string> ids;
  std::string token;
  for (int pages = 0; pages < 1000; ++pages) {
    absl::StatusOr<QueryPage> page =
        queries.SubjectAccess("customer", resource, since, until, 3, token);
    EXPECT_THAT(page.status(), IsOk());
    if (!page.ok()) break;
    EXPECT_LE(page->records.size(), 3u);
    for (const AuditRecord& r : page->records) ids.push_back(r.decision_id);
    token = page->next_page_token;
    if (token.empty()) break;
  }
  return ids;
}

TEST_F(PgReportsTest, EveryReportIsTheSameOnBothEngines) {
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "support", "acme"));
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "viewer", "acme/us"));
  ASSERT_NO_FATAL_FAILURE(Grant("bo", "viewer", "acme/eu"));
  ASSERT_NO_FATAL_FAILURE(Grant("bo", "exporter", "acme/eu"));
  ASSERT_NO_FATAL_FAILURE(Grant("cy", "exporter", "", now_ + absl::Hours(30)));
  ASSERT_NO_FATAL_FAILURE(Grant("di", "viewer", ""));
  ASSERT_NO_FATAL_FAILURE(Grant("ed", "support", "acme/eu"));

  // Decisions over 14 months (old ones in the DEFAULT partition on
  // PostgreSQL, recent ones in monthly partitions), distinct times.
  std::vector<AuditRecord> records;
  int i = 0;
  auto add = [&](absl::Duration ago, const std::string& principal, bool allow,
                 const std::string& rule, const std::string& scope,
                 const std::string& resource = "c1") {
    records.push_back(DecisionAt(now_ - ago + absl::Microseconds(i), i,
                                 principal, allow, rule, scope, resource));
    ++i;
  };
  const absl::Duration day = absl::Hours(24);
  add(day * 420, "ann", true, "viewer/1", "acme/us");   // long ago
  add(day * 200, "ann", true, "support/1", "acme/eu");  // before the window
  add(day * 120, "bo", true, "viewer/1", "acme/eu");
  add(day * 100, "cy", true, "exporter/1", "acme/x", "c2");
  add(day * 40, "ann", true, "viewer/1", "acme/eu");  // through support
  add(day * 20, "bo", false, "", "acme/eu");
  add(day * 10, "bo", false, "", "acme/eu", "c2");
  add(day * 3 + absl::Hours(2), "zed", false, "", "acme");
  add(day * 3 + absl::Hours(1), "ann", false, "", "acme");
  add(day * 2, "ann", true, "support/1", "acme/eu");
  add(day * 2 - absl::Hours(13), "bo", false, "", "acme/eu");
  add(day + absl::Hours(1), "old/1", true, "viewer/1", "acme");  // no grant
  add(absl::Hours(13), "zed", false, "", "acme", "c2");
  add(absl::Hours(11), "ann", false, "", "acme");
  add(absl::Hours(1), "di", true, "viewer/1", "x/y");
  // Records of other kinds count for no report.
  AuditRecord admin;
  admin.time = now_ - absl::Hours(5);
  admin.kind = RecordKind::kAdminChange;
  admin.caller = "admin-key";
  admin.principal = "bo";
  admin.action = "grant";
  admin.effect = RecordEffect::kOk;
  admin.resource_kind = "customer";
  admin.resource_id = "c1";
  records.push_back(admin);
  {
    // Monthly partitions from 300 days back: the 420-day-old record goes
    // to DEFAULT, the others to their months.
    auto c = store::postgresql::Connection::Open(url_, {});
    ASSERT_THAT(c.status(), IsOk());
    ASSERT_THAT((*c)->Exec("test",
                           "SELECT steward_audit_ensure_partitions((extract("
                           "epoch FROM now() - interval '300 days') * "
                           "1000000)::bigint, 10)")
                    .status(),
                IsOk());
  }
  ASSERT_NO_FATAL_FAILURE(WriteBoth(records));

  // The records really are in several partitions and both chains.
  ASSERT_EQ(pg_reader_->Query({}, 100, "")->records.size(), records.size());
  {
    auto c = store::postgresql::Connection::Open(url_, {});
    ASSERT_THAT(c.status(), IsOk());
    auto spread =
        (*c)->Exec("test",
                   "SELECT count(DISTINCT tableoid), count(DISTINCT chain) "
                   "FROM audit_records");
    ASSERT_THAT(spread.status(), IsOk());
    EXPECT_GE(spread->Int(0, 0), 5);
    EXPECT_EQ(spread->Int(0, 1), 2);
  }

  for (int days : {1, 7, 30, 90, 365, 1000}) {
    std::vector<UnusedRow> sqlite = Rows(SqliteReports().UnusedGrants(days));
    EXPECT_THAT(Rows(PgReports().UnusedGrants(days)), ElementsAreArray(sqlite))
        << days << " days";
    // Without the usage aggregate: probes through AuditQueries.
    EXPECT_THAT(Rows(PgReports(false).UnusedGrants(days)),
                ElementsAreArray(sqlite))
        << days << " days, probing";
  }
  // The comparison compares something: some grants are unused, some with
  // a last use from before the window.
  std::vector<UnusedRow> unused30 = Rows(PgReports().UnusedGrants(30));
  EXPECT_THAT(unused30, Not(IsEmpty()));
  EXPECT_NE(unused30.size(), Rows(PgReports().UnusedGrants(1000)).size());

  std::vector<DecisionWindow> windows(6);
  windows[1].since = now_ - day * 30;
  windows[2].since = now_ - day * 3 - absl::Minutes(90);  // cuts a day
  windows[2].until = now_ - absl::Hours(12);              // cuts a day
  windows[2].top_denied = 1;
  windows[3].until = now_ - day * 100;
  windows[4].since = now_ + day;  // nothing
  windows[5].since = now_ - day * 3;
  windows[5].top_denied = 0;
  for (size_t w = 0; w < windows.size(); ++w) {
    SummaryRows sqlite = Rows(SqliteReports().Summarize(windows[w]));
    SummaryRows pg = Rows(PgReports().Summarize(windows[w]));
    EXPECT_EQ(pg, sqlite) << "window " << w;
    absl::StatusOr<DecisionSummaryReport> report =
        PgReports().Summarize(windows[w]);
    ASSERT_THAT(report.status(), IsOk());
    // Seqs are per chain on PostgreSQL: no single range.
    EXPECT_EQ(report->decisions.first_seq, 0);
    EXPECT_EQ(report->decisions.last_seq, 0);
    EXPECT_EQ(report->policy_version, 1);
  }
  SummaryRows all = Rows(PgReports().Summarize({}));
  EXPECT_EQ(all.total_allow, 8);
  EXPECT_EQ(all.total_deny, 7);
  EXPECT_EQ(all.denied_principals, 3);

  for (const std::string resource : {"c1", "c2", "c3"}) {
    for (std::optional<absl::Time> since :
         {std::optional<absl::Time>(),
          std::optional<absl::Time>(now_ - day * 150)}) {
      std::vector<std::string> sqlite =
          SubjectIds(*sqlite_queries_, resource, since, std::nullopt);
      EXPECT_THAT(SubjectIds(*pg_queries_, resource, since, std::nullopt),
                  ElementsAreArray(sqlite))
          << resource;
    }
  }
  // Across partitions and chains, newest first by time.
  std::vector<std::string> c1 =
      SubjectIds(*pg_queries_, "c1", std::nullopt, std::nullopt);
  ASSERT_EQ(c1.size(), 13u);
  absl::Time previous = absl::InfiniteFuture();
  for (const std::string& id : c1) {
    absl::StatusOr<ChainRecord> record = pg_reader_->FindDecision(id);
    if (!record.ok()) continue;  // the admin record has no decision id
    EXPECT_LT(record->record.time, previous) << id;
    previous = record->record.time;
  }
  EXPECT_THAT(
      pg_queries_
          ->SubjectAccess("customer", "", std::nullopt, std::nullopt, 10, "")
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument));

  // The reports that read only the store answer the same too.
  absl::StatusOr<std::vector<WhoCanEntry>> who_sqlite =
      SqliteReports().WhoCan({"read", "customer", "acme/eu"});
  absl::StatusOr<std::vector<WhoCanEntry>> who_pg =
      PgReports().WhoCan({"read", "customer", "acme/eu"});
  ASSERT_THAT(who_pg.status(), IsOk());
  ASSERT_EQ(who_pg->size(), who_sqlite->size());
  EXPECT_FALSE(who_pg->empty());
  absl::StatusOr<std::vector<SeparationViolation>> separation =
      PgReports().SeparationViolations();
  ASSERT_THAT(separation.status(), IsOk());
  // (The store refuses separated grants, so there is none to find.)
  EXPECT_EQ(separation->size(), SqliteReports().SeparationViolations()->size());
  absl::StatusOr<std::vector<ExpiringGrant>> expiring =
      PgReports().ExpiringGrants(absl::Hours(48));
  ASSERT_THAT(expiring.status(), IsOk());
  ASSERT_FALSE(expiring->empty());
  EXPECT_EQ((*expiring)[0].binding.principal, "cy");
}

// PgTrailUsage folds each chain incrementally: what it has folded must
// give the answers a fresh fold (and the probing path) gives, after more
// records arrive and after retention removed some.
TEST_F(PgReportsTest, IncrementalFoldStaysRightAcrossWritesAndRetention) {
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "support", "acme"));
  ASSERT_NO_FATAL_FAILURE(Grant("bo", "viewer", "acme/eu"));
  ASSERT_NO_FATAL_FAILURE(Grant("cy", "viewer", ""));
  {
    auto c = store::postgresql::Connection::Open(url_, {});
    ASSERT_THAT(c.status(), IsOk());
    ASSERT_THAT((*c)->Exec("test",
                           "SELECT steward_audit_ensure_partitions((extract("
                           "epoch FROM now() - interval '300 days') * "
                           "1000000)::bigint, 10)")
                    .status(),
                IsOk());
  }
  const absl::Duration day = absl::Hours(24);
  int i = 0;
  auto decision = [&](absl::Duration ago, const std::string& principal,
                      bool allow, const std::string& rule,
                      const std::string& scope) {
    AuditRecord r = DecisionAt(now_ - ago + absl::Microseconds(i), i, principal,
                               allow, rule, scope, "c1");
    ++i;
    return r;
  };
  ASSERT_NO_FATAL_FAILURE(WriteBoth({
      decision(day * 200, "bo", true, "viewer/1", "acme/eu"),
      decision(day * 190, "ann", true, "support/1", "acme/eu"),
      decision(day * 180, "bo", false, "", "acme/eu"),
      decision(day * 10, "cy", true, "viewer/1", "x"),
  }));
  auto fresh = [&](int page_rows) {
    absl::StatusOr<std::unique_ptr<PgTrailUsage>> usage =
        PgTrailUsage::Open(url_, page_rows);
    EXPECT_THAT(usage.status(), IsOk());
    return usage.ok() ? *std::move(usage) : nullptr;
  };
  auto compare = [&](const std::string& when) {
    std::unique_ptr<PgTrailUsage> cold = fresh(1);  // one row per page
    ASSERT_NE(cold, nullptr);
    AccessReports cold_reports(&store_->principals(), &store_->publisher(),
                               pg_queries_.get(), &clock_, cold.get());
    for (int days : {7, 90, 365}) {
      std::vector<UnusedRow> expected = Rows(cold_reports.UnusedGrants(days));
      EXPECT_THAT(Rows(PgReports().UnusedGrants(days)),
                  ElementsAreArray(expected))
          << when << ", " << days << " days";
      EXPECT_THAT(Rows(PgReports(false).UnusedGrants(days)),
                  ElementsAreArray(expected))
          << when << ", " << days << " days, probing";
    }
    for (std::optional<absl::Time> since :
         {std::optional<absl::Time>(),
          std::optional<absl::Time>(now_ - day * 185 - absl::Hours(3))}) {
      DecisionWindow window;
      window.since = since;
      EXPECT_EQ(Rows(PgReports().Summarize(window)),
                Rows(cold_reports.Summarize(window)))
          << when;
    }
  };
  ASSERT_NO_FATAL_FAILURE(compare("first fold"));
  EXPECT_EQ(Rows(PgReports().Summarize({})).total_allow, 3);

  // More decisions, on a new day and by a new denied principal.
  ASSERT_NO_FATAL_FAILURE(WriteBoth({
      decision(day * 2, "ann", true, "viewer/1", "acme"),
      decision(day * 1, "dee", false, "", "acme"),
      decision(absl::Hours(1), "bo", true, "viewer/1", "acme/eu"),
  }));
  ASSERT_NO_FATAL_FAILURE(compare("after more records"));
  EXPECT_EQ(Rows(PgReports().Summarize({})).total_allow, 5);
  // The engines still agree.
  EXPECT_EQ(Rows(PgReports().Summarize({})),
            Rows(SqliteReports().Summarize({})));
  EXPECT_THAT(Rows(PgReports().UnusedGrants(30)),
              ElementsAreArray(Rows(SqliteReports().UnusedGrants(30))));

  // Retention drops the months 180-200 days back from the PostgreSQL
  // trail; the folded aggregate notices and forgets them.
  {
    std::unique_ptr<PgTrailWriter> a = OpenPgWriter(url_, "a");
    ASSERT_NE(a, nullptr);
    PgRetentionOptions options;
    options.retention = day * 50;
    absl::StatusOr<std::unique_ptr<PgRetentionPurger>> purger =
        PgRetentionPurger::Open(url_, clock_, *a, options);
    ASSERT_THAT(purger.status(), IsOk());
    absl::StatusOr<PurgeResult> purged = (*purger)->PurgeExpired();
    ASSERT_THAT(purged.status(), IsOk());
    EXPECT_EQ(purged->purged, 3);
  }
  ASSERT_NO_FATAL_FAILURE(compare("after retention"));
  const SummaryRows after = Rows(PgReports().Summarize({}));
  EXPECT_EQ(after.total_allow, 3);
  EXPECT_EQ(after.total_deny, 1);  // dee's; bo's was purged
  EXPECT_EQ(after.denied_principals, 1);
}

TEST_F(PgReportsTest, AnEmptyTrailGivesEmptyReports) {
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "support", "acme"));
  ASSERT_NO_FATAL_FAILURE(WriteBoth({}));
  EXPECT_THAT(Rows(PgReports().UnusedGrants(90)),
              ElementsAreArray(Rows(SqliteReports().UnusedGrants(90))));
  EXPECT_EQ(Rows(PgReports().Summarize({})), SummaryRows());
}

// Retention by partition (pg_retention.h) on a trail of two chains.
class PgRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = NewTrailDatabase();
    ASSERT_FALSE(url_.empty());
    auto c = store::postgresql::Connection::Open(url_, {});
    ASSERT_THAT(c.status(), IsOk());
    sql_ = std::move(*c);
    now_ = absl::Now();
    clock_.Set(now_);
  }

  // The first column of the first row of constant `sql` (0 for NULL).
  int64_t Int(const char* sql) {
    absl::StatusOr<store::postgresql::Result> r = sql_->Exec("test", sql);
    EXPECT_THAT(r.status(), IsOk()) << sql;
    return r.ok() && r->rows() > 0 ? r->Int(0, 0) : -1;
  }
  void Exec(const char* sql) {
    EXPECT_THAT(sql_->Exec("test", sql).status(), IsOk()) << sql;
  }
  int64_t Partitions() {
    return Int(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = "
        "'audit_records'::regclass");
  }

  std::unique_ptr<PgRetentionPurger> Purger(PgTrailWriter& writer,
                                            int batch_rows = 10000) {
    PgRetentionOptions options;
    options.retention = absl::Hours(24 * 50);
    options.batch_rows = batch_rows;
    absl::StatusOr<std::unique_ptr<PgRetentionPurger>> purger =
        PgRetentionPurger::Open(url_, clock_, writer, options);
    EXPECT_THAT(purger.status(), IsOk());
    return purger.ok() ? *std::move(purger) : nullptr;
  }

  PgVerifyResult Verify() {
    absl::StatusOr<PgVerifyResult> result = VerifyPgChains(url_);
    EXPECT_THAT(result.status(), IsOk());
    return result.ok() ? *result : PgVerifyResult{false, {}, "unreadable"};
  }

  std::string url_;
  std::unique_ptr<store::postgresql::Connection> sql_;
  absl::Time now_;
  store::FakeClock clock_;
};

AuditRecord At(absl::Time time, const std::string& id) {
  AuditRecord r = DecisionAt(time, 0, "ann", true, "viewer/1", "acme", "c1");
  r.decision_id = id;
  return r;
}

TEST_F(PgRetentionTest, DropsExpiredPartitionsAndEveryChainStillVerifies) {
  // Monthly partitions from 14 months back for 12 months (ending about 3
  // months back); the last two months have none, so their records go to
  // DEFAULT, like the writers' own current and coming months.
  Exec(
      "SELECT steward_audit_ensure_partitions((extract(epoch FROM now() - "
      "interval '430 days') * 1000000)::bigint, 12)");
  std::unique_ptr<PgTrailWriter> a = OpenPgWriter(url_, "a");
  std::unique_ptr<PgTrailWriter> b = OpenPgWriter(url_, "b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // a's first record is from a clock far off (DEFAULT, expired); then one
  // record per chain every 30 days, oldest first, and one now.
  ASSERT_THAT(
      a->SubmitAndWait(At(absl::FromUnixSeconds(946684800), "a-2000")).status(),
      IsOk());
  const absl::Duration day = absl::Hours(24);
  for (int k = 14; k >= 1; --k) {
    const absl::Time t = now_ - day * 30 * k;
    ASSERT_THAT(a->SubmitAndWait(At(t, absl::StrCat("a-", k))).status(),
                IsOk());
    ASSERT_THAT(
        b->SubmitAndWait(At(t + absl::Seconds(1), absl::StrCat("b-", k)))
            .status(),
        IsOk());
  }
  ASSERT_THAT(a->SubmitAndWait(At(now_, "a-now")).status(), IsOk());
  ASSERT_THAT(b->SubmitAndWait(At(now_, "b-now")).status(), IsOk());
  ASSERT_TRUE(Verify().ok);
  const int64_t partitions_before = Partitions();
  // The 60-day-old records (and, depending on the day of the month, the
  // 90-day-old ones) sit in DEFAULT and are expired: deleted in batches of
  // one row after the partition drops.
  EXPECT_GE(Int("SELECT count(*) FROM audit_records_default WHERE "
                "time < (extract(epoch FROM now() - interval '50 days') "
                "* 1000000)::bigint"),
            3);

  std::unique_ptr<PgRetentionPurger> purger = Purger(*a, /*batch_rows=*/1);
  ASSERT_NE(purger, nullptr);
  absl::StatusOr<PurgeResult> result = purger->PurgeExpired();
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_FALSE(result->skipped);
  EXPECT_EQ(result->partitions_dropped, 12);
  EXPECT_EQ(Partitions(), partitions_before - 12);
  // a: 2000 and k = 14..2; b: k = 14..2.
  EXPECT_EQ(result->purged, 14 + 13);
  EXPECT_GE(result->batches, 3);  // the drops, then DEFAULT rows one by one
  EXPECT_GT(result->purge_record_seq, 0);
  // Nothing older than the cutoff is left; everything newer is.
  EXPECT_EQ(Int("SELECT count(*) FROM audit_records WHERE time < "
                "(extract(epoch FROM now() - interval '50 days') * "
                "1000000)::bigint"),
            0);
  EXPECT_EQ(Int("SELECT count(*) FROM audit_records WHERE kind = 'decision'"),
            4);  // a-1, b-1, a-now, b-now
  // Each chain's checkpoint is its last purged record.
  EXPECT_EQ(Int("SELECT max(seq) FROM audit_retention_checkpoints "
                "WHERE chain = 'a'"),
            14);
  EXPECT_EQ(Int("SELECT max(seq) FROM audit_retention_checkpoints "
                "WHERE chain = 'b'"),
            13);
  // The purge is in a's chain.
  EXPECT_EQ(Int("SELECT count(*) FROM audit_records WHERE chain = 'a' AND "
                "kind = 'system' AND action = 'retention_purge' AND "
                "details::jsonb -> 'checkpoints' ->> 'b' = '13'"),
            1);

  PgVerifyResult verified = Verify();
  ASSERT_TRUE(verified.ok) << verified.message;
  ASSERT_EQ(verified.chains.size(), 2u);
  EXPECT_EQ(verified.chains[0].result.first_seq, 15);  // a
  EXPECT_EQ(verified.chains[1].result.first_seq, 14);  // b

  // A second run finds nothing more to do.
  absl::StatusOr<PurgeResult> again = purger->PurgeExpired();
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->purged, 0);
  EXPECT_EQ(again->partitions_dropped, 0);

  // Tampering after retention is still found, in the chain it hits.
  Exec(
      "UPDATE audit_records SET principal = 'mallory' "
      "WHERE chain = 'b' AND seq = 14");
  verified = Verify();
  EXPECT_FALSE(verified.ok);
  EXPECT_THAT(verified.message, ::testing::HasSubstr("chain b: record 14"));
  Exec(
      "UPDATE audit_records SET principal = 'ann' "
      "WHERE chain = 'b' AND seq = 14");
  ASSERT_TRUE(Verify().ok);
  // Removing the first retained record (as if purged without a
  // checkpoint) breaks the chain too.
  Exec("DELETE FROM audit_records WHERE chain = 'a' AND seq = 15");
  verified = Verify();
  EXPECT_FALSE(verified.ok);
  EXPECT_THAT(verified.message, ::testing::HasSubstr("chain a"));
}

TEST_F(PgRetentionTest, KeepsAPartitionHoldingRecordsPastItsChainsPrefix) {
  Exec(
      "SELECT steward_audit_ensure_partitions((extract(epoch FROM now() - "
      "interval '400 days') * 1000000)::bigint, 2)");
  std::unique_ptr<PgTrailWriter> a = OpenPgWriter(url_, "a");
  ASSERT_NE(a, nullptr);
  // A clock stepped back: record 2 is older than record 1, which is kept.
  ASSERT_THAT(a->SubmitAndWait(At(now_ - absl::Hours(1), "a-1")).status(),
              IsOk());
  ASSERT_THAT(
      a->SubmitAndWait(At(now_ - absl::Hours(24 * 390), "a-2")).status(),
      IsOk());
  const int64_t partitions_before = Partitions();
  std::unique_ptr<PgRetentionPurger> purger = Purger(*a);
  ASSERT_NE(purger, nullptr);
  absl::StatusOr<PurgeResult> result = purger->PurgeExpired();
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_EQ(result->purged, 0);
  EXPECT_EQ(result->partitions_dropped, 0);
  EXPECT_EQ(Partitions(), partitions_before);
  EXPECT_EQ(Int("SELECT count(*) FROM audit_records"), 2);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(PgRetentionTest, ALongReaderMakesTheRunFailWithoutAHalfPurge) {
  Exec(
      "SELECT steward_audit_ensure_partitions((extract(epoch FROM now() - "
      "interval '400 days') * 1000000)::bigint, 2)");
  std::unique_ptr<PgTrailWriter> a = OpenPgWriter(url_, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_THAT(
      a->SubmitAndWait(At(now_ - absl::Hours(24 * 390), "a-1")).status(),
      IsOk());
  ASSERT_THAT(a->SubmitAndWait(At(now_, "a-2")).status(), IsOk());
  const int64_t partitions_before = Partitions();
  PgRetentionOptions options;
  options.retention = absl::Hours(24 * 50);
  options.lock_timeout = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<PgRetentionPurger>> purger =
      PgRetentionPurger::Open(url_, clock_, *a, options);
  ASSERT_THAT(purger.status(), IsOk());
  {
    // A report reading audit_records holds it: DETACH cannot have it.
    auto reader = store::postgresql::Connection::Open(url_, {});
    ASSERT_THAT(reader.status(), IsOk());
    auto txn = store::postgresql::Transaction::Begin(
        **reader, store::postgresql::Transaction::Mode::kReadSnapshot);
    ASSERT_THAT(txn.status(), IsOk());
    ASSERT_THAT(
        (*reader)->Exec("test", "SELECT count(*) FROM audit_records").status(),
        IsOk());
    const absl::Time start = absl::Now();
    absl::StatusOr<PurgeResult> failed = (*purger)->PurgeExpired();
    EXPECT_FALSE(failed.ok());
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    // Nothing half done: the partition, its record and no checkpoint.
    EXPECT_EQ(Partitions(), partitions_before);
    EXPECT_EQ(Int("SELECT count(*) FROM audit_records"), 2);
    EXPECT_EQ(Int("SELECT count(*) FROM audit_retention_checkpoints"), 0);
  }
  EXPECT_TRUE(Verify().ok);
  // The next run, with the reader gone, purges.
  absl::StatusOr<PurgeResult> result = (*purger)->PurgeExpired();
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_EQ(result->purged, 1);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(PgRetentionTest, OnlyOneReplicaPurgesAtATime) {
  Exec(
      "SELECT steward_audit_ensure_partitions((extract(epoch FROM now() - "
      "interval '400 days') * 1000000)::bigint, 2)");
  std::unique_ptr<PgTrailWriter> a = OpenPgWriter(url_, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_THAT(
      a->SubmitAndWait(At(now_ - absl::Hours(24 * 390), "a-1")).status(),
      IsOk());
  const int64_t partitions_before = Partitions();
  std::unique_ptr<PgRetentionPurger> purger = Purger(*a);
  ASSERT_NE(purger, nullptr);
  {
    // Another replica's purge in progress: its transaction holds the lock.
    auto other = store::postgresql::Connection::Open(url_, {});
    ASSERT_THAT(other.status(), IsOk());
    auto txn = store::postgresql::Transaction::Begin(
        **other, store::postgresql::Transaction::Mode::kWrite);
    ASSERT_THAT(txn.status(), IsOk());
    ASSERT_THAT((*other)
                    ->Exec("test",
                           "SELECT pg_advisory_xact_lock(hashtextextended("
                           "'steward.audit.retention', 0))")
                    .status(),
                IsOk());
    absl::StatusOr<PurgeResult> skipped = purger->PurgeExpired();
    ASSERT_THAT(skipped.status(), IsOk());
    EXPECT_TRUE(skipped->skipped);
    EXPECT_EQ(skipped->purged, 0);
    EXPECT_EQ(Partitions(), partitions_before);
  }
  absl::StatusOr<PurgeResult> result = purger->PurgeExpired();
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_FALSE(result->skipped);
  EXPECT_EQ(result->purged, 1);
  EXPECT_GE(result->partitions_dropped, 1);
  EXPECT_LT(Partitions(), partitions_before);
  EXPECT_TRUE(Verify().ok);
}

}  // namespace
}  // namespace steward::audit
