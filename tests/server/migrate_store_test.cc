// `stewardd migrate-store` on the real binaries: a SQLite data dir
// populated through a real stewardd (the shared workload's policy and
// principals, scoped and expiring grants, a disabled principal, a revoked
// key, two policy versions with the first active, an admin's TOTP step and
// a thousand audited decisions) is copied into a throwaway PostgreSQL
// (tests/testing/postgres_cluster.h). Every row of the store and every
// hash of the trail is compared between the two databases; a replica
// serving the target gives the same decisions, old keys (the TOTP admin's
// too) still work, `stewardctl audit verify` passes and the migrated
// records are found. Refusals: a non-empty target (left unchanged), a
// source in use, a tampered trail, a bad URL. The tests share the source
// and run in file order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/audit/signed_checkpoint.h"
#include "server/auth/totp.h"
#include "server/store/postgresql/connection.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/statement.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::steward::v1::AuthorizationService;
using ::testing::HasSubstr;
using ::testing::Not;

// In every target URL; the test cluster trusts local connections, so the
// server never asks for it, but it must never be printed.
constexpr char kPassword[] = "migrate-secret-not-shown";
// Decisions made before and after; the first ones of requests.jsonl.
constexpr size_t kSampleChecks = 1000;

// A fresh database's URL with kPassword in it.
std::string NewTargetUrl() {
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

// The same rows rendered the same way by both engines, one text per row,
// for every table migrate-store copies. Times are integers and hashes hex
// in both, NULL spelled out, booleans 0/1.
struct TableQuery {
  const char* table;
  const char* sqlite;
  const char* postgresql;
};
constexpr TableQuery kTables[] = {
    {"policy_versions",
     "SELECT version || '|' || source || '|' || sha256 || '|' || author || "
     "'|' || message || '|' || created_at || '|' || active FROM "
     "policy_versions ORDER BY version",
     "SELECT version || '|' || source || '|' || sha256 || '|' || author || "
     "'|' || message || '|' || created_at || '|' || active::int FROM "
     "policy_versions ORDER BY version"},
    {"principals",
     "SELECT id || '|' || display_name || '|' || attributes || '|' || "
     "disabled || '|' || created_at || '|' || updated_at FROM principals "
     "ORDER BY id",
     "SELECT id || '|' || display_name || '|' || attributes || '|' || "
     "disabled::int || '|' || created_at || '|' || updated_at FROM "
     "principals ORDER BY id"},
    {"role_bindings",
     "SELECT principal || '|' || role || '|' || scope || '|' || granted_by "
     "|| '|' || granted_at || '|' || COALESCE(CAST(expires_at AS TEXT), "
     "'NULL') || '|' || reason FROM role_bindings ORDER BY principal, role, "
     "scope",
     "SELECT principal || '|' || role || '|' || scope || '|' || granted_by "
     "|| '|' || granted_at || '|' || COALESCE(CAST(expires_at AS TEXT), "
     "'NULL') || '|' || reason FROM role_bindings ORDER BY principal, role, "
     "scope"},
    {"api_keys",
     "SELECT id || '|' || name || '|' || role || '|' || lower(hex(key_hash)) "
     "|| '|' || COALESCE(totp_secret, 'NULL') || '|' || "
     "COALESCE(CAST(totp_last_step AS TEXT), 'NULL') || '|' || created_by "
     "|| '|' || created_at || '|' || COALESCE(CAST(revoked_at AS TEXT), "
     "'NULL') FROM api_keys ORDER BY id",
     "SELECT id || '|' || name || '|' || role || '|' || "
     "encode(key_hash, 'hex') || '|' || COALESCE(totp_secret, 'NULL') || "
     "'|' || COALESCE(CAST(totp_last_step AS TEXT), 'NULL') || '|' || "
     "created_by || '|' || created_at || '|' || "
     "COALESCE(CAST(revoked_at AS TEXT), 'NULL') FROM api_keys ORDER BY id"},
    {"store_meta",
     "SELECT revision || '|' || COALESCE(CAST(initialized_at AS TEXT), "
     "'NULL') FROM store_meta",
     "SELECT revision || '|' || COALESCE(CAST(initialized_at AS TEXT), "
     "'NULL') FROM store_meta"},
    {"audit_signed_checkpoints",
     "SELECT seq || '|' || lower(hex(head)) || '|' || time || '|' || key_id "
     "|| '|' || lower(hex(signature)) FROM audit_signed_checkpoints ORDER BY "
     "seq",
     "SELECT seq || '|' || encode(head, 'hex') || '|' || time || '|' || "
     "key_id || '|' || encode(signature, 'hex') FROM "
     "audit_signed_checkpoints WHERE chain = 'migrated' ORDER BY seq"},
    {"audit_checkpoints",
     "SELECT seq || '|' || lower(hex(hash)) || '|' || time || '|' || "
     "purged_count || '|' || created_at FROM audit_checkpoints ORDER BY seq",
     "SELECT seq || '|' || encode(hash, 'hex') || '|' || time || '|' || "
     "purged_count || '|' || created_at FROM audit_retention_checkpoints "
     "WHERE chain = 'migrated' ORDER BY seq"},
    // The chain values of every record; the columns behind them are
    // covered by the hashes, which the verifiers recompute.
    {"audit",
     "SELECT seq || '|' || time || '|' || lower(hex(prev_hash)) || '|' || "
     "lower(hex(hash)) FROM audit_log ORDER BY seq",
     "SELECT seq || '|' || time || '|' || encode(prev_hash, 'hex') || '|' || "
     "encode(hash, 'hex') FROM audit_records WHERE chain = 'migrated' "
     "ORDER BY seq"},
};

// Indexes into kTables.
constexpr size_t kSignedCheckpoints = 5;
constexpr size_t kAudit = 7;

using Dump = std::vector<std::vector<std::string>>;  // per kTables entry

Dump DumpSqlite(const std::string& data_dir) {
  store::sqlite::ConnectionOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<store::sqlite::Connection>> db =
      store::sqlite::Connection::Open(data_dir + "/steward.db", options);
  EXPECT_THAT(db.status(), IsOk());
  Dump dump;
  if (!db.ok()) return dump;
  for (const TableQuery& q : kTables) {
    std::vector<std::string>& rows = dump.emplace_back();
    absl::StatusOr<store::sqlite::Statement> stmt = (*db)->Prepare(q.sqlite);
    EXPECT_THAT(stmt.status(), IsOk()) << q.table;
    if (!stmt.ok()) continue;
    EXPECT_THAT(
        store::sqlite::ForEachRow(*stmt,
                                  [&rows](const store::sqlite::Statement& row) {
                                    rows.emplace_back(row.Text(0));
                                    return absl::OkStatus();
                                  }),
        IsOk())
        << q.table;
  }
  return dump;
}

Dump DumpPostgresql(const std::string& url) {
  absl::StatusOr<std::unique_ptr<store::postgresql::Connection>> db =
      store::postgresql::Connection::Open(url, {});
  EXPECT_THAT(db.status(), IsOk());
  Dump dump;
  if (!db.ok()) return dump;
  for (const TableQuery& q : kTables) {
    std::vector<std::string>& rows = dump.emplace_back();
    absl::StatusOr<store::postgresql::Result> result =
        (*db)->Exec(q.table, q.postgresql);
    EXPECT_THAT(result.status(), IsOk()) << q.table;
    if (!result.ok()) continue;
    for (int i = 0; i < result->rows(); ++i) {
      rows.emplace_back(result->Text(i, 0));
    }
  }
  return dump;
}

// One number from the target (count(*) and the like).
int64_t PgInt(const std::string& url, const std::string& sql) {
  absl::StatusOr<std::unique_ptr<store::postgresql::Connection>> db =
      store::postgresql::Connection::Open(url, {});
  EXPECT_THAT(db.status(), IsOk());
  if (!db.ok()) return -1;
  absl::StatusOr<store::postgresql::Result> result =
      (*db)->Exec("test", sql.c_str());
  EXPECT_THAT(result.status(), IsOk());
  if (!result.ok() || result->rows() != 1) return -1;
  return result->Int(0, 0);
}

// How many of `chain`'s signed checkpoints in the target carry a valid
// signature by the key whose public half is in `public_key_file`; -1 when
// any does not. (`stewardctl audit verify --public-key` cannot tell yet on
// a PostgreSQL trail: the AuditService folds the chains without their
// checkpoints.)
int64_t ValidSignatures(const std::string& url, const std::string& chain,
                        const std::string& public_key_file) {
  absl::StatusOr<audit::CheckpointPublicKey> key =
      audit::CheckpointPublicKey::LoadFile(public_key_file);
  EXPECT_THAT(key.status(), IsOk());
  absl::StatusOr<std::unique_ptr<store::postgresql::Connection>> db =
      store::postgresql::Connection::Open(url, {});
  EXPECT_THAT(db.status(), IsOk());
  if (!key.ok() || !db.ok()) return -1;
  absl::StatusOr<store::postgresql::Result> rows =
      (*db)->Exec("test",
                  "SELECT seq, head, time, key_id, signature FROM "
                  "audit_signed_checkpoints WHERE chain = $1 ORDER BY seq",
                  store::postgresql::Params().Text(chain));
  EXPECT_THAT(rows.status(), IsOk());
  if (!rows.ok()) return -1;
  for (int i = 0; i < rows->rows(); ++i) {
    audit::SignedCheckpoint checkpoint;
    checkpoint.seq = rows->Int(i, 0);
    const std::string head = rows->Bytes(i, 1);
    if (head.size() != checkpoint.head.size()) return -1;
    std::copy(head.begin(), head.end(), checkpoint.head.begin());
    checkpoint.time_micros = rows->Int(i, 2);
    checkpoint.key_id = std::string(rows->Text(i, 3));
    checkpoint.signature = rows->Bytes(i, 4);
    if (!key->Verify(checkpoint)) {
      ADD_FAILURE() << "signed checkpoint " << checkpoint.seq
                    << " does not verify";
      return -1;
    }
  }
  return rows->rows();
}

// What a decision says, without what differs per call (ids).
std::string Outcome(const v1::CheckResponse& response) {
  return absl::StrCat(
      v1::Effect_Name(response.effect()), " ",
      v1::Reason_Name(response.reason()), " ", response.rule_id(), " [",
      absl::StrJoin(response.allowed_fields(), ","), "] [",
      absl::StrJoin(response.denied_fields(), ","), "] v",
      response.policy_version(), " r", response.store_revision());
}

// The sample's outcomes from the server at `address`, as `client_key`.
std::vector<std::string> Decide(const std::string& address,
                                const std::string& client_key) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  std::unique_ptr<AuthorizationService::Stub> authz =
      AuthorizationService::NewStub(channel);
  std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  EXPECT_GE(requests.size(), kSampleChecks);
  std::vector<std::string> outcomes;
  for (size_t i = 0; i < std::min(kSampleChecks, requests.size()); ++i) {
    v1::CheckResponse response;
    grpc::Status status =
        authz->Check(Context(client_key).get(), requests[i].request, &response);
    outcomes.push_back(
        status.ok() ? Outcome(response)
                    : absl::StrCat("RPC error ", status.error_message()));
  }
  return outcomes;
}

