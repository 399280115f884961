// The PostgreSQL engine's SnapshotPublisher, and the snapshot loads it
// runs.
//
// Internal to server/store (the PostgreSQL engine). Works like the SQLite
// publisher (sqlite/publisher.h): the repositories call the *Locked
// methods with Database::mu held right after their transaction commits; a
// full rebuild (open, new policy, reload) reads every principal and
// binding in one REPEATABLE READ transaction (two ordered scans merged,
// entries assembled by entry_assembler.h), and a principal change reloads
// only that principal's entry. Changes made by another stewardd on the
// same database reach this one's snapshot at its next full rebuild;
// following them continuously (LISTEN steward_revision) is the replicas'
// job.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_PUBLISHER_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_PUBLISHER_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "server/store/postgresql/database.h"
#include "server/store/snapshot.h"
#include "server/store/snapshot_publisher.h"

namespace steward::store::postgresql {

// Owned by PgStore; borrows its Database. Thread-safe: the accessors are
// lock-free, everything else runs under Database::mu.
class PgPublisher : public SnapshotPublisher {
 public:
  explicit PgPublisher(Database* db);

  std::shared_ptr<const Snapshot> snapshot() const override {
    return holder_.Get();
  }
  const SnapshotHolder& snapshots() const override { return holder_; }
  int64_t revision() const override { return holder_.Get()->store_revision(); }
  absl::Status ReloadSnapshot() override;

  // Rebuilds the whole snapshot for `program` (null: no active policy) at
  // the database's current revision. On failure the old snapshot stays
  // and the next principal change rebuilds instead of patching.
  absl::Status RebuildLocked(std::shared_ptr<const policy::Program> program,
                             int64_t policy_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);
  // After a committed change to principal `id`: reloads its entry (none if
  // it was deleted) and publishes the derived snapshot at `revision`.
  absl::Status PublishPrincipalLocked(absl::string_view id, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);
  // After a committed change the snapshot does not depend on (API keys).
  void PublishRevisionLocked(int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);

 private:
  Database* db_;
  bool snapshot_stale_ ABSL_GUARDED_BY(db_->mu) = false;
  // Written only with db_->mu held; read lock-free.
  SnapshotHolder holder_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_PUBLISHER_H_
