// See repository_support.h.
#include "server/store/repository_support.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "policy/test_runner.h"
#include "server/store/scope.h"
#include "server/store/secrets.h"

namespace steward::store::internal {

absl::Status ValidateIdentifier(absl::string_view what,
                                absl::string_view value) {
  return v1::ValidateStoredId(what, value);
}

absl::Status ValidateKeyName(absl::string_view name) {
  return v1::ValidateId("API key name", name, kMaxKeyNameBytes);
}

int ClampPageSize(int page_size) {
  if (page_size <= 0) return kDefaultPageSize;
  return std::min(page_size, kMaxPageSize);
}

std::string SourcesToJson(absl::Span<const policy::SourceFile> sources) {
  nlohmann::json doc = nlohmann::json::array();
  for (const policy::SourceFile& f : sources) {
    doc.push_back({{"path", f.path}, {"text", f.text}});
  }
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::vector<policy::SourceFile>> SourcesFromJson(
    absl::string_view json) {
  const nlohmann::json doc =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    return absl::DataLossError("stored policy source is not a JSON array");
  }
  std::vector<policy::SourceFile> sources;
  for (const nlohmann::json& f : doc) {
    if (!f.is_object() || !f.contains("path") || !f.contains("text") ||
        !f["path"].is_string() || !f["text"].is_string()) {
      return absl::DataLossError("stored policy source entry is malformed");
    }
    sources.push_back(
        {f["path"].get<std::string>(), f["text"].get<std::string>()});
  }
  return sources;
}

std::string JoinDiagnostics(absl::Span<const policy::Diagnostic> diagnostics,
                            policy::Severity severity) {
  std::vector<std::string> lines;
  for (const policy::Diagnostic& d : diagnostics) {
    if (d.severity == severity) lines.push_back(d.ToString());
  }
  return absl::StrJoin(lines, "\n");
}

// Opaque page tokens: web-safe base64 of the last key, fields separated by
// '\n' (ids, roles and scopes cannot contain control characters).
std::string EncodePageToken(absl::Span<const absl::string_view> fields) {
  return absl::WebSafeBase64Escape(absl::StrJoin(fields, "\n"));
}

absl::StatusOr<std::vector<std::string>> DecodePageToken(
    absl::string_view token, size_t fields) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return absl::InvalidArgumentError("malformed page token");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, '\n');
  if (parts.size() != fields) {
    return absl::InvalidArgumentError("malformed page token");
  }
  return parts;
}

// Creates the database file owner-only before SQLite does: it holds TOTP
// secrets and personal attributes. SQLite gives the -wal and -shm files the
// permissions of the main file.
absl::StatusOr<std::shared_ptr<const policy::Program>> CompileAndTest(
    absl::Span<const policy::SourceFile> sources,
    const policy::CompileOptions& options, absl::Time now,
    std::vector<policy::Diagnostic>* warnings, int* tests_passed) {
  policy::CompileResult compiled = policy::Compile(sources, options);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy does not compile:\n",
        JoinDiagnostics(compiled.diagnostics, policy::Severity::kError)));
  }
  const policy::TestReport report = policy::RunTests(*compiled.program, now);
  if (!report.ok()) {
    std::vector<std::string> lines;
    for (const policy::TestFailure& f : report.failures) {
      lines.push_back(f.ToString());
    }
    lines.push_back(report.Summary());
    return absl::FailedPreconditionError(
        absl::StrCat("policy tests failed:\n", absl::StrJoin(lines, "\n")));
  }
  if (warnings != nullptr) {
    for (const policy::Diagnostic& d : compiled.diagnostics) {
      if (d.severity == policy::Severity::kWarning) warnings->push_back(d);
    }
  }
  if (tests_passed != nullptr) *tests_passed = report.passed;
  return std::move(compiled.program);
}

absl::StatusOr<std::shared_ptr<const policy::Program>> CompileStoredPolicy(
    int64_t version, absl::string_view source_json,
    const policy::CompileOptions& options) {
  absl::StatusOr<std::vector<policy::SourceFile>> sources =
      SourcesFromJson(source_json);
  if (!sources.ok()) return sources.status();
  policy::CompileResult compiled = policy::Compile(*sources, options);
  if (!compiled.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the active policy version ", version,
        " no longer compiles with this stewardd:\n",
        JoinDiagnostics(compiled.diagnostics, policy::Severity::kError)));
  }
  return std::move(compiled.program);
}

