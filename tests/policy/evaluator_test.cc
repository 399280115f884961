// Decision semantics, one table row per rule of spec §4-§6: deny by
// default, deny overrides allow, three-valued conditions (fail closed on
// deny, no match on allow), PII default exclusion, field denies, purposes,
// scope ancestry, expiry, extends closure, unknown/disabled principals and
// undeclared names, and explain mode.
#include "policy/evaluator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/compiler.h"
#include "policy/program_internal.h"
#include "tests/policy/compiled_policy_test.h"

namespace steward::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::string_view kPolicy = R"(
policy eval_test
principal { region: string  teams: set<string>  level: int  manager: string? }
context { mfa: bool  ip: string }
purposes { support_case, billing }

resource customer {
  attributes { owner: string, region: string, tier: string, vip: bool, score: int }
  fields { id, name, notes, email pii, phone pii }
  actions { read, update, delete, export }
}
resource order {
  attributes { owner: string, total: int, tags: set<string> }
  actions { read, update }
}

role viewer "reads customers" { allow read on customer }
role owner_editor { allow read, update on customer when resource.owner == principal.id }
role regional extends owner_editor {
  allow update on customer as "regional-update" when resource.region == principal.region
  allow read on customer fields { email } when resource.region == principal.region
}
role support {
  allow read on customer fields { phone } for support_case
}
role pii_reader { allow read on customer fields { * } }
role admin {
  allow * on *
  deny export on customer unless context.mfa
  deny read on customer fields { notes }
}
role blocked_tier {
  allow read on customer
  deny read on customer when resource.tier == "blocked"
}
role logic {
  allow read on order as "neg" when !(resource.total > 100)
  allow update on order as "or" when resource.total > 100 || principal.level >= 3
  allow update on order as "and" when resource.total < 50 && principal.region == "eu"
}
role sets {
  allow read on order as "in-list" when principal.region in ["eu", "uk"]
  allow update on order as "in-set" when "urgent" in resource.tags
}
role guarded {
  allow read on order as "has" when has(principal.manager) && principal.manager != principal.id
}
role scope_ref { allow read on order as "scoped" when resource.scope == "acme/eu" }
)";

struct EvaluatorPolicy {
  static constexpr absl::string_view kFile = "eval.policy";
  static constexpr absl::string_view kText = kPolicy;
};

class EvaluatorTest : public CompiledPolicyTest<EvaluatorPolicy> {};

// A request under construction; owns its storage.
struct Req {
  std::string principal = "u1";
  std::vector<RoleBinding> bindings;
  std::vector<Value> principal_attrs;
  std::string action = "read";
  std::string kind = "customer";
  std::string scope;
  std::vector<NamedValue> attrs;
  std::vector<NamedValue> context;
  std::vector<absl::string_view> fields;
  std::string purpose;
  bool known = true;
  bool disabled = false;
  absl::Time now = absl::FromUnixSeconds(1000);

  Request Build() const {
    Request r;
    r.principal_id = principal;
    r.principal_known = known;
    r.principal_disabled = disabled;
    r.bindings = bindings;
    r.principal_attributes = principal_attrs;
    r.action = action;
    r.kind = kind;
    r.resource_id = "r1";
    r.scope = scope;
    r.resource_attributes = attrs;
    r.context = context;
    r.fields = fields;
    r.purpose = purpose;
    r.now = now;
    return r;
  }
};

struct Expected {
  Effect effect;
  Reason reason;
  std::string rule_id = "";
};

// Checks the fast path's decision against `want`, and that explain mode
// reaches the very same decision: an explanation is only worth reading if it
// describes the decision the service actually returned.
void ExpectDecision(const Program& p, const Req& req, const Expected& want) {
  const Decision d = Evaluate(p, req.Build());
  Explanation ex;
  const Decision explained = Evaluate(p, req.Build(), &ex);
  EXPECT_EQ(d.effect, want.effect) << ex.ToString();
  EXPECT_EQ(ReasonName(d.reason), ReasonName(want.reason)) << ex.ToString();
  EXPECT_EQ(d.rule_id, want.rule_id) << ex.ToString();

  SCOPED_TRACE(absl::StrCat("explain path vs fast path\n", ex.ToString()));
  EXPECT_EQ(EffectName(explained.effect), EffectName(d.effect));
  EXPECT_EQ(ReasonName(explained.reason), ReasonName(d.reason));
  EXPECT_EQ(explained.rule_id, d.rule_id);
  EXPECT_EQ(explained.kind, d.kind);
  EXPECT_EQ(AllowedFieldNames(p, explained), AllowedFieldNames(p, d));
  EXPECT_EQ(DeniedFieldNames(p, explained), DeniedFieldNames(p, d));
}

