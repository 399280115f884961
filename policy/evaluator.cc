// The decision algorithm of spec §6 over the compiled tables (see
// evaluator.h and program.h for the layout).
#include "policy/evaluator.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "policy/analysis.h"
#include "policy/program_internal.h"

namespace steward::policy {
namespace {

using internal::Bucket;
using internal::BucketRule;
using internal::CmpOp;
using internal::ExecTables;
using internal::Instr;
using internal::OpCode;
using internal::Operand;
using internal::OperandSource;

inline void Prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

constexpr uint8_t kF = 0;
constexpr uint8_t kT = 1;
constexpr uint8_t kU = 2;

// Per-check scratch state. Lives on the stack of Evaluate(); sized by the
// hard limits of program.h so no allocation is ever needed.
class Scratch {
 public:
  Scratch(const Program& program, const Request& request)
      : program_(program),
        x_(internal::Tables(program).exec),
        request_(request) {}

  // Step 1 of §6 up to the bucket; returns false with `d` filled when the
  // request is decided by it.
  bool Resolve(Decision& d) {
    // The request's arrays live wherever the caller decoded them and are
    // often not in cache; they are first read only after the (kind,
    // action) probe, so start fetching them now and let the misses overlap.
    if (request_.effective_roles.empty()) Prefetch(request_.bindings.data());
    Prefetch(request_.resource_attributes.data());
    if (!request_.principal_known) {
      d.reason = Reason::kUnknownPrincipal;
      return false;
    }
    if (request_.principal_disabled) {
      d.reason = Reason::kPrincipalDisabled;
      return false;
    }
    // One probe for the common case; on a miss, find out which name is
    // wrong for the reason.
    const int32_t b =
        x_.kind_action_bucket.FindPair(request_.kind, request_.action);
    if (b < 0) {
      d.kind = x_.kind_index.Find(request_.kind);
      d.reason =
          d.kind < 0 ? Reason::kUnknownResourceKind : Reason::kUnknownAction;
      return false;
    }
    kind_ = x_.bucket_kind[b];
    d.kind = kind_;
    const internal::KindExec& k = x_.kinds[kind_];
    if (!request_.purpose.empty()) {
      const int purpose = x_.purpose_index.Find(request_.purpose);
      if (purpose < 0) {
        d.reason = Reason::kUnknownPurpose;
        return false;
      }
      purpose_mask_ = uint64_t{1} << purpose;
    }
    for (absl::string_view f : request_.fields) {
      const int field = k.field_index.Find(f);
      if (field < 0) {
        d.reason = Reason::kUnknownField;
        return false;
      }
      requested_.Add(field);
    }
    bucket_ = &x_.buckets[b];
    // Effective roles (§6 step 2).
    const int words = x_.role_words;
    if (!request_.effective_roles.empty()) {
      // Resolved by the caller; bits past the last role are never read
      // (HasRole takes the Program's roles, AnyRoleCanMatch ANDs with a
      // mask that has none).
      if (request_.effective_roles.size() < static_cast<size_t>(words)) {
        d.reason = Reason::kEvaluationError;
        return false;
      }
      std::memcpy(roles_, request_.effective_roles.data(),
                  sizeof(uint64_t) * words);
      return true;
    }
    if (!ResolveEffectiveRoles(program_, request_.bindings, request_.scope,
                               request_.now, absl::MakeSpan(roles_, words))) {
      d.reason = Reason::kEvaluationError;
      return false;
    }
    return true;
  }

  bool AnyRoleCanMatch() const {
    const std::vector<uint64_t>& mask = bucket_->any_role;
    if (mask.empty()) return false;
    for (int i = 0; i < x_.role_words; ++i) {
      if (mask[i] & roles_[i]) return true;
    }
    return false;
  }

  bool HasRole(RoleId r) const { return (roles_[r >> 6] >> (r & 63)) & 1; }
  bool PurposeMatches(const BucketRule& br) const {
    return !br.requires_purpose || (br.purposes & purpose_mask_) != 0;
  }

  // The rule's condition as written (before `unless` negation); kT when
  // unconditional.
  uint8_t RawCondition(const BucketRule& br) {
    if (br.condition < 0) return kT;
    // A failed Bind leaves slots unset (context_ is not even cleared): every
    // later condition must be unknown too, not read them.
    if (!bound_) bind_ok_ = Bind();
    if (!bind_ok_) return kU;
    return Run(x_.conditions[br.condition]);
  }

