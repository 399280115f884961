// Query plans (policy/plan.h): the exact residual of specific policies, and
// the acceptance property that a plan says ALLOW for exactly the resources
// Evaluate() allows, over seeded random policies, principals and resources
// and over the shared CRM workload.
#include "policy/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "tests/policy/compiled_policy_test.h"
#include "tests/policy/policy_generator.h"
#include "tests/testing/policy_workload.h"
#include "tests/testing/status_matchers.h"

namespace steward::policy {
namespace {

using ::steward::testing::IsOk;
using ::testing::HasSubstr;

constexpr absl::Time kNow = absl::FromUnixSeconds(1700000000);

struct PlanPolicy {
  static constexpr absl::string_view kFile = "plan_test.policy";
  static constexpr absl::string_view kText = R"(
policy plan_test
principal { region: string  teams: set<string>  level: int  manager: string? }
context { mfa: bool  ip: string }
purposes { support_case, billing }

resource customer {
  attributes { owner: string, region: string, tier: string, vip: bool, score: int, tags: set<string>, locked: bool }
  fields { id, name, notes, email pii, phone pii }
  actions { read, update, delete, export, archive, flag, rank, tag, list }
}

role viewer { allow read on customer }
role owner_editor { allow update on customer when resource.owner == principal.id }
role guard {
  allow delete on customer
  deny delete on customer when resource.locked
}
role archiver { allow archive on customer unless resource.tier == "gold" }
role support { allow read on customer fields { phone } for support_case }
role redactor {
  allow read on customer
  deny read on customer fields { notes } when resource.tier == "gold"
}
role regional { allow update on customer when resource.region == principal.region }
role cautious {
  allow export on customer
  deny export on customer when principal.manager == resource.owner
}
role hopeful { allow flag on customer when principal.manager == "m1" || resource.tier == "gold" }
role admin {
  allow export on customer
  deny export on customer unless context.mfa
}
role lister {
  allow list on customer when resource.tier in ["gold", "silver"]
  allow list on customer when principal.region in resource.tags
  allow list on customer when resource.region in principal.teams
}
role haser { allow tag on customer when has(resource.tier) && has(principal.manager) }
role vipper { allow flag on customer when resource.vip && !resource.locked }
role ranker { allow rank on customer when resource.score >= principal.level && resource.tier < "m" }
role boolish { allow flag on customer when (resource.vip) == (principal.manager == "m1") }
role eq_allow { allow flag on customer when (principal.manager == "m1" || resource.vip) == (resource.locked) }
role eq_deny {
  allow archive on customer
  deny archive on customer when (principal.manager == "m1" || resource.vip) == (resource.locked)
}
)";
};

class PlanTest : public CompiledPolicyTest<PlanPolicy> {
 protected:
  // Owns the views of one PlanRequest.
  struct Ask {
    std::vector<RoleBinding> bindings;
    std::vector<Value> principal;  // region teams level manager
    std::vector<NamedValue> context;
    std::vector<absl::string_view> fields;
    std::string action = "read";
    std::string kind = "customer";
    std::string purpose;
    bool scope_known = false;
    std::string scope;
    bool known = true;
    bool disabled = false;

    PlanRequest View() const {
      PlanRequest r;
      r.principal_id = "u1";
      r.principal_known = known;
      r.principal_disabled = disabled;
      r.bindings = bindings;
      r.principal_attributes = principal;
      r.action = action;
      r.kind = kind;
      r.scope_known = scope_known;
      r.scope = scope;
      r.context = context;
      r.fields = fields;
      r.purpose = purpose;
      r.now = kNow;
      return r;
    }
  };

  static Ask As(absl::string_view role, absl::string_view action) {
    Ask a;
    a.bindings = {{Role(role), "", absl::InfiniteFuture()}};
    a.action = std::string(action);
    return a;
  }

  static Plan PlanOf(const Ask& a) {
    return PlanResources(program(), a.View());
  }

