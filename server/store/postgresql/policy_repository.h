// The PostgreSQL engine's PolicyRepository (policy_versions table).
//
// Internal to server/store (the PostgreSQL engine); callers use
// server/store/policy_repository.h through store.h.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_POLICY_REPOSITORY_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_POLICY_REPOSITORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "server/store/policy_repository.h"
#include "server/store/postgresql/database.h"
#include "server/store/postgresql/publisher.h"

namespace steward::store::postgresql {

// Owned by PgStore; borrows its Database and publisher. Thread-safe.
class PgPolicyRepository : public PolicyRepository {
 public:
  PgPolicyRepository(Database* db, PgPublisher* publisher)
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

  // The active version compiled from its stored source (null program and
  // version 0 when none is active), for opening the store.
  // kFailedPrecondition: the active source no longer compiles.
  struct Active {
    std::shared_ptr<const policy::Program> program;
    int64_t version = 0;
  };
  absl::StatusOr<Active> CompileActiveLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);

 private:
  Database* db_;
  PgPublisher* publisher_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_POLICY_REPOSITORY_H_