// Principal attribute vector in slot order of the policy's principal block:
// region, teams, level, manager.
std::vector<Value> Principal(Value region, Value level = Value(),
                             Value manager = Value()) {
  return {region, Value(), level, manager};
}

TEST_F(EvaluatorTest, DenyByDefaultWithNoRoles) {
  Req r;
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
}

TEST_F(EvaluatorTest, UnconditionalAllow) {
  Req r;
  r.bindings = {{Role("viewer"), ""}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "viewer/1"});
}

TEST_F(EvaluatorTest, UnknownAndDisabledPrincipal) {
  Req r;
  r.bindings = {{Role("viewer"), ""}};
  r.known = false;
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kUnknownPrincipal});
  r.known = true;
  r.disabled = true;
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kPrincipalDisabled});
}

TEST_F(EvaluatorTest, UndeclaredKindActionPurposeField) {
  Req r;
  r.bindings = {{Role("admin"), ""}};
  r.kind = "invoice";
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kUnknownResourceKind});
  r.kind = "order";
  r.action = "delete";  // declared on customer, not on order
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kUnknownAction});
  r.action = "fly";
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kUnknownAction});
  r.kind = "customer";
  r.action = "read";
  r.purpose = "marketing";
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kUnknownPurpose});
  r.purpose = "";
  r.fields = {"name", "shoe_size"};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kUnknownField});
}

TEST_F(EvaluatorTest, ConditionOnOwnership) {
  Req r;
  r.bindings = {{Role("owner_editor"), ""}};
  r.attrs = {{"owner", Value::String("u1")}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "owner_editor/1"});
  r.attrs = {{"owner", Value::String("u2")}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
}

TEST_F(EvaluatorTest, AllowWhenUnknownDoesNotMatch) {
  Req r;
  r.bindings = {{Role("owner_editor"), ""}};  // resource.owner absent
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
}

TEST_F(EvaluatorTest, DenyUnlessUnknownFailsClosed) {
  Req r;
  r.bindings = {{Role("admin"), ""}};
  r.action = "export";  // context.mfa absent -> unknown -> deny applies
  ExpectDecision(program(), r,
                 {Effect::kDeny, Reason::kDeniedByRule, "admin/2"});
  r.context = {{"mfa", Value::Bool(false)}};
  ExpectDecision(program(), r,
                 {Effect::kDeny, Reason::kDeniedByRule, "admin/2"});
  r.context = {{"mfa", Value::Bool(true)}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "admin/1"});
}

TEST_F(EvaluatorTest, DenyWhenUnknownFailsClosed) {
  Req r;
  r.bindings = {{Role("blocked_tier"), ""}};
  ExpectDecision(program(), r,
                 {Effect::kDeny, Reason::kDeniedByRule, "blocked_tier/2"});
  r.attrs = {{"tier", Value::String("gold")}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "blocked_tier/1"});
  r.attrs = {{"tier", Value::String("blocked")}};
  ExpectDecision(program(), r,
                 {Effect::kDeny, Reason::kDeniedByRule, "blocked_tier/2"});
}

TEST_F(EvaluatorTest, DenyOverridesAllowOfAnotherRole) {
  Req r;
  r.bindings = {{Role("viewer"), ""}, {Role("blocked_tier"), ""}};
  r.attrs = {{"tier", Value::String("blocked")}};
  ExpectDecision(program(), r,
                 {Effect::kDeny, Reason::kDeniedByRule, "blocked_tier/2"});
}

TEST_F(EvaluatorTest, FirstAllowInSourceOrderGivesRuleId) {
  Req r;
  r.bindings = {{Role("admin"), ""}, {Role("viewer"), ""}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "viewer/1"});
}

TEST_F(EvaluatorTest, ExtendsIsTransitiveAndLabelsAreIds) {
  Req r;
  r.bindings = {{Role("regional"), ""}};
  r.principal_attrs = Principal(Value::String("eu"));
  r.action = "update";
  r.attrs = {{"owner", Value::String("u1")}, {"region", Value::String("us")}};
  // Inherited rule of owner_editor matches.
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "owner_editor/1"});
  r.attrs = {{"owner", Value::String("u9")}, {"region", Value::String("eu")}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "regional-update"});
}