  // Whether the rule applies, with the fail-closed reading for denies.
  bool Applies(const BucketRule& br, bool deny) {
    uint8_t t = RawCondition(br);
    if (br.unless && t != kU) t = t == kT ? kF : kT;
    return deny ? t != kF : t == kT;
  }

  const Bucket& bucket() const { return *bucket_; }
  const FieldSet& requested() const { return requested_; }
  // Set when the request's data could not be read as declared.
  bool invalid() const { return invalid_; }
  bool internal_error() const { return internal_error_; }
  const uint64_t* roles() const { return roles_; }

 private:
  // Maps the request's attributes to interned slots. Only the kind's slots
  // are cleared, so the cost is independent of how many kinds exist.
  bool Bind() {
    bound_ = true;
    const internal::KindExec& k = x_.kinds[kind_];
    const Program::KindInfo& info = program_.kinds()[kind_];
    for (int slot : k.attribute_global_slot) resource_[slot] = nullptr;
    // Names are hashed one after another below and string values are
    // compared later; fetch them all first so their cache misses overlap.
    for (const NamedValue& nv : request_.resource_attributes) {
      Prefetch(nv.name.data());
      if (nv.value.present() && nv.value.type() == ValueType::kString) {
        Prefetch(nv.value.string_value().data());
      }
    }
    for (const NamedValue& nv : request_.resource_attributes) {
      const int local = k.attribute_slots.Find(nv.name);
      if (local < 0) continue;  // undeclared: ignored
      const int global = k.attribute_global_slot[local];
      if (resource_[global] != nullptr ||
          (nv.value.present() &&
           nv.value.type() != info.attributes[local].type)) {
        invalid_ = true;
        return false;
      }
      resource_[global] = &nv.value;
    }
    const int ncontext = static_cast<int>(program_.context_attributes().size());
    for (int i = 0; i < ncontext; ++i) context_[i] = nullptr;
    for (const NamedValue& nv : request_.context) {
      const int slot = x_.context_slots.Find(nv.name);
      if (slot < 0) continue;
      if (context_[slot] != nullptr ||
          (nv.value.present() &&
           nv.value.type() != program_.context_attributes()[slot].type)) {
        invalid_ = true;
        return false;
      }
      context_[slot] = &nv.value;
    }
    return true;
  }

  Value Fetch(const Operand& o) {
    switch (o.source) {
      case OperandSource::kConst:
        return x_.constants[o.index].view();
      case OperandSource::kPrincipalId:
        return Value::String(request_.principal_id);
      case OperandSource::kResourceId:
        return Value::String(request_.resource_id);
      case OperandSource::kResourceScope:
        return Value::String(request_.scope);
      case OperandSource::kPrincipalAttr: {
        if (o.index >= static_cast<int>(request_.principal_attributes.size())) {
          return Value();
        }
        const Value& v = request_.principal_attributes[o.index];
        if (v.present() &&
            v.type() != program_.principal_attributes()[o.index].type) {
          invalid_ = true;
          return Value();
        }
        return v;
      }
      case OperandSource::kResourceAttr: {
        const Value* v = resource_[o.index];
        return v == nullptr ? Value() : *v;
      }
      case OperandSource::kContextAttr: {
        const Value* v = context_[o.index];
        return v == nullptr ? Value() : *v;
      }
    }
    internal_error_ = true;
    return Value();
  }

  template <typename T>
  static uint8_t Order(CmpOp op, const T& a, const T& b) {
    bool r = false;
    switch (op) {
      case CmpOp::kEq:
        r = a == b;
        break;
      case CmpOp::kNe:
        r = a != b;
        break;
      case CmpOp::kLt:
        r = a < b;
        break;
      case CmpOp::kLe:
        r = a <= b;
        break;
      case CmpOp::kGt:
        r = a > b;
        break;
      case CmpOp::kGe:
        r = a >= b;
        break;
    }
    return r ? kT : kF;
  }

  uint8_t Compare(const Instr& in) {
    const Value a = Fetch(in.a);
    const Value b = Fetch(in.b);
    if (!a.present() || !b.present()) return kU;
    if (a.type() != in.type || b.type() != in.type) {
      internal_error_ = true;
      return kU;
    }
    switch (in.type) {
      case ValueType::kString:
        return Order(in.cmp, a.string_value(), b.string_value());
      case ValueType::kInt:
        return Order(in.cmp, a.int_value(), b.int_value());
      case ValueType::kBool:
        return Order(in.cmp, a.bool_value(), b.bool_value());
      case ValueType::kStringSet: {
        const bool eq = a == b;
        return (in.cmp == CmpOp::kEq) == eq ? kT : kF;
      }
    }
    internal_error_ = true;
    return kU;
  }

