// The PostgreSQL engine of the role store: one database holding every
// repository's tables, opened with its migrations applied.
//
// Internal to server/store: OpenStore (store.h) picks this engine for a
// postgresql:// (or postgres://) location, which is a libpq connection
// string (TLS to the server through its sslmode parameter). Several
// stewardd processes may open the same database: admin changes serialize
// on the store_meta row lock (database.h). The repositories share one
// connection and one mutex and publish through one PgPublisher.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_PG_STORE_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_PG_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/clock.h"
#include "server/store/postgresql/database.h"
#include "server/store/postgresql/key_repository.h"
#include "server/store/postgresql/policy_repository.h"
#include "server/store/postgresql/principal_repository.h"
#include "server/store/postgresql/publisher.h"
#include "server/store/store.h"

namespace steward::store::postgresql {

// An open PostgreSQL store. Owns the Database and the repositories.
// Thread-safe.
class PgStore : public Store {
 public:
  // See OpenStore (store.h). create_if_missing creates the schema in an
  // empty database (the database itself must exist); without it an empty
  // database is kNotFound. Errors never contain `conninfo`.
  static absl::StatusOr<std::unique_ptr<PgStore>> Open(
      const std::string& conninfo, const Clock& clock,
      const StoreOptions& options);
  // See InitializeStore (store.h).
  static absl::StatusOr<std::unique_ptr<PgStore>> Initialize(
      const std::string& conninfo, const Clock& clock,
      const StoreOptions& options, bool* created);

  // Use Open() or Initialize().
  PgStore(const Clock& clock, const StoreOptions& options,
          std::unique_ptr<Connection> connection);
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  PolicyRepository& policies() override { return policies_; }
  PrincipalRepository& principals() override { return principals_; }
  KeyRepository& keys() override { return keys_; }
  SnapshotPublisher& publisher() override { return publisher_; }
  absl::StatusOr<bool> IsInitialized() override;
  absl::StatusOr<std::unique_ptr<StoreFollower>> Follow(
      const FollowOptions& options) override;

  // Brings the snapshot (and with it the policy program) and the key
  // index up to the database's current revision when another process
  // moved it; a no-op when it has not. A full rebuild: the database keeps
  // no per-revision change log to patch from. Returns the revision now
  // published. kUnavailable: the database cannot be reached (the previous
  // snapshot and keys stay).
  absl::StatusOr<int64_t> CatchUp();
  // Applies other processes' changes from their notifications (in commit
  // order): while they follow the published revision one by one, a
  // principal change patches only that principal's entry and a key change
  // reloads only the key index; a policy change, a gap (a missed
  // notification) or an unparsable payload falls back to CatchUp's full
  // rebuild. Notices at or below the published revision (our own changes,
  // or already applied) are skipped. Codes as CatchUp.
  absl::Status ApplyNotices(std::vector<RevisionNotice> notices);

 private:
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.mu);

  // The libpq connection string, for the follower's own connection.
  std::string conninfo_;
  // Declared first: the repositories borrow it.
  Database db_;
  PgPublisher publisher_;
  PgPolicyRepository policies_;
  PgPrincipalRepository principals_;
  PgKeyRepository keys_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_PG_STORE_H_
