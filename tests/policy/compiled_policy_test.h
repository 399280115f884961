// A test fixture over one policy compiled once per suite (lint off): the
// evaluator and analysis tests share it. Test-only.
#ifndef STEWARD_TESTS_POLICY_COMPILED_POLICY_TEST_H_
#define STEWARD_TESTS_POLICY_COMPILED_POLICY_TEST_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "policy/compiler.h"
#include "policy/program.h"

namespace steward::policy {

// `Policy` names the source: static members kFile and kText (string
// views). A diagnostic from compiling it fails the suite.
template <typename Policy>
class CompiledPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const SourceFile f{std::string(Policy::kFile), std::string(Policy::kText)};
    CompileOptions options;
    options.lint = false;
    CompileResult r = Compile({&f, 1}, options);
    for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
    program_ = r.program;
  }
  static void TearDownTestSuite() { program_.reset(); }
  static const Program& program() { return *program_; }
  static RoleId Role(absl::string_view name) {
    return *program_->FindRole(name);
  }
  static KindId Kind(absl::string_view name) {
    return *program_->FindKind(name);
  }

  static inline std::shared_ptr<const Program> program_;
};

}  // namespace steward::policy

#endif  // STEWARD_TESTS_POLICY_COMPILED_POLICY_TEST_H_
