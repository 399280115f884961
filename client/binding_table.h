// The one way stewardctl shows role bindings, shared by `bindings`,
// `principal get` and the reports, so a binding reads the same everywhere.
#ifndef STEWARD_CLIENT_BINDING_TABLE_H_
#define STEWARD_CLIENT_BINDING_TABLE_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/output.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "steward/v1/admin.pb.h"

namespace steward::client {

// Columns of BindingCells(), in order.
std::vector<std::string> BindingHeaders();

// principal_id, role, scope ("(global)" when empty), expires_at (RFC 3339,
// "never", or "… (expired)" when not after `now`), granted_by, granted_at,
// reason.
std::vector<std::string> BindingCells(const steward::v1::Binding& binding,
                                      absl::Time now);

Table BindingTable(
    const google::protobuf::RepeatedPtrField<steward::v1::Binding>& bindings,
    absl::Time now);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_BINDING_TABLE_H_
