// Name resolution and type checking (see checker.h).
#include "policy/checker.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::policy::internal {
namespace {

class Checker {
 public:
  Checker(const std::vector<Source>& sources, std::vector<FileAst>& files,
          const CheckOptions& options, DiagnosticSink& sink)
      : sources_(sources), files_(files), options_(options), sink_(sink) {}

  CheckedPolicy Run() {
    DeclareSchema();
    DeclareRoles();
    ResolveExtends();
    CheckRules();
    CheckSeparations();
    CheckTests();
    return std::move(out_);
  }

 private:
  // ---- Declarations ----------------------------------------------------

  void DeclareAttributes(const std::vector<AttributeAst>& attrs,
                         absl::string_view block,
                         std::vector<Program::AttributeDecl>* out,
                         absl::flat_hash_map<std::string, int>* index) {
    for (const AttributeAst& a : attrs) {
      if (!index->emplace(a.name.name, static_cast<int>(out->size())).second) {
        sink_.Error(a.name.loc, absl::StrCat("duplicate ", block,
                                             " attribute '", a.name.name, "'"));
        continue;
      }
      if (static_cast<int>(out->size()) >= kMaxAttributesPerScope) {
        sink_.Error(a.name.loc,
                    absl::StrCat("more than ", kMaxAttributesPerScope, " ",
                                 block, " attributes"));
        continue;
      }
      out->push_back({a.name.name, a.type.type, a.type.optional});
    }
  }

  int InternAction(const std::string& name) {
    auto [it, inserted] =
        out_.action_index.emplace(name, static_cast<int>(out_.actions.size()));
    if (inserted) out_.actions.push_back(name);
    return it->second;
  }

  void DeclareSchema() {
    const Ident* first_name = nullptr;
    for (FileAst& f : files_) {
      if (f.policy_name.has_value()) {
        if (first_name == nullptr) {
          first_name = &*f.policy_name;
          out_.name = first_name->name;
        } else if (f.policy_name->name != first_name->name) {
          sink_.Error(f.policy_name->loc,
                      absl::StrCat("policy name '", f.policy_name->name,
                                   "' differs from '", first_name->name,
                                   "' declared earlier in the set"));
        }
      }
      DeclareAttributes(f.principal_attributes, "principal",
                        &out_.principal_attributes, &out_.principal_slots);
      DeclareAttributes(f.context_attributes, "context",
                        &out_.context_attributes, &out_.context_slots);
      for (const Ident& p : f.purposes) {
        if (!out_.purpose_index
                 .emplace(p.name, static_cast<int>(out_.purposes.size()))
                 .second) {
          sink_.Error(p.loc, absl::StrCat("duplicate purpose '", p.name, "'"));
          continue;
        }
        if (static_cast<int>(out_.purposes.size()) >= kMaxPurposes) {
          sink_.Error(p.loc,
                      absl::StrCat("more than ", kMaxPurposes, " purposes"));
          continue;
        }
        out_.purposes.push_back(p.name);
      }
    }
    for (FileAst& f : files_) {
      for (const ResourceAst& r : f.resources) {
        if (out_.kind_index.contains(r.name.name)) {
          sink_.Error(r.name.loc, absl::StrCat("duplicate resource kind '",
                                               r.name.name, "'"));
          continue;
        }
        KindSymbol k;
        k.info.name = r.name.name;
        k.loc = r.name.loc;
        DeclareAttributes(r.attributes,
                          absl::StrCat("resource '", r.name.name, "'"),
                          &k.info.attributes, &k.attribute_slots);
        for (const Program::AttributeDecl& a : k.info.attributes) {
          auto [it, inserted] = out_.resource_attribute_index.emplace(
              a.name, static_cast<int>(out_.resource_attribute_names.size()));
          if (inserted) {
            if (static_cast<int>(out_.resource_attribute_names.size()) >=
                kMaxResourceAttributeNames) {
              sink_.Error(r.name.loc,
                          absl::StrCat("more than ", kMaxResourceAttributeNames,
                                       " distinct resource attribute names"));
            }
            out_.resource_attribute_names.push_back(a.name);
          }
        }
        for (const FieldAst& fd : r.fields) {
          if (!k.field_index
                   .emplace(fd.name.name,
                            static_cast<int>(k.info.fields.size()))
                   .second) {
            sink_.Error(fd.name.loc,
                        absl::StrCat("duplicate field '", fd.name.name,
                                     "' in resource '", r.name.name, "'"));
            continue;
          }
          if (static_cast<int>(k.info.fields.size()) >= kMaxFieldsPerKind) {
            sink_.Error(
                fd.name.loc,
                absl::StrCat("resource '", r.name.name, "' declares more than ",
                             kMaxFieldsPerKind, " fields"));
            continue;
          }
          k.info.fields.push_back({fd.name.name, fd.pii});
        }
        absl::flat_hash_set<std::string> seen;
        for (const Ident& a : r.actions) {
          if (!seen.insert(a.name).second) {
            sink_.Error(a.loc,
                        absl::StrCat("duplicate action '", a.name,
                                     "' in resource '", r.name.name, "'"));
            continue;
          }
          k.info.actions.push_back(a.name);
          k.actions.push_back(InternAction(a.name));
        }
        out_.kind_index.emplace(r.name.name,
                                static_cast<int>(out_.kinds.size()));
        out_.kinds.push_back(std::move(k));
      }
    }
  }

