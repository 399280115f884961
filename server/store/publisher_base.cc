// See publisher_base.h.
#include "server/store/publisher_base.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::store::internal {

PublisherBase::PublisherBase(absl::Mutex* mu)
    : mu_(mu), holder_(std::make_shared<Snapshot>()) {}

absl::Status PublisherBase::RebuildLocked(
    std::shared_ptr<const policy::Program> program, int64_t policy_version) {
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      LoadAllLocked(std::move(program), policy_version);
  if (!snapshot.ok()) {
    snapshot_stale_ = true;
    return snapshot.status();
  }
  holder_.Publish(*std::move(snapshot));
  snapshot_stale_ = false;
  return absl::OkStatus();
}

absl::Status PublisherBase::ReloadSnapshot() {
  absl::MutexLock lock(mu_);
  std::shared_ptr<const Snapshot> current = holder_.Get();
  return RebuildLocked(current->program(), current->policy_version());
}

bool PublisherBase::IsNextRevisionLocked(int64_t revision) const {
  return catch_up_ == nullptr ||
         revision == holder_.Get()->store_revision() + 1;
}

absl::Status PublisherBase::CatchUpLocked() {
  if (catch_up_ != nullptr) return catch_up_();
  std::shared_ptr<const Snapshot> current = holder_.Get();
  return RebuildLocked(current->program(), current->policy_version());
}

absl::Status PublisherBase::PublishPrincipalLocked(absl::string_view id,
                                                   int64_t revision) {
  if (!IsNextRevisionLocked(revision)) return CatchUpLocked();
  std::shared_ptr<const Snapshot> current = holder_.Get();
  if (snapshot_stale_) {
    return RebuildLocked(current->program(), current->policy_version());
  }
  absl::StatusOr<std::shared_ptr<const PrincipalEntry>> entry =
      LoadEntryLocked(current->program().get(), id);
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

void PublisherBase::PublishRevisionLocked(int64_t revision) {
  if (!IsNextRevisionLocked(revision)) {
    // On failure the published revision stays behind the database's, so
    // the replica's follower retries the catch-up.
    (void)CatchUpLocked();
    return;
  }
  holder_.Publish(holder_.Get()->WithRevision(revision));
}

}  // namespace steward::store::internal
