// See publisher.h.
#include "server/store/sqlite/publisher.h"

#include <utility>

#include "server/store/sqlite/snapshot_loader.h"

namespace steward::store::sqlite {

absl::StatusOr<std::shared_ptr<const Snapshot>> SqlitePublisher::LoadAllLocked(
    std::shared_ptr<const policy::Program> program, int64_t policy_version) {
  absl::StatusOr<int64_t> revision = ReadRevision(*db_->connection);
  if (!revision.ok()) return revision.status();
  return LoadSnapshot(*db_->connection, std::move(program), policy_version,
                      *revision, nullptr);
}

absl::StatusOr<std::shared_ptr<const PrincipalEntry>>
SqlitePublisher::LoadEntryLocked(const policy::Program* program,
                                 absl::string_view id) {
  return LoadPrincipalEntry(*db_->connection, program, id);
}

}  // namespace steward::store::sqlite
