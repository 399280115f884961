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
#include "server/store/limits.h"

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

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_REPOSITORY_SUPPORT_H_
