// The SQLite engine's KeyRepository (api_keys table), with the in-memory
// index that authenticates keys without touching SQLite.
//
// Internal to server/store (the SQLite engine); callers use
// server/store/key_repository.h through store.h.
#ifndef STEWARD_SERVER_STORE_SQLITE_KEY_REPOSITORY_H_
#define STEWARD_SERVER_STORE_SQLITE_KEY_REPOSITORY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "server/store/key_index.h"
#include "server/store/key_repository.h"
#include "server/store/sqlite/database.h"
#include "server/store/sqlite/publisher.h"

namespace steward::store::sqlite {

// Owned by SqliteStore; borrows its Database and publisher. Thread-safe;
// AuthenticateApiKey is lock-free.
class SqliteKeyRepository : public KeyRepository {
 public:
  SqliteKeyRepository(Database* db, SqlitePublisher* publisher);
  ~SqliteKeyRepository() override;

  absl::StatusOr<NewApiKey> CreateApiKey(absl::string_view name,
                                         ServiceRole role,
                                         absl::string_view created_by) override;
  absl::StatusOr<std::vector<ApiKeyInfo>> ListApiKeys() override;
  absl::StatusOr<int64_t> RevokeApiKey(absl::string_view name) override;
  absl::StatusOr<AuthenticatedKey> AuthenticateApiKey(
      absl::string_view key) const override;
  absl::Status RecordTotpStep(absl::string_view name, int64_t step) override;
  // One UPDATE ... RETURNING under the database mutex; the count is on
  // the key's row, so a lockout survives a restart.
  absl::StatusOr<SecondFactorFailures> RecordSecondFactorFailure(
      absl::string_view name, absl::Time now,
      const SecondFactorLimits& limits) override;
  absl::StatusOr<std::optional<absl::Time>> SecondFactorLockedUntil(
      absl::string_view name) override;
  absl::StatusOr<bool> HasAnyAdminKey() override;

  // Rebuilds the in-memory key index from the table (at open and after
  // every key change).
  absl::Status ReloadKeysLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);

 private:
  Database* db_;
  SqlitePublisher* publisher_;
  internal::KeyIndexHolder keys_;
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_KEY_REPOSITORY_H_
