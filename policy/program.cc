// Lookups of the immutable Program (see program.h).
#include "policy/program.h"

#include <algorithm>

#include "policy/program_internal.h"

namespace steward::policy {

Program::Program(internal::ProgramKey)
    : tables_(std::make_unique<internal::ProgramTables>()) {}

Program::~Program() = default;

int Program::test_count() const {
  return static_cast<int>(tables_->tests.size());
}

absl::Span<const RoleId> Program::RoleClosure(RoleId role) const {
  return tables_->closures.Of(role);
}

std::optional<RoleId> Program::FindRole(absl::string_view name) const {
  auto it = role_index_.find(name);
  if (it == role_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> Program::FindPrincipalAttribute(
    absl::string_view name) const {
  auto it = principal_slots_.find(name);
  if (it == principal_slots_.end()) return std::nullopt;
  return it->second;
}

std::optional<KindId> Program::FindKind(absl::string_view name) const {
  const int kind = tables_->exec.kind_index.Find(name);
  if (kind < 0) return std::nullopt;
  return kind;
}

std::optional<int> Program::FindRule(absl::string_view id) const {
  auto it = rule_index_.find(id);
  if (it == rule_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<std::string, std::string>> Program::SeparationConflict(
    RoleId a, RoleId b) const {
  for (const std::vector<RoleId>& group : separations_) {
    auto in_group = [&group](RoleId r) {
      return std::find(group.begin(), group.end(), r) != group.end();
    };
    for (RoleId x : RoleClosure(a)) {
      if (!in_group(x)) continue;
      for (RoleId y : RoleClosure(b)) {
        if (x != y && in_group(y)) {
          return std::make_pair(roles_[x].name, roles_[y].name);
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace steward::policy