  void DeclareRoles() {
    for (int fi = 0; fi < static_cast<int>(files_.size()); ++fi) {
      for (const RoleAst& r : files_[fi].roles) {
        if (out_.role_index.contains(r.name.name)) {
          sink_.Error(r.name.loc,
                      absl::StrCat("duplicate role '", r.name.name, "'"));
          continue;
        }
        if (static_cast<int>(out_.roles.size()) >=
            std::min(options_.max_roles, kMaxRoles)) {
          if (!roles_limit_reported_) {
            sink_.Error(r.name.loc,
                        absl::StrCat("policy declares more than ",
                                     std::min(options_.max_roles, kMaxRoles),
                                     " roles"));
            roles_limit_reported_ = true;
          }
          continue;
        }
        out_.role_index.emplace(r.name.name,
                                static_cast<RoleId>(out_.roles.size()));
        RoleSymbol sym;
        sym.ast = &r;
        sym.file = fi;
        out_.roles.push_back(std::move(sym));
      }
    }
  }

  std::optional<RoleId> LookupRole(const Ident& id) {
    auto it = out_.role_index.find(id.name);
    if (it == out_.role_index.end()) {
      sink_.Error(id.loc, absl::StrCat("undeclared role '", id.name, "'"));
      return std::nullopt;
    }
    return it->second;
  }

  // Iterative DFS (roles may be many and chains long: no recursion on user
  // input). Reports each cycle once, naming it.
  void ResolveExtends() {
    const int n = static_cast<int>(out_.roles.size());
    for (RoleSymbol& r : out_.roles) {
      absl::flat_hash_set<RoleId> seen;
      for (const Ident& p : r.ast->parents) {
        std::optional<RoleId> id = LookupRole(p);
        if (id.has_value() && seen.insert(*id).second) {
          r.parents.push_back(*id);
        }
      }
    }
    std::vector<int> color(n, 0);  // 0 new, 1 on stack, 2 done
    std::vector<RoleId> path;
    std::vector<size_t> next_child;
    std::vector<bool> in_cycle(n, false);
    for (RoleId start = 0; start < n; ++start) {
      if (color[start] != 0) continue;
      path.assign(1, start);
      next_child.assign(1, 0);
      color[start] = 1;
      while (!path.empty()) {
        const RoleId cur = path.back();
        const std::vector<RoleId>& parents = out_.roles[cur].parents;
        if (next_child.back() < parents.size()) {
          const RoleId p = parents[next_child.back()++];
          if (color[p] == 0) {
            color[p] = 1;
            path.push_back(p);
            next_child.push_back(0);
          } else if (color[p] == 1) {
            // Cycle: from p's position in path to the end, back to p.
            auto it = std::find(path.begin(), path.end(), p);
            std::vector<std::string> names;
            for (auto j = it; j != path.end(); ++j) {
              names.push_back(out_.roles[*j].ast->name.name);
              in_cycle[*j] = true;
            }
            names.push_back(out_.roles[p].ast->name.name);
            sink_.Error(
                out_.roles[p].ast->name.loc,
                absl::StrCat("extends cycle: ", absl::StrJoin(names, " -> ")));
          }
        } else {
          color[cur] = 2;
          path.pop_back();
          next_child.pop_back();
        }
      }
    }
    // Closures (ancestors) in shared storage: a chain of roles extending
    // one another must not cost a list per role (role_closure.h). Cycles
    // were reported; the builder stays finite either way.
    std::vector<absl::Span<const RoleId>> parents;
    parents.reserve(n);
    for (const RoleSymbol& r : out_.roles) parents.push_back(r.parents);
    out_.closures = BuildRoleClosures(parents);
  }

