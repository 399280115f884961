// Conversions between the wire types of proto/steward/v1 and the store's
// and policy's own types. Pure functions; errors name the wire field.
#ifndef STEWARD_SERVER_GRPC_PROTO_CONVERT_H_
#define STEWARD_SERVER_GRPC_PROTO_CONVERT_H_

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "policy/compiler.h"
#include "server/store/attributes.h"
#include "server/store/values.h"
#include "steward/v1/admin.pb.h"

namespace steward::server {

google::protobuf::Timestamp ToProtoTime(absl::Time time);
// The time of a Timestamp the server made itself.
// REQUIRES: `timestamp` is valid (v1::ValidateTimestamp); absl saturates
// what is not. Request fields go through the checked overload below.
absl::Time FromProtoTime(const google::protobuf::Timestamp& timestamp);
// The time of a request's Timestamp. kInvalidArgument naming `field`
// ("expires_at", "filter.since") when it is outside google.protobuf.
// Timestamp's range (v1::ValidateTimestamp). Every RPC that takes a
// Timestamp converts it with this.
absl::StatusOr<absl::Time> FromProtoTime(
    const google::protobuf::Timestamp& timestamp, absl::string_view field);

// `field` names the map in errors ("principal.attributes").
absl::StatusOr<store::AttributeMap> FromProtoAttributes(
    const google::protobuf::Map<std::string, google::protobuf::Value>& map,
    absl::string_view field);
void ToProtoAttributes(
    const store::AttributeMap& attributes,
    google::protobuf::Map<std::string, google::protobuf::Value>* map);

v1::Principal ToProto(const store::Principal& principal);
v1::Binding ToProto(const store::Binding& binding);
v1::PolicyVersion ToProto(const store::PolicyVersionInfo& version,
                          absl::string_view policy_name);
v1::ApiKey ToProto(const store::ApiKeyInfo& key);
v1::Diagnostic ToProto(const policy::Diagnostic& diagnostic);

v1::ServiceRole ToProto(store::ServiceRole role);
std::optional<store::ServiceRole> FromProto(v1::ServiceRole role);

// Sources of a policy set; errors name `field` ("sources").
absl::StatusOr<std::vector<policy::SourceFile>> FromProtoSources(
    const google::protobuf::RepeatedPtrField<v1::PolicySource>& sources,
    absl::string_view field);

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_PROTO_CONVERT_H_
