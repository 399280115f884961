// See pg_store.h.
#include "server/store/postgresql/pg_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "migrations/migrations.h"
#include "server/store/postgresql/follower.h"
#include "server/store/postgresql/migration_runner.h"

namespace steward::store::postgresql {

PgStore::PgStore(const Clock& clock, const StoreOptions& options,
                 std::unique_ptr<Connection> connection)
    : db_(clock, options, std::move(connection)),
      publisher_(&db_),
      policies_(&db_, &publisher_),
      principals_(&db_, &publisher_),
      keys_(&db_, &publisher_) {
  publisher_.SetCatchUp(
      [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return CatchUpLocked(); });
}

absl::Status PgStore::CatchUpLocked() {
  // A few rounds at most: each ends when no change committed while it
  // read, and a change that lands after that is caught by the follower's
  // next notification or poll.
  constexpr int kMaxRounds = 4;
  for (int round = 0; round < kMaxRounds; ++round) {
    absl::StatusOr<Result> row = db_.connection->Exec(
        "catch up: read revision and active policy",
        "SELECT revision, (SELECT version FROM policy_versions WHERE active) "
        "FROM store_meta WHERE singleton = 1");
    if (!row.ok()) return row.status();
    if (row->rows() != 1) {
      return absl::DataLossError("store_meta row is missing");
    }
    const int64_t revision = row->Int(0, 0);
    const int64_t active_version = row->OptionalInt(0, 1).value_or(0);
    std::shared_ptr<const Snapshot> current = publisher_.snapshot();
    std::shared_ptr<const policy::Program> program = current->program();
    int64_t version = current->policy_version();
    // Policy versions never change once written: the same active version
    // number is the same program, so only a new activation recompiles.
    if (active_version != version) {
      absl::StatusOr<PgPolicyRepository::Active> active =
          policies_.CompileActiveLocked();
      if (!active.ok()) return active.status();
      program = active->program;
      version = active->version;
    }
    if (absl::Status s = publisher_.RebuildLocked(program, version); !s.ok()) {
      return s;
    }
    if (absl::Status s = keys_.ReloadKeysLocked(); !s.ok()) return s;
    const std::shared_ptr<const Snapshot> built = publisher_.snapshot();
    if (built->store_revision() == revision &&
        built->policy_version() == version) {
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PgStore::CatchUp() {
  absl::MutexLock lock(&db_.mu);
  absl::StatusOr<int64_t> revision = ReadRevision(*db_.connection);
  if (!revision.ok()) return revision.status();
  if (*revision <= publisher_.revision()) return publisher_.revision();
  if (absl::Status s = CatchUpLocked(); !s.ok()) return s;
  return publisher_.revision();
}

absl::Status PgStore::ApplyNotices(std::vector<RevisionNotice> notices) {
  std::sort(notices.begin(), notices.end(),
            [](const RevisionNotice& a, const RevisionNotice& b) {
              return a.revision < b.revision;
            });
  absl::MutexLock lock(&db_.mu);
  for (const RevisionNotice& notice : notices) {
    const int64_t published = publisher_.revision();
    if (notice.revision != 0 && notice.revision <= published) continue;
    if (notice.revision != published + 1 ||
        notice.subject.kind == ChangeSubject::Kind::kWhole) {
      return CatchUpLocked();
    }
    if (notice.subject.kind == ChangeSubject::Kind::kKeys) {
      if (absl::Status s = keys_.ReloadKeysLocked(); !s.ok()) return s;
      publisher_.PublishRevisionLocked(notice.revision);
      continue;
    }
    // The entry is read as it is now, which may already include a later
    // change to the same principal: never older than `revision`, and the
    // later change's own notice re-reads it.
    if (absl::Status s = publisher_.PublishPrincipalLocked(
            notice.subject.principal, notice.revision);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StoreFollower>> PgStore::Follow(
    const FollowOptions& options) {
  return std::unique_ptr<StoreFollower>(
      std::make_unique<PgFollower>(conninfo_, this, options));
}

absl::StatusOr<std::unique_ptr<PgStore>> PgStore::Open(
    const std::string& conninfo, const Clock& clock,
    const StoreOptions& options) {
  ConnectionOptions connection_options;
  connection_options.lock_timeout = options.busy_timeout;
  connection_options.rerun_reads_on_new_session = true;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, connection_options);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<MigrationResult> migrated =
      RunMigrations(**connection, migrations::AllPostgresql(), clock.Now(),
                    options.create_if_missing);
  if (!migrated.ok()) return migrated.status();

  auto store =
      std::make_unique<PgStore>(clock, options, *std::move(connection));
  store->conninfo_ = conninfo;
  absl::MutexLock lock(&store->db_.mu);
  absl::StatusOr<PgPolicyRepository::Active> active =
      store->policies_.CompileActiveLocked();
  if (!active.ok()) return active.status();
  if (absl::Status s =
          store->publisher_.RebuildLocked(active->program, active->version);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = store->keys_.ReloadKeysLocked(); !s.ok()) return s;
  return store;
}

absl::StatusOr<std::unique_ptr<PgStore>> PgStore::Initialize(
    const std::string& conninfo, const Clock& clock,
    const StoreOptions& options, bool* created) {
  StoreOptions create_options = options;
  create_options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<PgStore>> store =
      Open(conninfo, clock, create_options);
  if (!store.ok()) return store.status();
  {
    absl::MutexLock lock(&(*store)->db_.mu);
    absl::StatusOr<Result> marked = (*store)->db_.connection->Exec(
        "mark store initialized",
        "UPDATE store_meta SET initialized_at = $1 "
        "WHERE singleton = 1 AND initialized_at IS NULL",
        Params().Time(clock.Now()));
    if (!marked.ok()) return marked.status();
    if (created != nullptr) *created = marked->affected() == 1;
  }
  return store;
}

absl::StatusOr<bool> PgStore::IsInitialized() {
  absl::MutexLock lock(&db_.mu);
  absl::StatusOr<Result> row = db_.connection->Exec(
      "read initialized_at",
      "SELECT initialized_at IS NOT NULL FROM store_meta WHERE singleton = 1");
  if (!row.ok()) return row.status();
  return row->rows() == 1 && row->Bool(0, 0);
}

}  // namespace steward::store::postgresql
