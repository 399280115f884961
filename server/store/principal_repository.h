// The principals and role bindings repository: who exists, with which
// attributes, and which roles they hold in which scopes until when.
//
// Public, and engine-neutral: the admin API and the access reports call
// it; store engines (server/store/sqlite, server/store/postgresql) implement
// it. Each change is one transaction that also bumps the store revision; once
// it commits, the engine publishes the changed principal into a new Snapshot
// (snapshot_publisher.h).
//
// Decisions this contract fixes for every engine:
//  * Deleting a principal deletes its role bindings; audit records that
//    mention it stay, because they are evidence.
//  * Granting a binding that already exists (same principal, role, scope)
//    is kAlreadyExists; change an expiry by Revoke + Grant, so both steps
//    are audited.
#ifndef STEWARD_SERVER_STORE_PRINCIPAL_REPOSITORY_H_
#define STEWARD_SERVER_STORE_PRINCIPAL_REPOSITORY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/attributes.h"
#include "server/store/values.h"

namespace steward::store {

// Principals and their role bindings in one store. Owned by the store
// (store.h); callers borrow it. Thread-safe.
class PrincipalRepository {
 public:
  virtual ~PrincipalRepository() = default;

  // ---- Principals.
  // Creates or replaces (display name and the whole attribute map; the
  // disabled flag is kept). kInvalidArgument: bad id (not
  // v1::ValidateId: 1..256 bytes of [A-Za-z0-9_.@:-]), display name > 1024
  // bytes, an undeclared
  // attribute or wrong type (the message names it). kFailedPrecondition:
  // attributes given but no policy is active.
  virtual absl::StatusOr<UpsertPrincipalResult> UpsertPrincipal(
      absl::string_view id, absl::string_view display_name,
      const AttributeMap& attributes) = 0;
  // kNotFound when absent. Reads, disables and deletes take any id the
  // store may hold, including ids stored before v1::ValidateId was
  // enforced.
  virtual absl::StatusOr<Principal> GetPrincipal(absl::string_view id) = 0;
  // Keyset paging by id. page_size 0 = 100; at most 1000.
  // kInvalidArgument: malformed page token.
  virtual absl::StatusOr<PrincipalPage> ListPrincipals(
      int page_size, absl::string_view page_token) = 0;
  // kNotFound when absent. Returns the new store revision.
  virtual absl::StatusOr<int64_t> SetPrincipalDisabled(absl::string_view id,
                                                       bool disabled) = 0;
  // Deletes the principal and its bindings; its audit records stay.
  // kNotFound when absent. Returns the new store revision.
  virtual absl::StatusOr<int64_t> DeletePrincipal(absl::string_view id) = 0;

  // ---- Role bindings.
  // kNotFound: unknown principal. kInvalidArgument: principal id not
  // v1::ValidateId, role not in the active policy (named), bad scope,
  // expires_at not after now or past 9999-12-31 (v1::ValidateTime), empty
  // granted_by,
  // reason > 1024 bytes. kFailedPrecondition: no active policy, or the
  // grant would break a `separate` constraint with another unexpired
  // binding of the principal in an overlapping scope (both roles named).
  // kAlreadyExists: the same (principal, role, scope) is already bound.
  virtual absl::StatusOr<GrantResult> Grant(const GrantRequest& request) = 0;
  // kNotFound when no such binding. Roles the active policy no longer
  // declares can still be revoked. Returns the new store revision.
  virtual absl::StatusOr<int64_t> Revoke(absl::string_view principal,
                                         absl::string_view role,
                                         absl::string_view scope) = 0;
  // Expired bindings included (they show their expiry). page_size 0 = 100;
  // at most 1000. kInvalidArgument: malformed page token.
  virtual absl::StatusOr<BindingPage> ListBindings(
      const BindingFilter& filter, int page_size,
      absl::string_view page_token) = 0;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_PRINCIPAL_REPOSITORY_H_
