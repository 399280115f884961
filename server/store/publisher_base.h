// What every engine's SnapshotPublisher does the same way: keep the
// published Snapshot, rebuild it whole after a policy change or on
// request, patch one principal's entry after a principal change, and
// fall back to a full rebuild after a patch that failed.
//
// Internal to server/store. The SQLite (sqlite/publisher.h) and PostgreSQL
// (postgresql/publisher.h) publishers derive from it and supply only the
// two loads that read their database. The repositories call the *Locked
// methods with the engine's mutex held, right after their transaction
// commits.
#ifndef STEWARD_SERVER_STORE_PUBLISHER_BASE_H_
#define STEWARD_SERVER_STORE_PUBLISHER_BASE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "policy/program.h"
#include "server/store/snapshot.h"
#include "server/store/snapshot_publisher.h"

namespace steward::store::internal {

// Thread-safe: the accessors are lock-free, everything else runs under
// the engine's mutex `*mu`.
class PublisherBase : public SnapshotPublisher {
 public:
  // REQUIRES: `mu` outlives this.
  explicit PublisherBase(absl::Mutex* mu);

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
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  // After a committed change to principal `id`: reloads its entry (none if
  // it was deleted) and publishes the derived snapshot at `revision`.
  // On failure the change stays committed (the message says so) and the
  // next call rebuilds.
  absl::Status PublishPrincipalLocked(absl::string_view id, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  // After a committed change the snapshot does not depend on (API keys).
  void PublishRevisionLocked(int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  // For an engine whose database other stewardd processes change too
  // (PostgreSQL replicas): `catch_up` brings the snapshot and the engine's
  // other caches (the key index) to the database's current state. When a
  // change of ours commits at a revision that is not the published one
  // plus one, another process committed in between, and patching our
  // snapshot would label it with a revision it does not fully reflect;
  // the Publish* methods then call `catch_up` instead. Without it (SQLite,
  // one process per file) the gap cannot happen. Call before any change.
  void SetCatchUp(std::function<absl::Status()> catch_up) {
    catch_up_ = std::move(catch_up);
  }
  // True when `revision` directly follows the published one (or no
  // catch-up is set): our own change is then all that happened.
  bool IsNextRevisionLocked(int64_t revision) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  // Runs the catch-up (or a full rebuild with the current program).
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

 protected:
  // A complete snapshot of the database's current state, at its current
  // revision.
  virtual absl::StatusOr<std::shared_ptr<const Snapshot>> LoadAllLocked(
      std::shared_ptr<const policy::Program> program,
      int64_t policy_version) = 0;
  // One principal's entry, or null when the principal does not exist.
  virtual absl::StatusOr<std::shared_ptr<const PrincipalEntry>> LoadEntryLocked(
      const policy::Program* program, absl::string_view id) = 0;

 private:
  absl::Mutex* mu_;
  // Set when a committed change could not be reflected in the snapshot
  // (e.g. an I/O error while reloading); the next change rebuilds first.
  bool snapshot_stale_ ABSL_GUARDED_BY(*mu_) = false;
  std::function<absl::Status()> catch_up_;
  // Written only with *mu_ held; read lock-free.
  SnapshotHolder holder_;
};

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_PUBLISHER_BASE_H_
