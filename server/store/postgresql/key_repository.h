// The PostgreSQL engine's KeyRepository (api_keys table), with the
// in-memory index that authenticates keys without a database round trip.
//
// Internal to server/store (the PostgreSQL engine); callers use
// server/store/key_repository.h through store.h.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_KEY_REPOSITORY_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_KEY_REPOSITORY_H_

#include <cstdint>
#include <vector>

#include "server/store/key_index.h"
#include "server/store/key_repository.h"
#include "server/store/postgresql/database.h"
#include "server/store/postgresql/publisher.h"

namespace steward::store::postgresql {

// Owned by PgStore; borrows its Database and publisher. Thread-safe;
// AuthenticateApiKey is lock-free.
class PgKeyRepository : public KeyRepository {
 public:
  PgKeyRepository(Database* db, PgPublisher* publisher)
      : db_(db), publisher_(publisher) {}

  absl::StatusOr<NewApiKey> CreateApiKey(absl::string_view name,
                                         ServiceRole role,
                                         absl::string_view created_by) override;
  absl::StatusOr<std::vector<ApiKeyInfo>> ListApiKeys() override;
  absl::StatusOr<int64_t> RevokeApiKey(absl::string_view name) override;
  absl::StatusOr<AuthenticatedKey> AuthenticateApiKey(
      absl::string_view key) const override {
    return keys_.Authenticate(key);
  }
  // Every stewardd sharing the database refuses a replayed step: the
  // conditional UPDATE is atomic in PostgreSQL too.
  absl::Status RecordTotpStep(absl::string_view name, int64_t step) override;
  // One UPDATE ... RETURNING: PostgreSQL locks the key's row and computes
  // the new window from its latest version, so concurrent failures on
  // several replicas are all counted (no read-modify-write).
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
  PgPublisher* publisher_;
  internal::KeyIndexHolder keys_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_KEY_REPOSITORY_H_
