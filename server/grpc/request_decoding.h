// Decoding of request messages from their wire bytes for the raw-callback
// handlers. gRPC's generated handlers turn any decoding failure (most often a
// proto3 string that is not valid UTF-8) into UNIMPLEMENTED with an empty
// message; a caller deserves INVALID_ARGUMENT naming the field instead.
#ifndef STEWARD_SERVER_GRPC_REQUEST_DECODING_H_
#define STEWARD_SERVER_GRPC_REQUEST_DECODING_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace steward::server {

// Parses `bytes` into `message`. On failure: INVALID_ARGUMENT naming the
// first string field that is not valid UTF-8 ("resource.attributes[owner]:
// not valid UTF-8"), or saying the bytes are not a message of that type.
// Never echoes the offending bytes.
absl::Status DecodeRequest(const grpc::ByteBuffer& bytes,
                           google::protobuf::Message* message);

// Serializes a response for a raw-callback handler.
absl::Status EncodeResponse(const google::protobuf::Message& message,
                            grpc::ByteBuffer* bytes);

// The path of the first string field of `wire` (a message of `type`) that is
// not valid UTF-8, in the notation of request validation (`items[1].action`,
// `resource.attributes[owner]`, `fields[2]`); empty when there is none or
// when `wire` cannot be walked.
std::string FindInvalidUtf8Field(const google::protobuf::Descriptor& type,
                                 absl::string_view wire);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view text);

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_REQUEST_DECODING_H_
