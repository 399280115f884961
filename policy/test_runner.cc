// Test runner (see test_runner.h).
#include "policy/test_runner.h"

#include "absl/strings/str_cat.h"
#include "policy/evaluator.h"
#include "policy/program_internal.h"

namespace steward::policy {

std::string TestFailure::ToString() const {
  return absl::StrCat(file, ":", line, ": ", message);
}

std::string TestReport::Summary() const {
  return absl::StrCat(passed, " passed, ", failed, " failed");
}

namespace {

std::vector<NamedValue> Views(
    const std::vector<std::pair<std::string, OwnedValue>>& values) {
  std::vector<NamedValue> out;
  for (const auto& [name, value] : values) {
    out.push_back(NamedValue{name, value.view()});
  }
  return out;
}

}  // namespace

TestReport RunTests(const Program& program, absl::Time now) {
  TestReport report;
  for (const internal::TestCase& test : internal::Tables(program).tests) {
    const internal::TestGiven* given = nullptr;
    std::vector<RoleBinding> bindings;
    std::vector<Value> attributes;
    for (const internal::TestStep& step : test.steps) {
      if (step.given.has_value()) {
        given = &*step.given;
        bindings.clear();
        for (const auto& [role, scope] : given->bindings) {
          bindings.push_back(RoleBinding{role, scope});
        }
        attributes.clear();
        for (const OwnedValue& v : given->attributes) {
          attributes.push_back(v.view());
        }
        continue;
      }
      if (!step.expect.has_value()) continue;
      const internal::TestExpect& x = *step.expect;
      Request req;
      req.principal_known = given != nullptr;
      if (given != nullptr) req.principal_id = given->principal_id;
      req.bindings = bindings;
      req.principal_attributes = attributes;
      req.action = x.action;
      req.kind = x.kind;
      req.resource_id = x.resource_id;
      req.scope = x.scope;
      const std::vector<NamedValue> resource = Views(x.resource_attributes);
      const std::vector<NamedValue> context = Views(x.context);
      std::vector<absl::string_view> fields(x.fields.begin(), x.fields.end());
      req.resource_attributes = resource;
      req.context = context;
      req.fields = fields;
      req.purpose = x.purpose;
      req.now = now;
      const Decision d = Evaluate(program, req);
      if (d.allowed() == x.allow) {
        ++report.passed;
        continue;
      }
      ++report.failed;
      std::string message =
          absl::StrCat("expected ", x.allow ? "allow" : "deny", ", got ",
                       EffectName(d.effect), " (", ReasonName(d.reason));
      absl::StrAppend(&message, ")");
      report.failures.push_back(TestFailure{test.file, x.line, message});
    }
  }
  return report;
}

}  // namespace steward::policy