// The current TOTP code of the base32 secret in an otpauth:// URI, for a
// step after `used_step` (the server refuses a step twice).
std::string TotpCodeAfter(const std::string& uri, int64_t used_step,
                          int64_t* step_out) {
  std::smatch match;
  EXPECT_TRUE(std::regex_search(uri, match, std::regex("secret=([A-Z2-7]+)")))
      << uri;
  absl::StatusOr<std::string> key = server::DecodeBase32(match[1].str());
  EXPECT_THAT(key.status(), IsOk());
  if (!key.ok()) return "";
  // One step of skew ahead is accepted, so this never waits.
  const int64_t step = std::max(server::TotpStep(absl::Now()), used_step + 1);
  if (step_out != nullptr) *step_out = step;
  return server::TotpCode(*key, step);
}

// stewardctl against `address` with the key in `key_file`.
CommandResult Ctl(const std::string& address, const std::string& key_file,
                  std::vector<std::string> args) {
  std::vector<std::string> argv = {STEWARDCTL_PATH, "--server", address,
                                   "--api-key-file", key_file};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(
      argv,
      {"STEWARD_SERVER=", "STEWARD_API_KEY=", "STEWARD_OTP=", "NO_COLOR=1"});
}

CommandResult Migrate(const std::string& from, const std::string& to,
                      std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {STEWARDD_PATH, "migrate-store", "--from",
                                   from,          "--to",          to};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv);
}

