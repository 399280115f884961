// The values the store's repositories exchange with their callers: policy
// versions, principals, role bindings and service API keys.
//
// Public, and engine-neutral: the same structs come out of every store
// engine (SQLite, PostgreSQL). Times are absl::Time; each engine chooses how to
// keep them (the SQLite engine stores INTEGER unix microseconds, see
// migrations/0001_initial.sql).
#ifndef STEWARD_SERVER_STORE_VALUES_H_
#define STEWARD_SERVER_STORE_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "policy/compiler.h"
#include "policy/diagnostic.h"
#include "server/store/attributes.h"

namespace steward::store {

// ---- Policy versions (policy_repository.h).

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

// ---- Principals and role bindings (principal_repository.h).

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

// ---- Service API keys and second factors (key_repository.h).

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

// When failed second factors lock a key out: `max_failures` failures
// within `failure_window` (counted from the first failure of the window)
// refuse the key's second factor for `lockout` from the failure that
// reached the limit. Every further failure in the same window extends it.
struct SecondFactorLimits {
  int max_failures = 10;
  absl::Duration failure_window = absl::Minutes(1);
  absl::Duration lockout = absl::Minutes(1);
};

// A key's failed second factors as the store counts them
// (KeyRepository::RecordSecondFactorFailure).
struct SecondFactorFailures {
  int failures = 0;  // in the window that began at window_start
  absl::Time window_start = absl::InfinitePast();
  std::optional<absl::Time> locked_until;  // nullopt: never locked
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_VALUES_H_
