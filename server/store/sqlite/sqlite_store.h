// The SQLite engine of the role store: one database file holding every
// repository's tables, opened with its migrations applied.
//
// Internal to server/store: OpenStore (store.h) picks this engine for a
// file path. The repositories it exposes share one connection and one
// mutex (database.h) and publish through one SqlitePublisher; each is its
// own class and file (policy_repository.h, principal_repository.h,
// key_repository.h, publisher.h).
#ifndef STEWARD_SERVER_STORE_SQLITE_SQLITE_STORE_H_
#define STEWARD_SERVER_STORE_SQLITE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/clock.h"
#include "server/store/sqlite/database.h"
#include "server/store/sqlite/key_repository.h"
#include "server/store/sqlite/policy_repository.h"
#include "server/store/sqlite/principal_repository.h"
#include "server/store/sqlite/publisher.h"
#include "server/store/store.h"

namespace steward::store::sqlite {

// An open SQLite store. Owns the Database and the repositories. Thread-safe.
class SqliteStore : public Store {
 public:
  // See OpenStore (store.h) for the contract; `path` is the database file.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, const Clock& clock, const StoreOptions& options);
  // See InitializeStore (store.h).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Initialize(
      const std::string& path, const Clock& clock, const StoreOptions& options,
      bool* created);

  // Use Open() or Initialize().
  SqliteStore(const Clock& clock, const StoreOptions& options,
              std::unique_ptr<Connection> connection);
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  PolicyRepository& policies() override { return policies_; }
  PrincipalRepository& principals() override { return principals_; }
  KeyRepository& keys() override { return keys_; }
  SnapshotPublisher& publisher() override { return publisher_; }
  absl::StatusOr<bool> IsInitialized() override;

 private:
  // Declared first: the repositories borrow it.
  Database db_;
  SqlitePublisher publisher_;
  SqlitePolicyRepository policies_;
  SqlitePrincipalRepository principals_;
  SqliteKeyRepository keys_;
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_SQLITE_STORE_H_
