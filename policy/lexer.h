// Lexer: policy source text -> tokens (spec §1).
//
// Second stage of the pipeline. Lexical errors become kError tokens carrying
// a message, so the parser reports them in order with everything else.
// Internal to policy/.
#ifndef STEWARD_POLICY_LEXER_H_
#define STEWARD_POLICY_LEXER_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "policy/token.h"

namespace steward::policy::internal {

// Splits `text` into tokens; the last token is always kEnd. Never fails.
std::vector<Token> Lex(absl::string_view text);

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_LEXER_H_
