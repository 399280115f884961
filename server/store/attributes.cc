// See attributes.h.
#include "server/store/attributes.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace steward::store {
namespace {

void Canonicalize(std::vector<std::string>& set) {
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
}

}  // namespace

absl::StatusOr<AttributeMap> ParseAttributesJson(absl::string_view json) {
  if (json.size() > kMaxAttributeJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attributes: JSON is larger than ", kMaxAttributeJsonBytes, " bytes"));
  }
  // Non-throwing parse: the project does not use exceptions.
  const nlohmann::json doc = nlohmann::json::parse(
      json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError("attributes: not valid JSON");
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("attributes: must be a JSON object");
  }
  if (doc.size() > static_cast<size_t>(kMaxAttributes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("attributes: more than ", kMaxAttributes, " attributes"));
  }
  AttributeMap result;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (v.is_string()) {
      result.emplace(name, policy::OwnedValue::String(v.get<std::string>()));
    } else if (v.is_boolean()) {
      result.emplace(name, policy::OwnedValue::Bool(v.get<bool>()));
    } else if (v.is_number_integer() && !v.is_number_unsigned()) {
      result.emplace(name, policy::OwnedValue::Int(v.get<int64_t>()));
    } else if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attribute \"", name, "\": integer out of the 64-bit range"));
      }
      result.emplace(name, policy::OwnedValue::Int(static_cast<int64_t>(u)));
    } else if (v.is_array()) {
      std::vector<std::string> set;
      set.reserve(v.size());
      for (const nlohmann::json& e : v) {
        if (!e.is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "attribute \"", name, "\": a list must hold only strings"));
        }
        set.push_back(e.get_ref<const std::string&>());
      }
      Canonicalize(set);
      result.emplace(name, policy::OwnedValue::StringSet(std::move(set)));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute \"", name,
          "\": must be a string, integer, boolean or list of strings"));
    }
  }
  return result;
}

std::string AttributesToJson(const AttributeMap& attributes) {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, owned] : attributes) {
    if (!owned.present()) continue;
    const policy::Value value = owned.view();
    switch (value.type()) {
      case policy::ValueType::kString:
        doc[name] = std::string(value.string_value());
        break;
      case policy::ValueType::kInt:
        doc[name] = value.int_value();
        break;
      case policy::ValueType::kBool:
        doc[name] = value.bool_value();
        break;
      case policy::ValueType::kStringSet: {
        std::vector<std::string> set(value.set_value().begin(),
                                     value.set_value().end());
        Canonicalize(set);
        doc[name] = std::move(set);
        break;
      }
    }
  }
  // nlohmann's object is a std::map, so keys come out sorted. Invalid UTF-8
  // is replaced rather than thrown on: dump() must not throw here.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status ValidateAttributes(const policy::Program& program,
                                const AttributeMap& attributes) {
  if (attributes.size() > static_cast<size_t>(kMaxAttributes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("attributes: more than ", kMaxAttributes, " attributes"));
  }
  for (const auto& [name, value] : attributes) {
    std::optional<int> slot = program.FindPrincipalAttribute(name);
    if (!slot.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute \"", name,
          "\" is not declared in the active policy's principal block"));
    }
    const policy::ValueType declared =
        program.principal_attributes()[*slot].type;
    if (value.present() && value.type() != declared) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute \"", name, "\" must be ", policy::ValueTypeName(declared),
          ", got ", policy::ValueTypeName(value.type())));
    }
  }
  return absl::OkStatus();
}

}  // namespace steward::store
