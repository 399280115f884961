// Line tables and diagnostic construction (see source.h).
#include "policy/source.h"

#include <algorithm>
#include <utility>

namespace steward::policy::internal {

Source::Source(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  // A UTF-8 byte order mark is not part of line 1: the lexer skips it, and
  // columns and caret lines are counted from after it.
  line_starts_.push_back(absl::string_view(text_).substr(0, kUtf8Bom.size()) ==
                                 kUtf8Bom
                             ? static_cast<int>(kUtf8Bom.size())
                             : 0);
  for (int i = 0; i < static_cast<int>(text_.size()); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

Location Source::LocationOf(int file_index, int offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const int line = static_cast<int>(it - line_starts_.begin());
  return Location{file_index, line, offset - line_starts_[line - 1] + 1};
}

absl::string_view Source::Line(int line) const {
  if (line < 1 || line > static_cast<int>(line_starts_.size())) return "";
  const int begin = line_starts_[line - 1];
  int end = line < static_cast<int>(line_starts_.size())
                ? line_starts_[line] - 1
                : static_cast<int>(text_.size());
  if (end > begin && text_[end - 1] == '\r') --end;
  return absl::string_view(text_).substr(begin, end - begin);
}

void DiagnosticSink::Add(Severity severity, const Location& loc,
                         std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.line = loc.line;
  d.column = loc.column;
  d.message = std::move(message);
  if (loc.file >= 0 && loc.file < static_cast<int>(sources_->size())) {
    const Source& src = (*sources_)[loc.file];
    d.file = src.path();
    // A caret display of a huge line (minified or hostile input) helps no
    // one and would copy megabytes into every diagnostic.
    constexpr size_t kMaxSourceLine = 1000;
    const absl::string_view line = src.Line(loc.line);
    if (line.size() <= kMaxSourceLine) d.source_line = std::string(line);
  }
  if (severity == Severity::kError) ++error_count_;
  diagnostics_.push_back(std::move(d));
}

}  // namespace steward::policy::internal
