// Property test: for seeded random policies and requests, the compiled
// evaluator agrees with a deliberately simple reference interpreter that
// walks the parsed AST directly (names as strings, no buckets, no bitsets,
// no bytecode), following spec §4-§6 line by line. Thousands of cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/ast.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/parser.h"
#include "tests/policy/policy_generator.h"

namespace steward::policy {
namespace {

using internal::Expr;
using internal::ExprKind;
using internal::FileAst;
using internal::RefRoot;

using testing::Generator;
using testing::kFields;
using testing::Kinds;
using testing::KindSpec;
using testing::kStrings;

// ---- Random requests, owned ----------------------------------------------

struct OwnedRequest {
  std::vector<RoleBinding> bindings;
  std::vector<std::string> binding_roles;  // names, for the reference
  std::vector<Value> principal_attrs;      // by slot: ps pn pb pset po
  std::vector<NamedValue> resource_attrs;
  std::vector<NamedValue> context;
  std::vector<absl::string_view> fields;
  std::vector<absl::string_view> set_storage;
  std::string kind, action, purpose, scope;
  absl::Time now = absl::FromUnixSeconds(1000);

  Request View() const {
    Request r;
    r.principal_id = "x";
    r.bindings = bindings;
    r.principal_attributes = principal_attrs;
    r.action = action;
    r.kind = kind;
    r.resource_id = "y";
    r.scope = scope;
    r.resource_attributes = resource_attrs;
    r.context = context;
    r.fields = fields;
    r.purpose = purpose;
    r.now = now;
    return r;
  }
};

OwnedRequest RandomRequest(Generator& g, const Program& program) {
  static const std::vector<std::string> kScopes = {"", "a", "a/b", "ab",
                                                   "a/bc"};
  static const std::vector<absl::string_view> kSetA = {"x", "y"};
  static const std::vector<absl::string_view> kSetB = {"z"};
  OwnedRequest r;
  const int nb = g.Pick(4);
  for (int i = 0; i < nb; ++i) {
    const RoleId role = static_cast<RoleId>(g.Pick(program.role_count()));
    const absl::Time expiry = g.Chance(15) ? absl::FromUnixSeconds(g.Pick(2000))
                                           : absl::InfiniteFuture();
    r.bindings.push_back({role, "", expiry});
    r.binding_roles.push_back(std::string(program.role_name(role)));
  }
  r.scope = g.Of(kScopes);
  auto str = [&g]() {
    return g.Chance(80) ? Value::String(kStrings[g.Pick(3)]) : Value();
  };
  auto num = [&g]() {
    return g.Chance(80) ? Value::Int(g.Pick(5) - 2) : Value();
  };
  auto boolean = [&g]() {
    return g.Chance(80) ? Value::Bool(g.Chance(50)) : Value();
  };
  auto set = [&g]() {
    return g.Chance(80) ? Value::StringSet(g.Chance(50) ? absl::MakeSpan(kSetA)
                                                        : absl::MakeSpan(kSetB))
                        : Value();
  };
  r.principal_attrs = {str(), num(), boolean(), set(), str()};
  r.resource_attrs = {
      {"rs", str()}, {"rn", num()}, {"rb", boolean()}, {"rset", set()}};
  if (g.Chance(10)) r.resource_attrs.push_back({"undeclared", Value::Int(1)});
  r.context = {{"cb", boolean()}, {"cs", str()}};
  r.kind = g.Chance(3) ? "k9" : Kinds()[g.Pick(3)].name;
  r.action = g.Chance(3) ? "a9" : absl::StrCat("a", g.Pick(4));
  r.purpose = g.Chance(40)  ? ""
              : g.Chance(5) ? "p9"
                            : absl::StrCat("p", g.Pick(3));
  if (g.Chance(40)) {
    for (const std::string& f : kFields) {
      if (g.Chance(40)) r.fields.push_back(f);
    }
    if (g.Chance(5)) r.fields.push_back("f9");
  }
  return r;
}

// ---- The reference interpreter ---------------------------------------------

struct RefDecision {
  Effect effect = Effect::kDeny;
  Reason reason = Reason::kNoMatchingRule;
  std::string rule_id;
  std::set<std::string> allowed_fields;
  std::set<std::string> denied_fields;
};

enum class Tri { kF, kT, kU };

class Reference {
 public:
  Reference(const FileAst& ast, const OwnedRequest& req)
      : ast_(ast), req_(req) {}

