// The service API keys repository: keys for the three service roles, their
// revocation, authentication by key, and the admin keys' second factor:
// single-use TOTP steps, and the failed-code count and lockout, kept on the
// key's row so that every stewardd sharing the store sees the same ones.
//
// Public, and engine-neutral: the admin API, the authenticator
// (server/authenticator) and `stewardd init` call it; store engines
// (server/store/sqlite, server/store/postgresql) implement it. Keys are random
// 256-bit values of which only the SHA-256 is kept.
#ifndef STEWARD_SERVER_STORE_KEY_REPOSITORY_H_
#define STEWARD_SERVER_STORE_KEY_REPOSITORY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/store/values.h"

namespace steward::store {

// API keys and second factors of one store. Owned by the store (store.h);
// callers borrow it. Thread-safe.
class KeyRepository {
 public:
  virtual ~KeyRepository() = default;

  // kInvalidArgument: name not [A-Za-z0-9_.:@-]{1,128}, empty created_by.
  // kAlreadyExists: the name was ever used (names stay unique after
  // revocation because audit records name keys). Bumps the store revision.
  virtual absl::StatusOr<NewApiKey> CreateApiKey(
      absl::string_view name, ServiceRole role,
      absl::string_view created_by) = 0;
  // Every key, revoked ones included, by name; never secrets.
  virtual absl::StatusOr<std::vector<ApiKeyInfo>> ListApiKeys() = 0;
  // kNotFound: no such key. kFailedPrecondition: already revoked.
  // Returns the new store revision.
  virtual absl::StatusOr<int64_t> RevokeApiKey(absl::string_view name) = 0;
  // Identifies the key by its SHA-256 from an in-memory index (no database
  // on the request path), comparing digests in constant time.
  // kUnauthenticated: unknown key. Revoked keys are returned with
  // revoked = true.
  virtual absl::StatusOr<AuthenticatedKey> AuthenticateApiKey(
      absl::string_view key) const = 0;
  // Records that the admin key `name` used TOTP time step `step`; refuses
  // a step at or before the last one recorded, so each code works once,
  // even across replicas sharing the store. kInvalidArgument: negative
  // step. kNotFound: no such key. kFailedPrecondition: revoked, not an
  // admin key, or a replayed/older step. Not an admin change: no new
  // revision.
  virtual absl::Status RecordTotpStep(absl::string_view name, int64_t step) = 0;
  // Counts one failed second factor (missing, wrong or replayed code) of
  // the key `name` at `now`: a failure more than `limits.failure_window`
  // after the window's first failure starts a new window at `now`; the
  // failure that brings the window to `limits.max_failures` or more sets
  // locked_until to now + `limits.lockout`. One atomic statement, so
  // failures recorded at the same moment by several stewardd sharing the
  // store are all counted (the lockout counts across replicas). Returns the
  // state after this failure. Nothing resets the count on success: a window
  // ends by time only. Not an admin change: no new revision.
  // kInvalidArgument: max_failures < 1, a window or lockout negative or
  // over 30 days.
  // kNotFound: no such key. kUnavailable: the store cannot be reached.
  virtual absl::StatusOr<SecondFactorFailures> RecordSecondFactorFailure(
      absl::string_view name, absl::Time now,
      const SecondFactorLimits& limits) = 0;
  // Until when the key `name` is locked out: nullopt when it never was
  // (a past time means the lockout is over). One read of the key's row, so
  // a lockout recorded by another replica is seen at once; the
  // authenticator calls it only for second-factor calls (admin mutations),
  // never for Checks. kNotFound: no such key. kUnavailable: the store
  // cannot be reached.
  virtual absl::StatusOr<std::optional<absl::Time>> SecondFactorLockedUntil(
      absl::string_view name) = 0;
  // True when an unrevoked admin key exists (`stewardd init` idempotence).
  virtual absl::StatusOr<bool> HasAnyAdminKey() = 0;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_KEY_REPOSITORY_H_