  // ---- Rules -----------------------------------------------------------

  void CheckRules() {
    absl::flat_hash_map<std::string, Location> ids;
    const int max_rules = options_.max_rules;
    bool limit_reported = false;
    for (RoleId role = 0; role < static_cast<RoleId>(out_.roles.size());
         ++role) {
      const RoleSymbol& rs = out_.roles[role];
      int position = 0;
      for (const RuleAst& rule : rs.ast->rules) {
        ++position;
        if (static_cast<int>(out_.rules.size()) >= max_rules) {
          if (!limit_reported) {
            sink_.Error(rule.loc, absl::StrCat("policy has more than ",
                                               max_rules, " rules"));
            limit_reported = true;
          }
          continue;
        }
        RuleSymbol sym;
        sym.ast = &rule;
        sym.file = rs.file;
        sym.role = role;
        sym.id = rule.label.has_value()
                     ? rule.label->name
                     : absl::StrCat(rs.ast->name.name, "/", position);
        const Location id_loc =
            rule.label.has_value() ? rule.label->loc : rule.loc;
        if (sym.id.empty()) {
          sink_.Error(id_loc, "rule label must not be empty");
        }
        auto [it, inserted] = ids.emplace(sym.id, id_loc);
        if (!inserted) {
          const Location& prev = it->second;
          sink_.Error(id_loc,
                      absl::StrCat("duplicate rule id '", sym.id,
                                   "' (first used at ", Where(prev), ")"));
        }
        ResolveCoverage(rule, &sym);
        for (const RuleCoverage& c : sym.coverage) {
          entries_ += static_cast<int64_t>(c.actions.size());
        }
        if (entries_ > kMaxRuleEntries && !entries_reported_) {
          sink_.Error(
              rule.loc,
              absl::StrCat("policy expands to more than ", kMaxRuleEntries,
                           " (rule, kind, action) entries; narrow "
                           "'*' rules"));
          entries_reported_ = true;
        }
        if (!rule.purposes.empty()) {
          sym.purposes = 0;
          for (const Ident& p : rule.purposes) {
            auto pit = out_.purpose_index.find(p.name);
            if (pit == out_.purpose_index.end()) {
              sink_.Error(p.loc,
                          absl::StrCat("undeclared purpose '", p.name, "'"));
              continue;
            }
            sym.purposes |= uint64_t{1} << pit->second;
          }
        }
        if (rule.condition != nullptr) {
          std::vector<KindId> kinds;
          for (const RuleCoverage& c : sym.coverage) kinds.push_back(c.kind);
          if (TypeCheck(*rule.condition, kinds) &&
              rule.condition->type != ValueType::kBool) {
            sink_.Error(rule.condition->loc,
                        absl::StrCat("condition must be bool, not ",
                                     ValueTypeName(rule.condition->type)));
          }
        }
        out_.rules.push_back(std::move(sym));
      }
    }
  }

  std::string Where(const Location& loc) const {
    return absl::StrCat(sources_[loc.file].path(), ":", loc.line, ":",
                        loc.column);
  }

