// Checks and encodings that every store engine's repositories share: input
// validation, page tokens and paging limits, the stored form of policy
// sources, and compiling + testing a policy before it is activated.
//
// Internal to server/store (the engines under it). Keeping these out of
// the engines is what makes the repositories' contracts (each status code
// and message) the same whichever engine serves them.
#ifndef STEWARD_SERVER_STORE_REPOSITORY_SUPPORT_H_
#define STEWARD_SERVER_STORE_REPOSITORY_SUPPORT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/compiler.h"
#include "policy/diagnostic.h"
#include "policy/program.h"
#include "proto/steward/v1/validation.h"
#include "server/store/attributes.h"
#include "server/store/limits.h"
#include "server/store/values.h"

namespace steward::store::internal {

using store::kDefaultPageSize;
using store::kMaxPageSize;
using v1::kMaxIdBytes;

// kInvalidArgument naming `what` when `value` is empty, longer than
// kMaxIdBytes or holds control characters: v1::ValidateStoredId, the rule
// for names the store records but does not mint (authors, granters, which
// may come from mTLS identities). Principal ids are held to v1::ValidateId.
absl::Status ValidateIdentifier(absl::string_view what,
                                absl::string_view value);
// kInvalidArgument unless `name` is 1..kMaxKeyNameBytes bytes of
// v1::IsIdChar (v1::ValidateId with the key name length).
inline constexpr size_t kMaxKeyNameBytes = 128;
absl::Status ValidateKeyName(absl::string_view name);
// 0 or less = kDefaultPageSize; at most kMaxPageSize.
int ClampPageSize(int page_size);

// Opaque page tokens: web-safe base64 of the last key's fields.
// REQUIRES: no field contains '\n' (ids, roles and scopes cannot).
std::string EncodePageToken(absl::Span<const absl::string_view> fields);
// kInvalidArgument: not a token of exactly `fields` fields.
absl::StatusOr<std::vector<std::string>> DecodePageToken(
    absl::string_view token, size_t fields);

// Policy sources are stored as a JSON array of {"path", "text"}.
std::string SourcesToJson(absl::Span<const policy::SourceFile> sources);
// kDataLoss: not such an array.
absl::StatusOr<std::vector<policy::SourceFile>> SourcesFromJson(
    absl::string_view json);

// The diagnostics of `severity`, one per line.
std::string JoinDiagnostics(absl::Span<const policy::Diagnostic> diagnostics,
                            policy::Severity severity);

// Compiles `sources` and runs the policy's own tests at `now`.
// kInvalidArgument: compile errors (each diagnostic, one per line).
// kFailedPrecondition: a test failed (each failure and the summary).
// `warnings` and `tests_passed` may be null.
absl::StatusOr<std::shared_ptr<const policy::Program>> CompileAndTest(
    absl::Span<const policy::SourceFile> sources,
    const policy::CompileOptions& options, absl::Time now,
    std::vector<policy::Diagnostic>* warnings, int* tests_passed);

// The program of stored policy `version` (opening a store), compiled from
// its stored `source_json`. kDataLoss: unreadable source.
// kFailedPrecondition: it no longer compiles with this stewardd (each
// error listed).
absl::StatusOr<std::shared_ptr<const policy::Program>> CompileStoredPolicy(
    int64_t version, absl::string_view source_json,
    const policy::CompileOptions& options);

// ---- The argument checks of each repository call, before any engine
// work (the contracts in policy_repository.h, principal_repository.h and
// key_repository.h).

// ApplyPolicy: sources, author and message.
absl::Status ValidateApplyPolicy(absl::Span<const policy::SourceFile> sources,
                                 absl::string_view author,
                                 absl::string_view message);

// UpsertPrincipal: id, display name and `attributes` against `program`
// (null: no active policy). Returns the attributes' stored JSON.
absl::StatusOr<std::string> ValidateUpsertPrincipal(
    absl::string_view id, absl::string_view display_name,
    const AttributeMap& attributes, const policy::Program* program);

// Grant: the checks that need no stored state (principal id, expiry
// format, scope, granted_by, reason).
absl::Status ValidateGrantRequest(const GrantRequest& request);
// Grant: the checks against the active `program` (null: none) at `now`.
// Returns the role's id.
absl::StatusOr<policy::RoleId> ValidateGrantAgainstPolicy(
    const GrantRequest& request, const policy::Program* program,
    absl::Time now);
// Grant: one existing binding of the principal (`other_role` in
// `other_scope`, expiring at `other_expires`) against the new one.
// kAlreadyExists: the same binding. kFailedPrecondition: an unexpired
// binding in an overlapping scope whose role the policy separates from
// `role`.
absl::Status CheckGrantAgainstBinding(const GrantRequest& request,
                                      policy::RoleId role,
                                      const policy::Program& program,
                                      absl::string_view other_role,
                                      absl::string_view other_scope,
                                      std::optional<absl::Time> other_expires,
                                      absl::Time now);

// CreateApiKey: checks the name and created_by, then mints the key (and
// the TOTP secret of an admin key). Fills key and totp_secret of the
// result; `*hash` receives the key's SHA-256, the only part stored.
absl::StatusOr<NewApiKey> MintApiKey(absl::string_view name,
                                     absl::string_view created_by,
                                     ServiceRole role, std::string* hash);
// The kAlreadyExists of CreateApiKey for a name that is or was in use.
absl::Status ApiKeyNameTaken(absl::string_view name);
// The refusals of RecordTotpStep once the conditional update changed
// nothing: the key's stored `role` and whether it is revoked say which.
absl::Status TotpStepRefused(absl::string_view name, absl::string_view role,
                             bool revoked);
// RecordSecondFactorFailure's argument checks (kInvalidArgument).
absl::Status ValidateSecondFactorLimits(const SecondFactorLimits& limits);

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_REPOSITORY_SUPPORT_H_
