// The PostgreSQL engine's SnapshotPublisher, and the snapshot loads it
// runs.
//
// Internal to server/store (the PostgreSQL engine). The publishing logic
// is the engines' common one (publisher_base.h); this class supplies the
// loads: a full rebuild (open, new policy, reload) reads every principal and
// binding in one REPEATABLE READ transaction (two ordered scans merged,
// entries assembled by entry_assembler.h), and a principal change reloads
// only that principal's entry. Changes made by another stewardd on the
// same database reach this one's snapshot through the follower
// (follower.h), which calls the same two loads.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_PUBLISHER_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_PUBLISHER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "server/store/postgresql/database.h"
#include "server/store/publisher_base.h"
#include "server/store/snapshot.h"

namespace steward::store::postgresql {

// Owned by PgStore; borrows its Database. Thread-safe (see
// PublisherBase); the loads run under Database::mu.
class PgPublisher : public internal::PublisherBase {
 public:
  explicit PgPublisher(Database* db) : PublisherBase(&db->mu), db_(db) {}

 protected:
  absl::StatusOr<std::shared_ptr<const Snapshot>> LoadAllLocked(
      std::shared_ptr<const policy::Program> program,
      int64_t policy_version) override;
  absl::StatusOr<std::shared_ptr<const PrincipalEntry>> LoadEntryLocked(
      const policy::Program* program, absl::string_view id) override;

 private:
  Database* db_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_PUBLISHER_H_
