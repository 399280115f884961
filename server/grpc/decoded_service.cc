#include "server/grpc/decoded_service.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "server/grpc/grpc_status.h"

namespace steward::server {

absl::StatusOr<Caller> UnaryCall::Authorize(Authenticator& authenticator,
                                            Permission permission) const {
  absl::StatusOr<Caller> caller =
      authenticator.Authorize(*context_, permission, rpc_);
  if (caller.ok() && !decoded_.ok()) return decoded_;
  return caller;
}

void UnaryCall::Finish(const absl::Status& status) {
  absl::Status final_status = status;
  if (final_status.ok()) final_status = EncodeResponse(response(), out_);
  reactor_->Finish(ToGrpcStatus(final_status));
}

namespace internal {

int MethodIndex(absl::string_view service, absl::string_view method,
                const google::protobuf::Descriptor* request,
                const google::protobuf::Descriptor* response) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service));
  const google::protobuf::MethodDescriptor* found =
      descriptor == nullptr ? nullptr
                            : descriptor->FindMethodByName(std::string(method));
  if (found == nullptr || found->input_type() != request ||
      found->output_type() != response) {
    spdlog::critical("{}.{} is not a method taking {} and returning {}",
                     std::string(service), std::string(method),
                     request->full_name(), response->full_name());
    std::abort();
  }
  return found->index();
}

}  // namespace internal
}  // namespace steward::server
