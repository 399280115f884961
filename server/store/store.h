// The role store: Steward's source of truth for policy versions,
// principals, role bindings and service API keys, and the decision
// snapshots built from them.
//
// Public. OpenStore picks the engine from its location and returns a Store
// that exposes one narrow repository per concern; callers take only the
// interface they need:
//   policy_repository.h     policy versions (apply, list, get, activate)
//   principal_repository.h  principals and role bindings
//   key_repository.h        service API keys and their second factor
//   snapshot_publisher.h    the store revision and the published Snapshot
// Their values are in values.h. Nothing above these interfaces knows the
// engine: SQLite (server/store/sqlite) for a file path, PostgreSQL
// (server/store/postgresql) for a postgresql:// URL. The audit trail
// (server/audit) writes its own tables through the SQLite layer; it reuses
// Clock from clock.h.
#ifndef STEWARD_SERVER_STORE_STORE_H_
#define STEWARD_SERVER_STORE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "policy/compiler.h"
#include "server/store/clock.h"
#include "server/store/key_repository.h"
#include "server/store/policy_repository.h"
#include "server/store/principal_repository.h"
#include "server/store/snapshot_publisher.h"
#include "server/store/values.h"

namespace steward::store {

struct StoreOptions {
  // Create the database (owner-only) and its schema when missing;
  // otherwise a missing database is kNotFound.
  bool create_if_missing = false;
  // How long a call waits for another process's lock on the database
  // before failing with kUnavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
  policy::CompileOptions compile_options;
};

// How a replica follows changes other stewardd processes make to a shared
// store (Store::Follow).
struct FollowOptions {
  // The revision poll: the safety net for notifications missed while the
  // listening connection was down or lost in between.
  absl::Duration poll_interval = absl::Seconds(1);
  // Reconnection attempts back off exponentially from 100 ms up to this.
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
};

// A running follower: a thread that listens for other processes' changes
// (and polls the revision), and brings the store's snapshot and key index
// up to date when the revision moves. Owned by whoever started it; the
// destructor stops the thread and joins it, so it must be destroyed before
// the store. Thread-safe.
class StoreFollower {
 public:
  virtual ~StoreFollower() = default;

  // When the follower last read the database's revision (its proof that
  // the database is reachable); absl::InfinitePast() before the first.
  virtual absl::Time last_contact() const = 0;
  // Why the last attempt to reach the database, or to catch up with it,
  // failed; OK when the last attempt succeeded.
  virtual absl::Status last_error() const = 0;
};

// An open role store: its repositories share one database connection (or
// pool) and publish into one SnapshotHolder. Owns the repositories, which
// live as long as it does. Thread-safe.
class Store {
 public:
  using Options = StoreOptions;

  virtual ~Store() = default;

  virtual PolicyRepository& policies() = 0;
  virtual PrincipalRepository& principals() = 0;
  virtual KeyRepository& keys() = 0;
  virtual SnapshotPublisher& publisher() = 0;

  // True once InitializeStore has run on this store.
  virtual absl::StatusOr<bool> IsInitialized() = 0;

  // Starts following changes that other processes commit to this store's
  // database. Null when the engine has no such processes (SQLite: the
  // data dir lock keeps the file to one stewardd). Errors: the engine's,
  // when the follower's own connection cannot be set up at all (an
  // unreachable server is not one: the follower keeps retrying).
  virtual absl::StatusOr<std::unique_ptr<StoreFollower>> Follow(
      const FollowOptions& options) {
    (void)options;
    return std::unique_ptr<StoreFollower>();
  }
};

// Opens the store at `location` (a file path: the SQLite engine; a
// postgresql:// or postgres:// libpq URL: the PostgreSQL engine, whose
// database must exist), applies
// pending migrations and builds the first snapshot from the active policy
// (if any).
// kNotFound: no database and !create_if_missing. kFailedPrecondition: schema
// newer than this binary, an edited migration, not a Steward database, or
// the active policy no longer compiles. kDataLoss: corrupt database.
// kInvalidArgument: a malformed PostgreSQL URL. kUnavailable: the
// PostgreSQL server cannot be reached. Messages never hold the password.
// REQUIRES: `clock` outlives the store.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& location,
                                                 const Clock& clock,
                                                 const StoreOptions& options);

// True when `location` names the PostgreSQL engine (postgresql:// or
// postgres://).
bool IsPostgresqlLocation(absl::string_view location);

// `location` safe for logs and error messages: the password of a
// PostgreSQL URL (postgresql://user:PASSWORD@host/db, or ?password=...)
// or of a libpq key=value string (password=... or password='...') is
// replaced by REDACTED; anything else is returned unchanged.
std::string RedactStoreLocation(absl::string_view location);

// `stewardd init`: opens (creating if missing) and marks the store
// initialized. `*created` says whether this call did the marking; on an
// already initialized store nothing changes. Bootstrapping the first admin
// key is the caller's job (see KeyRepository::HasAnyAdminKey). Codes as
// OpenStore. REQUIRES: `clock` outlives the store.
absl::StatusOr<std::unique_ptr<Store>> InitializeStore(
    const std::string& location, const Clock& clock,
    const StoreOptions& options, bool* created);

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_STORE_H_
