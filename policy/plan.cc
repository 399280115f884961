// Partial evaluation of the decision algorithm (see plan.h): the rules of
// one (kind, action) bucket interpreted symbolically over an unknown
// resource, then folded and simplified under Kleene logic.
//
// How it mirrors evaluator.cc: Evaluate() ALLOWs (no fields named) iff no
// deny of the bucket applies (role held, purpose matches, condition TRUE or
// UNKNOWN) and some allow applies (condition TRUE). With
//   M(rule) = AND(applicable(role), condition)
// where applicable(role) is two-valued (an OR of IN_SCOPE terms), a deny
// applies iff M is not FALSE and an allow iff M is TRUE, so
//   allowed = OR(M(allows)) AND NOT OR(M(denies))
// is TRUE exactly when Evaluate() ALLOWs. Field f adds
//   OR(M(allows granting f)) AND NOT OR(M(field denies removing f)).
//
// Internally, while building and simplifying, a PlanExpr literal of type
// bool is a constant TRUE/FALSE in boolean positions and an absent literal
// is the constant UNKNOWN; none of them survive into a CONDITIONAL plan.
#include "policy/plan.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/analysis.h"
#include "policy/program_internal.h"

namespace steward::policy {

absl::string_view PlanKindName(PlanKind kind) {
  switch (kind) {
    case PlanKind::kAlwaysAllowed:
      return "ALWAYS_ALLOWED";
    case PlanKind::kAlwaysDenied:
      return "ALWAYS_DENIED";
    case PlanKind::kConditional:
      return "CONDITIONAL";
  }
  return "ALWAYS_DENIED";
}

absl::string_view PlanOperatorName(PlanOperator op) {
  switch (op) {
    case PlanOperator::kAnd:
      return "and";
    case PlanOperator::kOr:
      return "or";
    case PlanOperator::kNot:
      return "not";
    case PlanOperator::kEq:
      return "eq";
    case PlanOperator::kNe:
      return "ne";
    case PlanOperator::kLt:
      return "lt";
    case PlanOperator::kLe:
      return "le";
    case PlanOperator::kGt:
      return "gt";
    case PlanOperator::kGe:
      return "ge";
    case PlanOperator::kIn:
      return "in";
    case PlanOperator::kHas:
      return "has";
    case PlanOperator::kInScope:
      return "in_scope";
  }
  return "?";
}

std::string PlanReference::Path() const {
  switch (target) {
    case Target::kResourceId:
      return "resource.id";
    case Target::kResourceScope:
      return "resource.scope";
    case Target::kResourceAttribute:
      return absl::StrCat("resource.", attribute);
  }
  return "resource.?";
}

PlanExpr PlanExpr::Operation(PlanOperator op, std::vector<PlanExpr> operands) {
  PlanExpr e;
  e.node = Node::kOperation;
  e.op = op;
  e.operands = std::move(operands);
  return e;
}

PlanExpr PlanExpr::Reference(PlanReference reference) {
  PlanExpr e;
  e.node = Node::kReference;
  e.reference = std::move(reference);
  return e;
}

PlanExpr PlanExpr::Literal(OwnedValue value) {
  PlanExpr e;
  e.node = Node::kLiteral;
  e.literal = std::move(value);
  return e;
}

namespace {

void AppendDebug(const PlanExpr& e, std::string* out) {
  switch (e.node) {
    case PlanExpr::Node::kReference:
      out->append(e.reference.Path());
      return;
    case PlanExpr::Node::kLiteral:
      // An absent literal only exists inside the planner (UNKNOWN).
      out->append(e.literal.present() ? e.literal.view().DebugString()
                                      : "unknown");
      return;
    case PlanExpr::Node::kOperation:
      absl::StrAppend(out, "(", PlanOperatorName(e.op));
      for (const PlanExpr& o : e.operands) {
        out->push_back(' ');
        AppendDebug(o, out);
      }
      out->push_back(')');
      return;
  }
}

}  // namespace

std::string PlanExpr::DebugString() const {
  std::string out;
  AppendDebug(*this, &out);
  return out;
}

bool operator==(const PlanExpr& a, const PlanExpr& b) {
  if (a.node != b.node) return false;
  switch (a.node) {
    case PlanExpr::Node::kOperation:
      return a.op == b.op && a.operands == b.operands;
    case PlanExpr::Node::kReference:
      return a.reference == b.reference;
    case PlanExpr::Node::kLiteral:
      return a.literal.view() == b.literal.view();
  }
  return false;
}

std::string PlanExplanation::ToString() const {
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

namespace {

using internal::Bucket;
using internal::BucketRule;
using internal::CmpOp;
using internal::ExecTables;
using internal::Instr;
using internal::OpCode;
using internal::Operand;
using internal::OperandSource;
using Op = PlanOperator;

// ---- Constants and simplification ------------------------------------------

PlanExpr Const(TriBool t) {
  return t == TriBool::kUnknown
             ? PlanExpr::Literal(OwnedValue())
             : PlanExpr::Literal(OwnedValue::Bool(t == TriBool::kTrue));
}

// Whether `e` in a boolean position is a constant, and which.
bool IsConst(const PlanExpr& e, TriBool* t) {
  if (e.node != PlanExpr::Node::kLiteral) return false;
  if (!e.literal.present()) {
    *t = TriBool::kUnknown;
  } else {
    *t = e.literal.view().bool_value() ? TriBool::kTrue : TriBool::kFalse;
  }
  return true;
}

TriBool NotTri(TriBool t) {
  return t == TriBool::kUnknown ? t
         : t == TriBool::kTrue  ? TriBool::kFalse
                                : TriBool::kTrue;
}

PlanExpr Not(PlanExpr e) {
  return PlanExpr::Operation(Op::kNot, {std::move(e)});
}
PlanExpr And(std::vector<PlanExpr> v) {
  return PlanExpr::Operation(Op::kAnd, std::move(v));
}
PlanExpr Or(std::vector<PlanExpr> v) {
  return PlanExpr::Operation(Op::kOr, std::move(v));
}

// An eq/ne over boolean operations (kEqBool), as opposed to a comparison of
// values (references and literals).
bool IsBooleanEquality(const PlanExpr& e) {
  if (e.op != Op::kEq && e.op != Op::kNe) return false;
  for (const PlanExpr& o : e.operands) {
    if (o.node == PlanExpr::Node::kOperation) return true;
  }
  return false;
}

bool ContainsUnknown(const PlanExpr& e) {
  if (e.node == PlanExpr::Node::kLiteral) return !e.literal.present();
  if (e.node != PlanExpr::Node::kOperation) return false;
  for (const PlanExpr& o : e.operands) {
    if (ContainsUnknown(o)) return true;
  }
  return false;
}

// Where a subexpression sits: under and/or/not with an even (kPositive) or
// odd (kNegative) number of NOTs up to the root, or under an eq/ne over
// booleans (kExact). Whether the root is TRUE does not change when an
// UNKNOWN in a positive position becomes FALSE or one in a negative
// position becomes TRUE (Kleene connectives are monotone in both the truth
// and the information order); under eq/ne it does, so there it stays.
enum class Polarity { kPositive, kNegative, kExact };

Polarity Flip(Polarity p) {
  return p == Polarity::kPositive   ? Polarity::kNegative
         : p == Polarity::kNegative ? Polarity::kPositive
                                    : p;
}

// Two-valued projections of a three-valued expression: IsTrue(e) is TRUE
// where e is TRUE and FALSE elsewhere; IsFalse(e) likewise. Comparisons
// become two-valued by requiring has() of each attribute they read. Used
// only for an eq/ne over booleans whose operand kept an UNKNOWN constant:
// replaced by IsTrue in a positive position and NOT IsFalse in a negative
// one, which decides the root exactly as the original would.
PlanExpr IsTrue(const PlanExpr& e);
PlanExpr IsFalse(const PlanExpr& e);

PlanExpr Guarded(const PlanExpr& e, bool negate) {
  std::vector<PlanExpr> v;
  if (e.op != Op::kHas && e.op != Op::kInScope) {
    for (const PlanExpr& o : e.operands) {
      if (o.node == PlanExpr::Node::kReference &&
          o.reference.target == PlanReference::Target::kResourceAttribute) {
        v.push_back(PlanExpr::Operation(Op::kHas, {o}));
      }
    }
  }
  v.push_back(negate ? Not(e) : e);
  return v.size() == 1 ? std::move(v[0]) : And(std::move(v));
}

PlanExpr Project(const PlanExpr& e, bool want_true) {
  TriBool t;
  if (IsConst(e, &t)) {
    return Const(t == (want_true ? TriBool::kTrue : TriBool::kFalse)
                     ? TriBool::kTrue
                     : TriBool::kFalse);
  }
  std::vector<PlanExpr> v;
  switch (e.op) {
    case Op::kAnd:
    case Op::kOr:
      for (const PlanExpr& o : e.operands) v.push_back(Project(o, want_true));
      // IsTrue(and) = and(IsTrue); IsFalse(and) = or(IsFalse); dually.
      return (e.op == Op::kAnd) == want_true ? And(std::move(v))
                                             : Or(std::move(v));
    case Op::kNot:
      return Project(e.operands[0], !want_true);
    default:
      break;
  }
  if (IsBooleanEquality(e)) {
    const PlanExpr& a = e.operands[0];
    const PlanExpr& b = e.operands[1];
    PlanExpr same =
        Or({And({IsTrue(a), IsTrue(b)}), And({IsFalse(a), IsFalse(b)})});
    PlanExpr differ =
        Or({And({IsTrue(a), IsFalse(b)}), And({IsFalse(a), IsTrue(b)})});
    return (e.op == Op::kEq) == want_true ? same : differ;
  }
  return Guarded(e, !want_true);
}

PlanExpr IsTrue(const PlanExpr& e) { return Project(e, true); }
PlanExpr IsFalse(const PlanExpr& e) { return Project(e, false); }

// A structural hash: equal trees hash equal (sets by their elements in
// order, so equal sets written in another order may not, which only costs
// a duplicate operand).
size_t Fingerprint(const PlanExpr& e) {
  switch (e.node) {
    case PlanExpr::Node::kOperation: {
      size_t h = absl::HashOf(0, static_cast<int>(e.op));
      for (const PlanExpr& o : e.operands) h = absl::HashOf(h, Fingerprint(o));
      return h;
    }
    case PlanExpr::Node::kReference:
      return absl::HashOf(1, static_cast<int>(e.reference.target),
                          e.reference.attribute,
                          static_cast<int>(e.reference.type));
    case PlanExpr::Node::kLiteral: {
      if (!e.literal.present()) return absl::HashOf(2);
      const Value v = e.literal.view();
      switch (v.type()) {
        case ValueType::kString:
          return absl::HashOf(3, v.string_value());
        case ValueType::kInt:
        case ValueType::kBool:
          return absl::HashOf(4, static_cast<int>(v.type()), v.int_value());
        case ValueType::kStringSet: {
          size_t h = absl::HashOf(5);
          for (absl::string_view x : v.set_value()) h = absl::HashOf(h, x);
          return h;
        }
      }
    }
  }
  return 0;
}

// Operands of one and/or being collected, without duplicates (the first
// kept): hashes first, so long disjunctions (many scoped bindings) stay
// linear in practice.
class UniqueOperands {
 public:
  void Add(PlanExpr e) {
    const size_t h = Fingerprint(e);
    for (size_t i = 0; i < operands_.size(); ++i) {
      if (hashes_[i] == h && operands_[i] == e) return;
    }
    operands_.push_back(std::move(e));
    hashes_.push_back(h);
  }
  std::vector<PlanExpr>& operands() { return operands_; }

 private:
  std::vector<PlanExpr> operands_;
  std::vector<size_t> hashes_;
};

PlanExpr Simplify(PlanExpr e, Polarity p) {
  if (e.node != PlanExpr::Node::kOperation) return e;
  switch (e.op) {
    case Op::kAnd:
    case Op::kOr: {
      const bool is_and = e.op == Op::kAnd;
      const TriBool absorbing = is_and ? TriBool::kFalse : TriBool::kTrue;
      const TriBool neutral = NotTri(absorbing);
      // UNKNOWN becomes FALSE (positive) or TRUE (negative): absorbing for
      // and/positive and or/negative, neutral otherwise.
      const bool unknown_absorbs =
          p != Polarity::kExact && (p == Polarity::kPositive) == is_and;
      UniqueOperands unique;
      bool unknown = false;
      for (PlanExpr& c : e.operands) {
        PlanExpr s = Simplify(std::move(c), p);
        TriBool t;
        if (IsConst(s, &t)) {
          if (t == absorbing) return Const(absorbing);
          if (t == TriBool::kUnknown) {
            if (unknown_absorbs) return Const(absorbing);
            if (p == Polarity::kExact) unknown = true;
          }
          continue;
        }
        if (s.node == PlanExpr::Node::kOperation && s.op == e.op) {
          for (PlanExpr& sub : s.operands) unique.Add(std::move(sub));
        } else {
          unique.Add(std::move(s));
        }
      }
      std::vector<PlanExpr>& out = unique.operands();
      if (out.empty()) return Const(unknown ? TriBool::kUnknown : neutral);
      if (unknown) out.push_back(Const(TriBool::kUnknown));
      if (out.size() == 1) return std::move(out[0]);
      return PlanExpr::Operation(e.op, std::move(out));
    }
    case Op::kNot: {
      PlanExpr s = Simplify(std::move(e.operands[0]), Flip(p));
      TriBool t;
      if (IsConst(s, &t)) return Const(NotTri(t));
      if (s.node == PlanExpr::Node::kOperation && s.op == Op::kNot) {
        return std::move(s.operands[0]);
      }
      return Not(std::move(s));
    }
    case Op::kEq:
    case Op::kNe: {
      if (!IsBooleanEquality(e)) return e;
      PlanExpr a = Simplify(std::move(e.operands[0]), Polarity::kExact);
      PlanExpr b = Simplify(std::move(e.operands[1]), Polarity::kExact);
      const bool eq = e.op == Op::kEq;
      TriBool ta, tb;
      const bool ca = IsConst(a, &ta);
      const bool cb = IsConst(b, &tb);
      if ((ca && ta == TriBool::kUnknown) || (cb && tb == TriBool::kUnknown)) {
        return Const(TriBool::kUnknown);
      }
      if (ca && cb) {
        return Const((ta == tb) == eq ? TriBool::kTrue : TriBool::kFalse);
      }
      if (ca || cb) {
        // eq(y, true) is y and eq(y, false) is not y, also when y is unknown.
        PlanExpr y = ca ? std::move(b) : std::move(a);
        const bool keep = ((ca ? ta : tb) == TriBool::kTrue) == eq;
        return Simplify(keep ? std::move(y) : Not(std::move(y)), p);
      }
      PlanExpr out = PlanExpr::Operation(e.op, {std::move(a), std::move(b)});
      if (p == Polarity::kExact || (!ContainsUnknown(out.operands[0]) &&
                                    !ContainsUnknown(out.operands[1]))) {
        return out;
      }
      return Simplify(
          p == Polarity::kPositive ? IsTrue(out) : Not(IsFalse(out)), p);
    }
    default:
      return e;  // comparisons of values, in, has, in_scope
  }
}

// ---- Symbolic interpretation of one request
// ----------------------------------

class Planner {
 public:
  Planner(const Program& program, const PlanRequest& request)
      : program_(program), x_(internal::Tables(program).exec), req_(request) {}

  Plan Run(PlanExplanation* explanation);

 private:
  bool Resolve(Plan& plan);
  bool BindContext();
  PlanExpr RoleApplicable(RoleId role);
  PlanExpr ScopeTerm(absl::string_view binding_scope);
  bool PurposeMatches(const BucketRule& br) const {
    return !br.requires_purpose || (br.purposes & purpose_mask_) != 0;
  }
  // The rule's condition with `unless` applied, unsimplified; TRUE when
  // unconditional.
  PlanExpr Condition(const BucketRule& br);
  PlanExpr Match(const BucketRule& br) {
    return And({RoleApplicable(br.role), Condition(br)});
  }
  // Only rules whose purpose matches and whose role some unexpired binding
  // gives are interpreted (Evaluate() runs no other condition either).
  bool Considered(const BucketRule& br) const {
    return PurposeMatches(br) && givers_.contains(br.role);
  }
  // OR over the considered `rules` that `keep` accepts of their matches,
  // grouped by role: OR over roles of AND(applicable(role), OR(conditions
  // of its rules)). Kleene logic distributes, so this is the OR of the
  // per-rule matches, with each role's IN_SCOPE disjunction written once
  // rather than once per rule (bindings x rules would blow up otherwise).
  template <typename Keep>
  PlanExpr AnyMatch(const std::vector<BucketRule>& rules, Keep keep) {
    std::vector<std::pair<RoleId, std::vector<PlanExpr>>> groups;
    absl::flat_hash_map<RoleId, size_t> group_of;
    for (const BucketRule& br : rules) {
      if (!Considered(br) || !keep(br)) continue;
      auto [it, added] = group_of.try_emplace(br.role, groups.size());
      if (added) groups.emplace_back(br.role, std::vector<PlanExpr>());
      groups[it->second].second.push_back(CachedCondition(br));
    }
    std::vector<PlanExpr> terms;
    for (auto& [role, conditions] : groups) {
      terms.push_back(And({RoleApplicable(role), Or(std::move(conditions))}));
    }
    return Or(std::move(terms));
  }
  // Condition(), interpreted once per rule and plan.
  PlanExpr CachedCondition(const BucketRule& br) {
    auto it = conditions_.find(&br);
    if (it == conditions_.end()) {
      it = conditions_.emplace(&br, Condition(br)).first;
    }
    return it->second;
  }
  PlanExpr Fetch(const Operand& o);
  PlanExpr Compare(const Instr& in);
  PlanExpr Interpret(const internal::Condition& c);
  void Explain(PlanExplanation* ex, const Plan& plan);

  const Program& program_;
  const ExecTables& x_;
  const PlanRequest& req_;
  KindId kind_ = -1;
  const Bucket* bucket_ = nullptr;
  uint64_t purpose_mask_ = 0;
  std::vector<int> requested_;  // field index per requested field
  std::vector<const Value*> context_;
  // Unexpired bindings giving each role of the bucket, by binding index.
  absl::flat_hash_map<RoleId, std::vector<int>> givers_;
  absl::flat_hash_map<RoleId, PlanExpr> applicable_;             // memo
  absl::flat_hash_map<const BucketRule*, PlanExpr> conditions_;  // memo
  bool invalid_ = false;
  bool internal_error_ = false;
};

bool Planner::Resolve(Plan& plan) {
  if (!req_.principal_known) {
    plan.reason = Reason::kUnknownPrincipal;
    return false;
  }
  if (req_.principal_disabled) {
    plan.reason = Reason::kPrincipalDisabled;
    return false;
  }
  const int32_t b = x_.kind_action_bucket.FindPair(req_.kind, req_.action);
  if (b < 0) {
    plan.kind_id = x_.kind_index.Find(req_.kind);
    plan.reason = plan.kind_id < 0 ? Reason::kUnknownResourceKind
                                   : Reason::kUnknownAction;
    return false;
  }
  kind_ = x_.bucket_kind[b];
  plan.kind_id = kind_;
  const internal::KindExec& k = x_.kinds[kind_];
  if (!req_.purpose.empty()) {
    const int purpose = x_.purpose_index.Find(req_.purpose);
    if (purpose < 0) {
      plan.reason = Reason::kUnknownPurpose;
      return false;
    }
    purpose_mask_ = uint64_t{1} << purpose;
  }
  for (absl::string_view f : req_.fields) {
    const int field = k.field_index.Find(f);
    if (field < 0) {
      plan.reason = Reason::kUnknownField;
      return false;
    }
    requested_.push_back(field);
  }
  bucket_ = &x_.buckets[b];
  const int role_count = program_.role_count();
  for (const RoleBinding& binding : req_.bindings) {
    if (binding.role < 0 || binding.role >= role_count) {
      plan.reason = Reason::kEvaluationError;  // as ResolveEffectiveRoles
      return false;
    }
  }
  if (!BindContext()) {
    plan.reason = Reason::kInvalidRequest;
    return false;
  }
  // Which roles of the bucket each unexpired binding gives.
  const std::vector<uint64_t>& any_role = bucket_->any_role;
  for (size_t i = 0; i < req_.bindings.size(); ++i) {
    const RoleBinding& binding = req_.bindings[i];
    if (!BindingUnexpired(binding.expires_at, req_.now)) continue;
    if (any_role.empty()) continue;
    for (RoleId r : program_.RoleClosure(binding.role)) {
      if ((any_role[r >> 6] >> (r & 63)) & 1) {
        std::vector<int>& g = givers_[r];
        if (g.empty() || g.back() != static_cast<int>(i)) {
          g.push_back(static_cast<int>(i));
        }
      }
    }
  }
  return true;
}

bool Planner::BindContext() {
  const auto decls = program_.context_attributes();
  context_.assign(decls.size(), nullptr);
  for (const NamedValue& nv : req_.context) {
    const int slot = x_.context_slots.Find(nv.name);
    if (slot < 0) continue;  // undeclared: ignored, as Evaluate()
    if (context_[slot] != nullptr ||
        (nv.value.present() && nv.value.type() != decls[slot].type)) {
      return false;
    }
    context_[slot] = &nv.value;
  }
  return true;
}

PlanExpr Planner::ScopeTerm(absl::string_view binding_scope) {
  if (binding_scope.empty()) return Const(TriBool::kTrue);
  if (req_.scope_known) {
    return Const(ScopeCovers(binding_scope, req_.scope) ? TriBool::kTrue
                                                        : TriBool::kFalse);
  }
  PlanReference scope;
  scope.target = PlanReference::Target::kResourceScope;
  return PlanExpr::Operation(
      Op::kInScope,
      {PlanExpr::Reference(scope),
       PlanExpr::Literal(OwnedValue::String(std::string(binding_scope)))});
}

// Computed once per role, not per rule: many bindings times many rules of
// one role would otherwise repeat the same IN_SCOPE disjunction.
PlanExpr Planner::RoleApplicable(RoleId role) {
  auto memo = applicable_.find(role);
  if (memo != applicable_.end()) return memo->second;
  std::vector<PlanExpr> terms;
  auto it = givers_.find(role);
  if (it != givers_.end()) {
    for (int i : it->second) terms.push_back(ScopeTerm(req_.bindings[i].scope));
  }
  PlanExpr e = Simplify(Or(std::move(terms)), Polarity::kPositive);
  applicable_.emplace(role, e);
  return e;
}

PlanExpr Planner::Condition(const BucketRule& br) {
  if (br.condition < 0) return Const(TriBool::kTrue);
  PlanExpr c = Interpret(x_.conditions[br.condition]);
  return br.unless ? Not(std::move(c)) : c;
}

PlanExpr Planner::Fetch(const Operand& o) {
  switch (o.source) {
    case OperandSource::kConst:
      return PlanExpr::Literal(x_.constants[o.index]);
    case OperandSource::kPrincipalId:
      return PlanExpr::Literal(
          OwnedValue::String(std::string(req_.principal_id)));
    case OperandSource::kResourceId: {
      PlanReference r;
      r.target = PlanReference::Target::kResourceId;
      return PlanExpr::Reference(r);
    }
    case OperandSource::kResourceScope: {
      if (req_.scope_known) {
        return PlanExpr::Literal(OwnedValue::String(std::string(req_.scope)));
      }
      PlanReference r;
      r.target = PlanReference::Target::kResourceScope;
      return PlanExpr::Reference(r);
    }
    case OperandSource::kPrincipalAttr: {
      if (o.index >= static_cast<int>(req_.principal_attributes.size())) {
        return PlanExpr::Literal(OwnedValue());
      }
      const Value& v = req_.principal_attributes[o.index];
      if (v.present() &&
          v.type() != program_.principal_attributes()[o.index].type) {
        invalid_ = true;  // Evaluate(): INVALID_REQUEST when read
        return PlanExpr::Literal(OwnedValue());
      }
      return PlanExpr::Literal(OwnedValue(v));
    }
    case OperandSource::kResourceAttr: {
      const internal::KindExec& k = x_.kinds[kind_];
      const Program::KindInfo& info = program_.kinds()[kind_];
      for (size_t local = 0; local < k.attribute_global_slot.size(); ++local) {
        if (k.attribute_global_slot[local] != o.index) continue;
        PlanReference r;
        r.target = PlanReference::Target::kResourceAttribute;
        r.attribute = info.attributes[local].name;
        r.type = info.attributes[local].type;
        return PlanExpr::Reference(std::move(r));
      }
      internal_error_ = true;  // a slot the kind does not declare
      return PlanExpr::Literal(OwnedValue());
    }
    case OperandSource::kContextAttr: {
      if (o.index < 0 || o.index >= static_cast<int>(context_.size())) {
        internal_error_ = true;
        return PlanExpr::Literal(OwnedValue());
      }
      const Value* v = context_[o.index];
      return PlanExpr::Literal(v == nullptr ? OwnedValue() : OwnedValue(*v));
    }
  }
  internal_error_ = true;
  return PlanExpr::Literal(OwnedValue());
}

ValueType TypeOf(const PlanExpr& e) {
  return e.node == PlanExpr::Node::kReference ? e.reference.type
                                              : e.literal.type();
}

bool IsAbsentLiteral(const PlanExpr& e) {
  return e.node == PlanExpr::Node::kLiteral && !e.literal.present();
}

TriBool FoldOrder(CmpOp op, int c) {
  bool r = false;
  switch (op) {
    case CmpOp::kEq:
      r = c == 0;
      break;
    case CmpOp::kNe:
      r = c != 0;
      break;
    case CmpOp::kLt:
      r = c < 0;
      break;
    case CmpOp::kLe:
      r = c <= 0;
      break;
    case CmpOp::kGt:
      r = c > 0;
      break;
    case CmpOp::kGe:
      r = c >= 0;
      break;
  }
  return r ? TriBool::kTrue : TriBool::kFalse;
}

// -1, 0, 1 for two present values of one type; sets compare as equal or 1.
int CompareValues(const Value& a, const Value& b) {
  switch (a.type()) {
    case ValueType::kString:
      return a.string_value() < b.string_value()   ? -1
             : a.string_value() > b.string_value() ? 1
                                                   : 0;
    case ValueType::kInt:
    case ValueType::kBool: {
      const int64_t x =
          a.type() == ValueType::kInt ? a.int_value() : a.bool_value();
      const int64_t y =
          b.type() == ValueType::kInt ? b.int_value() : b.bool_value();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case ValueType::kStringSet:
      return a == b ? 0 : 1;
  }
  return 1;
}

Op CmpToOp(CmpOp c) {
  switch (c) {
    case CmpOp::kEq:
      return Op::kEq;
    case CmpOp::kNe:
      return Op::kNe;
    case CmpOp::kLt:
      return Op::kLt;
    case CmpOp::kLe:
      return Op::kLe;
    case CmpOp::kGt:
      return Op::kGt;
    case CmpOp::kGe:
      return Op::kGe;
  }
  return Op::kEq;
}

PlanExpr Planner::Compare(const Instr& in) {
  PlanExpr a = Fetch(in.a);
  PlanExpr b = Fetch(in.b);
  if (IsAbsentLiteral(a) || IsAbsentLiteral(b)) return Const(TriBool::kUnknown);
  if (TypeOf(a) != in.type || TypeOf(b) != in.type ||
      (in.type == ValueType::kStringSet && in.cmp != CmpOp::kEq &&
       in.cmp != CmpOp::kNe)) {
    internal_error_ = true;
    return Const(TriBool::kUnknown);
  }
  if (a.node == PlanExpr::Node::kLiteral &&
      b.node == PlanExpr::Node::kLiteral) {
    return Const(
        FoldOrder(in.cmp, CompareValues(a.literal.view(), b.literal.view())));
  }
  return PlanExpr::Operation(CmpToOp(in.cmp), {std::move(a), std::move(b)});
}

PlanExpr Planner::Interpret(const internal::Condition& c) {
  std::vector<PlanExpr> stack;
  for (int32_t pc = c.begin; pc < c.end; ++pc) {
    const Instr& in = x_.code[pc];
    switch (in.op) {
      case OpCode::kPushConst:
        stack.push_back(
            Const(in.a.index != 0 ? TriBool::kTrue : TriBool::kFalse));
        break;
      case OpCode::kPushBool: {
        PlanExpr v = Fetch(in.a);
        if (v.node == PlanExpr::Node::kReference) {
          if (v.reference.type != ValueType::kBool) internal_error_ = true;
          stack.push_back(PlanExpr::Operation(
              Op::kEq,
              {std::move(v), PlanExpr::Literal(OwnedValue::Bool(true))}));
        } else if (!v.literal.present()) {
          stack.push_back(Const(TriBool::kUnknown));
        } else if (v.literal.type() != ValueType::kBool) {
          internal_error_ = true;
          stack.push_back(Const(TriBool::kUnknown));
        } else {
          stack.push_back(std::move(v));  // a bool literal is its constant
        }
        break;
      }
      case OpCode::kHas: {
        PlanExpr v = Fetch(in.a);
        if (v.node == PlanExpr::Node::kLiteral) {
          stack.push_back(
              Const(v.literal.present() ? TriBool::kTrue : TriBool::kFalse));
        } else if (v.reference.target !=
                   PlanReference::Target::kResourceAttribute) {
          stack.push_back(Const(TriBool::kTrue));  // id, scope: always there
        } else {
          stack.push_back(PlanExpr::Operation(Op::kHas, {std::move(v)}));
        }
        break;
      }
      case OpCode::kCompare:
        stack.push_back(Compare(in));
        break;
      case OpCode::kInList: {
        PlanExpr v = Fetch(in.a);
        const std::vector<std::string>& list = x_.constant_lists[in.b.index];
        if (IsAbsentLiteral(v)) {
          stack.push_back(Const(TriBool::kUnknown));
        } else if (v.node == PlanExpr::Node::kLiteral) {
          if (v.literal.type() != ValueType::kString) internal_error_ = true;
          const bool found =
              std::binary_search(list.begin(), list.end(),
                                 std::string(v.literal.view().string_value()));
          stack.push_back(Const(found ? TriBool::kTrue : TriBool::kFalse));
        } else {
          stack.push_back(PlanExpr::Operation(
              Op::kIn,
              {std::move(v), PlanExpr::Literal(OwnedValue::StringSet(list))}));
        }
        break;
      }
      case OpCode::kInSet: {
        PlanExpr v = Fetch(in.a);
        PlanExpr set = Fetch(in.b);
        if (IsAbsentLiteral(v) || IsAbsentLiteral(set)) {
          stack.push_back(Const(TriBool::kUnknown));
        } else if (TypeOf(v) != ValueType::kString ||
                   TypeOf(set) != ValueType::kStringSet) {
          internal_error_ = true;
          stack.push_back(Const(TriBool::kUnknown));
        } else if (v.node == PlanExpr::Node::kLiteral &&
                   set.node == PlanExpr::Node::kLiteral) {
          bool found = false;
          for (absl::string_view e : set.literal.view().set_value()) {
            found |= e == v.literal.view().string_value();
          }
          stack.push_back(Const(found ? TriBool::kTrue : TriBool::kFalse));
        } else {
          stack.push_back(
              PlanExpr::Operation(Op::kIn, {std::move(v), std::move(set)}));
        }
        break;
      }
      case OpCode::kNot:
      case OpCode::kAnd:
      case OpCode::kOr:
      case OpCode::kEqBool:
      case OpCode::kNeBool: {
        const size_t arity = in.op == OpCode::kNot ? 1 : 2;
        if (stack.size() < arity) {
          internal_error_ = true;
          return Const(TriBool::kUnknown);
        }
        std::vector<PlanExpr> operands(
            std::make_move_iterator(stack.end() - arity),
            std::make_move_iterator(stack.end()));
        stack.resize(stack.size() - arity);
        const Op op = in.op == OpCode::kNot      ? Op::kNot
                      : in.op == OpCode::kAnd    ? Op::kAnd
                      : in.op == OpCode::kOr     ? Op::kOr
                      : in.op == OpCode::kEqBool ? Op::kEq
                                                 : Op::kNe;
        if (op == Op::kEq || op == Op::kNe) {
          // Constants on both sides fold here, so every eq/ne left with an
          // operation operand reads as an equality of booleans.
          TriBool ta, tb;
          if (IsConst(operands[0], &ta) && IsConst(operands[1], &tb)) {
            stack.push_back(ta == TriBool::kUnknown || tb == TriBool::kUnknown
                                ? Const(TriBool::kUnknown)
                                : Const((ta == tb) == (op == Op::kEq)
                                            ? TriBool::kTrue
                                            : TriBool::kFalse));
            break;
          }
          // A bare bool reference is eq(ref, true): an operation already.
        }
        stack.push_back(PlanExpr::Operation(op, std::move(operands)));
        break;
      }
    }
  }
  if (stack.size() != 1) {
    internal_error_ = true;
    return Const(TriBool::kUnknown);
  }
  return std::move(stack[0]);
}

// Sets kind, reason and condition from a simplified root.
void Settle(PlanExpr root, PlanKind* kind, PlanExpr* condition) {
  TriBool t;
  if (IsConst(root, &t)) {
    *kind = t == TriBool::kTrue ? PlanKind::kAlwaysAllowed
                                : PlanKind::kAlwaysDenied;
    *condition = PlanExpr();
    return;
  }
  *kind = PlanKind::kConditional;
  *condition = std::move(root);
}

Plan Planner::Run(PlanExplanation* explanation) {
  Plan plan;
  if (!Resolve(plan)) {
    if (explanation != nullptr) Explain(explanation, plan);
    return plan;
  }
  const Bucket& bucket = *bucket_;
  // The deny part, then the allow part (spec §6 steps 3 and 4).
  auto all = [](const BucketRule&) { return true; };
  PlanExpr deny = Simplify(AnyMatch(bucket.denies, all), Polarity::kNegative);
  PlanExpr allow = Simplify(AnyMatch(bucket.allows, all), Polarity::kPositive);
  PlanExpr root =
      Simplify(And({std::move(allow), Not(deny)}), Polarity::kPositive);
  // Field conditions (also interprets the field denies' conditions, which
  // Evaluate() runs only when the action is allowed).
  std::vector<FieldPlan> fields;
  for (size_t i = 0; i < requested_.size(); ++i) {
    const int f = requested_[i];
    auto names_f = [f](const BucketRule& br) { return br.fields.Contains(f); };
    PlanExpr grant = AnyMatch(bucket.allows, names_f);
    PlanExpr remove = AnyMatch(bucket.field_denies, names_f);
    FieldPlan fp;
    fp.field = std::string(req_.fields[i]);
    Settle(Simplify(And({root, std::move(grant), Not(std::move(remove))}),
                    Polarity::kPositive),
           &fp.kind, &fp.condition);
    fields.push_back(std::move(fp));
  }
  if (internal_error_ || invalid_) {
    plan.reason =
        internal_error_ ? Reason::kEvaluationError : Reason::kInvalidRequest;
    if (explanation != nullptr) Explain(explanation, plan);
    return plan;
  }
  TriBool deny_const;
  const bool unconditional_deny =
      IsConst(deny, &deny_const) && deny_const != TriBool::kFalse;
  Settle(std::move(root), &plan.kind, &plan.condition);
  plan.reason = plan.kind != PlanKind::kAlwaysDenied ? Reason::kAllowedByRule
                : unconditional_deny                 ? Reason::kDeniedByRule
                                                     : Reason::kNoMatchingRule;
  plan.fields = std::move(fields);
  // valid_until: the earliest expiry among the unexpired bindings that give
  // a role owning a rule of this (kind, action) pair (those the plan relies
  // on); expired ones are gone already and bindings of roles without a rule
  // here change nothing when they expire.
  for (const auto& [role, givers] : givers_) {
    for (int i : givers) {
      plan.valid_until =
          std::min(plan.valid_until, req_.bindings[i].expires_at);
    }
  }
  if (explanation != nullptr) Explain(explanation, plan);
  return plan;
}

void Planner::Explain(PlanExplanation* ex, const Plan& plan) {
  ex->lines.clear();
  ex->lines.push_back(absl::StrCat("plan: ", PlanKindName(plan.kind), " ",
                                   ReasonName(plan.reason)));
  for (const RoleBinding& b : req_.bindings) {
    const bool known = b.role >= 0 && b.role < program_.role_count();
    ex->lines.push_back(absl::StrCat(
        "binding ", known ? program_.role_name(b.role) : "<unknown role>",
        " scope \"", b.scope, "\"",
        !BindingUnexpired(b.expires_at, req_.now) ? ": expired"
        : b.expires_at == absl::InfiniteFuture()
            ? ""
            : absl::StrCat(" until ", absl::FormatTime(b.expires_at))));
  }
  if (bucket_ == nullptr) return;
  struct Line {
    int32_t rule;
    std::string text;
  };
  std::vector<Line> lines;
  auto trace = [&](const BucketRule& br, absl::string_view what) {
    const Program::RuleInfo& info = program_.rules()[br.rule];
    std::string text = absl::StrCat("rule ", info.id, " (", what, ", role ",
                                    program_.role_name(info.role), "): ");
    if (!PurposeMatches(br)) {
      absl::StrAppend(&text, "dropped: purpose does not match");
    } else if (!givers_.contains(br.role)) {
      absl::StrAppend(&text, "dropped: role not held");
    } else {
      const PlanExpr m = Simplify(Match(br), Polarity::kExact);
      TriBool t;
      if (IsConst(m, &t)) {
        absl::StrAppend(
            &text, TriBoolName(t),
            t == TriBool::kFalse ? " (dropped: never applies)" : "");
      } else {
        absl::StrAppend(&text, m.DebugString());
      }
    }
    lines.push_back({br.rule, std::move(text)});
  };
  for (const BucketRule& br : bucket_->denies) trace(br, "deny");
  for (const BucketRule& br : bucket_->field_denies)
    trace(br, "removes fields");
  for (const BucketRule& br : bucket_->allows) trace(br, "allow");
  std::stable_sort(
      lines.begin(), lines.end(),
      [](const Line& a, const Line& b) { return a.rule < b.rule; });
  for (Line& l : lines) ex->lines.push_back(std::move(l.text));
}

// ---- Evaluating a residual condition
// -----------------------------------------

class ResidualEvaluator {
 public:
  ResidualEvaluator(absl::string_view id, absl::string_view scope,
                    absl::Span<const NamedValue> attributes)
      : id_(id), scope_(scope), attributes_(attributes) {}

  // The value of a reference or literal operand; absent when unknown.
  Value Operand(const PlanExpr& e) const {
    if (e.node == PlanExpr::Node::kLiteral) return e.literal.view();
    if (e.node != PlanExpr::Node::kReference) return Value();
    switch (e.reference.target) {
      case PlanReference::Target::kResourceId:
        return Value::String(id_);
      case PlanReference::Target::kResourceScope:
        return Value::String(scope_);
      case PlanReference::Target::kResourceAttribute:
        for (const NamedValue& nv : attributes_) {
          if (nv.name != e.reference.attribute) continue;
          if (!nv.value.present() || nv.value.type() != e.reference.type) {
            return Value();
          }
          return nv.value;
        }
        return Value();
    }
    return Value();
  }

  TriBool Eval(const PlanExpr& e) const {
    TriBool t;
    if (e.node != PlanExpr::Node::kOperation) {
      // Only bool literals and references are meaningful as conditions
      // (as operands of a boolean equality: `(a < 9) != resource.vip`).
      if (IsConst(e, &t) && e.literal.present() &&
          e.literal.type() == ValueType::kBool) {
        return t;
      }
      if (e.node == PlanExpr::Node::kReference &&
          e.reference.type == ValueType::kBool) {
        const Value v = Operand(e);
        if (!v.present()) return TriBool::kUnknown;
        return v.bool_value() ? TriBool::kTrue : TriBool::kFalse;
      }
      return TriBool::kUnknown;
    }
    switch (e.op) {
      case Op::kAnd:
      case Op::kOr: {
        const TriBool absorbing =
            e.op == Op::kAnd ? TriBool::kFalse : TriBool::kTrue;
        bool unknown = e.operands.empty();
        for (const PlanExpr& o : e.operands) {
          const TriBool v = Eval(o);
          if (v == absorbing) return absorbing;
          unknown |= v == TriBool::kUnknown;
        }
        return unknown ? TriBool::kUnknown : NotTri(absorbing);
      }
      case Op::kNot:
        return e.operands.size() == 1 ? NotTri(Eval(e.operands[0]))
                                      : TriBool::kUnknown;
      case Op::kHas:
        if (e.operands.size() != 1) return TriBool::kUnknown;
        return Operand(e.operands[0]).present() ? TriBool::kTrue
                                                : TriBool::kFalse;
      case Op::kInScope: {
        if (e.operands.size() != 2) return TriBool::kUnknown;
        const Value s = Operand(e.operands[0]);
        const Value b = Operand(e.operands[1]);
        if (!s.present() || !b.present() || s.type() != ValueType::kString ||
            b.type() != ValueType::kString) {
          return TriBool::kUnknown;
        }
        return ScopeCovers(b.string_value(), s.string_value())
                   ? TriBool::kTrue
                   : TriBool::kFalse;
      }
      case Op::kIn: {
        if (e.operands.size() != 2) return TriBool::kUnknown;
        const Value v = Operand(e.operands[0]);
        const Value set = Operand(e.operands[1]);
        if (!v.present() || !set.present() || v.type() != ValueType::kString ||
            set.type() != ValueType::kStringSet) {
          return TriBool::kUnknown;
        }
        for (absl::string_view s : set.set_value()) {
          if (s == v.string_value()) return TriBool::kTrue;
        }
        return TriBool::kFalse;
      }
      default:
        break;
    }
    // Comparisons.
    if (e.operands.size() != 2) return TriBool::kUnknown;
    CmpOp cmp = CmpOp::kEq;
    switch (e.op) {
      case Op::kNe:
        cmp = CmpOp::kNe;
        break;
      case Op::kLt:
        cmp = CmpOp::kLt;
        break;
      case Op::kLe:
        cmp = CmpOp::kLe;
        break;
      case Op::kGt:
        cmp = CmpOp::kGt;
        break;
      case Op::kGe:
        cmp = CmpOp::kGe;
        break;
      default:
        break;
    }
    if (IsBooleanEquality(e)) {
      const TriBool a = Eval(e.operands[0]);
      const TriBool b = Eval(e.operands[1]);
      if (a == TriBool::kUnknown || b == TriBool::kUnknown) {
        return TriBool::kUnknown;
      }
      return FoldOrder(cmp, a == b ? 0 : 1);
    }
    const Value a = Operand(e.operands[0]);
    const Value b = Operand(e.operands[1]);
    if (!a.present() || !b.present() || a.type() != b.type()) {
      return TriBool::kUnknown;
    }
    if (a.type() == ValueType::kStringSet && cmp != CmpOp::kEq &&
        cmp != CmpOp::kNe) {
      return TriBool::kUnknown;
    }
    return FoldOrder(cmp, CompareValues(a, b));
  }

 private:
  absl::string_view id_;
  absl::string_view scope_;
  absl::Span<const NamedValue> attributes_;
};

}  // namespace

Plan PlanResources(const Program& program, const PlanRequest& request,
                   PlanExplanation* explanation) {
  Planner planner(program, request);
  return planner.Run(explanation);
}

TriBool EvaluatePlanExpr(const PlanExpr& condition,
                         absl::string_view resource_id,
                         absl::string_view resource_scope,
                         absl::Span<const NamedValue> attributes) {
  return ResidualEvaluator(resource_id, resource_scope, attributes)
      .Eval(condition);
}

}  // namespace steward::policy