absl::Status ValidateApplyPolicy(absl::Span<const policy::SourceFile> sources,
                                 absl::string_view author,
                                 absl::string_view message) {
  if (sources.empty()) {
    return absl::InvalidArgumentError("no policy source files given");
  }
  if (absl::Status s = ValidateIdentifier("author", author); !s.ok()) return s;
  if (message.size() > kMaxPolicyMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message is longer than ", kMaxPolicyMessageBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ValidateUpsertPrincipal(
    absl::string_view id, absl::string_view display_name,
    const AttributeMap& attributes, const policy::Program* program) {
  if (absl::Status s = v1::ValidateId("principal id", id); !s.ok()) return s;
  if (display_name.size() > 1024) {
    return absl::InvalidArgumentError("display name is longer than 1024 bytes");
  }
  if (!attributes.empty()) {
    if (program == nullptr) {
      return absl::FailedPreconditionError(
          "no policy is active, so principal attributes cannot be checked; "
          "apply a policy first");
    }
    if (absl::Status s = ValidateAttributes(*program, attributes); !s.ok()) {
      return s;
    }
  }
  std::string json = AttributesToJson(attributes);
  if (json.size() > kMaxAttributeJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attributes are larger than ", kMaxAttributeJsonBytes, " bytes"));
  }
  return json;
}

absl::Status ValidateGrantRequest(const GrantRequest& request) {
  if (absl::Status s = v1::ValidateId("principal id", request.principal);
      !s.ok()) {
    return s;
  }
  if (request.expires_at.has_value()) {
    if (absl::Status s = v1::ValidateTime("expires_at", *request.expires_at);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ValidateScope(request.scope); !s.ok()) return s;
  if (absl::Status s = ValidateIdentifier("granted_by", request.granted_by);
      !s.ok()) {
    return s;
  }
  if (request.reason.size() > 1024) {
    return absl::InvalidArgumentError("reason is longer than 1024 bytes");
  }
  return absl::OkStatus();
}

absl::StatusOr<policy::RoleId> ValidateGrantAgainstPolicy(
    const GrantRequest& request, const policy::Program* program,
    absl::Time now) {
  if (program == nullptr) {
    return absl::FailedPreconditionError(
        "no policy is active, so there are no roles to grant; apply a policy "
        "first");
  }
  const std::optional<policy::RoleId> role = program->FindRole(request.role);
  if (!role.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "role \"", request.role, "\" is not defined in the active policy"));
  }
  if (request.expires_at.has_value() && *request.expires_at <= now) {
    return absl::InvalidArgumentError(
        absl::StrCat("expires_at ", absl::FormatTime(*request.expires_at),
                     " is not in the future"));
  }
  return *role;
}

absl::Status CheckGrantAgainstBinding(const GrantRequest& request,
                                      policy::RoleId role,
                                      const policy::Program& program,
                                      absl::string_view other_role,
                                      absl::string_view other_scope,
                                      std::optional<absl::Time> other_expires,
                                      absl::Time now) {
  if (other_role == request.role && other_scope == request.scope) {
    return absl::AlreadyExistsError(absl::StrCat(
        "principal \"", request.principal, "\" already holds role \"",
        request.role, "\" in scope \"", request.scope, "\""));
  }
  if (other_expires.has_value() && *other_expires <= now) {
    return absl::OkStatus();
  }
  if (!ScopesOverlap(request.scope, other_scope)) return absl::OkStatus();
  std::optional<policy::RoleId> other = program.FindRole(other_role);
  if (!other.has_value()) return absl::OkStatus();
  std::optional<std::pair<std::string, std::string>> conflict =
      program.SeparationConflict(role, *other);
  if (conflict.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "granting role \"", request.role, "\" (scope \"", request.scope,
        "\") to \"", request.principal,
        "\" would break separation of duties: it holds role \"", other_role,
        "\" (scope \"", other_scope, "\") and the policy separates \"",
        conflict->first, "\" and \"", conflict->second, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<NewApiKey> MintApiKey(absl::string_view name,
                                     absl::string_view created_by,
                                     ServiceRole role, std::string* hash) {
  if (absl::Status s = ValidateKeyName(name); !s.ok()) return s;
  if (absl::Status s = ValidateIdentifier("created_by", created_by); !s.ok()) {
    return s;
  }
  NewApiKey result;
  absl::StatusOr<std::string> key = GenerateApiKey();
  if (!key.ok()) return key.status();
  result.key = *std::move(key);
  if (role == ServiceRole::kAdmin) {
    absl::StatusOr<std::string> secret = GenerateTotpSecret();
    if (!secret.ok()) return secret.status();
    result.totp_secret = *std::move(secret);
  }
  const Sha256Digest digest = Sha256(result.key);
  hash->assign(reinterpret_cast<const char*>(digest.data()), digest.size());
  return result;
}

absl::Status ApiKeyNameTaken(absl::string_view name) {
  return absl::AlreadyExistsError(
      absl::StrCat("an API key named \"", name,
                   "\" exists or existed (names are never reused)"));
}

absl::Status TotpStepRefused(absl::string_view name, absl::string_view role,
                             bool revoked) {
  if (role != "admin") {
    return absl::FailedPreconditionError(
        absl::StrCat("API key \"", name, "\" has no second factor"));
  }
  if (revoked) {
    return absl::FailedPreconditionError(
        absl::StrCat("API key \"", name, "\" is revoked"));
  }
  return absl::FailedPreconditionError(
      "TOTP code already used (or older than the last one used)");
}

absl::Status ValidateSecondFactorLimits(const SecondFactorLimits& limits) {
  if (limits.max_failures < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("second-factor max_failures must be at least 1, not ",
                     limits.max_failures));
  }
  // Bounded so that now + lockout stays far inside the int64 microseconds
  // both engines store.
  const absl::Duration kLongest = absl::Hours(24 * 30);
  for (auto [what, value] : {std::pair{"failure window", limits.failure_window},
                             std::pair{"lockout", limits.lockout}}) {
    if (value < absl::ZeroDuration() || value > kLongest) {
      return absl::InvalidArgumentError(
          absl::StrCat("second-factor ", what,
                       " must be between 0 and 30 "
                       "days, not ",
                       absl::FormatDuration(value)));
    }
  }
  return absl::OkStatus();
}

}  // namespace steward::store::internal