  void ResolveCoverage(const RuleAst& rule, RuleSymbol* sym) {
    // Which kinds, and per kind which actions.
    std::vector<KindId> kinds;
    if (rule.kinds.star) {
      for (KindId k = 0; k < static_cast<KindId>(out_.kinds.size()); ++k) {
        kinds.push_back(k);
      }
    } else {
      for (const Ident& k : rule.kinds.names) {
        auto it = out_.kind_index.find(k.name);
        if (it == out_.kind_index.end()) {
          sink_.Error(k.loc,
                      absl::StrCat("undeclared resource kind '", k.name, "'"));
          continue;
        }
        if (std::find(kinds.begin(), kinds.end(), it->second) == kinds.end()) {
          kinds.push_back(it->second);
        }
      }
    }
    std::vector<int> named_actions;
    for (const Ident& a : rule.actions.names) {
      auto it = out_.action_index.find(a.name);
      if (it == out_.action_index.end()) {
        sink_.Error(a.loc, absl::StrCat("action '", a.name,
                                        "' is not declared on any resource "
                                        "kind"));
        continue;
      }
      if (!rule.kinds.star) {
        for (KindId k : kinds) {
          const std::vector<int>& acts = out_.kinds[k].actions;
          if (std::find(acts.begin(), acts.end(), it->second) == acts.end()) {
            sink_.Error(a.loc, absl::StrCat("action '", a.name,
                                            "' is not declared on resource '",
                                            out_.kinds[k].info.name, "'"));
          }
        }
      }
      named_actions.push_back(it->second);
    }
    for (KindId k : kinds) {
      RuleCoverage c;
      c.kind = k;
      const KindSymbol& ks = out_.kinds[k];
      if (rule.actions.star) {
        c.actions = ks.actions;
      } else {
        for (int a : named_actions) {
          if (std::find(ks.actions.begin(), ks.actions.end(), a) !=
                  ks.actions.end() &&
              std::find(c.actions.begin(), c.actions.end(), a) ==
                  c.actions.end()) {
            c.actions.push_back(a);
          }
        }
      }
      if (c.actions.empty()) continue;  // `*` kinds: kind lacks the action
      for (int i = 0; i < static_cast<int>(ks.info.fields.size()); ++i) {
        const bool pii = ks.info.fields[i].pii;
        if (!rule.has_fields ? !pii : rule.fields.star) c.fields.Add(i);
      }
      sym->coverage.push_back(std::move(c));
    }
    if (rule.has_fields && !rule.fields.star) {
      for (const Ident& f : rule.fields.names) {
        bool found_any = false;
        for (RuleCoverage& c : sym->coverage) {
          const KindSymbol& ks = out_.kinds[c.kind];
          auto it = ks.field_index.find(f.name);
          if (it != ks.field_index.end()) {
            c.fields.Add(it->second);
            found_any = true;
          } else if (!rule.kinds.star) {
            sink_.Error(f.loc, absl::StrCat("field '", f.name,
                                            "' is not declared on resource '",
                                            ks.info.name, "'"));
            found_any = true;  // reported per kind already
          }
        }
        if (!found_any) {
          sink_.Error(f.loc, absl::StrCat("field '", f.name,
                                          "' is not declared on any resource "
                                          "kind the rule covers"));
        }
      }
    }
  }