TEST_F(EvaluatorTest, ScopeAncestry) {
  Req r;
  r.bindings = {{Role("viewer"), "acme"}};
  for (const auto& [scope, allowed] :
       std::vector<std::pair<std::string, bool>>{{"acme", true},
                                                 {"acme/eu", true},
                                                 {"acme/eu/paris", true},
                                                 {"acmex", false},
                                                 {"acme-eu", false},
                                                 {"", false},
                                                 {"other/acme", false}}) {
    r.scope = scope;
    EXPECT_EQ(Evaluate(program(), r.Build()).allowed(), allowed) << scope;
  }
  r.bindings = {{Role("viewer"), ""}};
  r.scope = "anything/at/all";
  EXPECT_TRUE(Evaluate(program(), r.Build()).allowed());
}

TEST_F(EvaluatorTest, ScopeCoversHelper) {
  EXPECT_TRUE(ScopeCovers("", ""));
  EXPECT_TRUE(ScopeCovers("", "x"));
  EXPECT_TRUE(ScopeCovers("acme", "acme/eu"));
  EXPECT_FALSE(ScopeCovers("acme", "acmex"));
  EXPECT_FALSE(ScopeCovers("acme/eu", "acme"));
  EXPECT_FALSE(ScopeCovers("acme", ""));
}

TEST_F(EvaluatorTest, ExpiredBindingsAreIgnored) {
  Req r;
  r.bindings = {{Role("viewer"), "", absl::FromUnixSeconds(999)}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.bindings = {{Role("viewer"), "", absl::FromUnixSeconds(1000)}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.bindings = {{Role("viewer"), "", absl::FromUnixSeconds(1001)}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "viewer/1"});
}

TEST_F(EvaluatorTest, PiiExcludedByDefault) {
  Req r;
  r.bindings = {{Role("viewer"), ""}};
  const Decision d = Evaluate(program(), r.Build());
  EXPECT_TRUE(d.allowed());
  EXPECT_THAT(AllowedFieldNames(program(), d),
              ElementsAre("id", "name", "notes"));
  r.fields = {"name", "email"};
  const Decision denied = Evaluate(program(), r.Build());
  EXPECT_EQ(denied.effect, Effect::kDeny);
  EXPECT_EQ(denied.reason, Reason::kFieldsDenied);
  EXPECT_THAT(DeniedFieldNames(program(), denied), ElementsAre("email"));
  EXPECT_THAT(AllowedFieldNames(program(), denied),
              ElementsAre("id", "name", "notes"));
}

TEST_F(EvaluatorTest, NamedPiiAndStarFields) {
  Req r;
  r.bindings = {{Role("pii_reader"), ""}};
  EXPECT_THAT(AllowedFieldNames(program(), Evaluate(program(), r.Build())),
              ElementsAre("id", "name", "notes", "email", "phone"));
  r.bindings = {{Role("regional"), ""}};
  r.principal_attrs = Principal(Value::String("eu"));
  r.attrs = {{"owner", Value::String("u1")}, {"region", Value::String("eu")}};
  // owner_editor/1 (non-PII) + regional/2 (email): union.
  EXPECT_THAT(AllowedFieldNames(program(), Evaluate(program(), r.Build())),
              ElementsAre("id", "name", "notes", "email"));
}

TEST_F(EvaluatorTest, DenyWithFieldsRemovesFieldsOnly) {
  Req r;
  r.bindings = {{Role("admin"), ""}};
  const Decision d = Evaluate(program(), r.Build());
  EXPECT_TRUE(d.allowed());
  EXPECT_THAT(AllowedFieldNames(program(), d), ElementsAre("id", "name"));
  r.fields = {"notes"};
  const Decision denied = Evaluate(program(), r.Build());
  EXPECT_EQ(denied.reason, Reason::kFieldsDenied);
  EXPECT_THAT(DeniedFieldNames(program(), denied), ElementsAre("notes"));
}

TEST_F(EvaluatorTest, PurposeRestrictsRule) {
  Req r;
  r.bindings = {{Role("support"), ""}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.purpose = "billing";
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.purpose = "support_case";
  r.fields = {"phone"};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "support/1"});
  EXPECT_THAT(AllowedFieldNames(program(), Evaluate(program(), r.Build())),
              ElementsAre("phone"));
}

TEST_F(EvaluatorTest, RuleWithoutForIgnoresPurpose) {
  Req r;
  r.bindings = {{Role("viewer"), ""}};
  r.purpose = "billing";
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "viewer/1"});
}

