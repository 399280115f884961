// Hand-written lexer (see lexer.h). One pass, no backtracking.
#include "policy/lexer.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "policy/source.h"

namespace steward::policy::internal {
namespace {

struct KeywordEntry {
  absl::string_view spelling;
  TokenKind kind;
};

constexpr KeywordEntry kKeywords[] = {
    {"policy", TokenKind::kPolicy},
    {"principal", TokenKind::kPrincipal},
    {"context", TokenKind::kContext},
    {"resource", TokenKind::kResource},
    {"attributes", TokenKind::kAttributes},
    {"fields", TokenKind::kFields},
    {"actions", TokenKind::kActions},
    {"pii", TokenKind::kPii},
    {"role", TokenKind::kRole},
    {"extends", TokenKind::kExtends},
    {"allow", TokenKind::kAllow},
    {"deny", TokenKind::kDeny},
    {"on", TokenKind::kOn},
    {"when", TokenKind::kWhen},
    {"unless", TokenKind::kUnless},
    {"as", TokenKind::kAs},
    {"separate", TokenKind::kSeparate},
    {"test", TokenKind::kTest},
    {"given", TokenKind::kGiven},
    {"roles", TokenKind::kRoles},
    {"scope", TokenKind::kScope},
    {"expect", TokenKind::kExpect},
    {"in", TokenKind::kIn},
    {"has", TokenKind::kHas},
    {"true", TokenKind::kTrue},
    {"false", TokenKind::kFalse},
    {"purposes", TokenKind::kPurposes},
    {"for", TokenKind::kFor},
    {"purpose", TokenKind::kPurpose},
};

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '-'; }

}  // namespace

std::string TokenKindName(TokenKind kind) {
  absl::string_view kw = KeywordSpelling(kind);
  if (!kw.empty()) return absl::StrCat("keyword '", kw, "'");
  switch (kind) {
    case TokenKind::kEnd:
      return "end of file";
    case TokenKind::kError:
      return "invalid token";
    case TokenKind::kIdentifier:
      return "identifier";
    case TokenKind::kString:
      return "string";
    case TokenKind::kInt:
      return "integer";
    case TokenKind::kLBrace:
      return "'{'";
    case TokenKind::kRBrace:
      return "'}'";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kColon:
      return "':'";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kStar:
      return "'*'";
    case TokenKind::kQuestion:
      return "'?'";
    case TokenKind::kLess:
      return "'<'";
    case TokenKind::kLessEq:
      return "'<='";
    case TokenKind::kGreater:
      return "'>'";
    case TokenKind::kGreaterEq:
      return "'>='";
    case TokenKind::kEqEq:
      return "'=='";
    case TokenKind::kNotEq:
      return "'!='";
    case TokenKind::kBang:
      return "'!'";
    case TokenKind::kAndAnd:
      return "'&&'";
    case TokenKind::kOrOr:
      return "'||'";
    default:
      return "token";
  }
}

bool IsKeyword(TokenKind kind) { return !KeywordSpelling(kind).empty(); }

absl::string_view KeywordSpelling(TokenKind kind) {
  for (const KeywordEntry& e : kKeywords) {
    if (e.kind == kind) return e.spelling;
  }
  return "";
}

