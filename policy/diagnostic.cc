// Formatting of diagnostics (see diagnostic.h).
#include "policy/diagnostic.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace steward::policy {

std::string Diagnostic::ToString() const {
  std::string out = absl::StrCat(
      file, ":", line, ":", column, ": ",
      severity == Severity::kError ? "error: " : "warning: ", message);
  if (!source_line.empty()) {
    absl::StrAppend(&out, "\n", source_line, "\n");
    // Keep tabs in the padding so the caret lines up under tabbed source.
    const int pad = std::max(0, column - 1);
    for (int i = 0; i < pad && i < static_cast<int>(source_line.size()); ++i) {
      out.push_back(source_line[i] == '\t' ? '\t' : ' ');
    }
    out.push_back('^');
  }
  return out;
}

bool HasErrors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(
      diagnostics.begin(), diagnostics.end(),
      [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace steward::policy