  // Checks on one resource that the plan (and each field plan) agrees with
  // Evaluate() for the same request.
  static void ExpectAgrees(const Ask& a, absl::string_view scope,
                           std::vector<NamedValue> attributes) {
    const Plan plan = PlanOf(a);
    Request r;
    r.principal_id = "u1";
    r.principal_known = a.known;
    r.principal_disabled = a.disabled;
    r.bindings = a.bindings;
    r.principal_attributes = a.principal;
    r.action = a.action;
    r.kind = a.kind;
    r.resource_id = "c1";
    r.scope = scope;
    r.resource_attributes = attributes;
    r.context = a.context;
    r.purpose = a.purpose;
    r.now = kNow;
    const Decision d = Evaluate(program(), r);
    const bool planned = plan.kind == PlanKind::kAlwaysAllowed ||
                         (plan.kind == PlanKind::kConditional &&
                          EvaluatePlanExpr(plan.condition, "c1", scope,
                                           attributes) == TriBool::kTrue);
    EXPECT_EQ(planned, d.allowed()) << plan.condition.DebugString();
    for (size_t i = 0; i < plan.fields.size(); ++i) {
      const FieldPlan& fp = plan.fields[i];
      const absl::string_view one[] = {a.fields[i]};
      r.fields = one;
      const bool field_planned =
          fp.kind == PlanKind::kAlwaysAllowed ||
          (fp.kind == PlanKind::kConditional &&
           EvaluatePlanExpr(fp.condition, "c1", scope, attributes) ==
               TriBool::kTrue);
      EXPECT_EQ(field_planned, Evaluate(program(), r).allowed())
          << fp.field << ": " << fp.condition.DebugString();
    }
  }
};

TEST_F(PlanTest, UnconditionalAllowIsAlwaysAllowed) {
  const Plan p = PlanOf(As("viewer", "read"));
  EXPECT_EQ(p.kind, PlanKind::kAlwaysAllowed);
  EXPECT_EQ(p.reason, Reason::kAllowedByRule);
  EXPECT_EQ(p.valid_until, absl::InfiniteFuture());
  EXPECT_EQ(p.kind_id, Kind("customer"));
}

TEST_F(PlanTest, NoRoleIsNoMatchingRule) {
  Ask a = As("viewer", "update");
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kNoMatchingRule);
  a.bindings.clear();
  a.action = "read";
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kNoMatchingRule);
}

TEST_F(PlanTest, OwnerConditionIsResidual) {
  const Ask a = As("owner_editor", "update");
  const Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  EXPECT_EQ(p.reason, Reason::kAllowedByRule);
  EXPECT_EQ(p.condition.DebugString(), R"((eq resource.owner "u1"))");
  ExpectAgrees(a, "", {{"owner", Value::String("u1")}});
  ExpectAgrees(a, "", {{"owner", Value::String("u2")}});
  ExpectAgrees(a, "", {});
}

TEST_F(PlanTest, DenyWithUnknownConditionStillApplies) {
  const Ask a = As("guard", "delete");
  const Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  EXPECT_EQ(p.condition.DebugString(), "(not (eq resource.locked true))");
  // Locked absent: the deny's condition is unknown, so it applies.
  EXPECT_EQ(EvaluatePlanExpr(p.condition, "c1", "", {}), TriBool::kUnknown);
  ExpectAgrees(a, "", {});
  ExpectAgrees(a, "", {{"locked", Value::Bool(false)}});
  ExpectAgrees(a, "", {{"locked", Value::Bool(true)}});
}

TEST_F(PlanTest, UnlessNegatesTheCondition) {
  const Ask a = As("archiver", "archive");
  const Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  EXPECT_EQ(p.condition.DebugString(), R"((not (eq resource.tier "gold")))");
  ExpectAgrees(a, "", {{"tier", Value::String("gold")}});
  ExpectAgrees(a, "", {{"tier", Value::String("free")}});
  ExpectAgrees(a, "", {});
}

TEST_F(PlanTest, ScopedBindingsBecomeInScopeOrFoldWithAKnownScope) {
  Ask a = As("viewer", "read");
  a.bindings = {{Role("viewer"), "acme", absl::InfiniteFuture()},
                {Role("viewer"), "beta/x", absl::InfiniteFuture()}};
  Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  EXPECT_EQ(p.condition.DebugString(),
            R"((or (in_scope resource.scope "acme") )"
            R"((in_scope resource.scope "beta/x")))");
  for (absl::string_view s :
       {"", "acme", "acme/eu", "acmex", "beta", "beta/x/y", "beta/xy"}) {
    ExpectAgrees(a, s, {});
  }
  a.scope_known = true;
  a.scope = "acme/eu";
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysAllowed);
  a.scope = "acmex";
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kNoMatchingRule);
  // A global binding covers every scope: no in_scope left.
  a.scope_known = false;
  a.bindings.push_back({Role("viewer"), "", absl::InfiniteFuture()});
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysAllowed);
}

TEST_F(PlanTest, ScopedRoleCombinesWithTheCondition) {
  Ask a = As("owner_editor", "update");
  a.bindings[0].scope = "acme";
  const Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  EXPECT_EQ(
      p.condition.DebugString(),
      R"((and (in_scope resource.scope "acme") (eq resource.owner "u1")))");
  ExpectAgrees(a, "acme", {{"owner", Value::String("u1")}});
  ExpectAgrees(a, "acmex", {{"owner", Value::String("u1")}});
}

