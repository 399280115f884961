// The PostgreSQL engine's PrincipalRepository (principals and
// role_bindings tables).
//
// Internal to server/store (the PostgreSQL engine); callers use
// server/store/principal_repository.h through store.h.
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_PRINCIPAL_REPOSITORY_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_PRINCIPAL_REPOSITORY_H_

#include <cstdint>

#include "server/store/postgresql/database.h"
#include "server/store/postgresql/publisher.h"
#include "server/store/principal_repository.h"

namespace steward::store::postgresql {

// Owned by PgStore; borrows its Database and publisher. Thread-safe.
class PgPrincipalRepository : public PrincipalRepository {
 public:
  PgPrincipalRepository(Database* db, PgPublisher* publisher)
      : db_(db), publisher_(publisher) {}

  absl::StatusOr<UpsertPrincipalResult> UpsertPrincipal(
      absl::string_view id, absl::string_view display_name,
      const AttributeMap& attributes) override;
  absl::StatusOr<Principal> GetPrincipal(absl::string_view id) override;
  absl::StatusOr<PrincipalPage> ListPrincipals(
      int page_size, absl::string_view page_token) override;
  absl::StatusOr<int64_t> SetPrincipalDisabled(absl::string_view id,
                                               bool disabled) override;
  absl::StatusOr<int64_t> DeletePrincipal(absl::string_view id) override;
  absl::StatusOr<GrantResult> Grant(const GrantRequest& request) override;
  absl::StatusOr<int64_t> Revoke(absl::string_view principal,
                                 absl::string_view role,
                                 absl::string_view scope) override;
  absl::StatusOr<BindingPage> ListBindings(
      const BindingFilter& filter, int page_size,
      absl::string_view page_token) override;

 private:
  // Publishes `principal`'s entry after a committed change at `revision`.
  absl::StatusOr<int64_t> PublishedLocked(absl::string_view principal,
                                          absl::StatusOr<int64_t> revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_->mu);

  Database* db_;
  PgPublisher* publisher_;
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_PRINCIPAL_REPOSITORY_H_
