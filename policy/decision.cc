// Names, field lists and explanation text for decisions (see decision.h).
#include "policy/decision.h"

#include <bitset>

#include "absl/strings/str_cat.h"
#include "policy/program.h"

namespace steward::policy {

absl::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kAllowedByRule:
      return "ALLOWED_BY_RULE";
    case Reason::kDeniedByRule:
      return "DENIED_BY_RULE";
    case Reason::kNoMatchingRule:
      return "NO_MATCHING_RULE";
    case Reason::kFieldsDenied:
      return "FIELDS_DENIED";
    case Reason::kUnknownPrincipal:
      return "UNKNOWN_PRINCIPAL";
    case Reason::kPrincipalDisabled:
      return "PRINCIPAL_DISABLED";
    case Reason::kUnknownResourceKind:
      return "UNKNOWN_RESOURCE_KIND";
    case Reason::kUnknownAction:
      return "UNKNOWN_ACTION";
    case Reason::kUnknownPurpose:
      return "UNKNOWN_PURPOSE";
    case Reason::kUnknownField:
      return "UNKNOWN_FIELD";
    case Reason::kInvalidRequest:
      return "INVALID_REQUEST";
    case Reason::kEvaluationError:
      return "EVALUATION_ERROR";
  }
  return "EVALUATION_ERROR";
}

absl::string_view EffectName(Effect effect) {
  return effect == Effect::kAllow ? "allow" : "deny";
}

absl::string_view TriBoolName(TriBool value) {
  switch (value) {
    case TriBool::kFalse:
      return "false";
    case TriBool::kTrue:
      return "true";
    case TriBool::kUnknown:
      return "unknown";
  }
  return "unknown";
}

int FieldSet::size() const {
  int n = 0;
  for (uint64_t w : words_) n += static_cast<int>(std::bitset<64>(w).count());
  return n;
}

namespace {
std::vector<std::string> Names(const Program& program, KindId kind,
                               const FieldSet& set) {
  std::vector<std::string> out;
  if (kind < 0 || kind >= static_cast<KindId>(program.kinds().size())) {
    return out;
  }
  const auto& fields = program.kinds()[kind].fields;
  for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
    if (set.Contains(i)) out.push_back(fields[i].name);
  }
  return out;
}
}  // namespace

std::vector<std::string> AllowedFieldNames(const Program& program,
                                           const Decision& decision) {
  return Names(program, decision.kind, decision.allowed_fields);
}

std::vector<std::string> DeniedFieldNames(const Program& program,
                                          const Decision& decision) {
  return Names(program, decision.kind, decision.denied_fields);
}

std::string Explanation::ToString() const {
  std::string out = "effective roles:";
  if (effective_roles.empty()) absl::StrAppend(&out, " (none)");
  for (const std::string& r : effective_roles) absl::StrAppend(&out, " ", r);
  absl::StrAppend(&out, "\n");
  for (const RuleTrace& t : rules) {
    absl::StrAppend(&out, "  ", t.rule_id, " [", t.role, "] ",
                    EffectName(t.effect));
    if (!t.condition.empty()) {
      absl::StrAppend(&out, " ", t.unless ? "unless" : "when", " ",
                      t.condition);
      if (t.role_effective && t.purpose_matches) {
        absl::StrAppend(&out, " = ", TriBoolName(t.condition_result));
      }
    }
    absl::StrAppend(&out, ": ", t.note, "\n");
  }
  return out;
}

}  // namespace steward::policy