TEST_F(PlanTest, ExpiredBindingsAreDroppedAndValidUntilIsTheEarliestExpiry) {
  Ask a = As("viewer", "read");
  a.bindings[0].expires_at = kNow;  // exclusive: already expired
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  const absl::Time soon = kNow + absl::Hours(1);
  const absl::Time later = kNow + absl::Hours(2);
  a.bindings = {{Role("viewer"), "", later},
                {Role("viewer"), "x", soon},
                {Role("admin"), "", kNow + absl::Minutes(1)},  // no rule here
                {Role("guard"), "", kNow - absl::Hours(1)}};
  const Plan p = PlanOf(a);
  EXPECT_EQ(p.kind, PlanKind::kAlwaysAllowed);
  EXPECT_EQ(p.valid_until, soon);
}

TEST_F(PlanTest, PurposesFold) {
  Ask a = As("support", "read");
  a.fields = {"phone"};
  a.purpose = "support_case";
  Plan p = PlanOf(a);
  EXPECT_EQ(p.kind, PlanKind::kAlwaysAllowed);
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_EQ(p.fields[0].field, "phone");
  EXPECT_EQ(p.fields[0].kind, PlanKind::kAlwaysAllowed);
  a.purpose = "billing";
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  a.purpose = "";
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  a.purpose = "marketing";
  EXPECT_EQ(PlanOf(a).reason, Reason::kUnknownPurpose);
  EXPECT_TRUE(PlanOf(a).fields.empty());
}

TEST_F(PlanTest, FieldsPiiAndFieldDenies) {
  Ask a = As("viewer", "read");
  a.fields = {"name", "email"};
  Plan p = PlanOf(a);
  EXPECT_EQ(p.kind, PlanKind::kAlwaysAllowed);
  ASSERT_EQ(p.fields.size(), 2u);
  EXPECT_EQ(p.fields[0].kind, PlanKind::kAlwaysAllowed);
  EXPECT_EQ(p.fields[1].field, "email");
  EXPECT_EQ(p.fields[1].kind, PlanKind::kAlwaysDenied);  // PII by default

  a = As("redactor", "read");
  a.fields = {"notes", "name"};
  p = PlanOf(a);
  EXPECT_EQ(p.kind, PlanKind::kAlwaysAllowed);
  ASSERT_EQ(p.fields.size(), 2u);
  ASSERT_EQ(p.fields[0].kind, PlanKind::kConditional);
  EXPECT_EQ(p.fields[0].condition.DebugString(),
            R"((not (eq resource.tier "gold")))");
  EXPECT_EQ(p.fields[1].kind, PlanKind::kAlwaysAllowed);
  // Tier absent: the field deny's condition is unknown, so it removes notes.
  EXPECT_EQ(EvaluatePlanExpr(p.fields[0].condition, "c1", "", {}),
            TriBool::kUnknown);
  for (const char* tier : {"gold", "free"}) {
    ExpectAgrees(a, "", {{"tier", Value::String(tier)}});
  }
  ExpectAgrees(a, "", {});
}

TEST_F(PlanTest, FieldConditionsImplyTheActionCondition) {
  Ask a = As("owner_editor", "update");
  a.fields = {"name", "phone"};
  const Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  ASSERT_EQ(p.fields[0].kind, PlanKind::kConditional);
  EXPECT_EQ(p.fields[0].condition, p.condition);
  EXPECT_EQ(p.fields[1].kind, PlanKind::kAlwaysDenied);
}

TEST_F(PlanTest, AbsentPrincipalAttributeFoldsByPolarity) {
  // In an allow: unknown never allows.
  Ask a = As("regional", "update");
  a.principal = {Value(), Value(), Value(), Value()};
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kNoMatchingRule);
  a.principal[0] = Value::String("eu");
  EXPECT_EQ(PlanOf(a).condition.DebugString(), R"((eq resource.region "eu"))");
  // In a deny: unknown applies, unconditionally.
  a = As("cautious", "export");
  a.principal = {Value(), Value(), Value(), Value()};
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kDeniedByRule);
  ExpectAgrees(a, "", {{"owner", Value::String("m1")}});
  a.principal[3] = Value::String("m1");
  EXPECT_EQ(PlanOf(a).condition.DebugString(),
            R"((not (eq "m1" resource.owner)))");
  // Under an or, the unknown side drops out.
  a = As("hopeful", "flag");
  a.principal = {Value(), Value(), Value(), Value()};
  EXPECT_EQ(PlanOf(a).condition.DebugString(), R"((eq resource.tier "gold"))");
  a.principal[3] = Value::String("m1");
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysAllowed);
}

