// See pg_store.h.
#include "server/store/postgresql/pg_store.h"

#include <utility>

#include "migrations/migrations.h"
#include "server/store/postgresql/migration_runner.h"

namespace steward::store::postgresql {

PgStore::PgStore(const Clock& clock, const StoreOptions& options,
                 std::unique_ptr<Connection> connection)
    : db_(clock, options, std::move(connection)),
      publisher_(&db_),
      policies_(&db_, &publisher_),
      principals_(&db_, &publisher_),
      keys_(&db_, &publisher_) {}

absl::StatusOr<std::unique_ptr<PgStore>> PgStore::Open(
    const std::string& conninfo, const Clock& clock,
    const StoreOptions& options) {
  ConnectionOptions connection_options;
  connection_options.lock_timeout = options.busy_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, connection_options);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<MigrationResult> migrated =
      RunMigrations(**connection, migrations::AllPostgresql(), clock.Now(),
                    options.create_if_missing);
  if (!migrated.ok()) return migrated.status();

  auto store =
      std::make_unique<PgStore>(clock, options, *std::move(connection));
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