class MigrateStoreTest : public ::testing::Test {
 protected:
  // Populates the source data dir through real stewardd processes: first
  // `init` (the TOTP admin), then `serve --dev` for the bulk (dev keys, no
  // TOTP), then a plain `serve` for one admin change with TOTP and the
  // sample of decisions recorded as `before_`.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    source_ = new std::string(dir_->path() + "/source");
    const std::string secrets = dir_->path() + "/secrets";
    std::filesystem::create_directories(secrets);
    const std::string policy =
        std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy";
    CommandResult init =
        RunCommand({STEWARDD_PATH, "init", "--data-dir", *source_, "--policy",
                    policy, "--admin-key-out", secrets + "/admin.key",
                    "--totp-secret-out", secrets + "/admin.totp"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    // Checkpoints of the source trail are signed with this key (a plain
    // `serve` below), so signed checkpoints move too.
    CommandResult signing =
        RunCommand({STEWARDD_PATH, "init", "--data-dir", *source_,
                    "--create-audit-signing-key", secrets + "/signing.pem"});
    ASSERT_EQ(signing.exit_code, 0) << signing.err;
    signing_key_ = new std::string(secrets + "/signing.pem");
    totp_admin_key_file_ = new std::string(secrets + "/admin.key");
    totp_uri_ = new std::string(ReadFile(secrets + "/admin.totp"));

    {
      ServerProcess dev;
      ASSERT_THAT(dev.Start(STEWARDD_PATH, *source_,
                            {"--dev", "--audit-durability", "async"}),
                  IsOk());
      std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
          dev.address(), grpc::InsecureChannelCredentials());
      std::unique_ptr<AdminService::Stub> admin =
          AdminService::NewStub(channel);
      const std::string admin_key = ReadKey(*source_, "admin");
      ASSERT_FALSE(admin_key.empty());
      grpc::Status loaded =
          LoadWorkloadPrincipals(*admin, admin_key, STEWARD_WORKLOAD_DIR);
      ASSERT_TRUE(loaded.ok()) << loaded.error_message();
      const std::string admin_file = *source_ + "/dev-admin.key";
      auto ctl = [&](std::vector<std::string> args) {
        CommandResult r = Ctl(dev.address(), admin_file, std::move(args));
        EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
        return r;
      };
      // A scoped grant that expires, and one with a reason.
      ctl({"grant", "u0003", "sales_rep", "--scope", "emea/retail", "--expires",
           "30d", "--reason", "cover for u0004"});
      ctl({"grant", "u0005", "auditor", "--scope", "amer", "--reason",
           "quarterly review"});
      // A key that is revoked before the move, and one that is not.
      CommandResult created =
          ctl({"key", "create", "old-ci", "--role", "client"});
      std::smatch key;
      ASSERT_TRUE(std::regex_search(created.out, key,
                                    std::regex("stw_[A-Za-z0-9_-]{43}")))
          << created.out;
      revoked_key_ = new std::string(key.str());
      ctl({"key", "revoke", "old-ci"});
      ctl({"key", "create", "reporting", "--role", "auditor"});
      // Version 2 applied, then version 1 active again.
      const std::string v2 = dir_->path() + "/crm-v2.policy";
      std::ofstream(v2) << ReadFile(policy) << "\n# version two\n";
      ctl({"policy", "apply", v2, "-m", "second version"});
      ctl({"policy", "activate", "1"});
      ASSERT_EQ(dev.Stop(), 0);
    }
    {
      ServerProcess plain;
      ASSERT_THAT(plain.Start(STEWARDD_PATH, *source_,
                              {"--audit-durability", "async",
                               "--audit-signing-key", *signing_key_}),
                  IsOk());
      int64_t step = 0;
      const std::string code = TotpCodeAfter(*totp_uri_, 0, &step);
      CommandResult disabled =
          Ctl(plain.address(), *totp_admin_key_file_,
              {"--otp", code, "principal", "disable", "u0002"});
      ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
      totp_step_ = step;
      before_ = new std::vector<std::string>(
          Decide(plain.address(), ReadKey(*source_, "client")));
      ASSERT_EQ(plain.Stop(), 0);
    }
    target_ = new std::string(NewTargetUrl());
  }

