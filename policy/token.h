// Tokens of the policy language (spec §1).
//
// Produced by the lexer, consumed by the parser. Internal to policy/.
#ifndef STEWARD_POLICY_TOKEN_H_
#define STEWARD_POLICY_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace steward::policy::internal {

enum class TokenKind {
  kEnd,
  kError,  // a lexical error; `text` holds the message
  kIdentifier,
  kString,  // `text` holds the unescaped value
  kInt,     // `int_value` holds the value
  // Keywords.
  kPolicy,
  kPrincipal,
  kContext,
  kResource,
  kAttributes,
  kFields,
  kActions,
  kPii,
  kRole,
  kExtends,
  kAllow,
  kDeny,
  kOn,
  kWhen,
  kUnless,
  kAs,
  kSeparate,
  kTest,
  kGiven,
  kRoles,
  kScope,
  kExpect,
  kIn,
  kHas,
  kTrue,
  kFalse,
  kPurposes,
  kFor,
  kPurpose,
  // Punctuation and operators.
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kColon,
  kDot,
  kStar,
  kQuestion,
  kLess,
  kLessEq,
  kGreater,
  kGreaterEq,
  kEqEq,
  kNotEq,
  kBang,
  kAndAnd,
  kOrOr,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  int offset = 0;  // byte offset of the first character
  int length = 0;  // bytes of source covered
  std::string text;
  int64_t int_value = 0;
};

// Human-readable spelling for messages: "'{'", "identifier", "keyword 'role'".
std::string TokenKindName(TokenKind kind);
// True for the reserved words of spec §1.
bool IsKeyword(TokenKind kind);
// The source spelling of a keyword token (e.g. "scope"); "" otherwise.
absl::string_view KeywordSpelling(TokenKind kind);

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_TOKEN_H_
