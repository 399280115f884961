// Policy sources written to hurt the compiler: operator chains long enough
// to exhaust the stack of a recursive pass, nesting at and past the
// documented limit, byte order marks and bytes that are not UTF-8. Each
// must give a program or a diagnostic, never a crash, and diagnostics must
// stay valid UTF-8 (they travel in protobuf strings and JSON).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"

namespace steward::policy {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kHeader =
    "resource doc { attributes { n: int } actions { read } }\n";

CompileResult CompileText(const std::string& text) {
  const SourceFile file{"h.policy", text};
  return Compile({&file, 1});
}

std::string Errors(const CompileResult& result) {
  std::string out;
  for (const Diagnostic& d : result.diagnostics) {
    absl::StrAppend(&out, d.ToString(), "\n");
  }
  return out;
}

// A chain of `count` comparisons joined by `op`, as one rule's condition.
std::string ChainPolicy(int count, absl::string_view op,
                        absl::string_view term) {
  std::string text = absl::StrCat(kHeader, "role r { allow read on doc when ");
  text.reserve(text.size() + count * (term.size() + op.size() + 2));
  for (int i = 0; i < count; ++i) {
    if (i > 0) absl::StrAppend(&text, " ", op, " ");
    text.append(term.data(), term.size());
  }
  absl::StrAppend(&text, " }\n");
  return text;
}

bool AllowsWithN(const Program& program, int64_t n) {
  const RoleBinding binding{0, "", absl::InfiniteFuture()};
  const NamedValue attribute{"n", Value::Int(n)};
  Request request;
  request.principal_id = "p";
  request.bindings = {&binding, 1};
  request.action = "read";
  request.kind = "doc";
  request.resource_id = "d1";
  request.resource_attributes = {&attribute, 1};
  request.now = absl::FromUnixSeconds(1700000000);
  return Evaluate(program, request).allowed();
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80         ? 1
              : (c >> 5) == 6  ? 2
              : (c >> 4) == 14 ? 3
              : (c >> 3) == 30 ? 4
                               : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

// Far past the ~30,000 terms that overflowed the stack of a release build
// when `&&` built a left-deep tree, and still under the 4 MiB source limit.
constexpr int kLongChain = 150000;

TEST(HostileSourceTest, LongAndChainCompilesAndEvaluates) {
  const CompileResult result =
      CompileText(ChainPolicy(kLongChain, "&&", "resource.n == 1"));
  ASSERT_TRUE(result.ok()) << Errors(result);
  EXPECT_TRUE(AllowsWithN(*result.program, 1));
  EXPECT_FALSE(AllowsWithN(*result.program, 2));
}

TEST(HostileSourceTest, LongOrChainCompilesAndEvaluates) {
  std::string text = ChainPolicy(kLongChain, "||", "resource.n == 2");
  // The last term is the only one that can hold for n = 7.
  text.insert(text.size() - 3, " || resource.n == 7");
  const CompileResult result = CompileText(text);
  ASSERT_TRUE(result.ok()) << Errors(result);
  EXPECT_TRUE(AllowsWithN(*result.program, 7));
  EXPECT_TRUE(AllowsWithN(*result.program, 2));
  EXPECT_FALSE(AllowsWithN(*result.program, 3));
}

TEST(HostileSourceTest, LongChainOfBoolLiteralsCompiles) {
  const CompileResult result =
      CompileText(ChainPolicy(kLongChain * 2, "&&", "true"));
  ASSERT_TRUE(result.ok()) << Errors(result);
  EXPECT_TRUE(AllowsWithN(*result.program, 0));
}

TEST(HostileSourceTest, LongChainWithATypeErrorIsADiagnostic) {
  std::string text = ChainPolicy(kLongChain, "&&", "true");
  text.insert(text.size() - 3, " && 5");
  const CompileResult result = CompileText(text);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(Errors(result), HasSubstr("operand of '&&' must be bool"));
}

std::string Nested(int depth, absl::string_view open, absl::string_view close) {
  std::string condition;
  for (int i = 0; i < depth; ++i) condition.append(open.data(), open.size());
  condition += "resource.n == 1";
  for (int i = 0; i < depth; ++i) condition.append(close.data(), close.size());
  return absl::StrCat(kHeader, "role r { allow read on doc when ", condition,
                      " }\n");
}

TEST(HostileSourceTest, NestingLimitIsExactlyTheDocumented64) {
  EXPECT_TRUE(CompileText(Nested(64, "(", ")")).ok());
  EXPECT_TRUE(CompileText(Nested(64, "!", "")).ok());
  EXPECT_TRUE(CompileText(Nested(32, "!(", ")")).ok());
  for (const CompileResult& r :
       {CompileText(Nested(65, "(", ")")), CompileText(Nested(65, "!", "")),
        CompileText(Nested(33, "!(", ")"))}) {
    EXPECT_FALSE(r.ok());
    EXPECT_THAT(Errors(r),
                HasSubstr("expression nesting exceeds the limit of 64"));
  }
}

TEST(HostileSourceTest, ByteOrderMarkIsSkippedAndColumnsCountFromAfterIt) {
  const std::string valid =
      absl::StrCat("\xEF\xBB\xBF", kHeader, "role r { allow read on doc }\n");
  const CompileResult ok = CompileText(valid);
  EXPECT_TRUE(ok.ok()) << Errors(ok);
  const CompileResult bad = CompileText("\xEF\xBB\xBFrole r { allow }\n");
  ASSERT_FALSE(bad.ok());
  ASSERT_FALSE(bad.diagnostics.empty());
  EXPECT_EQ(bad.diagnostics[0].line, 1);
  EXPECT_EQ(bad.diagnostics[0].column, 16);  // the '}' after "allow "
  EXPECT_EQ(bad.diagnostics[0].source_line, "role r { allow }");
}

TEST(HostileSourceTest, WellFormedUtf8IsAcceptedInStringsAndComments) {
  const std::string text =
      absl::StrCat(kHeader,
                   "# Kundenbetreuung: é, ü, 日本, 🙂\n"
                   "role r \"Zugriff für Ärzte 🙂\" { allow read on doc as "
                   "\"règle-1\" }\n");
  const CompileResult result = CompileText(text);
  ASSERT_TRUE(result.ok()) << Errors(result);
  EXPECT_EQ(result.program->role_description(0), "Zugriff für Ärzte 🙂");
}

struct BadBytes {
  const char* name;
  std::string bytes;
};

class InvalidUtf8Test : public ::testing::TestWithParam<BadBytes> {};

TEST_P(InvalidUtf8Test, InStringLiteralIsAnError) {
  const std::string text = absl::StrCat(kHeader, "role r \"x", GetParam().bytes,
                                        "y\" { allow read on doc }\n");
  const CompileResult result = CompileText(text);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(
      Errors(result),
      HasSubstr("h.policy:2:8: error: invalid UTF-8 in string literal"));
}

TEST_P(InvalidUtf8Test, InCommentIsAnError) {
  const std::string text = absl::StrCat(kHeader, "// note ", GetParam().bytes,
                                        " end\nrole r { allow read on doc }\n");
  const CompileResult result = CompileText(text);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(Errors(result),
              HasSubstr("h.policy:2:9: error: invalid UTF-8 in comment"));
}

TEST_P(InvalidUtf8Test, OutsideLiteralsIsAnErrorAndDiagnosticsStayUtf8) {
  const std::string text = absl::StrCat(kHeader, "role r { ", GetParam().bytes,
                                        " allow read on doc }\n");
  const CompileResult result = CompileText(text);
  EXPECT_FALSE(result.ok());
  ASSERT_FALSE(result.diagnostics.empty());
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("invalid UTF-8 byte"));
  for (const Diagnostic& d : result.diagnostics) {
    EXPECT_TRUE(IsValidUtf8(d.message)) << d.message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, InvalidUtf8Test,
    ::testing::Values(BadBytes{"LoneContinuation", "\x80"},
                      BadBytes{"InvalidLead", "\xFF"},
                      BadBytes{"TruncatedTwoByte", std::string("\xC3") + "A"},
                      BadBytes{"OverlongSlash", "\xC0\xAF"},
                      BadBytes{"OverlongThreeByte", "\xE0\x80\xAF"},
                      BadBytes{"Surrogate", "\xED\xA0\x80"},
                      BadBytes{"AboveMaxCodePoint", "\xF4\x90\x80\x80"},
                      BadBytes{"Latin1", "\xE9t\xE9"}),
    [](const ::testing::TestParamInfo<BadBytes>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace steward::policy