  uint8_t Run(const internal::Condition& c) {
    uint8_t stack[kMaxConditionStack];
    int sp = 0;
    for (int32_t pc = c.begin; pc < c.end; ++pc) {
      const Instr& in = x_.code[pc];
      switch (in.op) {
        case OpCode::kPushConst:
          stack[sp++] = in.a.index != 0 ? kT : kF;
          break;
        case OpCode::kPushBool: {
          const Value v = Fetch(in.a);
          stack[sp++] = !v.present() ? kU
                        : v.type() != ValueType::kBool
                            ? (internal_error_ = true, kU)
                        : v.bool_value() ? kT
                                         : kF;
          break;
        }
        case OpCode::kHas:
          stack[sp++] = Fetch(in.a).present() ? kT : kF;
          break;
        case OpCode::kCompare:
          stack[sp++] = Compare(in);
          break;
        case OpCode::kInList: {
          const Value v = Fetch(in.a);
          if (!v.present()) {
            stack[sp++] = kU;
            break;
          }
          const std::vector<std::string>& list = x_.constant_lists[in.b.index];
          const absl::string_view s = v.string_value();
          auto it = std::lower_bound(
              list.begin(), list.end(), s,
              [](const std::string& e, absl::string_view k) { return e < k; });
          stack[sp++] = it != list.end() && *it == s ? kT : kF;
          break;
        }
        case OpCode::kInSet: {
          const Value v = Fetch(in.a);
          const Value set = Fetch(in.b);
          if (!v.present() || !set.present()) {
            stack[sp++] = kU;
            break;
          }
          uint8_t r = kF;
          for (absl::string_view e : set.set_value()) {
            if (e == v.string_value()) {
              r = kT;
              break;
            }
          }
          stack[sp++] = r;
          break;
        }
        case OpCode::kNot:
          if (stack[sp - 1] != kU) stack[sp - 1] ^= 1;
          break;
        case OpCode::kAnd: {
          const uint8_t b = stack[--sp];
          const uint8_t a = stack[sp - 1];
          stack[sp - 1] = (a == kF || b == kF)   ? kF
                          : (a == kT && b == kT) ? kT
                                                 : kU;
          break;
        }
        case OpCode::kOr: {
          const uint8_t b = stack[--sp];
          const uint8_t a = stack[sp - 1];
          stack[sp - 1] = (a == kT || b == kT)   ? kT
                          : (a == kF && b == kF) ? kF
                                                 : kU;
          break;
        }
        case OpCode::kEqBool:
        case OpCode::kNeBool: {
          const uint8_t b = stack[--sp];
          const uint8_t a = stack[sp - 1];
          if (a == kU || b == kU) {
            stack[sp - 1] = kU;
          } else {
            stack[sp - 1] = ((a == b) == (in.op == OpCode::kEqBool)) ? kT : kF;
          }
          break;
        }
      }
    }
    if (sp != 1) {
      internal_error_ = true;
      return kU;
    }
    return stack[0];
  }

