#include "server/grpc/proto_convert.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "proto/steward/v1/validation.h"

namespace steward::server {

using ::google::protobuf::Value;

google::protobuf::Timestamp ToProtoTime(absl::Time time) {
  google::protobuf::Timestamp out;
  int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest * 1000));
  return out;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

absl::StatusOr<absl::Time> FromProtoTime(
    const google::protobuf::Timestamp& timestamp, absl::string_view field) {
  return v1::TimeFromTimestamp(field, timestamp.seconds(), timestamp.nanos());
}

absl::StatusOr<store::AttributeMap> FromProtoAttributes(
    const google::protobuf::Map<std::string, Value>& map,
    absl::string_view field) {
  store::AttributeMap out;
  for (const auto& [name, value] : map) {
    std::string where = absl::StrCat(field, "[", name, "]");
    switch (value.kind_case()) {
      case Value::kStringValue:
        out[name] = policy::OwnedValue::String(value.string_value());
        break;
      case Value::kBoolValue:
        out[name] = policy::OwnedValue::Bool(value.bool_value());
        break;
      case Value::kNumberValue: {
        double number = value.number_value();
        if (!std::isfinite(number) || std::trunc(number) != number ||
            std::fabs(number) >= 9.007199254740992e15) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": numbers must be whole (policy ints)"));
        }
        out[name] = policy::OwnedValue::Int(static_cast<int64_t>(number));
        break;
      }
      case Value::kListValue: {
        std::vector<std::string> elements;
        for (const Value& element : value.list_value().values()) {
          if (element.kind_case() != Value::kStringValue) {
            return absl::InvalidArgumentError(absl::StrCat(
                where, ": lists may only hold strings (set<string>)"));
          }
          elements.push_back(element.string_value());
        }
        out[name] = policy::OwnedValue::StringSet(std::move(elements));
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": must be a string, whole number, bool or string list"));
    }
  }
  return out;
}

void ToProtoAttributes(const store::AttributeMap& attributes,
                       google::protobuf::Map<std::string, Value>* map) {
  for (const auto& [name, owned] : attributes) {
    if (!owned.present()) continue;
    const policy::Value value = owned.view();
    Value& out = (*map)[name];
    switch (value.type()) {
      case policy::ValueType::kString:
        out.set_string_value(std::string(value.string_value()));
        break;
      case policy::ValueType::kInt:
        out.set_number_value(static_cast<double>(value.int_value()));
        break;
      case policy::ValueType::kBool:
        out.set_bool_value(value.bool_value());
        break;
      case policy::ValueType::kStringSet: {
        auto* values = out.mutable_list_value();
        for (absl::string_view element : value.set_value()) {
          values->add_values()->set_string_value(std::string(element));
        }
        break;
      }
    }
  }
}

v1::Principal ToProto(const store::Principal& principal) {
  v1::Principal out;
  out.set_id(principal.id);
  out.set_display_name(principal.display_name);
  ToProtoAttributes(principal.attributes, out.mutable_attributes());
  out.set_disabled(principal.disabled);
  *out.mutable_created_at() = ToProtoTime(principal.created_at);
  *out.mutable_updated_at() = ToProtoTime(principal.updated_at);
  return out;
}

v1::Binding ToProto(const store::Binding& binding) {
  v1::Binding out;
  out.set_principal_id(binding.principal);
  out.set_role(binding.role);
  out.set_scope(binding.scope);
  out.set_granted_by(binding.granted_by);
  *out.mutable_granted_at() = ToProtoTime(binding.granted_at);
  if (binding.expires_at.has_value()) {
    *out.mutable_expires_at() = ToProtoTime(*binding.expires_at);
  }
  out.set_reason(binding.reason);
  return out;
}

v1::PolicyVersion ToProto(const store::PolicyVersionInfo& version,
                          absl::string_view policy_name) {
  v1::PolicyVersion out;
  out.set_version(version.version);
  out.set_sha256(version.sha256);
  out.set_author(version.author);
  out.set_message(version.message);
  *out.mutable_created_at() = ToProtoTime(version.created_at);
  out.set_active(version.active);
  out.set_policy_name(std::string(policy_name));
  return out;
}

v1::ServiceRole ToProto(store::ServiceRole role) {
  switch (role) {
    case store::ServiceRole::kClient:
      return v1::CLIENT;
    case store::ServiceRole::kAuditor:
      return v1::AUDITOR;
    case store::ServiceRole::kAdmin:
      return v1::ADMIN;
  }
  return v1::SERVICE_ROLE_UNSPECIFIED;
}

std::optional<store::ServiceRole> FromProto(v1::ServiceRole role) {
  switch (role) {
    case v1::CLIENT:
      return store::ServiceRole::kClient;
    case v1::AUDITOR:
      return store::ServiceRole::kAuditor;
    case v1::ADMIN:
      return store::ServiceRole::kAdmin;
    default:
      return std::nullopt;
  }
}

v1::ApiKey ToProto(const store::ApiKeyInfo& key) {
  v1::ApiKey out;
  out.set_name(key.name);
  out.set_role(ToProto(key.role));
  *out.mutable_created_at() = ToProtoTime(key.created_at);
  if (key.revoked_at.has_value()) {
    *out.mutable_revoked_at() = ToProtoTime(*key.revoked_at);
  }
  out.set_created_by(key.created_by);
  return out;
}

v1::Diagnostic ToProto(const policy::Diagnostic& diagnostic) {
  v1::Diagnostic out;
  out.set_severity(diagnostic.severity == policy::Severity::kError
                       ? v1::Diagnostic::ERROR
                       : v1::Diagnostic::WARNING);
  out.set_path(diagnostic.file);
  out.set_line(diagnostic.line);
  out.set_column(diagnostic.column);
  out.set_message(diagnostic.message);
  out.set_formatted(diagnostic.ToString());
  return out;
}

absl::StatusOr<std::vector<policy::SourceFile>> FromProtoSources(
    const google::protobuf::RepeatedPtrField<v1::PolicySource>& sources,
    absl::string_view field) {
  if (sources.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at least one policy source is required"));
  }
  std::vector<policy::SourceFile> out;
  for (int i = 0; i < sources.size(); ++i) {
    const v1::PolicySource& source = sources[i];
    if (source.path().empty() || source.path().size() > 256) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "].path: required, at most 256 bytes"));
    }
    out.push_back(policy::SourceFile{source.path(), source.text()});
  }
  return out;
}

}  // namespace steward::server
