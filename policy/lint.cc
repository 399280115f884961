// Least-privilege lint (see lint.h). Works on the compiled buckets, so
// "covers" means exactly what the evaluator will do.
#include "policy/lint.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/program_internal.h"

namespace steward::policy {
namespace {

using internal::BucketRule;

enum class List { kDeny, kFieldDeny, kAllow };

// Lint is advisory: bounding the pairwise shadow search keeps a policy with
// thousands of overlapping rules in one role compiling in linear time.
constexpr int kMaxCandidates = 256;

struct Entry {
  int bucket;
  List list;
  const BucketRule* rule;
};

Diagnostic At(const Program::RuleInfo& r, std::string message) {
  Diagnostic d;
  d.severity = Severity::kWarning;
  d.file = r.file;
  d.line = r.line;
  d.column = r.column;
  d.source_line = r.source_line;
  d.message = std::move(message);
  return d;
}

// True when a rule with purposes `outer` applies whenever one with `inner`
// does.
bool PurposesCover(const Program::RuleInfo& outer,
                   const Program::RuleInfo& inner) {
  if (outer.purposes.empty()) return true;
  if (inner.purposes.empty()) return false;
  for (const std::string& p : inner.purposes) {
    if (std::find(outer.purposes.begin(), outer.purposes.end(), p) ==
        outer.purposes.end()) {
      return false;
    }
  }
  return true;
}

class Linter {
 public:
  explicit Linter(const Program& p) : p_(p) {
    const internal::ExecTables& x = internal::Tables(p).exec;
    entries_.resize(p.rules().size());
    for (int b = 0; b < static_cast<int>(x.buckets.size()); ++b) {
      const internal::Bucket& bucket = x.buckets[b];
      for (const BucketRule& br : bucket.denies) {
        entries_[br.rule].push_back({b, List::kDeny, &br});
      }
      for (const BucketRule& br : bucket.field_denies) {
        entries_[br.rule].push_back({b, List::kFieldDeny, &br});
      }
      for (const BucketRule& br : bucket.allows) {
        entries_[br.rule].push_back({b, List::kAllow, &br});
      }
    }
    bucket_kind_.assign(x.buckets.size(), -1);
    for (KindId k = 0; k < static_cast<KindId>(x.kinds.size()); ++k) {
      for (int32_t b : x.kinds[k].action_bucket) {
        if (b >= 0) bucket_kind_[b] = k;
      }
    }
    std::vector<bool> denies(p.role_count(), false);
    bool any_denies = false;
    for (int i = 0; i < static_cast<int>(p.rules().size()); ++i) {
      const Program::RuleInfo& r = p.rules()[i];
      if (r.condition_mode != ConditionMode::kNone) continue;
      for (const Entry& e : entries_[i]) {
        unconditional_[Key(r.role, e.bucket)].push_back(i);
      }
      if (r.effect == Effect::kDeny && r.fields_clause == FieldsClause::kNone) {
        denies[r.role] = true;
        any_denies = true;
      }
    }
    // Only roles with an unconditional deny can make an allow unreachable.
    // next_deny_role_[k] is the first position >= k of the shared closure
    // array (role_closure.h) holding such a role: CheckUnreachable jumps
    // between them instead of walking every ancestor of every allow rule,
    // which for a chain of roles extending one another was quadratic.
    if (any_denies) {
      const std::vector<RoleId>& all = internal::Tables(p).closures.roles;
      next_deny_role_.resize(all.size() + 1);
      next_deny_role_[all.size()] = static_cast<int32_t>(all.size());
      for (size_t k = all.size(); k-- > 0;) {
        next_deny_role_[k] =
            denies[all[k]] ? static_cast<int32_t>(k) : next_deny_role_[k + 1];
      }
    }
  }

  std::vector<Diagnostic> Run() {
    const auto& rules = p_.rules();
    for (int i = 0; i < static_cast<int>(rules.size()); ++i) {
      const Program::RuleInfo& r = rules[i];
      if (r.effect == Effect::kAllow && r.all_actions && r.all_kinds) {
        out_.push_back(At(r, absl::StrCat("role '", p_.role_name(r.role),
                                          "' grants every action on every "
                                          "kind ('*' on '*')")));
      }
      CheckShadowed(i);
      if (r.effect == Effect::kAllow) CheckUnreachable(i);
      CheckPii(i);
      CheckOptional(i);
    }
    return std::move(out_);
  }

