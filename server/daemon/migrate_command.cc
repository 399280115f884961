// See migrate_command.h.
#include "server/daemon/migrate_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/audit/postgresql/pg_import.h"
#include "server/audit/postgresql/pg_verify.h"
#include "server/daemon/data_dir_lock.h"
#include "server/store/postgresql/connection.h"
#include "server/store/postgresql/sqlite_import.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/transaction.h"
#include "server/store/store.h"

namespace steward::server {
namespace {

namespace pg = store::postgresql;

int Fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "stewardd: error: %s\n", message.c_str());
  return code;
}

// At most one progress line a second, and the last one.
class Progress {
 public:
  void Report(int64_t copied, int64_t total) {
    const absl::Time now = absl::Now();
    if (copied < total && now - last_ < absl::Seconds(1)) return;
    last_ = now;
    std::fprintf(stderr,
                 "stewardd: migrate-store: %lld of %lld audit records\n",
                 static_cast<long long>(copied), static_cast<long long>(total));
  }

 private:
  absl::Time last_ = absl::InfinitePast();
};

void PrintSummary(const MigrateConfig& config, const std::string& shown,
                  const pg::StoreImportCounts& store,
                  const audit::TrailImportResult& trail) {
  std::printf("%s %s to %s\n",
              config.dry_run ? "dry run: would migrate" : "migrated",
              config.from.c_str(), shown.c_str());
  std::printf("  policy versions: %lld (active: %lld)\n",
              static_cast<long long>(store.policy_versions),
              static_cast<long long>(store.active_version));
  std::printf("  principals:      %lld (%lld disabled)\n",
              static_cast<long long>(store.principals),
              static_cast<long long>(store.disabled_principals));
  std::printf("  role bindings:   %lld\n",
              static_cast<long long>(store.bindings));
  std::printf("  API keys:        %lld (%lld revoked)\n",
              static_cast<long long>(store.api_keys),
              static_cast<long long>(store.revoked_api_keys));
  std::printf("  store revision:  %lld\n",
              static_cast<long long>(store.revision));
  std::printf(
      "  audit records:   %lld as chain \"%s\" (seq %lld..%lld, head %s)\n",
      static_cast<long long>(trail.records), config.chain.c_str(),
      static_cast<long long>(trail.first_seq),
      static_cast<long long>(trail.last_seq),
      audit::HashHex(trail.head).c_str());
  std::printf("  checkpoints:     %lld retention, %lld signed\n",
              static_cast<long long>(trail.retention_checkpoints),
              static_cast<long long>(trail.signed_checkpoints));
}

}  // namespace

