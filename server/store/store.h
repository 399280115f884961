// The role store: Steward's source of truth for policy versions,
// principals, role bindings and service API keys, kept in one SQLite file.
//
// Public. The admin API (server/) calls the repository methods below; each
// mutation is one SQLite transaction that also bumps the store revision
// (INTERFACES.md `store_revision`), and after it commits the store
// publishes a new immutable Snapshot (snapshot.h) that the check path
// reads without locks. The audit trail (server/audit) writes its tables
// through its own connection; it reuses Clock from clock.h.
//
// Times are absl::Time in the API and INTEGER unix microseconds in SQLite
// (see migrations/0001_initial.sql).
//
// Decisions recorded here (and in the report of issue 4):
//  * Deleting a principal deletes its role bindings (ON DELETE CASCADE);
//    audit_log rows that mention it stay, because they are evidence and
//    audit_log deliberately has no foreign keys.
//  * Granting a binding that already exists (same principal, role, scope)
//    is kAlreadyExists; change an expiry by Revoke + Grant, so both steps
//    are audited.
//  * When a policy version is applied or activated, stored principal
//    attributes that the new `principal` block no longer declares, or
//    declares with another type, are kept in SQLite (a rollback restores
//    them) and left out of the snapshot: they are absent at decision time,
//    which the policy language treats as unknown (allow rules do not match,
//    deny rules fail closed). Bindings to roles the new policy lacks are
//    kept and skipped the same way. Existing bindings that a new `separate`
//    constraint forbids are not removed; the SeparationViolations report
//    lists them.
#ifndef STEWARD_SERVER_STORE_STORE_H_
#define STEWARD_SERVER_STORE_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/compiler.h"
#include "policy/diagnostic.h"
#include "policy/program.h"
#include "server/store/attributes.h"
#include "server/store/clock.h"
#include "server/store/snapshot.h"

namespace steward::store {

namespace internal {
struct KeyIndex;
}  // namespace internal
namespace sqlite {
class Connection;
}  // namespace sqlite

// ---- Values the repositories exchange. ------------------------------------

struct PolicyVersionInfo {
  int64_t version = 0;
  std::string sha256;  // hex SHA-256 of the stored source (see schema)
  std::string author;
  std::string message;
  absl::Time created_at;
  bool active = false;
};

struct PolicyVersion {
  PolicyVersionInfo info;
  std::vector<policy::SourceFile> sources;
};

struct ApplyPolicyResult {
  PolicyVersionInfo version;  // the new, now active, version
  int64_t store_revision = 0;
  std::vector<policy::Diagnostic> warnings;  // lint warnings, if any
  int tests_passed = 0;
};

struct Principal {
  std::string id;
  std::string display_name;
  AttributeMap attributes;
  bool disabled = false;
  absl::Time created_at;
  absl::Time updated_at;
};

struct UpsertPrincipalResult {
  Principal principal;
  bool created = false;  // false: an existing principal was updated
  int64_t store_revision = 0;
};

struct PrincipalPage {
  std::vector<Principal> principals;  // ascending id
  std::string next_page_token;        // "" = no more
};

struct Binding {
  std::string principal;
  std::string role;
  std::string scope;  // "" = global
  std::string granted_by;
  absl::Time granted_at;
  std::optional<absl::Time> expires_at;  // nullopt = never
  std::string reason;
};

struct GrantRequest {
  std::string principal;
  std::string role;
  std::string scope;
  std::optional<absl::Time> expires_at;
  std::string reason;
  std::string granted_by;  // the caller (API key name); required
};

struct GrantResult {
  Binding binding;
  int64_t store_revision = 0;
};

struct BindingFilter {
  std::string principal;  // "" = any
  std::string role;       // "" = any
};

struct BindingPage {
  std::vector<Binding> bindings;  // ascending (principal, role, scope)
  std::string next_page_token;    // "" = no more
};

enum class ServiceRole { kClient, kAuditor, kAdmin };
absl::string_view ServiceRoleName(ServiceRole role);  // "client", ...
std::optional<ServiceRole> ParseServiceRole(absl::string_view name);

struct ApiKeyInfo {
  std::string name;
  ServiceRole role = ServiceRole::kClient;
  std::string created_by;
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;
};

// Returned once by CreateApiKey; the store keeps only the key's SHA-256.
struct NewApiKey {
  ApiKeyInfo info;
  std::string key;          // "stw_" + 43 base64url characters
  std::string totp_secret;  // base32, admin keys only; "" otherwise
  int64_t store_revision = 0;
};

struct AuthenticatedKey {
  std::string name;
  ServiceRole role = ServiceRole::kClient;
  std::string totp_secret;  // admin keys only
  // A revoked key is still identified (so the failure can be audited under
  // its name); callers MUST refuse it.
  bool revoked = false;
};

// ---- The store. -----------------------------------------------------------

// An open role store. Owns one SQLite connection, guarded by a mutex: all
// repository calls are serialized (admin traffic is light), while the check
// path reads snapshots and never waits for them. Thread-safe.
class Store {
 public:
  struct Options {
    // Create the file (mode 0600) and schema when missing; otherwise a
    // missing file is kNotFound.
    bool create_if_missing = false;
    absl::Duration busy_timeout = absl::Seconds(5);
    policy::CompileOptions compile_options;
  };

