#include "server/grpc/check_request.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "proto/steward/v1/validation.h"

namespace steward::server {
namespace {

using ::google::protobuf::Value;

absl::Status Invalid(absl::string_view prefix, absl::string_view field,
                     absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(prefix, field, ": ", problem));
}

// Identifiers are printable: control characters would let a caller forge
// log lines and audit exports.
bool HasControlCharacter(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

absl::Status CheckIdentifier(absl::string_view prefix, absl::string_view field,
                             absl::string_view value, bool required,
                             size_t max_bytes) {
  if (required && value.empty()) return Invalid(prefix, field, "is required");
  if (value.size() > max_bytes) {
    return Invalid(prefix, field,
                   absl::StrCat("is ", value.size(), " bytes; at most ",
                                max_bytes, " allowed"));
  }
  if (HasControlCharacter(value)) {
    return Invalid(prefix, field, "contains control characters");
  }
  return absl::OkStatus();
}

bool IsIntegral(double number) {
  return std::isfinite(number) && std::trunc(number) == number &&
         std::fabs(number) < 9.007199254740992e15;  // 2^53: exact in double
}

absl::Status CheckValue(absl::string_view prefix, const std::string& field,
                        const Value& value, const CheckLimits& limits) {
  switch (value.kind_case()) {
    case Value::kNullValue:
    case Value::kStringValue:
    case Value::kBoolValue:
      return absl::OkStatus();
    case Value::kNumberValue:
      if (!IsIntegral(value.number_value())) {
        return Invalid(prefix, field, "numbers must be whole (policy ints)");
      }
      return absl::OkStatus();
    case Value::kListValue: {
      const auto& list = value.list_value().values();
      if (static_cast<size_t>(list.size()) > limits.max_set_elements) {
        return Invalid(prefix, field,
                       absl::StrCat("list has more than ",
                                    limits.max_set_elements, " elements"));
      }
      for (const Value& element : list) {
        if (element.kind_case() != Value::kStringValue) {
          return Invalid(prefix, field,
                         "lists may only hold strings (set<string>)");
        }
      }
      return absl::OkStatus();
    }
    case Value::kStructValue:
      return Invalid(prefix, field, "nested objects are not supported");
    default:
      return Invalid(prefix, field, "value is not set");
  }
}

template <typename Map>
absl::Status CheckAttributes(absl::string_view prefix, absl::string_view field,
                             const Map& attributes, const CheckLimits& limits) {
  if (static_cast<size_t>(attributes.size()) > limits.max_attributes) {
    return Invalid(prefix, field,
                   absl::StrCat("has ", attributes.size(), " entries; at most ",
                                limits.max_attributes, " allowed"));
  }
  for (const auto& [name, value] : attributes) {
    std::string entry = absl::StrCat(field, "[", name, "]");
    if (absl::Status s =
            CheckIdentifier(prefix, entry, name, true, limits.max_id_bytes);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckValue(prefix, entry, value, limits); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

size_t CountSetElements(
    const google::protobuf::Map<std::string, Value>& attributes) {
  size_t count = 0;
  for (const auto& [name, value] : attributes) {
    if (value.kind_case() == Value::kListValue) {
      count += value.list_value().values_size();
    }
  }
  return count;
}

// Appends `map`'s entries to `out` as policy values; set elements go to
// `set_elements`, which the caller reserved for all of them (the views
// handed to policy::Value must not move).
template <typename Out>
void BindValues(const google::protobuf::Map<std::string, Value>& map,
                absl::InlinedVector<absl::string_view, 32>& set_elements,
                Out& out) {
  for (const auto& [name, value] : map) {
    policy::Value bound;
    switch (value.kind_case()) {
      case Value::kStringValue:
        bound = policy::Value::String(value.string_value());
        break;
      case Value::kBoolValue:
        bound = policy::Value::Bool(value.bool_value());
        break;
      case Value::kNumberValue:
        bound = policy::Value::Int(static_cast<int64_t>(value.number_value()));
        break;
      case Value::kListValue: {
        size_t first = set_elements.size();
        for (const Value& element : value.list_value().values()) {
          set_elements.push_back(element.string_value());
        }
        bound = policy::Value::StringSet(absl::MakeConstSpan(
            set_elements.data() + first, set_elements.size() - first));
        break;
      }
      default:
        break;  // null: absent, so comparisons on it are unknown
    }
    out.push_back(policy::NamedValue{name, bound});
  }
}

absl::Status CheckFields(
    absl::string_view prefix,
    const google::protobuf::RepeatedPtrField<std::string>& fields,
    const CheckLimits& limits) {
  if (static_cast<size_t>(fields.size()) > limits.max_fields) {
    return Invalid(prefix, "fields",
                   absl::StrCat("has ", fields.size(), " entries; at most ",
                                limits.max_fields, " allowed"));
  }
  for (int i = 0; i < fields.size(); ++i) {
    if (absl::Status s =
            CheckIdentifier(prefix, absl::StrCat("fields[", i, "]"), fields[i],
                            true, limits.max_id_bytes);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// purpose, justification and request_id, shared by both requests.
absl::Status CheckPurposeAndIds(absl::string_view prefix,
                                absl::string_view purpose,
                                absl::string_view justification,
                                absl::string_view request_id,
                                const CheckLimits& limits) {
  const size_t id = limits.max_id_bytes;
  if (absl::Status s = CheckIdentifier(prefix, "purpose", purpose, false, id);
      !s.ok()) {
    return s;
  }
  if (justification.size() > limits.max_justification_bytes) {
    return Invalid(prefix, "justification",
                   absl::StrCat("is longer than ",
                                limits.max_justification_bytes, " bytes"));
  }
  return CheckIdentifier(prefix, "request_id", request_id, false, id);
}

}  // namespace

absl::Status ValidateCheckRequest(const v1::CheckRequest& request,
                                  const CheckLimits& limits,
                                  absl::string_view prefix) {
  // The whole request first: one bound covers every long value (attribute
  // strings, lists) however it is spread.
  if (size_t bytes = request.ByteSizeLong(); bytes > limits.max_request_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "request: ", bytes, " bytes; at most ",
                     limits.max_request_bytes, " allowed"));
  }
  const size_t id = limits.max_id_bytes;
  // Principal ids follow the contract's rule (proto/steward/v1/
  // validation.h); the other names here are only bounded and printable.
  // The prefix is added only on failure: no allocation per valid check.
  if (absl::Status s =
          v1::ValidateId("principal_id", request.principal_id(), id);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, s.message()));
  }
  if (absl::Status s =
          CheckIdentifier(prefix, "action", request.action(), true, id);
      !s.ok()) {
    return s;
  }
  if (request.min_store_revision() < 0) {
    return Invalid(prefix, "min_store_revision", "must not be negative");
  }
  if (!request.has_resource())
    return Invalid(prefix, "resource", "is required");
  const v1::Resource& resource = request.resource();
  if (absl::Status s =
          CheckIdentifier(prefix, "resource.kind", resource.kind(), true, id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckIdentifier(prefix, "resource.id", resource.id(), false, id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckIdentifier(prefix, "resource.scope",
                                       resource.scope(), false, id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckAttributes(prefix, "resource.attributes",
                                       resource.attributes(), limits);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckAttributes(prefix, "context", request.context(), limits);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFields(prefix, request.fields(), limits); !s.ok()) {
    return s;
  }
  return CheckPurposeAndIds(prefix, request.purpose(), request.justification(),
                            request.request_id(), limits);
}

absl::Status ValidatePlanResourcesRequest(
    const v1::PlanResourcesRequest& request, const CheckLimits& limits) {
  constexpr absl::string_view kNoPrefix;
  if (size_t bytes = request.ByteSizeLong(); bytes > limits.max_request_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("request: ", bytes, " bytes; at most ",
                     limits.max_request_bytes, " allowed"));
  }
  const size_t id = limits.max_id_bytes;
  if (absl::Status s =
          v1::ValidateId("principal_id", request.principal_id(), id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckIdentifier(kNoPrefix, "action", request.action(), true, id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckIdentifier(kNoPrefix, "resource_kind",
                                       request.resource_kind(), true, id);
      !s.ok()) {
    return s;
  }
  if (request.min_store_revision() < 0) {
    return Invalid(kNoPrefix, "min_store_revision", "must not be negative");
  }
  if (absl::Status s =
          CheckIdentifier(kNoPrefix, "scope", request.scope(), false, id);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckAttributes(kNoPrefix, "context", request.context(), limits);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFields(kNoPrefix, request.fields(), limits);
      !s.ok()) {
    return s;
  }
  return CheckPurposeAndIds(kNoPrefix, request.purpose(),
                            request.justification(), request.request_id(),
                            limits);
}

BoundCheck::BoundCheck(const v1::CheckRequest& request, absl::Time now)
    : source_(request) {
  const v1::Resource& resource = request.resource();
  // Reserve up front: the set views handed to policy::Value must not move.
  set_elements_.reserve(CountSetElements(resource.attributes()) +
                        CountSetElements(request.context()));
  BindValues(resource.attributes(), set_elements_, resource_attributes_);
  BindValues(request.context(), set_elements_, context_);
  for (const std::string& field : request.fields()) fields_.push_back(field);

  request_.principal_id = request.principal_id();
  request_.action = request.action();
  request_.kind = resource.kind();
  request_.resource_id = resource.id();
  request_.scope = resource.scope();
  request_.resource_attributes = resource_attributes_;
  request_.context = context_;
  request_.fields = fields_;
  request_.purpose = request.purpose();
  request_.now = now;
}

}  // namespace steward::server

namespace steward::server {

BoundPlan::BoundPlan(const v1::PlanResourcesRequest& request, absl::Time now)
    : source_(request) {
  set_elements_.reserve(CountSetElements(request.context()));
  BindValues(request.context(), set_elements_, context_);
  for (const std::string& field : request.fields()) fields_.push_back(field);
  request_.principal_id = request.principal_id();
  request_.action = request.action();
  request_.kind = request.resource_kind();
  // An absent scope means "any scope": resource.scope unknown.
  request_.scope_known = request.has_scope();
  request_.scope = request.scope();
  request_.context = context_;
  request_.fields = fields_;
  request_.purpose = request.purpose();
  request_.now = now;
}

}  // namespace steward::server