  RefDecision Decide() {
    RefDecision d;
    const internal::ResourceAst* kind = nullptr;
    for (const auto& r : ast_.resources) {
      if (r.name.name == req_.kind) kind = &r;
    }
    if (kind == nullptr) {
      d.reason = Reason::kUnknownResourceKind;
      return d;
    }
    kind_ = kind;
    bool action_declared = false;
    for (const auto& a : kind->actions)
      action_declared |= a.name == req_.action;
    if (!action_declared) {
      d.reason = Reason::kUnknownAction;
      return d;
    }
    bool purpose_ok = req_.purpose.empty();
    for (const auto& p : ast_.purposes) purpose_ok |= p.name == req_.purpose;
    if (!purpose_ok) {
      d.reason = Reason::kUnknownPurpose;
      return d;
    }
    for (absl::string_view f : req_.fields) {
      bool declared = false;
      for (const auto& fd : kind->fields) declared |= fd.name.name == f;
      if (!declared) {
        d.reason = Reason::kUnknownField;
        return d;
      }
    }
    // Effective roles: bound, unexpired, scope covers, closed under extends.
    std::set<std::string> effective;
    for (size_t i = 0; i < req_.bindings.size(); ++i) {
      if (req_.bindings[i].expires_at <= req_.now) continue;
      const std::string& s = std::string(req_.bindings[i].scope);
      const bool covers =
          s.empty() || s == req_.scope || absl::StartsWith(req_.scope, s + "/");
      if (covers) AddWithParents(req_.binding_roles[i], &effective);
    }
    // Every matching rule, in source order.
    struct Match {
      const internal::RuleAst* rule;
      std::string id;
      Tri cond;
    };
    std::vector<Match> matches;
    for (const auto& role : ast_.roles) {
      int n = 0;
      for (const auto& rule : role.rules) {
        ++n;
        if (!effective.count(role.name.name)) continue;
        if (!Names(rule.kinds, req_.kind)) continue;
        if (!Names(rule.actions, req_.action)) continue;
        if (!rule.purposes.empty()) {
          bool ok = false;
          for (const auto& p : rule.purposes) ok |= p.name == req_.purpose;
          if (!ok) continue;
        }
        Tri c = rule.condition == nullptr ? Tri::kT : Eval(*rule.condition);
        if (rule.mode == ConditionMode::kUnless) c = Not(c);
        matches.push_back({&rule,
                           rule.label.has_value()
                               ? rule.label->name
                               : absl::StrCat(role.name.name, "/", n),
                           c});
      }
    }
    for (const Match& m : matches) {
      if (!m.rule->allow && !m.rule->has_fields && m.cond != Tri::kF) {
        d.reason = Reason::kDeniedByRule;
        d.rule_id = m.id;
        return d;
      }
    }
    bool allowed = false;
    for (const Match& m : matches) {
      if (m.rule->allow && m.cond == Tri::kT) {
        if (!allowed) d.rule_id = m.id;
        allowed = true;
        for (const std::string& f : RuleFields(*m.rule)) {
          d.allowed_fields.insert(f);
        }
      }
    }
    if (!allowed) return d;
    for (const Match& m : matches) {
      if (!m.rule->allow && m.rule->has_fields && m.cond != Tri::kF) {
        for (const std::string& f : RuleFields(*m.rule)) {
          d.allowed_fields.erase(f);
        }
      }
    }
    for (absl::string_view f : req_.fields) {
      if (!d.allowed_fields.count(std::string(f))) {
        d.denied_fields.insert(std::string(f));
      }
    }
    if (!d.denied_fields.empty()) {
      d.reason = Reason::kFieldsDenied;
      return d;
    }
    d.effect = Effect::kAllow;
    d.reason = Reason::kAllowedByRule;
    return d;
  }