  // Annotates `e` with its type and resolved target. Returns false after
  // reporting an error (callers then skip dependent checks to avoid
  // cascades). Recursion depth is bounded by the parser's nesting limit.
  bool TypeCheck(Expr& e, const std::vector<KindId>& kinds) {
    switch (e.kind) {
      case ExprKind::kString:
        e.type = ValueType::kString;
        return true;
      case ExprKind::kInt:
        e.type = ValueType::kInt;
        return true;
      case ExprKind::kBool:
        e.type = ValueType::kBool;
        return true;
      case ExprKind::kList:
        sink_.Error(e.loc,
                    "a list literal may only appear on the right of 'in'");
        return false;
      case ExprKind::kRef:
        return ResolveRef(e, kinds);
      case ExprKind::kHas:
        e.type = ValueType::kBool;
        return ResolveRef(*e.children[0], kinds);
      case ExprKind::kNot:
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        bool ok = true;
        for (auto& c : e.children) {
          if (!TypeCheck(*c, kinds)) {
            ok = false;
          } else if (c->type != ValueType::kBool) {
            sink_.Error(c->loc, absl::StrCat("operand of '",
                                             e.kind == ExprKind::kNot   ? "!"
                                             : e.kind == ExprKind::kAnd ? "&&"
                                                                        : "||",
                                             "' must be bool, not ",
                                             ValueTypeName(c->type)));
            ok = false;
          }
        }
        e.type = ValueType::kBool;
        return ok;
      }
      case ExprKind::kCompare: {
        Expr& l = *e.children[0];
        Expr& r = *e.children[1];
        const bool lok = TypeCheck(l, kinds);
        const bool rok = TypeCheck(r, kinds);
        e.type = ValueType::kBool;
        if (!lok || !rok) return false;
        if (l.type != r.type) {
          sink_.Error(e.loc,
                      absl::StrCat("cannot compare ", ValueTypeName(l.type),
                                   " with ", ValueTypeName(r.type)));
          return false;
        }
        if (e.op != CompareOp::kEq && e.op != CompareOp::kNe &&
            l.type != ValueType::kInt && l.type != ValueType::kString) {
          sink_.Error(e.loc, absl::StrCat("ordering is not defined on ",
                                          ValueTypeName(l.type)));
          return false;
        }
        return true;
      }
      case ExprKind::kIn: {
        Expr& l = *e.children[0];
        Expr& r = *e.children[1];
        e.type = ValueType::kBool;
        bool ok = TypeCheck(l, kinds);
        if (ok && l.type != ValueType::kString) {
          sink_.Error(l.loc, absl::StrCat("left of 'in' must be string, not ",
                                          ValueTypeName(l.type)));
          ok = false;
        }
        if (r.kind == ExprKind::kList) {
          r.type = ValueType::kStringSet;
          return ok;
        }
        if (r.kind != ExprKind::kRef) {
          sink_.Error(r.loc,
                      "right of 'in' must be a set<string> attribute or a "
                      "list literal");
          return false;
        }
        if (!ResolveRef(r, kinds)) return false;
        if (r.type != ValueType::kStringSet) {
          sink_.Error(r.loc,
                      absl::StrCat("right of 'in' must be set<string>, not ",
                                   ValueTypeName(r.type)));
          return false;
        }
        return ok;
      }
    }
    return false;
  }

  bool ResolveRef(Expr& e, const std::vector<KindId>& kinds) {
    const std::string& m = e.member.name;
    switch (e.root) {
      case RefRoot::kPrincipal: {
        if (m == "id") {
          e.target = RefTarget::kPrincipalId;
          e.type = ValueType::kString;
          return true;
        }
        auto it = out_.principal_slots.find(m);
        if (it == out_.principal_slots.end()) {
          sink_.Error(e.member.loc,
                      absl::StrCat("undeclared principal attribute '", m, "'"));
          return false;
        }
        const Program::AttributeDecl& d = out_.principal_attributes[it->second];
        e.target = RefTarget::kPrincipalAttr;
        e.slot = it->second;
        e.type = d.type;
        e.optional_attr = d.optional;
        return true;
      }
      case RefRoot::kContext: {
        auto it = out_.context_slots.find(m);
        if (it == out_.context_slots.end()) {
          sink_.Error(e.member.loc,
                      absl::StrCat("undeclared context attribute '", m, "'"));
          return false;
        }
        const Program::AttributeDecl& d = out_.context_attributes[it->second];
        e.target = RefTarget::kContextAttr;
        e.slot = it->second;
        e.type = d.type;
        e.optional_attr = d.optional;
        return true;
      }
      case RefRoot::kResource: {
        if (m == "id" || m == "scope") {
          e.target =
              m == "id" ? RefTarget::kResourceId : RefTarget::kResourceScope;
          e.type = ValueType::kString;
          return true;
        }
        if (kinds.empty()) return false;  // coverage errors already reported
        bool ok = true;
        const Program::AttributeDecl* first = nullptr;
        for (KindId k : kinds) {
          const KindSymbol& ks = out_.kinds[k];
          auto it = ks.attribute_slots.find(m);
          if (it == ks.attribute_slots.end()) {
            sink_.Error(e.member.loc,
                        absl::StrCat("attribute '", m,
                                     "' is not declared on resource '",
                                     ks.info.name, "'"));
            ok = false;
            continue;
          }
          const Program::AttributeDecl& d = ks.info.attributes[it->second];
          if (first != nullptr && first->type != d.type) {
            sink_.Error(
                e.member.loc,
                absl::StrCat("attribute '", m, "' has type ",
                             ValueTypeName(first->type),
                             " on one covered kind and ", ValueTypeName(d.type),
                             " on resource '", ks.info.name, "'"));
            ok = false;
          }
          if (first == nullptr) first = &d;
          e.optional_attr = e.optional_attr || d.optional;
        }
        if (!ok || first == nullptr) return false;
        e.target = RefTarget::kResourceAttr;
        e.slot = out_.resource_attribute_index.at(m);
        e.type = first->type;
        return true;
      }
    }
    return false;
  }

