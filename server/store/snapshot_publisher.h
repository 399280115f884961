// The store revision and the decision snapshots published from it.
//
// Public, and engine-neutral. Every committed admin change bumps the store
// revision (INTERFACES.md `store_revision`) in its own transaction; the
// engine then publishes an immutable Snapshot (snapshot.h) that reflects
// it, and the check path reads the current one without locks through
// snapshots(). Store engines (sqlite/, postgresql/) implement it.
#ifndef STEWARD_SERVER_STORE_SNAPSHOT_PUBLISHER_H_
#define STEWARD_SERVER_STORE_SNAPSHOT_PUBLISHER_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "server/store/snapshot.h"

namespace steward::store {

// The snapshots of one store. Owned by the store (store.h); callers borrow
// it. Thread-safe; the accessors are lock-free.
class SnapshotPublisher {
 public:
  virtual ~SnapshotPublisher() = default;

  // The current decision snapshot; never null.
  virtual std::shared_ptr<const Snapshot> snapshot() const = 0;
  // The holder the check path loads snapshots from; lives as long as the
  // store.
  virtual const SnapshotHolder& snapshots() const = 0;
  // The revision of the last committed change (= snapshot()->
  // store_revision()).
  virtual int64_t revision() const = 0;
  // Rebuilds the snapshot from the database from scratch (after a restore
  // or for benchmarks); normal changes update it incrementally. Errors are
  // the engine's; the previous snapshot then stays published.
  virtual absl::Status ReloadSnapshot() = 0;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_SNAPSHOT_PUBLISHER_H_