 private:
  void AddWithParents(const std::string& name, std::set<std::string>* out) {
    if (!out->insert(name).second) return;
    for (const auto& role : ast_.roles) {
      if (role.name.name != name) continue;
      for (const auto& p : role.parents) AddWithParents(p.name, out);
    }
  }
  static bool Names(const internal::NameList& list, const std::string& name) {
    if (list.star) return true;  // the kind declares the action (checked)
    for (const auto& n : list.names) {
      if (n.name == name) return true;
    }
    return false;
  }
  std::vector<std::string> RuleFields(const internal::RuleAst& rule) {
    std::vector<std::string> out;
    for (const auto& fd : kind_->fields) {
      bool in;
      if (!rule.has_fields) {
        in = !fd.pii;
      } else if (rule.fields.star) {
        in = true;
      } else {
        in = false;
        for (const auto& n : rule.fields.names) in |= n.name == fd.name.name;
      }
      if (in) out.push_back(fd.name.name);
    }
    return out;
  }
  static Tri Not(Tri t) {
    return t == Tri::kU ? Tri::kU : t == Tri::kT ? Tri::kF : Tri::kT;
  }
  Value Lookup(const Expr& ref) {
    const std::string& m = ref.member.name;
    if (ref.root == RefRoot::kPrincipal) {
      if (m == "id") return Value::String("x");
      static const std::vector<std::string> kSlots = {"ps", "pn", "pb", "pset",
                                                      "po"};
      for (size_t i = 0; i < kSlots.size(); ++i) {
        if (kSlots[i] == m) return req_.principal_attrs[i];
      }
    } else if (ref.root == RefRoot::kResource) {
      if (m == "id") return Value::String("y");
      if (m == "scope") return Value::String(req_.scope);
      for (const NamedValue& nv : req_.resource_attrs) {
        if (nv.name == m) return nv.value;
      }
    } else {
      for (const NamedValue& nv : req_.context) {
        if (nv.name == m) return nv.value;
      }
    }
    return Value();
  }
  Value Leaf(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kString:
        return Value::String(e.string_value);
      case ExprKind::kInt:
        return Value::Int(e.int_value);
      case ExprKind::kBool:
        return Value::Bool(e.bool_value);
      default:
        return Lookup(e);
    }
  }
  Tri Eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kBool:
        return e.bool_value ? Tri::kT : Tri::kF;
      case ExprKind::kRef: {
        const Value v = Lookup(e);
        return !v.present() ? Tri::kU : v.bool_value() ? Tri::kT : Tri::kF;
      }
      case ExprKind::kHas:
        return Lookup(*e.children[0]).present() ? Tri::kT : Tri::kF;
      case ExprKind::kNot:
        return Not(Eval(*e.children[0]));
      case ExprKind::kAnd: {
        const Tri a = Eval(*e.children[0]);
        const Tri b = Eval(*e.children[1]);
        if (a == Tri::kF || b == Tri::kF) return Tri::kF;
        if (a == Tri::kT && b == Tri::kT) return Tri::kT;
        return Tri::kU;
      }
      case ExprKind::kOr: {
        const Tri a = Eval(*e.children[0]);
        const Tri b = Eval(*e.children[1]);
        if (a == Tri::kT || b == Tri::kT) return Tri::kT;
        if (a == Tri::kF && b == Tri::kF) return Tri::kF;
        return Tri::kU;
      }
      case ExprKind::kIn: {
        const Value v = Leaf(*e.children[0]);
        if (!v.present()) return Tri::kU;
        const Expr& rhs = *e.children[1];
        if (rhs.kind == ExprKind::kList) {
          for (const std::string& s : rhs.list_values) {
            if (s == v.string_value()) return Tri::kT;
          }
          return Tri::kF;
        }
        const Value set = Lookup(rhs);
        if (!set.present()) return Tri::kU;
        for (absl::string_view s : set.set_value()) {
          if (s == v.string_value()) return Tri::kT;
        }
        return Tri::kF;
      }
      case ExprKind::kCompare: {
        const Expr& l = *e.children[0];
        const Expr& r = *e.children[1];
        const bool boolean =
            l.kind == ExprKind::kNot || l.kind == ExprKind::kAnd ||
            l.kind == ExprKind::kOr || l.kind == ExprKind::kCompare ||
            l.kind == ExprKind::kIn || l.kind == ExprKind::kHas ||
            (l.kind == ExprKind::kBool);
        if (boolean || (l.kind == ExprKind::kRef && IsBoolRef(l))) {
          const Tri a = Eval(l);
          const Tri b = Eval(r);
          if (a == Tri::kU || b == Tri::kU) return Tri::kU;
          const bool eq = a == b;
          return (e.op == internal::CompareOp::kEq) == eq ? Tri::kT : Tri::kF;
        }
        const Value a = Leaf(l);
        const Value b = Leaf(r);
        if (!a.present() || !b.present()) return Tri::kU;
        int cmp;
        if (a.type() == ValueType::kInt) {
          cmp = a.int_value() < b.int_value()   ? -1
                : a.int_value() > b.int_value() ? 1
                                                : 0;
        } else {
          cmp = a.string_value().compare(b.string_value());
        }
        bool r2 = false;
        switch (e.op) {
          case internal::CompareOp::kEq:
            r2 = cmp == 0;
            break;
          case internal::CompareOp::kNe:
            r2 = cmp != 0;
            break;
          case internal::CompareOp::kLt:
            r2 = cmp < 0;
            break;
          case internal::CompareOp::kLe:
            r2 = cmp <= 0;
            break;
          case internal::CompareOp::kGt:
            r2 = cmp > 0;
            break;
          case internal::CompareOp::kGe:
            r2 = cmp >= 0;
            break;
        }
        return r2 ? Tri::kT : Tri::kF;
      }
      default:
        ADD_FAILURE() << "unexpected expression";
        return Tri::kU;
    }
  }
  static bool IsBoolRef(const Expr& e) {
    const std::string& m = e.member.name;
    return m == "pb" || m == "rb" || m == "cb";
  }

  const FileAst& ast_;
  const OwnedRequest& req_;
  const internal::ResourceAst* kind_ = nullptr;
};