TEST_F(PlanTest, ContextFoldsAndIsCheckedUpFront) {
  Ask a = As("admin", "export");
  a.context = {{"mfa", Value::Bool(true)}, {"undeclared", Value::Int(1)}};
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysAllowed);
  a.context = {{"mfa", Value::Bool(false)}};
  EXPECT_EQ(PlanOf(a).reason, Reason::kDeniedByRule);
  a.context = {};
  EXPECT_EQ(PlanOf(a).reason, Reason::kDeniedByRule);
  a.context = {{"ip", Value::Int(3)}};
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kInvalidRequest);
  a.context = {{"mfa", Value::Bool(true)}, {"mfa", Value::Bool(true)}};
  EXPECT_EQ(PlanOf(a).reason, Reason::kInvalidRequest);
  // Checked even when no rule reads the context.
  a.action = "read";
  EXPECT_EQ(PlanOf(a).reason, Reason::kInvalidRequest);
}

TEST_F(PlanTest, RequestLevelDenials) {
  Ask a = As("viewer", "read");
  a.kind = "invoice";
  EXPECT_EQ(PlanOf(a).reason, Reason::kUnknownResourceKind);
  EXPECT_EQ(PlanOf(a).kind_id, -1);
  a.kind = "customer";
  a.action = "fly";
  EXPECT_EQ(PlanOf(a).reason, Reason::kUnknownAction);
  EXPECT_EQ(PlanOf(a).kind_id, Kind("customer"));
  a.action = "read";
  a.fields = {"name", "ssn"};
  EXPECT_EQ(PlanOf(a).reason, Reason::kUnknownField);
  EXPECT_TRUE(PlanOf(a).fields.empty());
  a.fields = {};
  a.known = false;
  EXPECT_EQ(PlanOf(a).reason, Reason::kUnknownPrincipal);
  a.known = true;
  a.disabled = true;
  EXPECT_EQ(PlanOf(a).reason, Reason::kPrincipalDisabled);
  a.disabled = false;
  a.bindings.push_back({program().role_count(), "", absl::InfiniteFuture()});
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kEvaluationError);
}

TEST_F(PlanTest, WrongTypedPrincipalAttributeReadByARuleIsInvalid) {
  Ask a = As("regional", "update");
  a.principal = {Value::Int(7), Value(), Value(), Value()};  // region: string
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
  EXPECT_EQ(PlanOf(a).reason, Reason::kInvalidRequest);
  // No rule the bindings give reads it: planned as usual.
  a.action = "read";
  a.bindings.push_back({Role("viewer"), "", absl::InfiniteFuture()});
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysAllowed);
}

TEST_F(PlanTest, InListAndSetBothDirections) {
  Ask a = As("lister", "list");
  const absl::string_view teams[] = {"eu", "us"};
  a.principal = {Value::String("eu"), Value::StringSet(teams), Value(),
                 Value()};
  const Plan p = PlanOf(a);
  ASSERT_EQ(p.kind, PlanKind::kConditional);
  EXPECT_EQ(p.condition.DebugString(),
            R"((or (in resource.tier ["gold", "silver"]) )"
            R"((in "eu" resource.tags) (in resource.region ["eu", "us"])))");
  const absl::string_view tags[] = {"eu"};
  const absl::string_view other[] = {"apac"};
  ExpectAgrees(a, "", {{"tags", Value::StringSet(tags)}});
  ExpectAgrees(a, "", {{"tags", Value::StringSet(other)}});
  ExpectAgrees(a, "", {{"tier", Value::String("silver")}});
  ExpectAgrees(a, "", {{"region", Value::String("us")}});
  ExpectAgrees(a, "", {{"region", Value::String("apac")}});
}

TEST_F(PlanTest, HasOfResourceStaysAndOfPrincipalFolds) {
  Ask a = As("haser", "tag");
  a.principal = {Value(), Value(), Value(), Value::String("m")};
  EXPECT_EQ(PlanOf(a).condition.DebugString(), "(has resource.tier)");
  ExpectAgrees(a, "", {});
  ExpectAgrees(a, "", {{"tier", Value::String("x")}});
  a.principal[3] = Value();
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
}

TEST_F(PlanTest, BoolAttributes) {
  const Ask a = As("vipper", "flag");
  const Plan p = PlanOf(a);
  EXPECT_EQ(p.condition.DebugString(),
            "(and (eq resource.vip true) (not (eq resource.locked true)))");
  for (int vip = 0; vip < 3; ++vip) {
    for (int locked = 0; locked < 3; ++locked) {
      std::vector<NamedValue> attrs;
      if (vip < 2) attrs.push_back({"vip", Value::Bool(vip == 1)});
      if (locked < 2) attrs.push_back({"locked", Value::Bool(locked == 1)});
      ExpectAgrees(a, "", attrs);
    }
  }
}

TEST_F(PlanTest, EqualityOfBooleansKeepsUnknownExact) {
  Ask a = As("boolish", "flag");
  a.principal = {Value(), Value(), Value(), Value::String("m1")};
  EXPECT_EQ(PlanOf(a).condition.DebugString(), "(eq resource.vip true)");
  a.principal[3] = Value::String("m2");
  EXPECT_EQ(PlanOf(a).condition.DebugString(), "(not (eq resource.vip true))");
  a.principal[3] = Value();  // unknown == anything is unknown
  EXPECT_EQ(PlanOf(a).kind, PlanKind::kAlwaysDenied);
}

