// Stable text dump of the AST (see ast.h), used by parser tests.
#include "policy/ast.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::policy::internal {

namespace {

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string Names(const std::vector<Ident>& ids) {
  return absl::StrJoin(
      ids, ", ", [](std::string* out, const Ident& i) { out->append(i.name); });
}

std::string Names(const NameList& list) {
  return list.star ? "*" : Names(list.names);
}

absl::string_view OpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string Type(const TypeRef& t) {
  return absl::StrCat(ValueTypeName(t.type), t.optional ? "?" : "");
}

std::string Literal(const LiteralAst& l) {
  switch (l.type) {
    case ValueType::kString:
      return Quote(l.string_value);
    case ValueType::kInt:
      return absl::StrCat(l.int_value);
    case ValueType::kBool:
      return l.bool_value ? "true" : "false";
    case ValueType::kStringSet:
      return absl::StrCat(
          "[",
          absl::StrJoin(l.list_values, ", ",
                        [](std::string* out, const std::string& s) {
                          out->append(Quote(s));
                        }),
          "]");
  }
  return "?";
}

std::string NamedLiterals(const std::vector<NamedLiteral>& values) {
  return absl::StrJoin(
      values, ", ", [](std::string* out, const NamedLiteral& nl) {
        absl::StrAppend(out, nl.name.name, ": ", Literal(nl.value));
      });
}

}  // namespace

std::string DumpExpr(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kString:
      return Quote(e.string_value);
    case ExprKind::kInt:
      return absl::StrCat(e.int_value);
    case ExprKind::kBool:
      return e.bool_value ? "true" : "false";
    case ExprKind::kList:
      return absl::StrCat(
          "[",
          absl::StrJoin(e.list_values, ", ",
                        [](std::string* out, const std::string& s) {
                          out->append(Quote(s));
                        }),
          "]");
    case ExprKind::kRef:
      return absl::StrCat(e.root == RefRoot::kPrincipal  ? "principal"
                          : e.root == RefRoot::kResource ? "resource"
                                                         : "context",
                          ".", e.member.name);
    case ExprKind::kHas:
      return absl::StrCat("has(", DumpExpr(*e.children[0]), ")");
    case ExprKind::kNot:
      return absl::StrCat("(! ", DumpExpr(*e.children[0]), ")");
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      std::string out = e.kind == ExprKind::kAnd ? "(&&" : "(||";
      for (const auto& child : e.children) {
        absl::StrAppend(&out, " ", DumpExpr(*child));
      }
      return absl::StrCat(out, ")");
    }
    case ExprKind::kCompare:
      return absl::StrCat("(", OpName(e.op), " ", DumpExpr(*e.children[0]), " ",
                          DumpExpr(*e.children[1]), ")");
    case ExprKind::kIn:
      return absl::StrCat("(in ", DumpExpr(*e.children[0]), " ",
                          DumpExpr(*e.children[1]), ")");
  }
  return "?";
}

std::string DumpAst(const FileAst& f) {
  std::string out;
  if (f.policy_name.has_value()) {
    absl::StrAppend(&out, "policy ", f.policy_name->name, "\n");
  }
  for (const AttributeAst& a : f.principal_attributes) {
    absl::StrAppend(&out, "principal ", a.name.name, ": ", Type(a.type), "\n");
  }
  for (const AttributeAst& a : f.context_attributes) {
    absl::StrAppend(&out, "context ", a.name.name, ": ", Type(a.type), "\n");
  }
  if (!f.purposes.empty()) {
    absl::StrAppend(&out, "purposes ", Names(f.purposes), "\n");
  }
  for (const ResourceAst& r : f.resources) {
    absl::StrAppend(&out, "resource ", r.name.name, "\n");
    for (const AttributeAst& a : r.attributes) {
      absl::StrAppend(&out, "  attribute ", a.name.name, ": ", Type(a.type),
                      "\n");
    }
    for (const FieldAst& fd : r.fields) {
      absl::StrAppend(&out, "  field ", fd.name.name, fd.pii ? " pii" : "",
                      "\n");
    }
    absl::StrAppend(&out, "  actions ", Names(r.actions), "\n");
  }
  for (const RoleAst& r : f.roles) {
    absl::StrAppend(&out, "role ", r.name.name);
    if (!r.description.empty())
      absl::StrAppend(&out, " ", Quote(r.description));
    if (!r.parents.empty()) {
      absl::StrAppend(&out, " extends ", Names(r.parents));
    }
    absl::StrAppend(&out, "\n");
    for (const RuleAst& rule : r.rules) {
      absl::StrAppend(&out, "  ", rule.allow ? "allow " : "deny ",
                      Names(rule.actions), " on ", Names(rule.kinds));
      if (rule.has_fields) {
        absl::StrAppend(&out, " fields {", Names(rule.fields), "}");
      }
      if (!rule.purposes.empty()) {
        absl::StrAppend(&out, " for ", Names(rule.purposes));
      }
      if (rule.label.has_value()) {
        absl::StrAppend(&out, " as ", Quote(rule.label->name));
      }
      if (rule.condition != nullptr) {
        absl::StrAppend(
            &out, rule.mode == ConditionMode::kWhen ? " when " : " unless ",
            DumpExpr(*rule.condition));
      }
      absl::StrAppend(&out, "  @", rule.loc.line, ":", rule.loc.column, "\n");
    }
  }
  for (const SeparateAst& s : f.separates) {
    absl::StrAppend(&out, "separate ", Names(s.roles), "\n");
  }
  for (const TestAst& t : f.tests) {
    absl::StrAppend(&out, "test ", Quote(t.name), "\n");
    for (const TestStepAst& step : t.steps) {
      if (step.given.has_value()) {
        const GivenAst& g = *step.given;
        absl::StrAppend(&out, "  given ", Quote(g.principal_id), " roles {",
                        absl::StrJoin(g.roles, ", ",
                                      [](std::string* o, const BindingAst& b) {
                                        absl::StrAppend(o, b.role.name);
                                        if (!b.scope.empty()) {
                                          absl::StrAppend(o, " scope ",
                                                          Quote(b.scope));
                                        }
                                      }),
                        "} attributes {", NamedLiterals(g.attributes), "}\n");
      }
      if (step.expect.has_value()) {
        const ExpectAst& x = *step.expect;
        absl::StrAppend(&out, "  expect ", x.allow ? "allow " : "deny ",
                        x.action.name, " on ", x.kind.name, " ",
                        Quote(x.resource_id));
        if (!x.scope.empty()) absl::StrAppend(&out, " scope ", Quote(x.scope));
        if (!x.fields.empty()) {
          absl::StrAppend(&out, " fields {", Names(x.fields), "}");
        }
        if (x.purpose.has_value()) {
          absl::StrAppend(&out, " for ", x.purpose->name);
        }
        if (!x.resource_attributes.empty()) {
          absl::StrAppend(&out, " {", NamedLiterals(x.resource_attributes),
                          "}");
        }
        if (!x.context.empty()) {
          absl::StrAppend(&out, " context {", NamedLiterals(x.context), "}");
        }
        absl::StrAppend(&out, "  @", x.loc.line, "\n");
      }
    }
  }
  return out;
}

}  // namespace steward::policy::internal