 private:
  // Whether rule j's entries cover rule i's in every bucket i reaches.
  // Entries are sorted by bucket (built in bucket order, one per bucket),
  // so this is a linear merge.
  bool Covers(int j, int i, bool deny_shadows_allow) const {
    const std::vector<Entry>& ei = entries_[i];
    const std::vector<Entry>& ej = entries_[j];
    if (ei.empty() || ej.size() < ei.size()) return false;
    size_t k = 0;
    for (const Entry& a : ei) {
      while (k < ej.size() && ej[k].bucket < a.bucket) ++k;
      if (k == ej.size() || ej[k].bucket != a.bucket) return false;
      const Entry& b = ej[k];
      bool found;
      if (deny_shadows_allow) {
        found = b.list == List::kDeny;
      } else if (b.list == a.list) {
        found = a.rule->fields.IsSubsetOf(b.rule->fields);
      } else {
        found = b.list == List::kDeny && a.list == List::kFieldDeny;
      }
      if (!found) return false;
    }
    return true;
  }

  // Unconditional rules of `role` that have an entry in `bucket`: the
  // only rules that can shadow (or always deny) a rule reaching it.
  const std::vector<int>* Candidates(RoleId role, int bucket) const {
    auto it = unconditional_.find(Key(role, bucket));
    return it == unconditional_.end() ? nullptr : &it->second;
  }
  static uint64_t Key(RoleId role, int bucket) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(role)) << 32) |
           static_cast<uint32_t>(bucket);
  }

  void CheckShadowed(int i) {
    const Program::RuleInfo& r = p_.rules()[i];
    if (entries_[i].empty()) return;
    const std::vector<int>* candidates =
        Candidates(r.role, entries_[i][0].bucket);
    if (candidates == nullptr) return;
    int examined = 0;
    for (int j : *candidates) {
      if (j == i) continue;
      if (++examined > kMaxCandidates) return;
      const Program::RuleInfo& o = p_.rules()[j];
      if (o.effect != r.effect || !PurposesCover(o, r)) continue;
      // Two identical unconditional rules shadow each other: report the
      // later one only.
      const bool mutual = r.condition_mode == ConditionMode::kNone &&
                          PurposesCover(r, o) && Covers(i, j, false);
      if (mutual && j > i) continue;
      if (Covers(j, i, false)) {
        out_.push_back(At(r, absl::StrCat("rule '", r.id,
                                          "' is shadowed by unconditional "
                                          "rule '",
                                          o.id, "' of the same role")));
        return;
      }
    }
  }

  void CheckUnreachable(int i) {
    const Program::RuleInfo& r = p_.rules()[i];
    if (entries_[i].empty() || next_deny_role_.empty()) return;
    const internal::RoleClosures& closures = internal::Tables(p_).closures;
    const int32_t end = closures.end[r.role];
    // The roles of r's closure that hold an unconditional deny, in closure
    // order; the others have no candidate that could match below.
    for (int32_t k = next_deny_role_[closures.begin[r.role]]; k < end;
         k = next_deny_role_[k + 1]) {
      const RoleId role = closures.roles[k];
      const std::vector<int>* candidates =
          Candidates(role, entries_[i][0].bucket);
      if (candidates == nullptr) continue;
      int examined = 0;
      for (int j : *candidates) {
        if (++examined > kMaxCandidates) break;
        const Program::RuleInfo& o = p_.rules()[j];
        if (o.effect != Effect::kDeny ||
            o.fields_clause != FieldsClause::kNone || !PurposesCover(o, r)) {
          continue;
        }
        if (Covers(j, i, true)) {
          out_.push_back(
              At(r, absl::StrCat("allow '", r.id,
                                 "' can never apply: unconditional deny '",
                                 o.id, "' of role '", p_.role_name(role),
                                 "' always wins")));
          return;
        }
      }
    }
  }

  void CheckPii(int i) {
    const Program::RuleInfo& r = p_.rules()[i];
    if (r.effect != Effect::kAllow ||
        r.condition_mode != ConditionMode::kNone || !r.purposes.empty()) {
      return;
    }
    absl::flat_hash_set<std::string> seen;
    std::vector<std::string> pii;
    for (const Entry& e : entries_[i]) {
      {
        const KindId k = bucket_kind_[e.bucket];
        if (k < 0) continue;
        const auto& fields = p_.kinds()[k].fields;
        for (int f = 0; f < static_cast<int>(fields.size()); ++f) {
          if (fields[f].pii && e.rule->fields.Contains(f)) {
            std::string name =
                absl::StrCat(p_.kinds()[k].name, ".", fields[f].name);
            if (seen.insert(name).second) pii.push_back(std::move(name));
          }
        }
      }
    }
    if (!pii.empty()) {
      out_.push_back(At(
          r,
          absl::StrCat("role '", p_.role_name(r.role), "' grants PII field(s) ",
                       absl::StrJoin(pii, ", "), " without a condition")));
    }
  }

  bool Optional(const internal::Operand& o, std::string* name) const {
    using internal::OperandSource;
    switch (o.source) {
      case OperandSource::kPrincipalAttr: {
        const auto& a = p_.principal_attributes()[o.index];
        *name = absl::StrCat("principal.", a.name);
        return a.optional;
      }
      case OperandSource::kContextAttr: {
        const auto& a = p_.context_attributes()[o.index];
        *name = absl::StrCat("context.", a.name);
        return a.optional;
      }
      case OperandSource::kResourceAttr:
        for (KindId k = 0; k < static_cast<KindId>(p_.kinds().size()); ++k) {
          const auto& ke = internal::Tables(p_).exec.kinds[k];
          for (int a = 0; a < static_cast<int>(ke.attribute_global_slot.size());
               ++a) {
            if (ke.attribute_global_slot[a] == o.index &&
                p_.kinds()[k].attributes[a].optional) {
              *name =
                  absl::StrCat("resource.", p_.kinds()[k].attributes[a].name);
              return true;
            }
          }
        }
        return false;
      default:
        return false;
    }
  }

  void CheckOptional(int i) {
    if (entries_[i].empty() || entries_[i][0].rule->condition < 0) return;
    const internal::ExecTables& x = internal::Tables(p_).exec;
    const internal::Condition& c = x.conditions[entries_[i][0].rule->condition];
    std::vector<std::pair<internal::OperandSource, int>> guarded;
    for (int pc = c.begin; pc < c.end; ++pc) {
      const internal::Instr& in = x.code[pc];
      if (in.op == internal::OpCode::kHas) {
        guarded.emplace_back(in.a.source, in.a.index);
      }
    }
    std::vector<std::string> unguarded;
    for (int pc = c.begin; pc < c.end; ++pc) {
      const internal::Instr& in = x.code[pc];
      if (in.op == internal::OpCode::kHas ||
          in.op == internal::OpCode::kPushConst) {
        continue;
      }
      for (const internal::Operand* o : {&in.a, &in.b}) {
        std::string name;
        if (in.op == internal::OpCode::kPushBool && o == &in.b) continue;
        if (in.op == internal::OpCode::kInList && o == &in.b) continue;
        if (!Optional(*o, &name)) continue;
        if (std::find(guarded.begin(), guarded.end(),
                      std::make_pair(o->source, static_cast<int>(o->index))) !=
            guarded.end()) {
          continue;
        }
        if (std::find(unguarded.begin(), unguarded.end(), name) ==
            unguarded.end()) {
          unguarded.push_back(name);
        }
      }
    }
    if (!unguarded.empty()) {
      out_.push_back(At(
          p_.rules()[i],
          absl::StrCat("optional attribute(s) ", absl::StrJoin(unguarded, ", "),
                       " used without a has() guard")));
    }
  }

  const Program& p_;
  std::vector<std::vector<Entry>> entries_;
  // (role, bucket) -> unconditional rules of the role there, in order.
  absl::flat_hash_map<uint64_t, std::vector<int>> unconditional_;
  // Empty when no role has an unconditional deny (see the constructor).
  std::vector<int32_t> next_deny_role_;
  std::vector<KindId> bucket_kind_;
  std::vector<Diagnostic> out_;
};

}  // namespace

std::vector<Diagnostic> Lint(const Program& program) {
  return Linter(program).Run();
}

}  // namespace steward::policy