  // Opens the store at `path`, applies pending migrations and builds the
  // first snapshot from the active policy (if any).
  // kNotFound: no file and !create_if_missing. kFailedPrecondition: schema
  // newer than this binary, an edited migration, not a Steward database, or
  // the active policy no longer compiles. kDataLoss: corrupt file.
  // REQUIRES: `clock` outlives the store.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const Clock& clock,
                                                     const Options& options);

  // `stewardd init`: opens (creating if missing) and marks the store
  // initialized. `*created` says whether this call did the marking; on an
  // already initialized store nothing changes. Bootstrapping the first
  // admin key is the caller's job (see HasAnyAdminKey).
  static absl::StatusOr<std::unique_ptr<Store>> Initialize(
      const std::string& path, const Clock& clock, const Options& options,
      bool* created);
  // True once Initialize has run on this store.
  absl::StatusOr<bool> IsInitialized();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // ---- Snapshot and revision.
  // The current decision snapshot; never null. Lock-free for callers.
  std::shared_ptr<const Snapshot> snapshot() const { return holder_.Get(); }
  const SnapshotHolder& snapshots() const { return holder_; }
  // The revision of the last committed change (= snapshot()->store_revision()).
  int64_t revision() const { return holder_.Get()->store_revision(); }
  // Rebuilds the snapshot from SQLite from scratch (after a restore or for
  // benchmarks); normal changes update it incrementally.
  absl::Status ReloadSnapshot();

  // ---- Policy versions.
  // Compiles `sources` without storing anything. OK with the result (whose
  // diagnostics say what is wrong, if anything); never kInvalidArgument for
  // a bad policy.
  policy::CompileResult ValidatePolicy(
      absl::Span<const policy::SourceFile> sources) const;
  // Compiles, runs the policy's tests, stores the source as the next
  // version and activates it, in one transaction.
  // kInvalidArgument: compile errors (the message holds every diagnostic,
  // FILE:LINE:COL: ...), no sources, empty author. kFailedPrecondition: a
  // policy test failed (the message lists each failure and the summary).
  absl::StatusOr<ApplyPolicyResult> ApplyPolicy(
      std::vector<policy::SourceFile> sources, absl::string_view author,
      absl::string_view message);
  // Newest first.
  absl::StatusOr<std::vector<PolicyVersionInfo>> ListPolicyVersions();
  // One version with its source; nullopt = the active one.
  // kNotFound: no such version / no active version.
  absl::StatusOr<PolicyVersion> GetPolicy(std::optional<int64_t> version);
  // Makes a stored version active again (roll back or forward): recompiles
  // its source and re-runs its tests first. Activating the active version
  // changes nothing. kNotFound: no such version. kFailedPrecondition: the
  // stored source no longer compiles or its tests fail.
  // Returns the new store revision.
  absl::StatusOr<int64_t> ActivatePolicyVersion(int64_t version);

  // ---- Principals.
  // Creates or replaces (display name and the whole attribute map; the
  // disabled flag is kept). kInvalidArgument: bad id (empty, > 256 bytes,
  // control characters), display name > 1024 bytes, an undeclared
  // attribute or wrong type (the message names it). kFailedPrecondition:
  // attributes given but no policy is active.
  absl::StatusOr<UpsertPrincipalResult> UpsertPrincipal(
      absl::string_view id, absl::string_view display_name,
      const AttributeMap& attributes);
  // kNotFound when absent.
  absl::StatusOr<Principal> GetPrincipal(absl::string_view id);
  // Keyset paging by id. page_size 0 = 100; at most 1000.
  // kInvalidArgument: malformed page token.
  absl::StatusOr<PrincipalPage> ListPrincipals(int page_size,
                                               absl::string_view page_token);
  // kNotFound when absent. Returns the new store revision.
  absl::StatusOr<int64_t> SetPrincipalDisabled(absl::string_view id,
                                               bool disabled);
  // Deletes the principal and (cascade) its bindings; its audit records
  // stay. kNotFound when absent. Returns the new store revision.
  absl::StatusOr<int64_t> DeletePrincipal(absl::string_view id);

