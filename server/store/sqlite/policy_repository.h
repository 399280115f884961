// The SQLite engine's PolicyRepository (policy_versions table).
//
// Internal to server/store (the SQLite engine); callers use
// server/store/policy_repository.h through store.h.
#ifndef STEWARD_SERVER_STORE_SQLITE_POLICY_REPOSITORY_H_
#define STEWARD_SERVER_STORE_SQLITE_POLICY_REPOSITORY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "server/store/policy_repository.h"
#include "server/store/sqlite/database.h"
#include "server/store/sqlite/publisher.h"

namespace steward::store::sqlite {

// Owned by SqliteStore; borrows its Database and publisher. Thread-safe.
class SqlitePolicyRepository : public PolicyRepository {
 public:
  SqlitePolicyRepository(Database* db, SqlitePublisher* publisher)
      : db_(db), publisher_(publisher) {}

  policy::CompileResult ValidatePolicy(
      absl::Span<const policy::SourceFile> sources) const override;
  absl::StatusOr<ApplyPolicyResult> ApplyPolicy(
      std::vector<policy::SourceFile> sources, absl::string_view author,
      absl::string_view message) override;
  absl::StatusOr<std::vector<PolicyVersionInfo>> ListPolicyVersions() override;
  absl::StatusOr<PolicyVersion> GetPolicy(
      std::optional<int64_t> version) override;
  absl::StatusOr<int64_t> ActivatePolicyVersion(int64_t version) override;

  // The active version's number and its program compiled from the stored
  // source (null and 0 when none is active), for opening the store.
  // kFailedPrecondition: the active source no longer compiles.
  struct Active {
    std::shared_ptr<const policy::Program> program;
    int64_t version = 0;
  };
  absl::StatusOr<Active> CompileActiveLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);

 private:
  Database* db_;
  SqlitePublisher* publisher_;
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_POLICY_REPOSITORY_H_
