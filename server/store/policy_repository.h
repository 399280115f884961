// The policy versions repository: every policy source ever applied, which
// one is active, and the act of applying or activating one.
//
// Public, and engine-neutral: the admin API (server/admin_service) and
// `stewardd init` call it; store engines (server/store/sqlite,
// server/store/postgresql) implement it. Each change is one transaction that
// also bumps the store revision; once it commits, the engine publishes a new
// Snapshot compiled from the now active policy (snapshot_publisher.h).
//
// When a policy version is applied or activated, stored principal
// attributes that the new `principal` block no longer declares, or
// declares with another type, are kept (a rollback restores them) and
// left out of the snapshot: they are absent at decision time, which the
// policy language treats as unknown (allow rules do not match, deny rules
// fail closed). Bindings to roles the new policy lacks are kept and skipped
// the same way. Existing bindings that a new `separate` constraint forbids
// are not removed; the SeparationViolations report lists them.
#ifndef STEWARD_SERVER_STORE_POLICY_REPOSITORY_H_
#define STEWARD_SERVER_STORE_POLICY_REPOSITORY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/compiler.h"
#include "server/store/values.h"

namespace steward::store {

// Policy versions of one store. Owned by the store (store.h); callers
// borrow it. Thread-safe.
class PolicyRepository {
 public:
  virtual ~PolicyRepository() = default;

  // Compiles `sources` without storing anything. OK with the result (whose
  // diagnostics say what is wrong, if anything); never kInvalidArgument for
  // a bad policy.
  virtual policy::CompileResult ValidatePolicy(
      absl::Span<const policy::SourceFile> sources) const = 0;

  // Compiles, runs the policy's tests, stores the source as the next
  // version and activates it, in one transaction.
  // kInvalidArgument: compile errors (the message holds every diagnostic,
  // FILE:LINE:COL: ...), no sources, empty author, message >
  // kMaxPolicyMessageBytes (limits.h). kFailedPrecondition: a policy test
  // failed (the message lists each failure and the summary). Other codes: the
  // engine's (e.g. kUnavailable when the database is busy).
  virtual absl::StatusOr<ApplyPolicyResult> ApplyPolicy(
      std::vector<policy::SourceFile> sources, absl::string_view author,
      absl::string_view message) = 0;

  // Every stored version, newest first.
  virtual absl::StatusOr<std::vector<PolicyVersionInfo>>
  ListPolicyVersions() = 0;

  // One version with its source; nullopt = the active one.
  // kNotFound: no such version / no active version. kDataLoss: the stored
  // source is unreadable.
  virtual absl::StatusOr<PolicyVersion> GetPolicy(
      std::optional<int64_t> version) = 0;

  // Makes a stored version active again (roll back or forward): recompiles
  // its source and re-runs its tests first. Activating the active version
  // changes nothing (and returns the current revision). kNotFound: no such
  // version. kFailedPrecondition: the stored source no longer compiles or
  // its tests fail. Returns the new store revision.
  virtual absl::StatusOr<int64_t> ActivatePolicyVersion(int64_t version) = 0;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_POLICY_REPOSITORY_H_
