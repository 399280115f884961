// Principal attributes: the typed form the admin API passes in, their
// canonical JSON form stored in `principals.attributes`, and their check
// against the active policy's `principal` block.
//
// Public (the server converts google.protobuf.Value maps into an
// AttributeMap; the CLI's KEY=VALUE parsing happens on the client side).
#ifndef STEWARD_SERVER_STORE_ATTRIBUTES_H_
#define STEWARD_SERVER_STORE_ATTRIBUTES_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::store {

// One attribute value; the alternatives mirror the policy language's types
// string, int, bool and set<string>.
using AttributeValue =
    std::variant<std::string, int64_t, bool, std::vector<std::string>>;
// Attributes by name, sorted (the canonical JSON lists keys in this order).
using AttributeMap = absl::btree_map<std::string, AttributeValue>;

// Limits on what one principal may carry (ARCHITECTURE.md input limits).
inline constexpr int kMaxAttributes = 64;
inline constexpr size_t kMaxAttributeJsonBytes = 65536;

// Parses a JSON object whose values are strings, integers, booleans or
// arrays of strings. kInvalidArgument naming the attribute (or describing
// the syntax error) otherwise: null, floats, nested objects, mixed arrays,
// more than kMaxAttributes attributes.
absl::StatusOr<AttributeMap> ParseAttributesJson(absl::string_view json);

// The canonical JSON form: keys sorted, sets sorted and de-duplicated, no
// whitespace. Parsing it with ParseAttributesJson yields the same map.
std::string AttributesToJson(const AttributeMap& attributes);

// The policy type of a value (kStringSet for a vector).
policy::ValueType TypeOf(const AttributeValue& value);
// "string", "int", "bool", "set<string>".
absl::string_view TypeName(policy::ValueType type);

// Checks every attribute against `program`'s `principal` block:
// kInvalidArgument naming the attribute when it is undeclared or its type
// differs from the declaration; also when there are more than
// kMaxAttributes. Absent declared attributes are fine (spec §2).
absl::Status ValidateAttributes(const policy::Program& program,
                                const AttributeMap& attributes);

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_ATTRIBUTES_H_
