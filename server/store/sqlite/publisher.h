// The SQLite engine's SnapshotPublisher: builds the decision Snapshot from
// the database and publishes it after every committed change.
//
// Internal to server/store (the SQLite engine). The repositories call the
// *Locked methods with Database::mu held, right after their transaction
// commits; a full rebuild (new policy, reload) reads the whole database
// through snapshot_loader.h, while a principal change patches only that
// principal's entry.
#ifndef STEWARD_SERVER_STORE_SQLITE_PUBLISHER_H_
#define STEWARD_SERVER_STORE_SQLITE_PUBLISHER_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "server/store/snapshot.h"
#include "server/store/snapshot_publisher.h"
#include "server/store/sqlite/database.h"

namespace steward::store::sqlite {

// Owned by SqliteStore; borrows its Database. Thread-safe: the accessors
// are lock-free, everything else runs under Database::mu.
class SqlitePublisher : public SnapshotPublisher {
 public:
  explicit SqlitePublisher(Database* db);

  std::shared_ptr<const Snapshot> snapshot() const override {
    return holder_.Get();
  }
  const SnapshotHolder& snapshots() const override { return holder_; }
  int64_t revision() const override { return holder_.Get()->store_revision(); }
  absl::Status ReloadSnapshot() override;

  // Rebuilds the whole snapshot for `program` (null: no active policy).
  // On failure the old snapshot stays and the next principal change
  // rebuilds instead of patching.
  absl::Status RebuildLocked(std::shared_ptr<const policy::Program> program,
                             int64_t policy_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);
  // After a committed change to principal `id`: reloads its entry (none if
  // it was deleted) and publishes the derived snapshot at `revision`.
  // On failure the change stays committed (the message says so) and the
  // next call rebuilds.
  absl::Status PublishPrincipalLocked(absl::string_view id, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);
  // After a committed change the snapshot does not depend on (API keys).
  void PublishRevisionLocked(int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);

 private:
  Database* db_;
  // Set when a committed change could not be reflected in the snapshot
  // (e.g. an I/O error while reloading); the next change rebuilds first.
  bool snapshot_stale_ ABSL_GUARDED_BY(db_->mu) = false;
  // Written only with db_->mu held; read lock-free.
  SnapshotHolder holder_;
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_PUBLISHER_H_
