// Compile(): policy source files -> immutable Program, plus diagnostics.
//
// The public entry of the pipeline (source -> lexer -> parser -> checker ->
// compiler -> Program). A bad policy is not an error status: Compile()
// always returns a CompileResult whose diagnostics say what is wrong
// (STYLE.md "user errors are values"); `program` is null iff any diagnostic
// is an error. Pure: no I/O, no threads, no logging.
#ifndef STEWARD_POLICY_COMPILER_H_
#define STEWARD_POLICY_COMPILER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "policy/diagnostic.h"
#include "policy/program.h"

namespace steward::policy {

// One file of a policy set. `path` is used only in diagnostics.
struct SourceFile {
  std::string path;
  std::string text;
};

struct CompileOptions {
  // Total bytes over all files; beyond it nothing is parsed.
  size_t max_source_bytes = 4 << 20;
  // Nesting of expressions (parentheses and '!'), bounding recursion.
  int max_nesting_depth = 64;
  int max_rules = 100000;
  int max_roles = 10000;  // clamped to kMaxRoles
  bool strict = false;    // lint warnings become errors
  bool lint = true;       // run the least-privilege lint (spec §8)
};

struct CompileResult {
  std::shared_ptr<const Program> program;  // null iff any error
  // Errors and warnings, ordered by file (as given), line, column.
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return program != nullptr; }
};

// Compiles `files` as one policy set: declarations, roles and tests of all
// files share one namespace, in file order. Never crashes on any input;
// every limit of `options` is reported as a diagnostic.
CompileResult Compile(absl::Span<const SourceFile> files,
                      const CompileOptions& options = {});

}  // namespace steward::policy

#endif  // STEWARD_POLICY_COMPILER_H_