namespace {

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF); 0 when the
// bytes there are not one. REQUIRES: text[i] >= 0x80.
int Utf8SequenceLength(absl::string_view text, int i) {
  const int n = static_cast<int>(text.size());
  auto byte = [&](int k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (int k = 2; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

}  // namespace

std::vector<Token> Lex(absl::string_view text) {
  std::vector<Token> tokens;
  const int n = static_cast<int>(text.size());
  int i = 0;
  auto emit = [&](TokenKind kind, int start, int len) -> Token& {
    Token t;
    t.kind = kind;
    t.offset = start;
    t.length = len;
    tokens.push_back(std::move(t));
    return tokens.back();
  };
  auto error = [&](int start, int len, std::string message) {
    emit(TokenKind::kError, start, len).text = std::move(message);
  };
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) {
    i = static_cast<int>(kUtf8Bom.size());
  }
  while (i < n) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    if (c == '#' || (c == '/' && i + 1 < n && text[i + 1] == '/')) {
      bool reported = false;
      while (i < n && text[i] != '\n') {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
          ++i;
          continue;
        }
        const int len = Utf8SequenceLength(text, i);
        if (len == 0 && !reported) {
          error(i, 1, "invalid UTF-8 in comment");
          reported = true;
        }
        i += len == 0 ? 1 : len;
      }
      continue;
    }
    const int start = i;
    if (IsIdentStart(c)) {
      while (i < n && IsIdentChar(text[i])) ++i;
      absl::string_view word = text.substr(start, i - start);
      TokenKind kind = TokenKind::kIdentifier;
      for (const KeywordEntry& e : kKeywords) {
        if (e.spelling == word) {
          kind = e.kind;
          break;
        }
      }
      emit(kind, start, i - start).text = std::string(word);
      continue;
    }
    if (IsDigit(c) || (c == '-' && i + 1 < n && IsDigit(text[i + 1]))) {
      const bool negative = c == '-';
      if (negative) ++i;
      // Accumulate as a negative number so INT64_MIN is representable.
      int64_t value = 0;
      bool overflow = false;
      while (i < n && IsDigit(text[i])) {
        const int digit = text[i] - '0';
        if (value < (std::numeric_limits<int64_t>::min() + digit) / 10) {
          overflow = true;
        } else {
          value = value * 10 - digit;
        }
        ++i;
      }
      if (!overflow && !negative &&
          value == std::numeric_limits<int64_t>::min()) {
        overflow = true;
      }
      if (i < n && IsIdentStart(text[i])) {
        while (i < n && IsIdentChar(text[i])) ++i;
        error(start, i - start, "identifiers must start with a letter or '_'");
        continue;
      }
      if (overflow) {
        error(start, i - start, "integer literal out of 64-bit range");
        continue;
      }
      emit(TokenKind::kInt, start, i - start).int_value =
          negative ? value : -value;
      continue;
    }
    if (c == '"') {
      ++i;
      std::string value;
      bool closed = false;
      bool bad_escape = false;
      bool bad_utf8 = false;
      while (i < n && text[i] != '\n') {
        const char d = text[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < n) {
          const char e = text[i + 1];
          switch (e) {
            case '"':
              value.push_back('"');
              break;
            case '\\':
              value.push_back('\\');
              break;
            case 'n':
              value.push_back('\n');
              break;
            case 't':
              value.push_back('\t');
              break;
            default:
              bad_escape = true;
          }
          i += 2;
          continue;
        }
        if (static_cast<unsigned char>(d) >= 0x80) {
          const int len = Utf8SequenceLength(text, i);
          if (len == 0) {
            bad_utf8 = true;
            ++i;
          } else {
            value.append(text.data() + i, len);
            i += len;
          }
          continue;
        }
        value.push_back(d);
        ++i;
      }
      if (!closed) {
        error(start, i - start, "unterminated string literal");
      } else if (bad_utf8) {
        error(start, i - start, "invalid UTF-8 in string literal");
      } else if (bad_escape) {
        error(start, i - start,
              "invalid escape in string literal (allowed: \\\" \\\\ \\n \\t)");
      } else {
        emit(TokenKind::kString, start, i - start).text = std::move(value);
      }
      continue;
    }
    auto two = [&](char next) { return i + 1 < n && text[i + 1] == next; };
    TokenKind kind;
    int len = 1;
    switch (c) {
      case '{':
        kind = TokenKind::kLBrace;
        break;
      case '}':
        kind = TokenKind::kRBrace;
        break;
      case '(':
        kind = TokenKind::kLParen;
        break;
      case ')':
        kind = TokenKind::kRParen;
        break;
      case '[':
        kind = TokenKind::kLBracket;
        break;
      case ']':
        kind = TokenKind::kRBracket;
        break;
      case ',':
        kind = TokenKind::kComma;
        break;
      case ':':
        kind = TokenKind::kColon;
        break;
      case '.':
        kind = TokenKind::kDot;
        break;
      case '*':
        kind = TokenKind::kStar;
        break;
      case '?':
        kind = TokenKind::kQuestion;
        break;
      case '<':
        kind = two('=') ? TokenKind::kLessEq : TokenKind::kLess;
        break;
      case '>':
        kind = two('=') ? TokenKind::kGreaterEq : TokenKind::kGreater;
        break;
      case '=':
        if (!two('=')) {
          error(start, 1, "unexpected '=' (use '==' to compare)");
          ++i;
          continue;
        }
        kind = TokenKind::kEqEq;
        break;
      case '!':
        kind = two('=') ? TokenKind::kNotEq : TokenKind::kBang;
        break;
      case '&':
        if (!two('&')) {
          error(start, 1, "unexpected '&' (use '&&')");
          ++i;
          continue;
        }
        kind = TokenKind::kAndAnd;
        break;
      case '|':
        if (!two('|')) {
          error(start, 1, "unexpected '|' (use '||')");
          ++i;
          continue;
        }
        kind = TokenKind::kOrOr;
        break;
      default: {
        // Skip a whole UTF-8 sequence so one bad character is one error.
        // Bytes that are not UTF-8 are shown escaped: diagnostics travel in
        // protobuf strings and JSON, which must stay valid UTF-8.
        const int len_utf8 = static_cast<unsigned char>(c) >= 0x80
                                 ? Utf8SequenceLength(text, i)
                                 : 1;
        const int len_bad = len_utf8 == 0 ? 1 : len_utf8;
        error(start, len_bad,
              len_utf8 == 0 ? absl::StrFormat("invalid UTF-8 byte 0x%02X",
                                              static_cast<unsigned char>(c))
                            : absl::StrCat("unexpected character '",
                                           text.substr(start, len_bad), "'"));
        i += len_bad;
        continue;
      }
    }
    if (kind == TokenKind::kLessEq || kind == TokenKind::kGreaterEq ||
        kind == TokenKind::kEqEq || kind == TokenKind::kNotEq ||
        kind == TokenKind::kAndAnd || kind == TokenKind::kOrOr) {
      len = 2;
    }
    emit(kind, start, len);
    i += len;
  }
  emit(TokenKind::kEnd, n, 0);
  return tokens;
}

}  // namespace steward::policy::internal
