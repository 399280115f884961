// See revision_waiter.h.
#include "server/grpc/revision_waiter.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace steward::server {

RevisionWaiter::RevisionWaiter(const store::SnapshotHolder* snapshots)
    : snapshots_(snapshots) {
  thread_ = std::thread([this] { Run(); });
}

RevisionWaiter::~RevisionWaiter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  replan_.store(true, std::memory_order_release);
  snapshots_->WakeWaiters();
  thread_.join();
}

void RevisionWaiter::Park(int64_t min_revision, absl::Time deadline,
                          Continuation then) {
  {
    absl::MutexLock lock(&mu_);
    parked_.push_back(Parked{min_revision, deadline, std::move(then)});
  }
  replan_.store(true, std::memory_order_release);
  snapshots_->WakeWaiters();
}

void RevisionWaiter::Run() {
  while (true) {
    int64_t lowest = 0;
    absl::Time earliest = absl::InfiniteFuture();
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !parked_.empty();
      };
      mu_.Await(absl::Condition(&work));
      stopping = stopping_;
      lowest = parked_.empty() ? 0 : parked_.front().min_revision;
      for (const Parked& p : parked_) {
        lowest = std::min(lowest, p.min_revision);
        earliest = std::min(earliest, p.deadline);
      }
      // Cleared under mu_: a Park after this sets it again and is seen.
      replan_.store(false, std::memory_order_release);
    }
    std::shared_ptr<const store::Snapshot> snapshot =
        stopping ? snapshots_->Get()
                 : snapshots_->WaitForRevision(lowest, earliest, &replan_);
    const absl::Time now = absl::Now();
    std::vector<Parked> ready;
    {
      absl::MutexLock lock(&mu_);
      auto keep = parked_.begin();
      for (auto it = parked_.begin(); it != parked_.end(); ++it) {
        if (stopping_ || it->deadline <= now ||
            snapshot->store_revision() >= it->min_revision) {
          ready.push_back(std::move(*it));
        } else {
          if (keep != it) *keep = std::move(*it);
          ++keep;
        }
      }
      parked_.erase(keep, parked_.end());
      stopping = stopping_ && parked_.empty();
    }
    for (Parked& p : ready) p.then(snapshot);
    if (stopping) return;
  }
}

}  // namespace steward::server