// (unknown || vip) == locked is TRUE only where vip and locked are both
// TRUE and FALSE only where vip is TRUE and locked FALSE; elsewhere it is
// unknown, which no residual can say: the planner writes the two-valued
// projection that decides the plan the same way.
TEST_F(PlanTest, EqualityOfBooleansWithAnUnknownOperandIsProjected) {
  Ask a = As("eq_allow", "flag");
  a.principal = {Value(), Value(), Value(), Value()};
  EXPECT_EQ(PlanOf(a).condition.DebugString(),
            "(and (has resource.vip) (eq resource.vip true) "
            "(has resource.locked) (eq resource.locked true))");
  Ask d = As("eq_deny", "archive");
  d.principal = a.principal;
  // The deny applies unless its condition is FALSE: allowed exactly there.
  EXPECT_EQ(PlanOf(d).condition.DebugString(),
            "(and (has resource.vip) (eq resource.vip true) "
            "(has resource.locked) (not (eq resource.locked true)))");
  for (int vip = 0; vip < 3; ++vip) {
    for (int locked = 0; locked < 3; ++locked) {
      std::vector<NamedValue> attrs;
      if (vip < 2) attrs.push_back({"vip", Value::Bool(vip == 1)});
      if (locked < 2) attrs.push_back({"locked", Value::Bool(locked == 1)});
      ExpectAgrees(a, "", attrs);
      ExpectAgrees(d, "", attrs);
    }
  }
}

TEST_F(PlanTest, IntAndStringOrdering) {
  Ask a = As("ranker", "rank");
  a.principal = {Value(), Value(), Value::Int(3), Value()};
  EXPECT_EQ(PlanOf(a).condition.DebugString(),
            R"((and (ge resource.score 3) (lt resource.tier "m")))");
  for (int score : {2, 3, 4}) {
    for (const char* tier : {"a", "m", "z"}) {
      ExpectAgrees(
          a, "", {{"score", Value::Int(score)}, {"tier", Value::String(tier)}});
    }
  }
  ExpectAgrees(a, "", {{"tier", Value::String("a")}});
}

TEST_F(PlanTest, ExplanationListsBindingsAndEveryRule) {
  Ask a = As("guard", "delete");
  a.bindings.push_back({Role("viewer"), "x", kNow});
  PlanExplanation ex;
  PlanResources(program(), a.View(), &ex);
  const std::string text = ex.ToString();
  EXPECT_THAT(text, HasSubstr("plan: CONDITIONAL ALLOWED_BY_RULE"));
  EXPECT_THAT(text, HasSubstr("binding guard scope \"\""));
  EXPECT_THAT(text, HasSubstr("binding viewer scope \"x\": expired"));
  EXPECT_THAT(text, HasSubstr("rule guard/1 (allow, role guard): true"));
  EXPECT_THAT(text, HasSubstr("rule guard/2 (deny, role guard): "
                              "(eq resource.locked true)"));
}

int CountOperations(const PlanExpr& e, PlanOperator op) {
  int n = e.node == PlanExpr::Node::kOperation && e.op == op;
  for (const PlanExpr& o : e.operands) n += CountOperations(o, op);
  return n;
}

// Many scoped bindings times many rules of one role: the role's IN_SCOPE
// disjunction is written once, not once per rule.
TEST(PlanSizeTest, BindingsTimesRulesDoNotMultiply) {
  std::string text =
      "resource doc { attributes { n: int } actions { read } }\nrole big {\n";
  for (int i = 0; i < 50; ++i) {
    absl::StrAppend(&text, "  allow read on doc when resource.n == ", i, "\n");
  }
  absl::StrAppend(&text, "}\n");
  const SourceFile file{"big.policy", text};
  CompileOptions options;
  options.lint = false;
  const CompileResult compiled = Compile({&file, 1}, options);
  ASSERT_TRUE(compiled.ok());
  std::vector<std::string> scopes;
  for (int i = 0; i < 200; ++i) scopes.push_back(absl::StrCat("s", i));
  std::vector<RoleBinding> bindings;
  for (const std::string& s : scopes) {
    bindings.push_back(
        {*compiled.program->FindRole("big"), s, absl::InfiniteFuture()});
  }
  PlanRequest r;
  r.principal_id = "u";
  r.bindings = bindings;
  r.action = "read";
  r.kind = "doc";
  r.now = kNow;
  const Plan plan = PlanResources(*compiled.program, r);
  ASSERT_EQ(plan.kind, PlanKind::kConditional);
  EXPECT_EQ(CountOperations(plan.condition, PlanOperator::kInScope), 200);
  EXPECT_EQ(CountOperations(plan.condition, PlanOperator::kEq), 50);
  const NamedValue attrs[] = {{"n", Value::Int(7)}};
  EXPECT_EQ(EvaluatePlanExpr(plan.condition, "d", "s42/x", attrs),
            TriBool::kTrue);
  EXPECT_EQ(EvaluatePlanExpr(plan.condition, "d", "s420", attrs),
            TriBool::kFalse);
}

