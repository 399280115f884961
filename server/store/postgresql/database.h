// What the PostgreSQL engine's repositories share: one connection behind
// one mutex, the clock and the options, and the one way an admin change is
// committed.
//
// Internal to server/store (the PostgreSQL engine). Within one stewardd,
// repository calls serialize on the mutex (admin traffic is light; the
// check path reads published snapshots). Across processes sharing the
// database, every admin change first locks the store_meta row (SELECT ...
// FOR UPDATE) in a READ COMMITTED transaction. We chose the explicit row
// lock over SERIALIZABLE: writers queue on it instead of failing and
// retrying, each statement after the lock sees every change committed
// before it (so MAX(version) + 1, existence checks and the separation
// check read the latest state), and the revision increases by exactly one
// per change with no lost update. lock_timeout bounds the wait
// (kUnavailable). Deadlocks and serialization failures cannot arise
// between our own writers, but a change that gets one (kAborted) is
// retried from the start all the same.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_DATABASE_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_DATABASE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/store/clock.h"
#include "server/store/postgresql/connection.h"
#include "server/store/store.h"

namespace steward::store::postgresql {

// The shared state of one open PostgreSQL store. Owned by PgStore and
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

// What a committed change touched. It travels in the change's
// notification payload ("<revision>", "<revision> k" or "<revision> p
// <principal id>") so that a follower can patch its snapshot with only
// that principal, or reload only its key index, instead of rebuilding
// everything (follower.h).
struct ChangeSubject {
  enum class Kind {
    kWhole,      // a policy change, or anything else: rebuild
    kPrincipal,  // one principal and its bindings
    kKeys,       // API keys only; the snapshot does not change
  };
  Kind kind = Kind::kWhole;
  std::string principal;

  static ChangeSubject Principal(absl::string_view id) {
    return ChangeSubject{Kind::kPrincipal, std::string(id)};
  }
  static ChangeSubject Keys() { return ChangeSubject{Kind::kKeys, ""}; }
};

// One 'steward_revision' notification, parsed.
struct RevisionNotice {
  int64_t revision = 0;
  ChangeSubject subject;
};
// The payload CommitChange sends, and its inverse. An unparsable payload
// (another writer, an older binary) is kWhole at revision 0: the
// follower then rebuilds.
std::string EncodeRevisionNotice(int64_t revision,
                                 const ChangeSubject& subject);
RevisionNotice DecodeRevisionNotice(absl::string_view payload);

// Runs `change` in one write transaction that first locks the revision
// row, then bumps the revision, notifies 'steward_revision' listeners
// (pg_notify with EncodeRevisionNotice, delivered at commit; replicas
// follow it) and commits. An error from `change` rolls all of it back;
// kAborted from PostgreSQL retries the whole transaction (`change` must
// only issue statements and overwrite its outputs). Returns the new
// revision.
absl::StatusOr<int64_t> CommitChange(Connection& connection,
                                     const ChangeSubject& subject,
                                     absl::FunctionRef<absl::Status()> change);
// A change of kind kWhole (policy changes).
inline absl::StatusOr<int64_t> CommitChange(
    Connection& connection, absl::FunctionRef<absl::Status()> change) {
  return CommitChange(connection, ChangeSubject(), change);
}

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_DATABASE_H_
