// Source text of one policy file with offset -> line:column mapping.
//
// First stage of the pipeline (source -> lexer -> parser -> ...): every later
// stage records byte offsets and asks the Source for positions when it builds
// a Diagnostic. Internal to policy/.
#ifndef STEWARD_POLICY_SOURCE_H_
#define STEWARD_POLICY_SOURCE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/diagnostic.h"

namespace steward::policy::internal {

// The UTF-8 byte order mark some editors put at the start of a file.
inline constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

// A position in a set of sources: which file, and 1-based line and column.
struct Location {
  int file = 0;
  int line = 0;
  int column = 0;
};

// Immutable after construction; owns a copy of the text.
class Source {
 public:
  Source(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  // REQUIRES: 0 <= offset <= text().size().
  Location LocationOf(int file_index, int offset) const;
  // The text of 1-based `line`, without its newline; "" when out of range.
  absl::string_view Line(int line) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<int> line_starts_;
};

// Collects diagnostics against a list of sources. Thread-compatible.
class DiagnosticSink {
 public:
  explicit DiagnosticSink(const std::vector<Source>* sources)
      : sources_(sources) {}

  void Error(const Location& loc, std::string message) {
    Add(Severity::kError, loc, std::move(message));
  }
  void Warning(const Location& loc, std::string message) {
    Add(Severity::kWarning, loc, std::move(message));
  }
  void Add(Severity severity, const Location& loc, std::string message);

  int error_count() const { return error_count_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

 private:
  const std::vector<Source>* sources_;
  std::vector<Diagnostic> diagnostics_;
  int error_count_ = 0;
};

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_SOURCE_H_
