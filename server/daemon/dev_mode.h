// What `stewardd serve --dev` sets up on its own: the example policy and
// one API key per service role, written to files in the data dir.
#ifndef STEWARD_SERVER_DAEMON_DEV_MODE_H_
#define STEWARD_SERVER_DAEMON_DEV_MODE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/store/key_repository.h"
#include "server/store/policy_repository.h"
#include "server/store/snapshot_publisher.h"

namespace steward::server {

// One key per service role in DIR/dev-<role>.key, reused across restarts
// while the file still authenticates. With a `shared_store` (replicas on
// one PostgreSQL database) only the first replica creates the keys and
// writes their files: a replica that finds an unrevoked --dev key of the
// role in the store (or loses the race to create it) creates none and
// logs that the key's secret is in the creating replica's data dir, since
// the store keeps only its hash.
absl::Status EnsureDevKeys(store::KeyRepository& store,
                           const std::string& data_dir, bool shared_store);

// Applies `file` unless a policy is already active; `*build_time` is how
// long the store took to apply it and build the new snapshot.
absl::Status ApplyDevPolicy(store::PolicyRepository& store,
                            const store::SnapshotPublisher& snapshots,
                            const std::string& file,
                            std::optional<absl::Duration>* build_time);

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_DEV_MODE_H_
