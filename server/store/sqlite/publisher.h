// The SQLite engine's SnapshotPublisher: builds the decision Snapshot from
// the database and publishes it after every committed change.
//
// Internal to server/store (the SQLite engine). The publishing logic is
// the engines' common one (publisher_base.h); this class supplies the
// loads: a full rebuild (new policy, reload) reads the whole database
// through snapshot_loader.h, a principal change reloads only that
// principal's entry.
#ifndef STEWARD_SERVER_STORE_SQLITE_PUBLISHER_H_
#define STEWARD_SERVER_STORE_SQLITE_PUBLISHER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "server/store/publisher_base.h"
#include "server/store/snapshot.h"
#include "server/store/sqlite/database.h"

namespace steward::store::sqlite {

// Owned by SqliteStore; borrows its Database. Thread-safe (see
// PublisherBase); the loads run under Database::mu.
class SqlitePublisher : public internal::PublisherBase {
 public:
  explicit SqlitePublisher(Database* db) : PublisherBase(&db->mu), db_(db) {}

 protected:
  absl::StatusOr<std::shared_ptr<const Snapshot>> LoadAllLocked(
      std::shared_ptr<const policy::Program> program,
      int64_t policy_version) override;
  absl::StatusOr<std::shared_ptr<const PrincipalEntry>> LoadEntryLocked(
      const policy::Program* program, absl::string_view id) override;

 private:
  Database* db_;
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_PUBLISHER_H_