  // ---- Role bindings.
  // kNotFound: unknown principal. kInvalidArgument: role not in the active
  // policy (named), bad scope, expires_at not after now, empty granted_by,
  // reason > 1024 bytes. kFailedPrecondition: no active policy, or the
  // grant would break a `separate` constraint with another unexpired
  // binding of the principal in an overlapping scope (both roles named).
  // kAlreadyExists: the same (principal, role, scope) is already bound.
  absl::StatusOr<GrantResult> Grant(const GrantRequest& request);
  // kNotFound when no such binding. Roles the active policy no longer
  // declares can still be revoked. Returns the new store revision.
  absl::StatusOr<int64_t> Revoke(absl::string_view principal,
                                 absl::string_view role,
                                 absl::string_view scope);
  // Expired bindings included (they show their expiry). page_size 0 = 100;
  // at most 1000. kInvalidArgument: malformed page token.
  absl::StatusOr<BindingPage> ListBindings(const BindingFilter& filter,
                                           int page_size,
                                           absl::string_view page_token);

  // ---- Service API keys.
  // kInvalidArgument: name not [A-Za-z0-9_.:@-]{1,128}, empty created_by.
  // kAlreadyExists: the name was ever used (names stay unique after
  // revocation because audit records name keys).
  absl::StatusOr<NewApiKey> CreateApiKey(absl::string_view name,
                                         ServiceRole role,
                                         absl::string_view created_by);
  // Every key, revoked ones included, by name; never secrets.
  absl::StatusOr<std::vector<ApiKeyInfo>> ListApiKeys();
  // kNotFound: no such key. kFailedPrecondition: already revoked.
  // Returns the new store revision.
  absl::StatusOr<int64_t> RevokeApiKey(absl::string_view name);
  // Identifies the key by its SHA-256 from an in-memory index (no SQLite
  // on the request path), comparing digests in constant time.
  // kUnauthenticated: unknown key. Revoked keys are returned with
  // revoked = true.
  absl::StatusOr<AuthenticatedKey> AuthenticateApiKey(
      absl::string_view key) const;
  // Records that the admin key `name` used TOTP time step `step`; refuses
  // a step at or before the last one recorded, so each code works once.
  // kNotFound: no such key. kFailedPrecondition: revoked, not an admin
  // key, or a replayed/older step. Not an admin change: no new revision.
  absl::Status RecordTotpStep(absl::string_view name, int64_t step);
  // True when an unrevoked admin key exists (`stewardd init` idempotence).
  absl::StatusOr<bool> HasAnyAdminKey();

 private:
  struct PrivateTag {};

 public:
  // Use Open() or Initialize().
  Store(PrivateTag, const Clock& clock, Options options,
        std::unique_ptr<sqlite::Connection> connection,
        std::shared_ptr<const Snapshot> snapshot);

 private:
  absl::StatusOr<std::shared_ptr<const policy::Program>> CompileAndTest(
      absl::Span<const policy::SourceFile> sources,
      std::vector<policy::Diagnostic>* warnings, int* tests_passed) const;
  absl::Status RebuildSnapshotLocked(std::shared_ptr<const policy::Program>,
                                     int64_t policy_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReloadKeysLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a committed change to principal `id`: reload its entry (null if
  // deleted) and publish the derived snapshot.
  absl::Status PublishPrincipalLocked(absl::string_view id, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::unique_ptr<sqlite::Connection> connection_ ABSL_GUARDED_BY(mu_);
  // Set when a committed change could not be reflected in the snapshot
  // (e.g. an I/O error while reloading); the next call rebuilds first.
  bool snapshot_stale_ ABSL_GUARDED_BY(mu_) = false;
  // Written only with mu_ held; read lock-free.
  SnapshotHolder holder_;
  std::atomic<std::shared_ptr<const internal::KeyIndex>> keys_;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_STORE_H_
