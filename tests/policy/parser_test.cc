// Lexer and parser tests: token streams, and a stable AST dump per input
// (DumpAst) so a change in how anything parses shows up as a readable diff.
#include "policy/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/ast.h"
#include "policy/lexer.h"
#include "policy/source.h"

namespace steward::policy::internal {
namespace {

std::string Kinds(absl::string_view text) {
  std::string out;
  for (const Token& t : Lex(text)) {
    if (!out.empty()) out += " ";
    out += TokenKindName(t.kind);
    if (t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kString) {
      out += "(" + t.text + ")";
    }
    if (t.kind == TokenKind::kInt)
      out += "(" + std::to_string(t.int_value) + ")";
  }
  return out;
}

TEST(LexerTest, TokensCommentsAndLiterals) {
  EXPECT_EQ(Kinds("role a-b_c # comment\n// other\n{ }"),
            "keyword 'role' identifier(a-b_c) '{' '}' end of file");
  EXPECT_EQ(Kinds("-12 10000 \"a\\\"b\\\\c\\n\""),
            "integer(-12) integer(10000) string(a\"b\\c\n) end of file");
  EXPECT_EQ(Kinds("== != <= >= < > && || ! in has"),
            "'==' '!=' '<=' '>=' '<' '>' '&&' '||' '!' keyword 'in' keyword "
            "'has' end of file");
  EXPECT_EQ(Kinds("-9223372036854775808"),
            "integer(-9223372036854775808) end of file");
  EXPECT_EQ(Kinds("9223372036854775808"), "invalid token end of file");
}

TEST(LexerTest, EveryKeywordOfTheSpecIsReserved) {
  for (absl::string_view kw :
       {"policy",  "principal", "context",  "resource", "attributes", "fields",
        "actions", "pii",       "role",     "extends",  "allow",      "deny",
        "on",      "when",      "unless",   "as",       "separate",   "test",
        "given",   "roles",     "scope",    "expect",   "in",         "has",
        "true",    "false",     "purposes", "for",      "purpose"}) {
    const std::vector<Token> tokens = Lex(kw);
    ASSERT_EQ(tokens.size(), 2u);
    EXPECT_TRUE(IsKeyword(tokens[0].kind)) << kw;
    EXPECT_EQ(KeywordSpelling(tokens[0].kind), kw);
  }
}

struct ParseCase {
  std::string name;
  std::string source;
  std::string dump;
};

class ParserTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParserTest, DumpsAst) {
  const ParseCase& c = GetParam();
  std::vector<Source> sources;
  sources.emplace_back("t.policy", c.source);
  DiagnosticSink sink(&sources);
  const FileAst ast = Parse(sources, 0, ParseOptions{}, sink);
  for (const Diagnostic& d : sink.diagnostics()) ADD_FAILURE() << d.ToString();
  EXPECT_EQ(DumpAst(ast), c.dump);
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, ParserTest,
    ::testing::Values(
        ParseCase{"Declarations",
                  R"(policy crm
principal { region: string
  teams: set<string>  manager: string? }
context { mfa: bool, ip: string }
purposes { support_case, billing }
resource customer {
  attributes { owner: string, amount: int }
  fields { id, email pii }
  actions { read, update }
})",
                  "policy crm\n"
                  "principal region: string\n"
                  "principal teams: set<string>\n"
                  "principal manager: string?\n"
                  "context mfa: bool\n"
                  "context ip: string\n"
                  "purposes support_case, billing\n"
                  "resource customer\n"
                  "  attribute owner: string\n"
                  "  attribute amount: int\n"
                  "  field id\n"
                  "  field email pii\n"
                  "  actions read, update\n"},
        ParseCase{"RolesAndRuleClauses",
                  R"(role lead "Leads" extends editor, viewer {
  allow read, update on customer, order
  allow * on *
  allow read on customer fields { email, phone } for support_case, billing as "x" when resource.owner == principal.id
  deny export on customer fields { * } unless context.mfa
}
separate a, b, c)",
                  "role lead \"Leads\" extends editor, viewer\n"
                  "  allow read, update on customer, order  @2:3\n"
                  "  allow * on *  @3:3\n"
                  "  allow read on customer fields {email, phone} for "
                  "support_case, billing as \"x\" when (== resource.owner "
                  "principal.id)  @4:3\n"
                  "  deny export on customer fields {*} unless context.mfa  "
                  "@5:3\n"
                  "separate a, b, c\n"},
        ParseCase{"DescriptionAfterExtends", "role a extends b \"desc\" { }",
                  "role a \"desc\" extends b\n"},
        ParseCase{"Precedence",
                  "role r { allow a on k when !principal.x || "
                  "principal.y && principal.z == 3 }",
                  "role r\n  allow a on k when (|| (! principal.x) (&& "
                  "principal.y (== principal.z 3)))  @1:10\n"},
        ParseCase{"ParenthesesInOperatorsAndHas",
                  "role r { allow a on k when (principal.a || has(context.b)) "
                  "&& resource.scope in [\"x\", \"y\"] && \"u\" in "
                  "principal.teams && resource.n >= -5 }",
                  "role r\n  allow a on k when (&& (|| principal.a "
                  "has(context.b)) (in resource.scope [\"x\", \"y\"]) (in "
                  "\"u\" principal.teams) (>= resource.n -5))  @1:10\n"},
        ParseCase{"BoolComparisonAndKeywordsAsMembers",
                  "role r { deny a on k when (context.x == true) != false }",
                  "role r\n  deny a on k when (!= (== context.x true) false)  "
                  "@1:10\n"},
        ParseCase{"Tests",
                  R"(test "t" {
  given principal "u7" roles { a, b scope "acme" } attributes { region: "eu", n: 3, ok: true, teams: ["x", "y"] }
  expect deny approve on refund "r1" { created_by: "u7", amount: 50 }
  expect allow read on customer "c1" scope "acme/eu" fields { name } for support_case { owner: "u7" } context { mfa: true }
  given principal "u8" roles { }
})",
                  "test \"t\"\n"
                  "  given \"u7\" roles {a, b scope \"acme\"} attributes "
                  "{region: \"eu\", n: 3, ok: true, teams: [\"x\", \"y\"]}\n"
                  "  expect deny approve on refund \"r1\" {created_by: \"u7\", "
                  "amount: 50}  @3\n"
                  "  expect allow read on customer \"c1\" scope \"acme/eu\" "
                  "fields {name} for support_case {owner: \"u7\"} context "
                  "{mfa: true}  @4\n"
                  "  given \"u8\" roles {} attributes {}\n"}),
    [](const ::testing::TestParamInfo<ParseCase>& info) {
      return info.param.name;
    });

TEST(ParserTest, ConditionTextIsTheSourceSpan) {
  std::vector<Source> sources;
  sources.emplace_back("t.policy",
                       "role r {\n  allow a on k when (resource.x == \"y\")  "
                       "&& !context.m\n}");
  DiagnosticSink sink(&sources);
  const FileAst ast = Parse(sources, 0, ParseOptions{}, sink);
  ASSERT_EQ(sink.error_count(), 0);
  EXPECT_EQ(ast.roles[0].rules[0].condition_text,
            "(resource.x == \"y\")  && !context.m");
}

TEST(ParserTest, DeepNestingIsBoundedNotACrash) {
  std::vector<Source> sources;
  sources.emplace_back("t.policy", "role r { allow a on k when " +
                                       std::string(100000, '(') + "}");
  DiagnosticSink sink(&sources);
  Parse(sources, 0, ParseOptions{}, sink);
  EXPECT_GE(sink.error_count(), 1);
}

}  // namespace
}  // namespace steward::policy::internal
