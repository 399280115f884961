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

}  // namespace steward::store::internal