TEST(PlanExprTest, DebugStringAndEvaluation) {
  PlanReference owner;
  owner.attribute = "owner";
  PlanReference locked;
  locked.attribute = "locked";
  locked.type = ValueType::kBool;
  const PlanExpr e = PlanExpr::Operation(
      PlanOperator::kAnd,
      {PlanExpr::Operation(PlanOperator::kEq,
                           {PlanExpr::Reference(owner),
                            PlanExpr::Literal(OwnedValue::String("u1"))}),
       PlanExpr::Operation(
           PlanOperator::kNot,
           {PlanExpr::Operation(PlanOperator::kHas,
                                {PlanExpr::Reference(locked)})})});
  EXPECT_EQ(e.DebugString(),
            R"((and (eq resource.owner "u1") (not (has resource.locked))))");
  EXPECT_EQ(EvaluatePlanExpr(e, "c", "", {{"owner", Value::String("u1")}}),
            TriBool::kTrue);
  EXPECT_EQ(EvaluatePlanExpr(e, "c", "",
                             {{"owner", Value::String("u1")},
                              {"locked", Value::Bool(false)}}),
            TriBool::kFalse);
  EXPECT_EQ(EvaluatePlanExpr(e, "c", "", {}), TriBool::kUnknown);
  // A value of another type than the reference's is unknown.
  EXPECT_EQ(EvaluatePlanExpr(e, "c", "", {{"owner", Value::Int(1)}}),
            TriBool::kUnknown);
  EXPECT_EQ(PlanKindName(PlanKind::kConditional), "CONDITIONAL");
  EXPECT_EQ(PlanOperatorName(PlanOperator::kInScope), "in_scope");
}

// ---- The property: plan + EvaluatePlanExpr == Evaluate ---------------------

// Whether a CONDITIONAL tree still holds a constant in a boolean position or
// an operation that reads no reference.
bool HasConstantPart(const PlanExpr& e) {
  if (e.node != PlanExpr::Node::kOperation) return false;
  bool any_reference = false;
  std::vector<const PlanExpr*> todo = {&e};
  while (!todo.empty()) {
    const PlanExpr* x = todo.back();
    todo.pop_back();
    any_reference |= x->node == PlanExpr::Node::kReference;
    for (const PlanExpr& o : x->operands) todo.push_back(&o);
  }
  if (!any_reference) return true;
  const bool boolean_operands = e.op == PlanOperator::kAnd ||
                                e.op == PlanOperator::kOr ||
                                e.op == PlanOperator::kNot;
  for (const PlanExpr& o : e.operands) {
    if (boolean_operands && o.node != PlanExpr::Node::kOperation) return true;
    if (HasConstantPart(o)) return true;
  }
  return false;
}

struct RandomPrincipal {
  std::vector<RoleBinding> bindings;
  std::vector<Value> attributes;  // ps pn pb pset po
  std::vector<NamedValue> context;
  std::string id, purpose, kind, action, scope;
  bool scope_known = false;
  std::vector<absl::string_view> fields;
};

const std::vector<std::string> kScopes = {"",     "a",    "a/b",  "ab",
                                          "a/bc", "acme", "acmex"};
const std::vector<absl::string_view> kSetA = {"x", "y"};
const std::vector<absl::string_view> kSetB = {"z"};

Value RandomValue(testing::Generator& g, ValueType type,
                  int absent_percent = 20) {
  if (g.Chance(absent_percent)) return Value();
  switch (type) {
    case ValueType::kString:
      return Value::String(testing::kStrings[g.Pick(3)]);
    case ValueType::kInt:
      return Value::Int(g.Pick(5) - 2);
    case ValueType::kBool:
      return Value::Bool(g.Chance(50));
    case ValueType::kStringSet:
      return Value::StringSet(g.Chance(50) ? absl::MakeSpan(kSetA)
                                           : absl::MakeSpan(kSetB));
  }
  return Value();
}