// Three-valued logic (§5), through rules of role `logic` on `order`.
struct LogicCase {
  std::string name;
  std::string action;
  Value total;
  Value region;
  Value level;
  bool allowed;
  std::string rule_id;
};

class LogicTest : public EvaluatorTest,
                  public ::testing::WithParamInterface<LogicCase> {};

TEST_P(LogicTest, KleeneLogic) {
  const LogicCase& c = GetParam();
  Req r;
  r.bindings = {{Role("logic"), ""}};
  r.kind = "order";
  r.action = c.action;
  r.principal_attrs = Principal(c.region, c.level);
  if (c.total.present()) r.attrs = {{"total", c.total}};
  const Decision d = Evaluate(program(), r.Build());
  EXPECT_EQ(d.allowed(), c.allowed);
  EXPECT_EQ(d.rule_id, c.rule_id);
}

INSTANTIATE_TEST_SUITE_P(
    Spec5, LogicTest,
    ::testing::Values(
        LogicCase{
            "NotFalseIsTrue", "read", Value::Int(50), {}, {}, true, "neg"},
        LogicCase{"NotTrueIsFalse", "read", Value::Int(150), {}, {}, false, ""},
        LogicCase{"NotUnknownIsUnknown", "read", {}, {}, {}, false, ""},
        LogicCase{"TrueOrUnknownIsTrue",
                  "update",
                  Value::Int(150),
                  {},
                  {},
                  true,
                  "or"},
        LogicCase{
            "UnknownOrTrueIsTrue", "update", {}, {}, Value::Int(3), true, "or"},
        LogicCase{"UnknownOrFalseIsUnknown",
                  "update",
                  {},
                  {},
                  Value::Int(1),
                  false,
                  ""},
        LogicCase{"FalseAndUnknownIsFalse",
                  "update",
                  Value::Int(60),
                  {},
                  {},
                  false,
                  ""},
        LogicCase{"TrueAndUnknownIsUnknown",
                  "update",
                  Value::Int(10),
                  {},
                  {},
                  false,
                  ""},
        LogicCase{"TrueAndTrue",
                  "update",
                  Value::Int(10),
                  Value::String("eu"),
                  {},
                  true,
                  "and"}),
    [](const ::testing::TestParamInfo<LogicCase>& info) {
      return info.param.name;
    });

TEST_F(EvaluatorTest, InListAndInSet) {
  Req r;
  r.bindings = {{Role("sets"), ""}};
  r.kind = "order";
  r.principal_attrs = Principal(Value::String("uk"));
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "in-list"});
  r.principal_attrs = Principal(Value::String("us"));
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.action = "update";
  const std::vector<absl::string_view> tags = {"new", "urgent"};
  r.attrs = {{"tags", Value::StringSet(tags)}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "in-set"});
  const std::vector<absl::string_view> other = {"new"};
  r.attrs = {{"tags", Value::StringSet(other)}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.attrs = {};  // absent set: unknown, allow does not match
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
}

TEST_F(EvaluatorTest, HasIsNeverUnknown) {
  Req r;
  r.bindings = {{Role("guarded"), ""}};
  r.kind = "order";
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
  r.principal_attrs = Principal(Value(), Value(), Value::String("boss"));
  ExpectDecision(program(), r, {Effect::kAllow, Reason::kAllowedByRule, "has"});
}

TEST_F(EvaluatorTest, ResourceScopeIsAlwaysPresent) {
  Req r;
  r.bindings = {{Role("scope_ref"), ""}};
  r.kind = "order";
  r.scope = "acme/eu";
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "scoped"});
  r.scope = "";
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kNoMatchingRule});
}

TEST_F(EvaluatorTest, WrongTypedAttributeIsInvalidRequest) {
  Req r;
  r.bindings = {{Role("owner_editor"), ""}};
  r.attrs = {{"owner", Value::Int(7)}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kInvalidRequest});
  r.attrs = {{"owner", Value::String("u1")}, {"owner", Value::String("u1")}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kInvalidRequest});
  r.attrs = {{"owner", Value::String("u1")}, {"undeclared", Value::Int(1)}};
  ExpectDecision(program(), r,
                 {Effect::kAllow, Reason::kAllowedByRule, "owner_editor/1"});
  Req p;
  p.bindings = {{Role("regional"), ""}};
  p.action = "update";
  p.principal_attrs = Principal(Value::Int(3));
  p.attrs = {{"owner", Value::String("x")}, {"region", Value::String("eu")}};
  ExpectDecision(program(), p, {Effect::kDeny, Reason::kInvalidRequest});
}