  static void TearDownTestSuite() {
    delete before_;
    delete signing_key_;
    delete target_;
    delete revoked_key_;
    delete totp_uri_;
    delete totp_admin_key_file_;
    delete source_;
    delete dir_;
  }

  // A copy of the source data dir at dir_/NAME.
  static std::string CopyOfSource(const std::string& name) {
    const std::string copy = dir_->path() + "/" + name;
    std::filesystem::copy(*source_, copy,
                          std::filesystem::copy_options::recursive);
    return copy;
  }

  static TempDir* dir_;
  static std::string* source_;
  static std::string* target_;
  static std::string* totp_admin_key_file_;
  static std::string* totp_uri_;
  static std::string* revoked_key_;
  static std::string* signing_key_;
  static int64_t totp_step_;
  static std::vector<std::string>* before_;
};

TempDir* MigrateStoreTest::dir_ = nullptr;
std::string* MigrateStoreTest::source_ = nullptr;
std::string* MigrateStoreTest::target_ = nullptr;
std::string* MigrateStoreTest::totp_admin_key_file_ = nullptr;
std::string* MigrateStoreTest::totp_uri_ = nullptr;
std::string* MigrateStoreTest::revoked_key_ = nullptr;
std::string* MigrateStoreTest::signing_key_ = nullptr;
int64_t MigrateStoreTest::totp_step_ = 0;
std::vector<std::string>* MigrateStoreTest::before_ = nullptr;

