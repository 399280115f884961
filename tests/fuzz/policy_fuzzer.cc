// libFuzzer target for the whole pipeline: the input is a policy source;
// it is compiled under tight limits and, when it compiles, its embedded
// tests are run and every (kind, action) pair is evaluated for a principal
// holding every role, with and without explain mode. Properties checked:
// no crash, no sanitizer report, and explain mode never changes the
// decision. Built as a libFuzzer binary under clang; under gcc the same
// entry point is driven by policy_fuzzer_replay_main.cc over corpus/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/test_runner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::policy;  // NOLINT: test entry point
  const SourceFile file{"fuzz.policy",
                        std::string(reinterpret_cast<const char*>(data), size)};
  CompileOptions options;
  options.max_source_bytes = 64 << 10;
  options.max_rules = 2000;
  options.max_roles = 200;
  options.max_nesting_depth = 32;
  const CompileResult result = Compile({&file, 1}, options);
  for (const Diagnostic& d : result.diagnostics) {
    if (d.ToString().empty()) std::abort();
  }
  if (!result.ok()) return 0;
  const Program& program = *result.program;
  RunTests(program, absl::FromUnixSeconds(1000));
  std::vector<RoleBinding> bindings;
  for (RoleId r = 0; r < program.role_count(); ++r) {
    bindings.push_back({r, r % 2 == 0 ? "" : "a"});
  }
  std::vector<Value> principal(program.principal_attributes().size());
  for (size_t i = 0; i < principal.size(); ++i) {
    switch (program.principal_attributes()[i].type) {
      case ValueType::kString:
        principal[i] = Value::String("x");
        break;
      case ValueType::kInt:
        principal[i] = Value::Int(static_cast<int64_t>(i));
        break;
      case ValueType::kBool:
        principal[i] = Value::Bool(i % 2 == 0);
        break;
      case ValueType::kStringSet:
        break;  // absent
    }
  }
  for (const Program::KindInfo& kind : program.kinds()) {
    std::vector<NamedValue> attributes;
    for (const Program::AttributeDecl& a : kind.attributes) {
      if (a.type == ValueType::kString) {
        attributes.push_back({a.name, Value::String("x")});
      } else if (a.type == ValueType::kInt) {
        attributes.push_back({a.name, Value::Int(1)});
      }
    }
    std::vector<absl::string_view> fields;
    for (const Program::FieldDecl& f : kind.fields) fields.push_back(f.name);
    for (const std::string& action : kind.actions) {
      Request request;
      request.principal_id = "x";
      request.bindings = bindings;
      request.principal_attributes = principal;
      request.kind = kind.name;
      request.action = action;
      request.scope = "a/b";
      request.resource_attributes = attributes;
      request.fields = fields;
      request.now = absl::FromUnixSeconds(1000);
      const Decision fast = Evaluate(program, request);
      Explanation explanation;
      const Decision explained = Evaluate(program, request, &explanation);
      if (fast.effect != explained.effect || fast.reason != explained.reason ||
          fast.rule_id != explained.rule_id) {
        std::abort();
      }
      AllowedFieldNames(program, fast);
      DeniedFieldNames(program, fast);
      explanation.ToString();
    }
  }
  return 0;
}