int RunMigrateStore(const MigrateConfig& config) {
  // What we print: never a password.
  const std::string shown = store::RedactStoreLocation(config.to);
  const std::string db_path = absl::StrCat(config.from, "/steward.db");
  struct stat st;
  if (::stat(db_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(absl::StrCat("no SQLite store in ", config.from, ": ", db_path,
                             " does not exist"));
  }

  // The source: serve's own lock, held to the end, so no stewardd serves
  // (and writes) the data dir while it is read.
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Acquire(config.from);
  if (!lock.ok()) {
    return Fail(absl::StrCat(lock.status().message(),
                             "; stop it before migrating its store"));
  }
  store::sqlite::ConnectionOptions source_options;
  source_options.read_only = true;
  absl::StatusOr<std::unique_ptr<store::sqlite::Connection>> source =
      store::sqlite::Connection::Open(db_path, source_options);
  if (!source.ok()) {
    return Fail(
        absl::StrCat("source ", db_path, ": ", source.status().ToString()));
  }
  if (absl::Status s = pg::CheckSqliteSourceSchema(**source); !s.ok()) {
    return Fail(absl::StrCat("source ", db_path, ": ", s.message()));
  }
  std::fprintf(stderr,
               "stewardd: migrate-store: verifying the audit trail "
               "in %s\n",
               db_path.c_str());
  absl::StatusOr<audit::VerifyResult> verified =
      audit::VerifySqliteTrail(**source);
  if (!verified.ok()) {
    return Fail(absl::StrCat("source ", db_path,
                             ": cannot verify the audit "
                             "trail: ",
                             verified.status().ToString()));
  }
  if (!verified->ok) {
    return Fail(absl::StrCat("the audit trail in ", db_path,
                             " does not verify (first bad record ",
                             verified->first_bad_seq, "): ", verified->message,
                             "; refusing to copy a broken trail"));
  }

  // The target.
  absl::StatusOr<std::unique_ptr<pg::Connection>> target =
      pg::OpenImportTarget(config.to, absl::Now());
  if (!target.ok()) {
    return Fail(
        absl::StrCat("target ", shown, ": ", target.status().ToString()),
        target.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
  }
  absl::StatusOr<pg::Transaction> txn =
      pg::Transaction::Begin(**target, pg::Transaction::Mode::kWrite);
  if (!txn.ok()) {
    return Fail(absl::StrCat("target ", shown, ": ", txn.status().ToString()));
  }
  if (absl::Status s = pg::LockStoreForImport(**target); !s.ok()) {
    return Fail(absl::StrCat("target ", shown, ": ", s.ToString()));
  }
  std::vector<std::string> held;
  for (auto describe :
       {pg::DescribeStoreContents, audit::DescribeTrailContents}) {
    absl::StatusOr<std::vector<std::string>> some = describe(**target);
    if (!some.ok()) {
      return Fail(
          absl::StrCat("target ", shown, ": ", some.status().ToString()));
    }
    held.insert(held.end(), some->begin(), some->end());
  }
  if (!held.empty()) {
    return Fail(absl::StrCat(
        "target ", shown, " is not empty: it holds ", absl::StrJoin(held, ", "),
        "; migrate-store copies into an empty database only (nothing was "
        "changed)"));
  }

  // One read transaction on the source: one consistent view of it.
  absl::StatusOr<store::sqlite::Transaction> read =
      store::sqlite::Transaction::BeginRead(**source);
  if (!read.ok()) {
    return Fail(
        absl::StrCat("source ", db_path, ": ", read.status().ToString()));
  }
  absl::StatusOr<pg::StoreImportCounts> store_counts =
      pg::ImportSqliteStore(**source, **target);
  if (!store_counts.ok()) {
    return Fail(
        absl::StrCat("copying the store: ", store_counts.status().ToString(),
                     " (rolled back: the target is unchanged)"));
  }
  Progress progress;
  audit::TrailImportOptions options;
  options.chain = config.chain;
  options.batch_records = static_cast<size_t>(config.batch_records);
  options.now = absl::Now();
  options.progress = [&progress](int64_t copied, int64_t total) {
    progress.Report(copied, total);
  };
  absl::StatusOr<audit::TrailImportResult> trail =
      audit::ImportSqliteTrail(**source, **target, options);
  if (!trail.ok()) {
    return Fail(
        absl::StrCat("copying the audit trail: ", trail.status().ToString(),
                     " (rolled back: the target is unchanged)"));
  }
  if (trail->records != verified->records_checked) {
    return Fail(absl::StrCat(
        "copied ", trail->records, " audit records but verified ",
        verified->records_checked, " (rolled back: the target is unchanged)"));
  }
  if (config.dry_run) {
    PrintSummary(config, shown, *store_counts, *trail);
    std::printf("dry run: rolled back, nothing committed\n");
    return 0;  // `txn` rolls back as it goes out of scope
  }
  if (absl::Status s = txn->Commit(); !s.ok()) {
    return Fail(absl::StrCat("committing the copy: ", s.ToString(),
                             " (the target is unchanged)"));
  }

  // Committed: what is in PostgreSQL now must verify as it was copied.
  absl::StatusOr<audit::PgVerifyResult> pg_verified =
      audit::VerifyPgChains(**target);
  if (!pg_verified.ok()) {
    return Fail(absl::StrCat("the copy is committed but cannot be verified: ",
                             pg_verified.status().ToString()));
  }
  int64_t chain_records = -1;
  for (const audit::ChainVerifyResult& chain : pg_verified->chains) {
    if (chain.chain == config.chain) {
      chain_records = chain.result.records_checked;
    }
  }
  if (!pg_verified->ok || chain_records != trail->records) {
    return Fail(absl::StrCat(
        "the copy is committed but does not verify in PostgreSQL (",
        pg_verified->message, "; chain ", config.chain, ": ", chain_records,
        " of ", trail->records,
        " records checked); drop the database before running again"));
  }
  PrintSummary(config, shown, *store_counts, *trail);
  std::printf("  verified:        %s\n", pg_verified->message.c_str());
  return 0;
}

}  // namespace steward::server
