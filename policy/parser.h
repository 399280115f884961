// Parser: tokens -> FileAst (spec §1-§7; grammar in docs/policy-language.md).
//
// Third stage of the pipeline. Recursive descent with an explicit nesting
// limit (so hostile input cannot overflow the stack) and panic-mode
// recovery: after an error it skips to the next rule or declaration and
// keeps going, so one pass reports several errors. Internal to policy/.
#ifndef STEWARD_POLICY_PARSER_H_
#define STEWARD_POLICY_PARSER_H_

#include "policy/ast.h"
#include "policy/source.h"

namespace steward::policy::internal {

struct ParseOptions {
  int max_nesting_depth = 64;
};

// Parses sources[file_index]. Errors go to `sink`; the returned tree holds
// everything that parsed cleanly (it is only compiled further when the sink
// has no errors).
FileAst Parse(const std::vector<Source>& sources, int file_index,
              const ParseOptions& options, DiagnosticSink& sink);

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_PARSER_H_