  // ---- Separation of duties --------------------------------------------

  void CheckSeparations() {
    for (const FileAst& f : files_) {
      for (const SeparateAst& s : f.separates) {
        std::vector<RoleId> roles;
        for (const Ident& id : s.roles) {
          std::optional<RoleId> r = LookupRole(id);
          if (r.has_value() &&
              std::find(roles.begin(), roles.end(), *r) == roles.end()) {
            roles.push_back(*r);
          }
        }
        // The first two members of the group in each role's closure, in
        // closure order. next[k] is the first position >= k of the shared
        // closure array holding a member, so each role costs O(1) jumps
        // instead of a walk over its whole closure (quadratic for a chain).
        const std::vector<RoleId>& all = out_.closures.roles;
        std::vector<bool> member(out_.roles.size(), false);
        for (RoleId r : roles) member[r] = true;
        std::vector<int32_t> next(all.size() + 1);
        next[all.size()] = static_cast<int32_t>(all.size());
        for (size_t k = all.size(); k-- > 0;) {
          next[k] = member[all[k]] ? static_cast<int32_t>(k) : next[k + 1];
        }
        for (RoleId r = 0; r < static_cast<RoleId>(out_.roles.size()); ++r) {
          const int32_t end = out_.closures.end[r];
          const int32_t first = next[out_.closures.begin[r]];
          if (first >= end) continue;
          const int32_t second = next[first + 1];
          if (second >= end) continue;
          const RoleId a = all[first];
          const RoleId b = all[second];
          sink_.Error(out_.roles[r].ast->name.loc,
                      absl::StrCat("role '", out_.roles[r].ast->name.name,
                                   "' holds separated roles '",
                                   out_.roles[a].ast->name.name, "' and '",
                                   out_.roles[b].ast->name.name,
                                   "' (separate at ", Where(s.loc), ")"));
        }
        out_.separations.push_back(std::move(roles));
      }
    }
  }

  // ---- Tests -----------------------------------------------------------

  bool LiteralValue(const LiteralAst& lit, ValueType want,
                    absl::string_view what, OwnedValue* out) {
    if (lit.type != want) {
      sink_.Error(lit.loc, absl::StrCat(what, " has type ", ValueTypeName(want),
                                        ", not ", ValueTypeName(lit.type)));
      return false;
    }
    switch (lit.type) {
      case ValueType::kString:
        *out = OwnedValue::String(lit.string_value);
        break;
      case ValueType::kInt:
        *out = OwnedValue::Int(lit.int_value);
        break;
      case ValueType::kBool:
        *out = OwnedValue::Bool(lit.bool_value);
        break;
      case ValueType::kStringSet:
        *out = OwnedValue::StringSet(lit.list_values);
        break;
    }
    return true;
  }

  void CheckNamed(const std::vector<NamedLiteral>& values,
                  const std::vector<Program::AttributeDecl>& decls,
                  const absl::flat_hash_map<std::string, int>& slots,
                  absl::string_view scope,
                  std::vector<std::pair<std::string, OwnedValue>>* out) {
    for (const NamedLiteral& nl : values) {
      auto it = slots.find(nl.name.name);
      if (it == slots.end()) {
        sink_.Error(nl.name.loc,
                    absl::StrCat("undeclared ", scope, " attribute '",
                                 nl.name.name, "'"));
        continue;
      }
      OwnedValue v;
      if (LiteralValue(nl.value, decls[it->second].type,
                       absl::StrCat("attribute '", nl.name.name, "'"), &v)) {
        out->emplace_back(nl.name.name, std::move(v));
      }
    }
  }