// Found by the request fuzzer: once an attribute fails to bind, the slots
// after it (and the whole context) were left unset, and the second
// condition evaluated read them — stale pointers from an earlier request on
// the same stack. Every condition must stay unknown instead.
TEST_F(EvaluatorTest, ConditionsAfterAFailedBindStayUnknown) {
  Req r;
  r.bindings = {{Role("regional"), ""}};
  r.action = "update";
  r.principal_attrs = Principal(Value::String("eu"));
  r.attrs = {{"owner", Value::String("u1")},
             {"region", Value::String("eu")},
             {"score", Value::String("not a number")}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kInvalidRequest});
  Explanation ex;
  Evaluate(program(), r.Build(), &ex);
  int conditional = 0;
  for (const RuleTrace& t : ex.rules) {
    if (t.condition.empty() || !t.role_effective) continue;
    ++conditional;
    EXPECT_EQ(t.condition_result, TriBool::kUnknown) << t.rule_id;
    EXPECT_FALSE(t.matched) << t.rule_id;
  }
  EXPECT_GE(conditional, 2) << ex.ToString();
}

TEST_F(EvaluatorTest, OutOfRangeRoleIsEvaluationError) {
  Req r;
  r.bindings = {{RoleId{9999}, ""}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kEvaluationError});
  r.bindings = {{RoleId{-1}, ""}};
  ExpectDecision(program(), r, {Effect::kDeny, Reason::kEvaluationError});
}

// Request::effective_roles: a caller's pre-resolved bitset replaces the
// walk of the bindings (which are then not read at all); the closure is
// the caller's job; too few words fail closed; bits past the last role
// are ignored.
TEST_F(EvaluatorTest, PreResolvedEffectiveRolesReplaceBindings) {
  const int words = (program().role_count() + 63) / 64;
  std::vector<uint64_t> roles(words, 0);
  auto set = [&](absl::string_view role) {
    const RoleId r = Role(role);
    roles[r >> 6] |= uint64_t{1} << (r & 63);
  };
  Req r;
  r.bindings = {{Role("admin"), ""}};  // ignored below
  set("viewer");
  Request request = r.Build();
  request.effective_roles = roles;
  Explanation ex;
  Decision d = Evaluate(program(), request, &ex);
  EXPECT_EQ(d.reason, Reason::kAllowedByRule);
  EXPECT_EQ(d.rule_id, "viewer/1");
  EXPECT_THAT(ex.effective_roles, ElementsAre("viewer"));
  // No closure is applied: regional alone does not give owner_editor.
  std::fill(roles.begin(), roles.end(), 0);
  set("regional");
  r.action = "read";
  r.attrs = {{"owner", Value::String("u1")}};
  request = r.Build();
  request.effective_roles = roles;
  EXPECT_EQ(Evaluate(program(), request).reason, Reason::kNoMatchingRule);
  set("owner_editor");
  EXPECT_EQ(Evaluate(program(), request).rule_id, "owner_editor/1");
  // Bits past the last role and words past the program's are ignored.
  std::vector<uint64_t> wide(words + 1, ~uint64_t{0});
  std::fill(wide.begin(), wide.begin() + words, 0);
  if (program().role_count() % 64 != 0) {
    wide[words - 1] = ~uint64_t{0} << (program().role_count() % 64);
  }
  request.effective_roles = wide;
  EXPECT_EQ(Evaluate(program(), request).reason, Reason::kNoMatchingRule);
  // Unknown and disabled principals are decided before roles.
  request.effective_roles = roles;
  request.principal_disabled = true;
  EXPECT_EQ(Evaluate(program(), request).reason, Reason::kPrincipalDisabled);
}