TEST_F(MigrateStoreTest, TheSourceHoldsWhatTheTestNeeds) {
  const Dump source = DumpSqlite(*source_);
  ASSERT_EQ(source.size(), std::size(kTables));
  EXPECT_EQ(source[0].size(), 2u);    // policy versions
  EXPECT_EQ(source[1].size(), 300u);  // the workload's principals
  EXPECT_GT(source[2].size(), 300u);  // their roles and two more grants
  EXPECT_EQ(source[3].size(), 6u);    // init, three dev, two created
  EXPECT_GT(source[kAudit].size(), kSampleChecks);
  EXPECT_FALSE(source[kSignedCheckpoints].empty());
  // The decisions are not all alike.
  int allows = 0;
  for (const std::string& outcome : *before_) {
    if (absl::StartsWith(outcome, "ALLOW")) ++allows;
  }
  EXPECT_GT(allows, 50);
  EXPECT_LT(allows, static_cast<int>(kSampleChecks) - 50);
}

TEST_F(MigrateStoreTest, DryRunCommitsNothing) {
  CommandResult dry = Migrate(*source_, *target_, {"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("dry run: rolled back, nothing committed"));
  EXPECT_THAT(dry.out, HasSubstr("principals:      300"));
  EXPECT_EQ(PgInt(*target_, "SELECT count(*) FROM principals"), 0);
  EXPECT_EQ(PgInt(*target_, "SELECT count(*) FROM audit_chains"), 0);
  EXPECT_EQ(PgInt(*target_, "SELECT count(*) FROM audit_records"), 0);
}

TEST_F(MigrateStoreTest, CopiesEveryRowAndHashExactly) {
  const Dump source = DumpSqlite(*source_);
  CommandResult migrated = Migrate(*source_, *target_);
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_THAT(migrated.out, HasSubstr("migrated " + *source_ +
                                      " to postgresql://steward:"
                                      "REDACTED@127.0.0.1:"));
  EXPECT_THAT(migrated.out, HasSubstr("policy versions: 2 (active: 1)"));
  EXPECT_THAT(migrated.out, HasSubstr("principals:      300 (1 disabled)"));
  EXPECT_THAT(migrated.out, HasSubstr("API keys:        6 (1 revoked)"));
  EXPECT_THAT(migrated.out,
              HasSubstr(absl::StrCat("audit records:   ", source[kAudit].size(),
                                     " as chain \"migrated\" (seq 1..",
                                     source[kAudit].size())));
  EXPECT_THAT(migrated.out, HasSubstr("verified:"));
  EXPECT_THAT(migrated.err, HasSubstr("audit records"));  // progress
  EXPECT_THAT(migrated.out + migrated.err, Not(HasSubstr(kPassword)));

  const Dump target = DumpPostgresql(*target_);
  ASSERT_EQ(target.size(), source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    EXPECT_EQ(target[i], source[i]) << kTables[i].table;
  }
  // The admin's TOTP step came along (the rows above include it).
  EXPECT_EQ(PgInt(*target_,
                  "SELECT max(totp_last_step) FROM api_keys WHERE name = "
                  "'admin'"),
            totp_step_);
  EXPECT_EQ(PgInt(*target_,
                  "SELECT last_seq FROM audit_chains WHERE chain = "
                  "'migrated'"),
            static_cast<int64_t>(source[kAudit].size()));
  // The source is untouched.
  EXPECT_EQ(DumpSqlite(*source_), source);
}

TEST_F(MigrateStoreTest, RefusesANonEmptyTargetAndLeavesItUnchanged) {
  const Dump before = DumpPostgresql(*target_);
  ASSERT_FALSE(before[1].empty());
  CommandResult again = Migrate(*source_, *target_, {"--chain", "other"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err,
              AllOf(HasSubstr("stewardd: error: target postgresql://steward:"
                              "REDACTED@"),
                    HasSubstr("is not empty: it holds 2 policy versions, 300 "
                              "principals"),
                    HasSubstr("6 API keys, 1 audit chain (migrated)")));
  EXPECT_THAT(again.out + again.err, Not(HasSubstr(kPassword)));
  EXPECT_EQ(DumpPostgresql(*target_), before);
  EXPECT_EQ(PgInt(*target_, "SELECT count(*) FROM audit_chains"), 1);
}

TEST_F(MigrateStoreTest, AReplicaOnTheTargetServesAsTheSourceDid) {
  ServerProcess replica;
  ASSERT_THAT(replica.Start(STEWARDD_PATH, dir_->path() + "/r1",
                            {"--store", *target_, "--replica-name", "r1"}),
              IsOk());
  // The dev client key from the SQLite data dir, on PostgreSQL: same
  // decisions, same policy version, same store revision.
  const std::vector<std::string> after =
      Decide(replica.address(), ReadKey(*source_, "client"));
  ASSERT_EQ(after.size(), before_->size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i], (*before_)[i]) << "request " << i;
  }

  // The revoked key stays revoked.
  {
    std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
        replica.address(), grpc::InsecureChannelCredentials());
    std::unique_ptr<AuthorizationService::Stub> authz =
        AuthorizationService::NewStub(channel);
    v1::CheckResponse response;
    std::vector<WorkloadRequest> requests =
        LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
    ASSERT_FALSE(requests.empty());
    grpc::Status status = authz->Check(Context(*revoked_key_).get(),
                                       requests[0].request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }

  // The trail verifies, the migrated records are found by what they
  // recorded (u0002's disabling by the TOTP admin, decisions).
  const std::string auditor = *source_ + "/dev-auditor.key";
  CommandResult verify = Ctl(replica.address(), auditor, {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // The source's signed checkpoints came along and still verify: they
  // sign (seq, head, time), which the copy keeps.
  EXPECT_GT(PgInt(*target_,
                  "SELECT count(*) FROM audit_signed_checkpoints "
                  "WHERE chain = 'migrated'"),
            0);
  EXPECT_GT(ValidSignatures(*target_, "migrated", *signing_key_ + ".pub"), 0);
  // Each signs the hash the chain has at its seq.
  EXPECT_EQ(PgInt(*target_,
                  "SELECT count(*) FROM audit_signed_checkpoints s JOIN "
                  "audit_records r ON r.chain = s.chain AND r.seq = s.seq "
                  "WHERE s.chain = 'migrated' AND r.hash <> s.head"),
            0);
  CommandResult admin_changes = Ctl(replica.address(), auditor,
                                    {"audit", "query", "--principal", "u0002",
                                     "--limit", "1000", "-o", "json"});
  EXPECT_EQ(admin_changes.exit_code, 0) << admin_changes.err;
  EXPECT_THAT(admin_changes.out, HasSubstr("SetPrincipalDisabled"));
  const int64_t migrated_records = PgInt(
      *target_, "SELECT count(*) FROM audit_records WHERE chain = 'migrated'");
  EXPECT_GT(migrated_records, static_cast<int64_t>(kSampleChecks));

  // The TOTP admin of `stewardd init` still works, second factor included:
  // its secret moved, and its last step with it.
  int64_t step = 0;
  const std::string code = TotpCodeAfter(*totp_uri_, totp_step_, &step);
  CommandResult added = Ctl(replica.address(), *totp_admin_key_file_,
                            {"--otp", code, "principal", "add", "after-move"});
  EXPECT_EQ(added.exit_code, 0) << added.err;
  CommandResult no_otp = Ctl(replica.address(), *totp_admin_key_file_,
                             {"principal", "add", "without-otp"});
  EXPECT_NE(no_otp.exit_code, 0);
  EXPECT_EQ(replica.Stop(), 0);
  // The replica wrote its own chain beside the migrated one.
  EXPECT_GT(
      PgInt(*target_, "SELECT count(*) FROM audit_records WHERE chain = 'r1'"),
      0);
  EXPECT_EQ(PgInt(*target_,
                  "SELECT count(*) FROM audit_records WHERE "
                  "chain = 'migrated'"),
            migrated_records);
}

TEST_F(MigrateStoreTest, AReplicaNamedAsTheChainContinuesIt) {
  const int64_t head = PgInt(
      *target_, "SELECT last_seq FROM audit_chains WHERE chain = 'migrated'");
  ServerProcess replica;
  ASSERT_THAT(
      replica.Start(STEWARDD_PATH, dir_->path() + "/migrated",
                    {"--store", *target_, "--replica-name", "migrated"}),
      IsOk());
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      replica.address(), grpc::InsecureChannelCredentials());
  std::unique_ptr<AuthorizationService::Stub> authz =
      AuthorizationService::NewStub(channel);
  std::vector<WorkloadRequest> requests =
      LoadWorkloadRequests(STEWARD_WORKLOAD_DIR);
  ASSERT_GE(requests.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    v1::CheckResponse response;
    grpc::Status status =
        authz->Check(Context(ReadKey(*source_, "client")).get(),
                     requests[i].request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  CommandResult verify = Ctl(replica.address(), *source_ + "/dev-auditor.key",
                             {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(replica.Stop(), 0);
  EXPECT_GE(PgInt(*target_,
                  "SELECT last_seq FROM audit_chains WHERE chain = "
                  "'migrated'"),
            head + 10);
  // The first new record links to the migrated head.
  EXPECT_EQ(PgInt(*target_,
                  absl::StrCat("SELECT count(*) FROM audit_records n JOIN "
                               "audit_records o ON o.chain = n.chain AND "
                               "o.seq = n.seq - 1 WHERE n.chain = 'migrated' "
                               "AND n.seq = ",
                               head + 1, " AND n.prev_hash = o.hash")),
            1);
}

TEST_F(MigrateStoreTest, APurgedTrailMovesWithItsRetentionAnchor) {
  const std::string purged = CopyOfSource("purged");
  {
    // Retention of one second purges every record at start (on the
    // retention job's thread), writing the anchor and a purge record.
    ServerProcess server;
    ASSERT_THAT(server.Start(STEWARDD_PATH, purged,
                             {"--audit-retention", "1s", "--audit-signing-key",
                              *signing_key_}),
                IsOk());
    WaitUntil(
        [&] {
          store::sqlite::ConnectionOptions options;
          options.read_only = true;
          auto db =
              store::sqlite::Connection::Open(purged + "/steward.db", options);
          if (!db.ok()) return false;
          auto stmt = (*db)->Prepare(
              "SELECT count(*) FROM audit_log WHERE action = "
              "'retention_purge'");
          return stmt.ok() && stmt->Step().value_or(false) && stmt->Int(0) > 0;
        },
        absl::Seconds(20), "the retention purge record");
    ASSERT_EQ(server.Stop(), 0);
  }
  const Dump source = DumpSqlite(purged);
  ASSERT_FALSE(source[kAudit].empty());
  const std::string url = NewTargetUrl();
  CommandResult migrated = Migrate(purged, url, {"--chain", "old-trail"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_THAT(migrated.out, HasSubstr("checkpoints:     1 retention"));
  // The chain starts after the anchor, as in SQLite.
  const int64_t anchor = PgInt(url,
                               "SELECT seq FROM audit_retention_checkpoints "
                               "WHERE chain = 'old-trail'");
  EXPECT_GT(anchor, static_cast<int64_t>(kSampleChecks));
  EXPECT_EQ(PgInt(url,
                  "SELECT min(seq) FROM audit_records WHERE chain = "
                  "'old-trail'"),
            anchor + 1);
  EXPECT_EQ(PgInt(url, "SELECT count(*) FROM audit_records"),
            static_cast<int64_t>(source[kAudit].size()));
  ServerProcess replica;
  ASSERT_THAT(replica.Start(STEWARDD_PATH, dir_->path() + "/purged-r",
                            {"--store", url, "--replica-name", "r1"}),
              IsOk());
  CommandResult verify = Ctl(replica.address(), *source_ + "/dev-auditor.key",
                             {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_GT(ValidSignatures(url, "old-trail", *signing_key_ + ".pub"), 0);
}

// A copy that fails half-way (a trigger in the target refuses one record
// after several batches went in) leaves the target as it was, and the same
// command then succeeds.
TEST_F(MigrateStoreTest, AFailedCopyLeavesTheTargetEmptyAndCanBeRerun) {
  const std::string url = NewTargetUrl();
  // Creates the schema only.
  ASSERT_EQ(Migrate(*source_, url, {"--dry-run"}).exit_code, 0);
  absl::StatusOr<std::unique_ptr<store::postgresql::Connection>> db =
      store::postgresql::Connection::Open(url, {});
  ASSERT_THAT(db.status(), IsOk());
  ASSERT_THAT(
      (*db)->ExecScript(
          "test trigger",
          "CREATE FUNCTION refuse_record() RETURNS trigger LANGUAGE plpgsql "
          "AS $$ BEGIN RAISE EXCEPTION 'test refuses record %', NEW.seq; "
          "END $$; "
          "CREATE TRIGGER refuse_record BEFORE INSERT ON audit_records "
          "FOR EACH ROW WHEN (NEW.seq = 1000) EXECUTE FUNCTION "
          "refuse_record();"),
      IsOk());
  CommandResult failed = Migrate(*source_, url, {"--batch-records", "300"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.err,
              AllOf(HasSubstr("copying the audit trail:"),
                    HasSubstr("test refuses record 1000"),
                    HasSubstr("rolled back: the target is unchanged")));
  // Three batches of 300 went in before the failing one; none stayed.
  for (const char* table : {"policy_versions", "principals", "role_bindings",
                            "api_keys", "audit_chains", "audit_records"}) {
    EXPECT_EQ(PgInt(url, absl::StrCat("SELECT count(*) FROM ", table)), 0)
        << table;
  }
  EXPECT_EQ(PgInt(url, "SELECT revision FROM store_meta"), 0);
  ASSERT_THAT((*db)->ExecScript("drop test trigger",
                                "DROP TRIGGER refuse_record ON audit_records"),
              IsOk());
  CommandResult rerun = Migrate(*source_, url);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(DumpPostgresql(url), DumpSqlite(*source_));
}

TEST_F(MigrateStoreTest, RefusesASourceThatIsBeingServed) {
  const std::string busy = CopyOfSource("busy");
  ServerProcess running;
  ASSERT_THAT(running.Start(STEWARDD_PATH, busy, {"--dev"}), IsOk());
  const std::string url = NewTargetUrl();
  CommandResult refused = Migrate(busy, url);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, AllOf(HasSubstr("stewardd: error:"), HasSubstr(busy),
                                 HasSubstr("stop it before migrating")));
  EXPECT_EQ(running.Stop(), 0);
  // Nothing reached the target, not even the schema.
  EXPECT_EQ(PgInt(url,
                  "SELECT count(*) FROM pg_tables WHERE schemaname = "
                  "'public'"),
            0);
}

TEST_F(MigrateStoreTest, RefusesATamperedTrailNamingTheRecord) {
  const std::string tampered = CopyOfSource("tampered");
  {
    absl::StatusOr<std::unique_ptr<store::sqlite::Connection>> db =
        store::sqlite::Connection::Open(tampered + "/steward.db", {});
    ASSERT_THAT(db.status(), IsOk());
    ASSERT_THAT((*db)->Exec("UPDATE audit_log SET reason = 'EDITED' WHERE "
                            "seq = 42"),
                IsOk());
    ASSERT_EQ((*db)->changes(), 1);
  }
  const std::string url = NewTargetUrl();
  CommandResult refused = Migrate(tampered, url);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("does not verify (first bad record 42)"),
                    HasSubstr("refusing to copy a broken trail")));
  EXPECT_EQ(PgInt(url,
                  "SELECT count(*) FROM pg_tables WHERE schemaname = "
                  "'public'"),
            0);
}

TEST_F(MigrateStoreTest, BadArgumentsAreClearErrors) {
  CommandResult unreachable = Migrate(
      *source_, absl::StrCat("postgresql://u:", kPassword, "@127.0.0.1:1/db"));
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err, AllOf(HasSubstr("stewardd: error: target "
                                               "postgresql://u:REDACTED@"),
                                     Not(HasSubstr(kPassword))));
  CommandResult not_url = Migrate(*source_, dir_->path() + "/x.db");
  EXPECT_EQ(not_url.exit_code, 2);
  EXPECT_THAT(not_url.err, HasSubstr("--to takes a postgresql:// URL"));
  // libpq refuses to parse this one: a usage error.
  CommandResult malformed =
      Migrate(*source_, absl::StrCat("postgresql://u:", kPassword,
                                     "@127.0.0.1/db?no_such_option=1"));
  EXPECT_EQ(malformed.exit_code, 2) << malformed.err;
  EXPECT_THAT(malformed.err,
              AllOf(HasSubstr("no_such_option"), Not(HasSubstr(kPassword))));
  // This one parses; connecting says what is wrong.
  CommandResult bad_port = Migrate(
      *source_,
      absl::StrCat("postgresql://u:", kPassword, "@127.0.0.1:notaport/db"));
  EXPECT_EQ(bad_port.exit_code, 1);
  EXPECT_THAT(bad_port.err, AllOf(HasSubstr("invalid integer value "
                                            "\"notaport\""),
                                  Not(HasSubstr(kPassword))));
  CommandResult bad_chain =
      Migrate(*source_, NewTargetUrl(), {"--chain", "no spaces"});
  EXPECT_EQ(bad_chain.exit_code, 2);
  EXPECT_THAT(bad_chain.err, HasSubstr("--chain \"no spaces\": expected 1 to "
                                       "64 characters"));
  CommandResult no_store =
      Migrate(dir_->path() + "/nothing-here", NewTargetUrl());
  EXPECT_EQ(no_store.exit_code, 1);
  EXPECT_THAT(no_store.err, HasSubstr("no SQLite store in " + dir_->path() +
                                      "/nothing-here"));
  CommandResult missing =
      RunCommand({STEWARDD_PATH, "migrate-store", "--from", *source_});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--to is required"));
}

}  // namespace
}  // namespace steward::testing