  void CheckTests() {
    absl::flat_hash_set<std::string> names;
    for (int fi = 0; fi < static_cast<int>(files_.size()); ++fi) {
      for (const TestAst& t : files_[fi].tests) {
        if (!names.insert(t.name).second) {
          sink_.Error(t.loc, absl::StrCat("duplicate test \"", t.name, "\""));
        }
        TestCase tc;
        tc.name = t.name;
        tc.file = sources_[fi].path();
        tc.line = t.loc.line;
        bool have_given = false;
        for (const TestStepAst& step : t.steps) {
          TestStep out;
          if (step.given.has_value()) {
            have_given = true;
            out.given = CheckGiven(*step.given);
          } else if (step.expect.has_value()) {
            if (!have_given) {
              sink_.Error(step.expect->loc,
                          "'expect' needs a 'given' principal before it");
            }
            out.expect = CheckExpect(*step.expect);
          }
          tc.steps.push_back(std::move(out));
        }
        out_.tests.push_back(std::move(tc));
      }
    }
  }

  TestGiven CheckGiven(const GivenAst& g) {
    TestGiven out;
    out.principal_id = g.principal_id;
    for (const BindingAst& b : g.roles) {
      std::optional<RoleId> r = LookupRole(b.role);
      if (r.has_value()) out.bindings.emplace_back(*r, b.scope);
    }
    out.attributes.resize(out_.principal_attributes.size());
    for (const NamedLiteral& nl : g.attributes) {
      auto it = out_.principal_slots.find(nl.name.name);
      if (it == out_.principal_slots.end()) {
        sink_.Error(nl.name.loc,
                    absl::StrCat("undeclared principal attribute '",
                                 nl.name.name, "'"));
        continue;
      }
      LiteralValue(nl.value, out_.principal_attributes[it->second].type,
                   absl::StrCat("attribute '", nl.name.name, "'"),
                   &out.attributes[it->second]);
    }
    return out;
  }

  TestExpect CheckExpect(const ExpectAst& x) {
    TestExpect out;
    out.line = x.loc.line;
    out.allow = x.allow;
    out.action = x.action.name;
    out.kind = x.kind.name;
    out.resource_id = x.resource_id;
    out.scope = x.scope;
    auto kit = out_.kind_index.find(x.kind.name);
    if (kit == out_.kind_index.end()) {
      sink_.Error(x.kind.loc,
                  absl::StrCat("undeclared resource kind '", x.kind.name, "'"));
      return out;
    }
    const KindSymbol& ks = out_.kinds[kit->second];
    if (std::find(ks.info.actions.begin(), ks.info.actions.end(),
                  x.action.name) == ks.info.actions.end()) {
      sink_.Error(x.action.loc, absl::StrCat("action '", x.action.name,
                                             "' is not declared on resource '",
                                             ks.info.name, "'"));
    }
    for (const Ident& f : x.fields) {
      if (!ks.field_index.contains(f.name)) {
        sink_.Error(f.loc, absl::StrCat("field '", f.name,
                                        "' is not declared on resource '",
                                        ks.info.name, "'"));
      }
      out.fields.push_back(f.name);
    }
    if (x.purpose.has_value()) {
      if (!out_.purpose_index.contains(x.purpose->name)) {
        sink_.Error(x.purpose->loc,
                    absl::StrCat("undeclared purpose '", x.purpose->name, "'"));
      }
      out.purpose = x.purpose->name;
    }
    CheckNamed(x.resource_attributes, ks.info.attributes, ks.attribute_slots,
               absl::StrCat("resource '", ks.info.name, "'"),
               &out.resource_attributes);
    CheckNamed(x.context, out_.context_attributes, out_.context_slots,
               "context", &out.context);
    return out;
  }

  const std::vector<Source>& sources_;
  std::vector<FileAst>& files_;
  const CheckOptions& options_;
  DiagnosticSink& sink_;
  CheckedPolicy out_;
  bool roles_limit_reported_ = false;
  int64_t entries_ = 0;
  bool entries_reported_ = false;
};

}  // namespace

CheckedPolicy Check(const std::vector<Source>& sources,
                    std::vector<FileAst>& files, const CheckOptions& options,
                    DiagnosticSink& sink) {
  Checker checker(sources, files, options, sink);
  return checker.Run();
}

}  // namespace steward::policy::internal
