// Golden-file tests of compiler diagnostics: each
// testdata/diagnostics/NAME.policy is compiled and its diagnostics, in
// Diagnostic::ToString() form, are compared with NAME.golden. Set
// STEWARD_UPDATE_GOLDEN=1 to rewrite the golden files (then review the
// diff).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "policy/compiler.h"
#include "policy/lint.h"
#include "policy/program_internal.h"

namespace steward::policy {
namespace {

struct GoldenCase {
  std::string name;
  CompileOptions options;
  bool expect_program;  // warnings only
};

std::string ReadOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class DiagnosticsGoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(DiagnosticsGoldenTest, MatchesGolden) {
  const GoldenCase& c = GetParam();
  const std::string dir =
      absl::StrCat(STEWARD_POLICY_TESTDATA_DIR, "/diagnostics/");
  const std::string source = ReadOrEmpty(dir + c.name + ".policy");
  ASSERT_FALSE(source.empty()) << "missing " << c.name << ".policy";
  // The path in diagnostics is the bare file name so goldens do not depend
  // on where the repository lives.
  const SourceFile file{c.name + ".policy", source};
  const CompileResult result = Compile({&file, 1}, c.options);
  std::string actual;
  for (const Diagnostic& d : result.diagnostics) {
    absl::StrAppend(&actual, d.ToString(), "\n");
  }
  EXPECT_EQ(result.ok(), c.expect_program);
  const std::string golden_path = dir + c.name + ".golden";
  const char* update = std::getenv("STEWARD_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden_path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << golden_path;
  }
  EXPECT_EQ(actual, ReadOrEmpty(golden_path))
      << "diagnostics differ from " << golden_path
      << " (STEWARD_UPDATE_GOLDEN=1 regenerates)";
}

CompileOptions Limits() {
  CompileOptions o;
  o.max_rules = 2;
  o.max_roles = 2;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Checker, DiagnosticsGoldenTest,
    ::testing::Values(GoldenCase{"undeclared_names", {}, false},
                      GoldenCase{"type_errors", {}, false},
                      GoldenCase{"extends_cycle", {}, false},
                      GoldenCase{"duplicates", {}, false},
                      GoldenCase{"separate_extends", {}, false},
                      GoldenCase{"action_not_on_kind", {}, false},
                      GoldenCase{"syntax_recovery", {}, false},
                      GoldenCase{"lexical", {}, false},
                      GoldenCase{"nesting_limit", {}, false},
                      GoldenCase{"lint_warnings", {}, true},
                      GoldenCase{"test_block_errors", {}, false},
                      GoldenCase{"limits_rules", Limits(), false},
                      GoldenCase{"multi_policy_name", {}, false}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) {
      return info.param.name;
    });

TEST(CompileTest, StrictTurnsLintWarningsIntoErrors) {
  const SourceFile f{"s.policy",
                     "resource doc { actions { read } }\n"
                     "role admin { allow * on * }\n"};
  CompileResult lenient = Compile({&f, 1});
  ASSERT_TRUE(lenient.ok());
  ASSERT_EQ(lenient.diagnostics.size(), 1u);
  EXPECT_EQ(lenient.diagnostics[0].severity, Severity::kWarning);
  CompileOptions strict;
  strict.strict = true;
  CompileResult r = Compile({&f, 1}, strict);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "s.policy:2:14: error: role 'admin' grants every action on every "
            "kind ('*' on '*')\n"
            "role admin { allow * on * }\n"
            "             ^");
  CompileOptions no_lint;
  no_lint.lint = false;
  EXPECT_TRUE(Compile({&f, 1}, no_lint).diagnostics.empty());
}

TEST(LintTest, PublicLintMatchesCompileWarnings) {
  const SourceFile f{"l.policy",
                     "resource doc { fields { a, b pii } actions { read } }\n"
                     "role r { allow read on doc fields { b } }\n"
                     "role s { allow read on doc\n allow read on doc }\n"};
  const CompileResult r = Compile({&f, 1});
  ASSERT_TRUE(r.ok());
  const std::vector<Diagnostic> lint = Lint(*r.program);
  ASSERT_EQ(lint.size(), r.diagnostics.size());
  for (size_t i = 0; i < lint.size(); ++i) {
    EXPECT_EQ(lint[i].ToString(), r.diagnostics[i].ToString());
  }
  EXPECT_EQ(lint.size(), 2u);
}

TEST(CompileTest, HugeLinesAreNotCopiedIntoDiagnostics) {
  const SourceFile f{"long.policy",
                     "role r { allow " + std::string(5000, 'x') + " }"};
  const CompileResult r = Compile({&f, 1});
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_TRUE(r.diagnostics[0].source_line.empty());
}

TEST(CompileTest, SourceSizeLimitIsADiagnostic) {
  const SourceFile f{"big.policy", std::string(2000, '#')};
  CompileOptions o;
  o.max_source_bytes = 1000;
  CompileResult r = Compile({&f, 1}, o);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].message,
              ::testing::HasSubstr("over the limit of 1000"));
}

TEST(CompileTest, SeveralFilesFormOnePolicySet) {
  const SourceFile files[] = {
      {"schema.policy",
       "policy crm\nresource doc { attributes { owner: string } actions { "
       "read } }\n"},
      {"roles.policy",
       "role reader { allow read on doc when resource.owner == principal.id "
       "}\n"},
      {"tests.policy",
       "test \"owner reads\" {\n  given principal \"u1\" roles { reader }\n"
       "  expect allow read on doc \"d\" { owner: \"u1\" }\n}\n"}};
  CompileResult r = Compile(files);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.program->name(), "crm");
  EXPECT_EQ(r.program->rules()[0].file, "roles.policy");
  EXPECT_EQ(internal::Tables(*r.program).tests[0].file, "tests.policy");
  // An error in the second file is reported against it.
  const SourceFile bad[] = {files[0],
                            {"bad.policy",
                             "role x { allow read on "
                             "folder }\n"}};
  CompileResult rb = Compile(bad);
  ASSERT_EQ(rb.diagnostics.size(), 1u);
  EXPECT_EQ(rb.diagnostics[0].file, "bad.policy");
  EXPECT_EQ(rb.diagnostics[0].line, 1);
  EXPECT_EQ(rb.diagnostics[0].column, 24);
}

TEST(CompileTest, EmptyPolicyCompiles) {
  CompileResult r = Compile({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.program->role_count(), 0);
}

TEST(DiagnosticTest, ToStringWithAndWithoutSourceLine) {
  Diagnostic d{Severity::kError, "f.policy", 3, 5, "bad thing", "  x y z"};
  EXPECT_EQ(d.ToString(), "f.policy:3:5: error: bad thing\n  x y z\n    ^");
  d.source_line.clear();
  d.severity = Severity::kWarning;
  EXPECT_EQ(d.ToString(), "f.policy:3:5: warning: bad thing");
}

}  // namespace
}  // namespace steward::policy
