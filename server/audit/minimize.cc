// See minimize.h.
//
// PII marking: the policy language (POLICY_LANGUAGE.md §2) marks only
// fields `pii`; Program::AttributeDecl has no pii flag. A resource attribute
// that carries the same name as a PII field of its kind holds that field's
// value, so it is treated as PII. When the language gains attribute-level
// `pii`, FromProgram should also honour that flag (one line below).
//
// "Referenced" is policy::FindReferencedAttributes (policy/analysis.h):
// what the conditions of a kind's rules read, from the compiled program.
#include "server/audit/minimize.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "policy/analysis.h"

namespace steward::audit {
namespace {

using Json = nlohmann::json;

constexpr absl::string_view kEncKey = "enc";

std::string ResourceKey(absl::string_view kind, absl::string_view name) {
  return absl::StrCat(kind, absl::string_view("\0", 1), name);
}

Json ToJson(const policy::Value& v) {
  switch (v.type()) {
    case policy::ValueType::kString:
      return Json(std::string(v.string_value()));
    case policy::ValueType::kInt:
      return Json(v.int_value());
    case policy::ValueType::kBool:
      return Json(v.bool_value());
    case policy::ValueType::kStringSet: {
      Json array = Json::array();
      for (absl::string_view s : v.set_value()) array.push_back(std::string(s));
      return array;
    }
  }
  return Json();
}

std::string Dump(const Json& j) {
  // Replace invalid UTF-8 instead of throwing: auditing must not fail on
  // odd client bytes.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Adds one kept value to `section`. Returns non-OK only on cipher failure.
absl::Status AddValue(absl::string_view section, absl::string_view name,
                      const policy::Value& value, AttributeTreatment treatment,
                      const AuditKey* key, Json& out_section, Json& omitted,
                      bool& encrypted) {
  const std::string json_name(name);
  if (treatment == AttributeTreatment::kKeep) {
    out_section[json_name] = ToJson(value);
    return absl::OkStatus();
  }
  const std::string label = absl::StrCat(section, ".", name);
  if (key == nullptr) {
    omitted.push_back(label);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> envelope =
      EncryptValue(*key, label, Dump(ToJson(value)));
  if (!envelope.ok()) return envelope.status();
  Json enc = Json::object();
  enc[std::string(kEncKey)] = *std::move(envelope);
  out_section[json_name] = std::move(enc);
  encrypted = true;
  return absl::OkStatus();
}

// Decrypts every {"enc": ...} member of `section` in place.
absl::Status DecryptSection(const AuditKey& key, absl::string_view prefix,
                            Json& section) {
  if (!section.is_object()) {
    return absl::InvalidArgumentError("malformed audit attributes");
  }
  for (auto it = section.begin(); it != section.end(); ++it) {
    Json& v = it.value();
    if (!v.is_object()) continue;
    auto enc = v.find(std::string(kEncKey));
    if (enc == v.end() || !enc->is_string()) {
      return absl::InvalidArgumentError("malformed audit attributes");
    }
    absl::StatusOr<std::string> plain = DecryptValue(
        key, absl::StrCat(prefix, ".", it.key()), enc->get<std::string>());
    if (!plain.ok()) return plain.status();
    Json parsed = Json::parse(*plain, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::DataLossError("decrypted audit value is not JSON");
    }
    v = std::move(parsed);
  }
  return absl::OkStatus();
}

}  // namespace

MinimizationPlan MinimizationPlan::FromProgram(const policy::Program& program) {
  MinimizationPlan plan;
  const auto& kinds = program.kinds();
  const auto& context = program.context_attributes();
  for (policy::KindId k = 0; k < static_cast<policy::KindId>(kinds.size());
       ++k) {
    const policy::ReferencedAttributes referenced =
        policy::FindReferencedAttributes(program, k);
    const policy::Program::KindInfo& info = kinds[k];
    absl::flat_hash_set<absl::string_view> pii_fields;
    for (const auto& f : info.fields) {
      if (f.pii) pii_fields.insert(f.name);
    }
    for (int a : referenced.resource) {
      const std::string& name = info.attributes[a].name;
      plan.SetResourceAttribute(info.name, name,
                                pii_fields.contains(name)
                                    ? AttributeTreatment::kPii
                                    : AttributeTreatment::kKeep);
    }
    // Context attributes are kept when any kind's conditions read them.
    for (int slot : referenced.context) {
      plan.SetContextAttribute(context[slot].name, AttributeTreatment::kKeep);
    }
  }
  return plan;
}

void MinimizationPlan::SetResourceAttribute(absl::string_view kind,
                                            absl::string_view name,
                                            AttributeTreatment treatment) {
  resource_[ResourceKey(kind, name)] = treatment;
}

void MinimizationPlan::SetContextAttribute(absl::string_view name,
                                           AttributeTreatment treatment) {
  context_[std::string(name)] = treatment;
}

AttributeTreatment MinimizationPlan::ResourceAttribute(
    absl::string_view kind, absl::string_view name) const {
  auto it = resource_.find(ResourceKey(kind, name));
  return it == resource_.end() ? AttributeTreatment::kDrop : it->second;
}

AttributeTreatment MinimizationPlan::ContextAttribute(
    absl::string_view name) const {
  auto it = context_.find(name);
  return it == context_.end() ? AttributeTreatment::kDrop : it->second;
}

absl::StatusOr<MinimizedAttributes> MinimizeAttributes(
    const MinimizationPlan& plan, absl::string_view resource_kind,
    absl::Span<const policy::NamedValue> resource_attributes,
    absl::Span<const policy::NamedValue> context, const AuditKey* key) {
  Json resource = Json::object();
  Json ctx = Json::object();
  Json omitted = Json::array();
  bool encrypted = false;
  for (const policy::NamedValue& nv : resource_attributes) {
    if (!nv.value.present()) continue;
    const AttributeTreatment t = plan.ResourceAttribute(resource_kind, nv.name);
    if (t == AttributeTreatment::kDrop) continue;
    absl::Status s = AddValue("resource", nv.name, nv.value, t, key, resource,
                              omitted, encrypted);
    if (!s.ok()) return s;
  }
  for (const policy::NamedValue& nv : context) {
    if (!nv.value.present()) continue;
    const AttributeTreatment t = plan.ContextAttribute(nv.name);
    if (t == AttributeTreatment::kDrop) continue;
    absl::Status s =
        AddValue("context", nv.name, nv.value, t, key, ctx, omitted, encrypted);
    if (!s.ok()) return s;
  }
  MinimizedAttributes out;
  if (resource.empty() && ctx.empty() && omitted.empty()) return out;
  Json doc = Json::object();
  if (!ctx.empty()) doc["context"] = std::move(ctx);
  if (!omitted.empty()) doc["omitted"] = std::move(omitted);
  if (!resource.empty()) doc["resource"] = std::move(resource);
  out.json = Dump(doc);
  if (encrypted) out.key_id = key->key_id();
  return out;
}

absl::StatusOr<std::string> DecryptAttributes(
    const AuditKey& key, absl::string_view attributes_json) {
  Json doc = Json::parse(attributes_json.begin(), attributes_json.end(),
                         nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("malformed audit attributes");
  }
  for (absl::string_view section : {"resource", "context"}) {
    auto it = doc.find(std::string(section));
    if (it == doc.end()) continue;
    absl::Status s = DecryptSection(key, section, *it);
    if (!s.ok()) return s;
  }
  return Dump(doc);
}

}  // namespace steward::audit