// With more than 64 roles the bitset has several words; fewer than the
// program needs fail closed, even when the bindings would allow.
TEST(EvaluatorEffectiveRolesTest, MultiWordAndTooShort) {
  std::string text = "policy many\nresource doc {\n  actions { read }\n}\n";
  for (int r = 0; r < 70; ++r) {
    absl::StrAppend(&text, "role r", r, " { allow read on doc }\n");
  }
  const SourceFile f{"many.policy", text};
  CompileOptions options;
  options.lint = false;
  const CompileResult compiled = Compile({&f, 1}, options);
  ASSERT_TRUE(compiled.ok());
  const Program& program = *compiled.program;
  const RoleId r65 = *program.FindRole("r65");
  const RoleBinding bindings[] = {{r65, ""}};
  Request request;
  request.principal_id = "u1";
  request.bindings = bindings;
  request.action = "read";
  request.kind = "doc";
  request.now = absl::FromUnixSeconds(1000);
  const uint64_t roles[2] = {0, uint64_t{1} << (r65 - 64)};
  request.effective_roles = roles;
  EXPECT_EQ(Evaluate(program, request).rule_id, "r65/1");
  request.effective_roles = absl::MakeConstSpan(roles, 1);
  EXPECT_EQ(Evaluate(program, request).reason, Reason::kEvaluationError);
  request.effective_roles = {};
  EXPECT_EQ(Evaluate(program, request).rule_id, "r65/1");
}

TEST_F(EvaluatorTest, ExplainListsRulesAndConditionResults) {
  Req r;
  r.bindings = {{Role("admin"), ""}};
  r.action = "export";
  Explanation ex;
  const Decision d = Evaluate(program(), r.Build(), &ex);
  EXPECT_EQ(d.reason, Reason::kDeniedByRule);
  EXPECT_THAT(ex.effective_roles, ElementsAre("admin"));
  const std::string text = ex.ToString();
  EXPECT_THAT(text, HasSubstr("admin/2 [admin] deny unless context.mfa = "
                              "unknown: decided"));
  EXPECT_THAT(text, HasSubstr("admin/1 [admin] allow"));
  r.action = "read";
  Evaluate(program(), r.Build(), &ex);
  EXPECT_THAT(ex.ToString(),
              HasSubstr("owner_editor/1 [owner_editor] allow when "
                        "resource.owner == principal.id: role not held"));
  EXPECT_THAT(ex.ToString(), HasSubstr("admin/1 [admin] allow: decided"));
}

TEST_F(EvaluatorTest, EvaluationIsIndependentOfBindingOrder) {
  Req a;
  a.bindings = {{Role("viewer"), ""}, {Role("blocked_tier"), ""}};
  a.attrs = {{"tier", Value::String("blocked")}};
  Req b = a;
  b.bindings = {{Role("blocked_tier"), ""}, {Role("viewer"), ""}};
  const Decision da = Evaluate(program(), a.Build());
  const Decision db = Evaluate(program(), b.Build());
  EXPECT_EQ(da.effect, db.effect);
  EXPECT_EQ(da.rule_id, db.rule_id);
}

TEST_F(EvaluatorTest, SeparationConflict) {
  const SourceFile f{"sep.policy", R"(
resource refund { actions { create, approve } }
role clerk { allow create on refund }
role approver { allow approve on refund }
role senior_clerk extends clerk { }
role other { }
separate clerk, approver
)"};
  CompileResult r = Compile({&f, 1});
  ASSERT_TRUE(r.ok());
  const Program& p = *r.program;
  auto conflict = p.SeparationConflict(*p.FindRole("senior_clerk"),
                                       *p.FindRole("approver"));
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->first, "clerk");
  EXPECT_EQ(conflict->second, "approver");
  EXPECT_FALSE(
      p.SeparationConflict(*p.FindRole("clerk"), *p.FindRole("other")));
  EXPECT_FALSE(
      p.SeparationConflict(*p.FindRole("clerk"), *p.FindRole("senior_clerk")));
}

TEST_F(EvaluatorTest, IntrospectionDescribesRules) {
  const auto& rules = program().rules();
  auto it = std::find_if(rules.begin(), rules.end(),
                         [](const auto& r) { return r.id == "admin/2"; });
  ASSERT_NE(it, rules.end());
  EXPECT_EQ(it->effect, Effect::kDeny);
  EXPECT_THAT(it->actions, ElementsAre("export"));
  EXPECT_THAT(it->kinds, ElementsAre("customer"));
  EXPECT_EQ(it->condition_mode, ConditionMode::kUnless);
  EXPECT_EQ(it->condition_text, "context.mfa");
  EXPECT_EQ(program().name(), "eval_test");
  EXPECT_EQ(program().role_description(Role("viewer")), "reads customers");
  EXPECT_THAT(program().RoleParents(Role("regional")),
              ElementsAre(Role("owner_editor")));
  EXPECT_THAT(program().purposes(), ElementsAre("support_case", "billing"));
  EXPECT_EQ(program().FindPrincipalAttribute("level"), 2);
  EXPECT_THAT(internal::Tables(program()).tests, IsEmpty());
}

}  // namespace
}  // namespace steward::policy
