// What the SQLite engine's repositories share: one connection behind one
// mutex, the clock and the options, and the store revision kept in
// store_meta.
//
// Internal to server/store (the SQLite engine). Admin traffic is light, so
// every repository call is serialized on the one mutex; the check path
// reads published snapshots and never waits for it.
#ifndef STEWARD_SERVER_STORE_SQLITE_DATABASE_H_
#define STEWARD_SERVER_STORE_SQLITE_DATABASE_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/store/clock.h"
#include "server/store/sqlite/connection.h"
#include "server/store/store.h"

namespace steward::store::sqlite {

// The shared state of one open SQLite store. Owned by SqliteStore and
// borrowed by its repositories. Thread-safe through `mu`.
struct Database {
  Database(const Clock& clock, StoreOptions options,
           std::unique_ptr<Connection> connection)
      : clock(clock),
        options(std::move(options)),
        connection(std::move(connection)) {}

  const Clock& clock;
  const StoreOptions options;
  mutable absl::Mutex mu;
  std::unique_ptr<Connection> connection ABSL_GUARDED_BY(mu);
};

// The revision of the last committed change. kDataLoss: store_meta has no
// row.
absl::StatusOr<int64_t> ReadRevision(Connection& connection);

// Every admin change ends alike: the revision is bumped inside the change's
// own transaction, which is then committed, so a reader never sees the data
// without the revision that names it (or the reverse). Returns the new
// revision.
absl::StatusOr<int64_t> CommitWithNewRevision(Connection& connection,
                                              Transaction& txn);

// Runs `change` in one write transaction and commits it with
// CommitWithNewRevision; an error from `change` rolls all of it back.
// Returns the new revision.
absl::StatusOr<int64_t> CommitChange(Connection& connection,
                                     absl::FunctionRef<absl::Status()> change);

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_DATABASE_H_
