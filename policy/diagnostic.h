// Diagnostics: the compiler's user-facing errors and warnings, as values.
//
// Every stage of the policy pipeline (lexer, parser, checker, lint) reports
// problems in the policy text as Diagnostic values rather than failing: a bad
// policy is a normal outcome of Compile(), not an error status. Public: it is
// reachable through compiler.h.
#ifndef STEWARD_POLICY_DIAGNOSTIC_H_
#define STEWARD_POLICY_DIAGNOSTIC_H_

#include <string>
#include <vector>

namespace steward::policy {

enum class Severity { kError, kWarning };

// One problem found in a policy source. A plain value type.
struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position
  int column = 0;  // 1-based, in bytes
  std::string message;
  std::string source_line;  // the offending line, for the caret display

  // "FILE:LINE:COL: error: message", then the source line and a caret under
  // the column when the source line is known. "warning:" for warnings.
  std::string ToString() const;
};

// True when any diagnostic in `diagnostics` is an error.
bool HasErrors(const std::vector<Diagnostic>& diagnostics);

}  // namespace steward::policy

#endif  // STEWARD_POLICY_DIAGNOSTIC_H_
