// See values.h.
#include "server/store/values.h"

namespace steward::store {

absl::string_view ServiceRoleName(ServiceRole role) {
  switch (role) {
    case ServiceRole::kClient:
      return "client";
    case ServiceRole::kAuditor:
      return "auditor";
    case ServiceRole::kAdmin:
      return "admin";
  }
  return "client";
}

std::optional<ServiceRole> ParseServiceRole(absl::string_view name) {
  if (name == "client") return ServiceRole::kClient;
  if (name == "auditor") return ServiceRole::kAuditor;
  if (name == "admin") return ServiceRole::kAdmin;
  return std::nullopt;
}

}  // namespace steward::store
