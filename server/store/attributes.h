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

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::store {

// Attributes by name, sorted (the canonical JSON lists keys in this order).
// Values are the policy's own owned values (string, int, bool,
// set<string>); an absent value is treated as if the name were missing.
using AttributeMap = absl::btree_map<std::string, policy::OwnedValue>;

// Limits on what one principal may carry (ARCHITECTURE.md input limits).
inline constexpr int kMaxAttributes = 64;
inline constexpr size_t kMaxAttributeJsonBytes = 65536;

// Parses a JSON object whose values are strings, integers, booleans or
// arrays of strings. kInvalidArgument naming the attribute (or describing
// the syntax error) otherwise: null, floats, nested objects, mixed arrays,
// more than kMaxAttributes attributes.
absl::StatusOr<AttributeMap> ParseAttributesJson(absl::string_view json);

// The canonical JSON form: keys sorted, sets sorted and de-duplicated, no
// whitespace, absent values left out. Parsing it with ParseAttributesJson
// yields the same map (without the absent values).
std::string AttributesToJson(const AttributeMap& attributes);

// Checks every attribute against `program`'s `principal` block:
// kInvalidArgument naming the attribute when it is undeclared or its type
// differs from the declaration; also when there are more than
// kMaxAttributes. Absent declared attributes are fine (spec §2).
absl::Status ValidateAttributes(const policy::Program& program,
                                const AttributeMap& attributes);

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_ATTRIBUTES_H_
