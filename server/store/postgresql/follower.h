// The replica follower: how one stewardd keeps its snapshot and key index
// in step with changes other stewardd processes commit to the same
// PostgreSQL database.
//
// Internal to server/store (the PostgreSQL engine); callers start it
// through Store::Follow (store.h). One thread per store, on a libpq
// connection of its own: it LISTENs on 'steward_revision' (CommitChange
// notifies it in the committing transaction, so a notification means a
// committed change) for speed, and reads the revision every
// poll_interval as the safety net for notifications missed while the
// connection was down. When the database's revision is ahead of the
// published snapshot it calls PgStore::CatchUp (a full rebuild). A lost
// connection is re-opened with exponential backoff; the first revision
// read after it catches up with everything missed meanwhile.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_FOLLOWER_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_FOLLOWER_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/store.h"

namespace steward::store::postgresql {

class PgStore;

// Owned by the caller of PgStore::Follow; borrows the store, which must
// outlive it. Thread-safe.
class PgFollower : public StoreFollower {
 public:
  // Starts the thread. Connecting happens on it, so an unreachable server
  // delays nothing here.
  PgFollower(std::string conninfo, PgStore* store, FollowOptions options);
  ~PgFollower() override;
  PgFollower(const PgFollower&) = delete;
  PgFollower& operator=(const PgFollower&) = delete;

  absl::Time last_contact() const override;
  absl::Status last_error() const override;

 private:
  void Run();
  // Decodes notification payloads and applies them to the store.
  absl::Status Apply(const std::vector<std::string>& payloads);
  // Sleeps up to `duration`, returning early (false) when stopping.
  bool SleepUnlessStopping(absl::Duration duration);
  void RecordContact();
  void RecordError(const absl::Status& status);

  const std::string conninfo_;
  PgStore* const store_;
  const FollowOptions options_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_contact_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_FOLLOWER_H_
