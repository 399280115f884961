// The outcome of one authorization check.
//
// Public. A Decision is a small value with no heap storage: the rule id
// points into the Program and fields are a bitset over the kind's declared
// fields, so the check path allocates nothing. A deny is a value, not an
// error (STYLE.md): every failure inside evaluation is a DENY with a reason.
#ifndef STEWARD_POLICY_DECISION_H_
#define STEWARD_POLICY_DECISION_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/request.h"

namespace steward::policy {

class Program;

enum class Effect { kDeny, kAllow };

enum class Reason {
  kAllowedByRule,
  kDeniedByRule,
  kNoMatchingRule,
  kFieldsDenied,
  kUnknownPrincipal,
  kPrincipalDisabled,
  kUnknownResourceKind,
  kUnknownAction,
  kUnknownPurpose,
  kUnknownField,
  kInvalidRequest,
  kEvaluationError,
};

// The spec §6 name: "ALLOWED_BY_RULE", "NO_MATCHING_RULE", ...
absl::string_view ReasonName(Reason reason);
// "allow" / "deny".
absl::string_view EffectName(Effect effect);

// Maximum number of fields one resource kind may declare (a compile error
// beyond it); this bounds FieldSet.
inline constexpr int kMaxFieldsPerKind = 128;

// A set of field indexes of one kind (index = declaration order). Value type.
class FieldSet {
 public:
  void Add(int index) { words_[index >> 6] |= uint64_t{1} << (index & 63); }
  bool Contains(int index) const {
    return (words_[index >> 6] >> (index & 63)) & 1;
  }
  bool empty() const { return (words_[0] | words_[1]) == 0; }
  int size() const;
  FieldSet& operator|=(const FieldSet& o) {
    words_[0] |= o.words_[0];
    words_[1] |= o.words_[1];
    return *this;
  }
  // Removes every member of `o`.
  void Remove(const FieldSet& o) {
    words_[0] &= ~o.words_[0];
    words_[1] &= ~o.words_[1];
  }
  bool IsSubsetOf(const FieldSet& o) const {
    return (words_[0] & ~o.words_[0]) == 0 && (words_[1] & ~o.words_[1]) == 0;
  }
  friend bool operator==(const FieldSet& a, const FieldSet& b) {
    return a.words_ == b.words_;
  }

 private:
  std::array<uint64_t, kMaxFieldsPerKind / 64> words_{};
};

struct Decision {
  Effect effect = Effect::kDeny;
  Reason reason = Reason::kNoMatchingRule;
  // The deciding rule's id; points into the Program (valid while it
  // lives), "" if none. DENIED_BY_RULE: the deny; ALLOWED_BY_RULE and
  // FIELDS_DENIED: the first matching allow in source order.
  absl::string_view rule_id;
  // The request's kind in the Program, -1 when the kind is unknown.
  KindId kind = -1;
  // Over the kind's declared fields (Program::kinds()[kind].fields).
  // allowed_fields is set on ALLOW and FIELDS_DENIED; denied_fields lists
  // the requested fields that were not allowed (FIELDS_DENIED only).
  FieldSet allowed_fields;
  FieldSet denied_fields;

  bool allowed() const { return effect == Effect::kAllow; }
};

// Field names of the decision's sets, in declaration order. Empty when the
// decision has no kind. REQUIRES: `decision` came from `program`.
std::vector<std::string> AllowedFieldNames(const Program& program,
                                           const Decision& decision);
std::vector<std::string> DeniedFieldNames(const Program& program,
                                          const Decision& decision);

// Tri-state condition result, for explanations.
enum class TriBool : uint8_t { kFalse = 0, kTrue = 1, kUnknown = 2 };
absl::string_view TriBoolName(TriBool value);  // "true"/"false"/"unknown"

// What explain mode records about one rule of the (kind, action) bucket.
struct RuleTrace {
  std::string rule_id;
  std::string role;
  Effect effect = Effect::kDeny;
  bool role_effective = false;   // the principal holds the role
  bool purpose_matches = false;  // `for` clause (true when absent)
  std::string condition;         // source text, "" when unconditional
  bool unless = false;
  TriBool condition_result = TriBool::kTrue;  // raw value of the expression
  bool matched = false;  // the rule took part in the decision
  std::string note;      // why it did or did not match
};

// A human-readable account of one decision. Built only in explain mode.
struct Explanation {
  std::vector<std::string> effective_roles;
  std::vector<RuleTrace> rules;
  std::string ToString() const;
};

}  // namespace steward::policy

#endif  // STEWARD_POLICY_DECISION_H_
