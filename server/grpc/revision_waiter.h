// Calls that asked for a store revision this replica has not reached yet
// (min_store_revision), parked without holding a gRPC thread until the
// snapshot catches up or their time is up.
//
// Internal to server/grpc: AuthorizationServiceImpl hands such a call's
// continuation here instead of blocking its callback thread (gRPC's
// callback executor has few threads; a stalled replica could otherwise
// park all of them). One thread waits on the SnapshotHolder (woken by
// each Publish, no polling) for the lowest revision any parked call needs,
// or the earliest deadline, and runs the continuations that are ready.
#ifndef STEWARD_SERVER_GRPC_REVISION_WAITER_H_
#define STEWARD_SERVER_GRPC_REVISION_WAITER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/snapshot.h"

namespace steward::server {

// Thread-safe. The destructor runs every parked continuation at once
// (with the current, too old snapshot) and joins the thread.
class RevisionWaiter {
 public:
  // Receives the snapshot to decide on: at least the wanted revision, or
  // older when the deadline passed (the continuation then answers
  // UNAVAILABLE).
  using Continuation =
      std::function<void(std::shared_ptr<const store::Snapshot>)>;

  // REQUIRES: `snapshots` outlives this.
  explicit RevisionWaiter(const store::SnapshotHolder* snapshots);
  ~RevisionWaiter();
  RevisionWaiter(const RevisionWaiter&) = delete;
  RevisionWaiter& operator=(const RevisionWaiter&) = delete;

  // Runs `then` on the waiter's thread once the published snapshot's
  // revision is at least `min_revision`, or at `deadline`.
  void Park(int64_t min_revision, absl::Time deadline, Continuation then);

 private:
  struct Parked {
    int64_t min_revision;
    absl::Time deadline;
    Continuation then;
  };
  void Run();

  const store::SnapshotHolder* const snapshots_;
  absl::Mutex mu_;
  std::vector<Parked> parked_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set by Park so that the thread's wait on the holder re-plans.
  std::atomic<bool> replan_{false};
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_REVISION_WAITER_H_
