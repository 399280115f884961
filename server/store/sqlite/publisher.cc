// See publisher.h.
#include "server/store/sqlite/publisher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite/snapshot_loader.h"

namespace steward::store::sqlite {

SqlitePublisher::SqlitePublisher(Database* db)
    : db_(db), holder_(std::make_shared<Snapshot>()) {}

absl::Status SqlitePublisher::RebuildLocked(
    std::shared_ptr<const policy::Program> program, int64_t policy_version) {
  absl::StatusOr<int64_t> revision = ReadRevision(*db_->connection);
  if (!revision.ok()) return revision.status();
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = LoadSnapshot(
      *db_->connection, std::move(program), policy_version, *revision, nullptr);
  if (!snapshot.ok()) {
    snapshot_stale_ = true;
    return snapshot.status();
  }
  holder_.Publish(*std::move(snapshot));
  snapshot_stale_ = false;
  return absl::OkStatus();
}

absl::Status SqlitePublisher::ReloadSnapshot() {
  absl::MutexLock lock(&db_->mu);
  std::shared_ptr<const Snapshot> current = holder_.Get();
  return RebuildLocked(current->program(), current->policy_version());
}

absl::Status SqlitePublisher::PublishPrincipalLocked(absl::string_view id,
                                                     int64_t revision) {
  std::shared_ptr<const Snapshot> current = holder_.Get();
  if (snapshot_stale_) {
    return RebuildLocked(current->program(), current->policy_version());
  }
  absl::StatusOr<std::shared_ptr<const PrincipalEntry>> entry =
      LoadPrincipalEntry(*db_->connection, current->program().get(), id);
  if (!entry.ok()) {
    // The change is committed; the snapshot catches up on the next call.
    snapshot_stale_ = true;
    return absl::Status(entry.status().code(),
                        absl::StrCat("change committed at revision ", revision,
                                     " but the snapshot could not be updated: ",
                                     entry.status().message()));
  }
  holder_.Publish(*entry == nullptr
                      ? current->WithoutPrincipal(id, revision)
                      : current->WithPrincipal(*std::move(entry), revision));
  return absl::OkStatus();
}

void SqlitePublisher::PublishRevisionLocked(int64_t revision) {
  holder_.Publish(holder_.Get()->WithRevision(revision));
}

}  // namespace steward::store::sqlite