RandomPrincipal MakePrincipal(testing::Generator& g, const Program& program,
                              int absent_percent) {
  RandomPrincipal p;
  p.id = g.Chance(50) ? "x" : "y";
  const int nb = g.Pick(4);
  for (int i = 0; i < nb; ++i) {
    RoleBinding b;
    b.role = static_cast<RoleId>(g.Pick(program.role_count()));
    // A view of kScopes' element itself: `? "" : kScopes[i]` would make a
    // std::string temporary and leave the view dangling.
    b.scope = g.Chance(50) ? absl::string_view()
                           : absl::string_view(kScopes[1 + g.Pick(4)]);
    b.expires_at = g.Chance(20) ? absl::FromUnixSeconds(g.Pick(2000))
                                : absl::InfiniteFuture();
    p.bindings.push_back(b);
  }
  for (const auto& decl : program.principal_attributes()) {
    p.attributes.push_back(RandomValue(g, decl.type, absent_percent));
  }
  p.context = {{"cb", RandomValue(g, ValueType::kBool)},
               {"cs", RandomValue(g, ValueType::kString)}};
  const testing::KindSpec& kind = testing::Kinds()[g.Pick(3)];
  p.kind = kind.name;
  p.action = kind.actions[g.Pick(static_cast<int>(kind.actions.size()))];
  p.purpose = g.Chance(50) ? "" : absl::StrCat("p", g.Pick(3));
  p.scope_known = g.Chance(30);
  if (p.scope_known)
    p.scope = kScopes[g.Pick(static_cast<int>(kScopes.size()))];
  if (kind.has_fields) {
    for (const std::string& f : testing::kFields) {
      if (g.Chance(50)) p.fields.push_back(f);
    }
  }
  return p;
}

PlanRequest PlanRequestOf(const RandomPrincipal& p, absl::Time now) {
  PlanRequest r;
  r.principal_id = p.id;
  r.bindings = p.bindings;
  r.principal_attributes = p.attributes;
  r.action = p.action;
  r.kind = p.kind;
  r.scope_known = p.scope_known;
  r.scope = p.scope;
  r.context = p.context;
  r.fields = p.fields;
  r.purpose = p.purpose;
  r.now = now;
  return r;
}

bool Holds(PlanKind kind, const PlanExpr& condition, absl::string_view id,
           absl::string_view scope, absl::Span<const NamedValue> attributes) {
  return kind == PlanKind::kAlwaysAllowed ||
         (kind == PlanKind::kConditional &&
          EvaluatePlanExpr(condition, id, scope, attributes) == TriBool::kTrue);
}

