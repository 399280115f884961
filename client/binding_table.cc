// Binding rows (see binding_table.h).
#include "client/binding_table.h"

#include "absl/strings/str_cat.h"

namespace steward::client {

std::vector<std::string> BindingHeaders() {
  return {"principal_id", "role",       "scope", "expires_at",
          "granted_by",   "granted_at", "reason"};
}

std::vector<std::string> BindingCells(const steward::v1::Binding& binding,
                                      absl::Time now) {
  std::string expires = "never";
  if (binding.has_expires_at()) {
    expires = FormatTimestamp(binding.expires_at());
    if (FromProtoTime(binding.expires_at()) <= now) {
      absl::StrAppend(&expires, " (expired)");
    }
  }
  return {binding.principal_id(),
          binding.role(),
          binding.scope().empty() ? "(global)" : binding.scope(),
          expires,
          binding.granted_by(),
          FormatTimestamp(binding.granted_at()),
          binding.reason()};
}

Table BindingTable(
    const google::protobuf::RepeatedPtrField<steward::v1::Binding>& bindings,
    absl::Time now) {
  Table table(BindingHeaders());
  for (const steward::v1::Binding& binding : bindings) {
    table.AddRow(BindingCells(binding, now));
  }
  return table;
}

}  // namespace steward::client