std::set<std::string> AsSet(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

TEST(PropertyTest, CompiledEvaluatorAgreesWithReferenceInterpreter) {
  constexpr int kPolicies = 400;
  constexpr int kRequestsPerPolicy = 40;
  int compared = 0;
  int allows = 0;
  int mismatches = 0;
  for (int seed = 1; seed <= kPolicies && mismatches < 5; ++seed) {
    Generator g(static_cast<uint32_t>(seed));
    const std::string text = g.Policy();
    const SourceFile file{"random.policy", text};
    CompileOptions options;
    options.lint = false;
    const CompileResult compiled = Compile({&file, 1}, options);
    if (!compiled.ok()) {
      ADD_FAILURE() << "seed " << seed << " did not compile:\n"
                    << compiled.diagnostics[0].ToString() << "\n"
                    << text;
      ++mismatches;
      continue;
    }
    std::vector<internal::Source> sources;
    sources.emplace_back("random.policy", text);
    internal::DiagnosticSink sink(&sources);
    const FileAst ast = internal::Parse(sources, 0, {}, sink);
    for (int i = 0; i < kRequestsPerPolicy; ++i) {
      const OwnedRequest req = RandomRequest(g, *compiled.program);
      const Decision got = Evaluate(*compiled.program, req.View());
      const RefDecision want = Reference(ast, req).Decide();
      ++compared;
      allows += got.allowed();
      const bool fields_match =
          got.reason != Reason::kAllowedByRule &&
                  got.reason != Reason::kFieldsDenied
              ? true
              : AsSet(AllowedFieldNames(*compiled.program, got)) ==
                        want.allowed_fields &&
                    AsSet(DeniedFieldNames(*compiled.program, got)) ==
                        want.denied_fields;
      if (got.effect != want.effect || got.reason != want.reason ||
          got.rule_id != want.rule_id || !fields_match) {
        ++mismatches;
        Explanation ex;
        Evaluate(*compiled.program, req.View(), &ex);
        ADD_FAILURE() << "seed " << seed << " request " << i << ": kind "
                      << req.kind << " action " << req.action << " purpose '"
                      << req.purpose << "' scope '" << req.scope << "'\n"
                      << "compiled: " << ReasonName(got.reason) << " "
                      << got.rule_id
                      << "\nreference: " << ReasonName(want.reason) << " "
                      << want.rule_id << "\n"
                      << ex.ToString() << text;
        break;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(compared, kPolicies * kRequestsPerPolicy);
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(allows, compared / 20);
  EXPECT_LT(allows, compared * 19 / 20);
  RecordProperty("cases", compared);
}

}  // namespace
}  // namespace steward::policy