// Plans, for `policies` seeded random policies and a few random principals
// each, checked against Evaluate() on random resources; returns the number
// of resources compared.
int CheckPlansAgainstEvaluate(int policies, uint32_t seed_factor,
                              bool favor_boolean_equalities) {
  const int kPolicies = policies;
  constexpr int kPrincipalsPerPolicy = 8;
  constexpr int kResourcesPerPlan = 40;
  const absl::Time now = absl::FromUnixSeconds(1000);
  int compared = 0, allows = 0, conditional = 0, failures = 0;
  for (int seed = 1; seed <= kPolicies && failures < 5; ++seed) {
    testing::Generator g(static_cast<uint32_t>(seed) * seed_factor);
    g.favor_boolean_equalities = favor_boolean_equalities;
    const std::string text = g.Policy();
    const SourceFile file{"random.policy", text};
    CompileOptions options;
    options.lint = false;
    const CompileResult compiled = Compile({&file, 1}, options);
    if (!compiled.ok()) {
      ADD_FAILURE() << text;
      return compared;
    }
    const Program& program = *compiled.program;
    for (int pi = 0; pi < kPrincipalsPerPolicy && failures < 5; ++pi) {
      const RandomPrincipal p =
          MakePrincipal(g, program, favor_boolean_equalities ? 60 : 20);
      const PlanRequest pr = PlanRequestOf(p, now);
      const Plan plan = PlanResources(program, pr);
      const Plan again = PlanResources(program, pr);
      EXPECT_TRUE(plan.kind == again.kind && plan.condition == again.condition)
          << "not deterministic, seed " << seed;
      conditional += plan.kind == PlanKind::kConditional;
      if (plan.kind == PlanKind::kConditional &&
          HasConstantPart(plan.condition)) {
        ADD_FAILURE() << "constant left in " << plan.condition.DebugString();
        ++failures;
      }
      if (plan.fields.size() != p.fields.size()) {
        ADD_FAILURE() << "fields " << plan.fields.size();
        return compared;
      }
      for (const FieldPlan& fp : plan.fields) {
        if (fp.kind == PlanKind::kConditional &&
            HasConstantPart(fp.condition)) {
          ADD_FAILURE() << "constant left in " << fp.condition.DebugString();
          ++failures;
        }
      }
      for (int ri = 0; ri < kResourcesPerPlan; ++ri) {
        const std::string id =
            g.Chance(50) ? p.id : testing::kStrings[g.Pick(3)];
        const std::string scope =
            p.scope_known ? p.scope
                          : kScopes[g.Pick(static_cast<int>(kScopes.size()))];
        std::vector<NamedValue> attrs = {
            {"rs", RandomValue(g, ValueType::kString)},
            {"rn", RandomValue(g, ValueType::kInt)},
            {"rb", RandomValue(g, ValueType::kBool)},
            {"rset", RandomValue(g, ValueType::kStringSet)}};
        if (g.Chance(10)) attrs.push_back({"undeclared", Value::Int(1)});
        Request r;
        r.principal_id = p.id;
        r.bindings = p.bindings;
        r.principal_attributes = p.attributes;
        r.action = p.action;
        r.kind = p.kind;
        r.resource_id = id;
        r.scope = scope;
        r.resource_attributes = attrs;
        r.context = p.context;
        r.purpose = p.purpose;
        r.now = now;
        const Decision d = Evaluate(program, r);
        ++compared;
        allows += d.allowed();
        const bool planned = Holds(plan.kind, plan.condition, id, scope, attrs);
        bool ok = planned == d.allowed();
        std::string why;
        if (!ok) why = "action";
        for (size_t i = 0; ok && i < plan.fields.size(); ++i) {
          const FieldPlan& fp = plan.fields[i];
          const absl::string_view one[] = {p.fields[i]};
          r.fields = one;
          const bool want = Evaluate(program, r).allowed();
          const KindId k = *program.FindKind(p.kind);
          int index = 0;
          while (program.kinds()[k].fields[index].name != fp.field) ++index;
          const bool in_allowed =
              d.allowed() && d.allowed_fields.Contains(index);
          const bool got = Holds(fp.kind, fp.condition, id, scope, attrs);
          if (got != want || want != in_allowed) {
            ok = false;
            why = absl::StrCat("field ", fp.field, ": ",
                               fp.condition.DebugString());
          }
        }
        if (!ok) {
          ++failures;
          PlanExplanation ex;
          PlanResources(program, pr, &ex);
          ADD_FAILURE() << "seed " << seed << " " << why << "\nplan "
                        << PlanKindName(plan.kind) << " "
                        << plan.condition.DebugString() << "\nresource id "
                        << id << " scope '" << scope << "' rs "
                        << attrs[0].value.DebugString() << " rn "
                        << attrs[1].value.DebugString() << " rb "
                        << attrs[2].value.DebugString() << " rset "
                        << attrs[3].value.DebugString()
                        << "\nEvaluate: " << ReasonName(d.reason) << "\n"
                        << ex.ToString() << text;
          break;
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(allows, compared / 20);
  EXPECT_LT(allows, compared * 19 / 20);
  EXPECT_GT(conditional, kPolicies * kPrincipalsPerPolicy / 10);
  return compared;
}

TEST(PlanPropertyTest, PlanAgreesWithEvaluateOnEveryResource) {
  ::testing::Test::RecordProperty("cases",
                                  CheckPlansAgainstEvaluate(300, 7919u, false));
}

// The same over policies full of `(…) == (…)`: where an operand keeps an
// unknown (an absent principal attribute), the planner has to rewrite the
// equality into its two-valued projection.
TEST(PlanPropertyTest, BooleanEqualitiesWithUnknownOperands) {
  ::testing::Test::RecordProperty(
      "cases", CheckPlansAgainstEvaluate(1000, 104729u, true));
}

// ---- The workload
// ------------------------------------------------------------

TEST(PlanWorkloadTest, PlansGiveTheExpectedDecisionOfEveryRequest) {
  testing::Workload workload;
  ASSERT_THAT(
      workload.Load(testing::Workload::Dir(STEWARD_WORKLOAD_DIR_DEFAULT)),
      IsOk());
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  int mismatches = 0, allows = 0, conditional = 0;
  for (const auto& c : workload.checks()) {
    const Request r = workload.MakeRequest(c, now);
    PlanRequest pr;
    pr.principal_id = r.principal_id;
    pr.principal_known = r.principal_known;
    pr.bindings = r.bindings;
    pr.principal_attributes = r.principal_attributes;
    pr.action = r.action;
    pr.kind = r.kind;
    pr.scope_known = true;
    pr.scope = r.scope;
    pr.now = now;
    const Plan plan = PlanResources(workload.program(), pr);
    conditional += plan.kind == PlanKind::kConditional;
    const bool allowed = Holds(plan.kind, plan.condition, r.resource_id,
                               r.scope, r.resource_attributes);
    allows += allowed;
    if (allowed != c.expected_allow && ++mismatches <= 10) {
      ADD_FAILURE() << c.principal_id << " " << c.action << " " << c.kind << " "
                    << c.resource_id << ": expected "
                    << (c.expected_allow ? "ALLOW" : "DENY") << ", plan "
                    << PlanKindName(plan.kind) << " "
                    << plan.condition.DebugString();
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(allows, 4164);
  EXPECT_GT(conditional, 0);
}

}  // namespace
}  // namespace steward::policy