  const Program& program_;
  const ExecTables& x_;
  const Request& request_;
  KindId kind_ = -1;
  uint64_t purpose_mask_ = 0;
  FieldSet requested_;
  const Bucket* bucket_ = nullptr;
  bool bound_ = false;
  bool bind_ok_ = false;
  bool invalid_ = false;
  bool internal_error_ = false;
  uint64_t roles_[kMaxRoles / 64];
  const Value* resource_[kMaxResourceAttributeNames];
  const Value* context_[kMaxAttributesPerScope];
};

// Converts an error flag raised while running conditions into a decision.
bool Failed(const Scratch& s, Decision& d) {
  if (s.internal_error()) {
    d = Decision{Effect::kDeny, Reason::kEvaluationError, "", d.kind, {}, {}};
    return true;
  }
  if (s.invalid()) {
    d = Decision{Effect::kDeny, Reason::kInvalidRequest, "", d.kind, {}, {}};
    return true;
  }
  return false;
}

Decision Decide(const Program& program, Scratch& s) {
  Decision d;
  if (!s.Resolve(d)) return d;
  if (!s.AnyRoleCanMatch()) return d;  // NO_MATCHING_RULE
  const Bucket& bucket = s.bucket();
  const auto& rules = program.rules();
  // Step 3: a deny without fields whose condition holds or is unknown.
  for (const BucketRule& br : bucket.denies) {
    if (!s.HasRole(br.role) || !s.PurposeMatches(br)) continue;
    const bool applies = s.Applies(br, /*deny=*/true);
    if (Failed(s, d)) return d;
    if (applies) {
      d.reason = Reason::kDeniedByRule;
      d.rule_id = rules[br.rule].id;
      return d;
    }
  }
  // Step 4: allows, first in source order decides the id; fields union.
  FieldSet fields;
  bool allowed = false;
  for (const BucketRule& br : bucket.allows) {
    if (!s.HasRole(br.role) || !s.PurposeMatches(br)) continue;
    const bool applies = s.Applies(br, /*deny=*/false);
    if (Failed(s, d)) return d;
    if (!applies) continue;
    if (!allowed) d.rule_id = rules[br.rule].id;
    allowed = true;
    fields |= br.fields;
  }
  if (!allowed) return d;  // NO_MATCHING_RULE
  for (const BucketRule& br : bucket.field_denies) {
    if (!s.HasRole(br.role) || !s.PurposeMatches(br)) continue;
    const bool applies = s.Applies(br, /*deny=*/true);
    if (Failed(s, d)) return d;
    if (applies) fields.Remove(br.fields);
  }
  d.allowed_fields = fields;
  if (!s.requested().IsSubsetOf(fields)) {
    d.reason = Reason::kFieldsDenied;
    d.denied_fields = s.requested();
    d.denied_fields.Remove(fields);
    return d;
  }
  d.effect = Effect::kAllow;
  d.reason = Reason::kAllowedByRule;
  return d;
}

void Explain(const Program& program, const Request& request,
             const Decision& decision, Explanation* ex) {
  *ex = Explanation();
  Scratch s(program, request);
  Decision scratch;
  if (!s.Resolve(scratch)) return;
  for (RoleId r = 0; r < program.role_count(); ++r) {
    if (s.HasRole(r)) ex->effective_roles.emplace_back(program.role_name(r));
  }
  const auto& rules = program.rules();
  auto trace = [&](const BucketRule& br, bool deny, absl::string_view kind) {
    const Program::RuleInfo& info = rules[br.rule];
    RuleTrace t;
    t.rule_id = info.id;
    t.role = std::string(program.role_name(info.role));
    t.effect = info.effect;
    t.role_effective = s.HasRole(br.role);
    t.purpose_matches = s.PurposeMatches(br);
    t.condition = info.condition_text;
    t.unless = br.unless;
    if (!t.role_effective) {
      t.note = "role not held";
    } else if (!t.purpose_matches) {
      t.note = "purpose does not match";
    } else {
      t.condition_result = static_cast<TriBool>(s.RawCondition(br));
      t.matched = s.Applies(br, deny);
      if (t.matched && decision.rule_id == info.id) {
        t.note = "decided";
      } else if (t.matched) {
        t.note = absl::StrCat("matched (", kind, ")");
      } else if (t.condition_result == TriBool::kUnknown) {
        t.note = "condition unknown: allow does not match";
      } else {
        t.note = "condition not met";
      }
    }
    ex->rules.push_back(std::move(t));
  };
  for (const BucketRule& br : s.bucket().denies) trace(br, true, "deny");
  for (const BucketRule& br : s.bucket().field_denies) {
    trace(br, true, "removes fields");
  }
  for (const BucketRule& br : s.bucket().allows) trace(br, false, "allow");
  // Present rules in source order, as the auditor reads the policy.
  std::stable_sort(ex->rules.begin(), ex->rules.end(),
                   [&](const RuleTrace& a, const RuleTrace& b) {
                     return *program.FindRule(a.rule_id) <
                            *program.FindRule(b.rule_id);
                   });
}

}  // namespace

Decision Evaluate(const Program& program, const Request& request) {
  Scratch s(program, request);
  return Decide(program, s);
}

Decision Evaluate(const Program& program, const Request& request,
                  Explanation* explanation) {
  Decision d = Evaluate(program, request);
  Explain(program, request, d, explanation);
  return d;
}

}  // namespace steward::policy
