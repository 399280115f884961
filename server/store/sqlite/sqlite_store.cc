// See sqlite_store.h.
#include "server/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "migrations/migrations.h"
#include "server/store/sqlite/migration_runner.h"

namespace steward::store::sqlite {
namespace {

// Creates the database file owner-only before SQLite does: it holds TOTP
// secrets and personal attributes. SQLite gives the -wal and -shm files the
// permissions of the main file.
absl::Status CreateFileOwnerOnly(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

SqliteStore::SqliteStore(const Clock& clock, const StoreOptions& options,
                         std::unique_ptr<Connection> connection)
    : db_(clock, options, std::move(connection)),
      publisher_(&db_),
      policies_(&db_, &publisher_),
      principals_(&db_, &publisher_),
      keys_(&db_, &publisher_) {}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path, const Clock& clock, const StoreOptions& options) {
  if (options.create_if_missing) {
    if (absl::Status s = CreateFileOwnerOnly(path); !s.ok()) return s;
  }
  ConnectionOptions connection_options;
  connection_options.create_if_missing = options.create_if_missing;
  connection_options.busy_timeout = options.busy_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(path, connection_options);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<MigrationResult> migrated =
      RunMigrations(**connection, migrations::All(), clock.Now());
  if (!migrated.ok()) return migrated.status();

  auto store =
      std::make_unique<SqliteStore>(clock, options, *std::move(connection));
  absl::MutexLock lock(&store->db_.mu);
  // The active policy, recompiled from its stored source.
  absl::StatusOr<SqlitePolicyRepository::Active> active =
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

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Initialize(
    const std::string& path, const Clock& clock, const StoreOptions& options,
    bool* created) {
  StoreOptions create_options = options;
  create_options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      Open(path, clock, create_options);
  if (!store.ok()) return store.status();
  {
    absl::MutexLock lock(&(*store)->db_.mu);
    Connection& c = *(*store)->db_.connection;
    absl::StatusOr<Statement> stmt = c.Prepare(
        "UPDATE store_meta SET initialized_at = ? "
        "WHERE singleton = 1 AND initialized_at IS NULL");
    if (!stmt.ok()) return stmt.status();
    stmt->BindTime(1, clock.Now());
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
    if (created != nullptr) *created = c.changes() == 1;
  }
  return store;
}

absl::StatusOr<bool> SqliteStore::IsInitialized() {
  absl::MutexLock lock(&db_.mu);
  absl::StatusOr<Statement> stmt = db_.connection->Prepare(
      "SELECT initialized_at IS NOT NULL FROM store_meta WHERE singleton = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row && stmt->Int(0) != 0;
}

}  // namespace steward::store::sqlite
