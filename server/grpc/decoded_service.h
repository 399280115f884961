// Unary services whose request bodies Steward decodes itself. A method
// served by gRPC's generated handler answers a body that does not parse (a
// proto3 string that is not UTF-8, or plain garbage) with UNIMPLEMENTED and
// no message, before any of our code runs. DecodedService serves each
// method as a raw callback method instead, decodes with DecodeRequest, and
// hands the handler a UnaryCall that carries either the request or the
// INVALID_ARGUMENT naming what is wrong with it. AdminService and
// AuditService are built on it; internal to server/grpc.
#ifndef STEWARD_SERVER_GRPC_DECODED_SERVICE_H_
#define STEWARD_SERVER_GRPC_DECODED_SERVICE_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/authenticator.h"
#include "server/grpc/request_decoding.h"

namespace steward::server {

// One unary call in progress: its context, how decoding its request went,
// and the way to answer it. Shared (std::shared_ptr) between the handler and
// whatever finishes the call later, such as an audit completion; the request
// and response live as long as the call object. Thread-compatible.
class UnaryCall {
 public:
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;
  virtual ~UnaryCall() = default;

  const grpc::CallbackServerContext& context() const { return *context_; }

  // Authorizes the caller for `permission` and then, if the request body
  // could not be decoded, returns the INVALID_ARGUMENT that says why. This
  // is the order a well-formed request sees (authorization, then
  // validation), so a caller who may not use the method learns nothing
  // about how its bytes were read, and one who may learns what is wrong.
  absl::StatusOr<Caller> Authorize(Authenticator& authenticator,
                                   Permission permission) const;

  // Encodes the response when `status` is OK, then finishes the call with
  // `status`. Call exactly once.
  void Finish(const absl::Status& status);

 protected:
  UnaryCall(grpc::CallbackServerContext* context, RpcName rpc,
            grpc::ByteBuffer* out)
      : context_(context),
        rpc_(rpc),
        reactor_(context->DefaultReactor()),
        out_(out) {}

  virtual const google::protobuf::Message& response() const = 0;

  absl::Status decoded_;

 private:
  template <typename Service>
  friend class DecodedService;

  grpc::CallbackServerContext* context_;
  // Names the call in authentication failure records.
  RpcName rpc_;
  grpc::ServerUnaryReactor* reactor_;
  grpc::ByteBuffer* out_;
};

namespace internal {

template <typename Request, typename Response>
class TypedUnaryCall final : public UnaryCall {
 public:
  TypedUnaryCall(grpc::CallbackServerContext* context, RpcName rpc,
                 const grpc::ByteBuffer& in, grpc::ByteBuffer* out)
      : UnaryCall(context, rpc, out) {
    decoded_ = DecodeRequest(in, &request_);
  }

  const Request* request() const { return &request_; }
  Response* mutable_response() { return &response_; }

 private:
  const google::protobuf::Message& response() const override {
    return response_;
  }

  Request request_;
  Response response_;
};

// The index of `method` in `service`, checked to take `request` and return
// `response`; aborts with a message otherwise (a wiring mistake that every
// server start would show).
int MethodIndex(absl::string_view service, absl::string_view method,
                const google::protobuf::Descriptor* request,
                const google::protobuf::Descriptor* response);

}  // namespace internal

// A generated service (`Grpc` is the class protoc generates for it, such
// as v1::AdminService) whose methods are served with Serve(). Methods not
// served keep gRPC's synchronous UNIMPLEMENTED handler; serve them all.
template <typename Grpc>
class DecodedService : public Grpc::Service {
 protected:
  // Serves `method` (its name in the .proto) with `handler`, a member of
  // the derived class. The handler runs on a gRPC callback thread with the
  // call and its request and response, whose contents are meaningful only
  // after call->Authorize() succeeded; it must call call->Finish() once,
  // then or later.
  // `method` must outlive the service (a string literal does).
  template <typename Derived, typename Request, typename Response>
  void Serve(absl::string_view method,
             void (Derived::*handler)(const std::shared_ptr<UnaryCall>& call,
                                      const Request* request,
                                      Response* response)) {
    const int index =
        internal::MethodIndex(Grpc::service_full_name(), method,
                              Request::descriptor(), Response::descriptor());
    Derived* self = static_cast<Derived*>(this);
    // The same handler the generated WithRawCallbackMethod_X registers; the
    // service owns it.
    this->MarkMethodRawCallback(
        index,
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                                 grpc::ByteBuffer>(
            [self, handler, rpc = RpcName{Grpc::service_full_name(), method}](
                grpc::CallbackServerContext* context,
                const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
              auto call =
                  std::make_shared<internal::TypedUnaryCall<Request, Response>>(
                      context, rpc, *in, out);
              grpc::ServerUnaryReactor* reactor = call->reactor_;
              (self->*handler)(call, call->request(), call->mutable_response());
              return reactor;
            }));
  }
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_DECODED_SERVICE_H_
