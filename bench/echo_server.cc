// steward_echo_server: the ceiling for stewardd's Check throughput. A bare
// gRPC callback server on the same method path that answers every Check
// with one constant, pre-encoded CheckResponse: no authentication, no
// decoding, no evaluation, no audit. Run it and stewardd under the same
// h2load command back to back; their ratio says what Steward's own work
// costs, and stays meaningful on a busy shared machine where absolute
// requests/s do not.
//   steward_echo_server [--listen 127.0.0.1:0] [--threads N]
// Prints the bound address on stdout; stops on SIGINT/SIGTERM.
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "steward/v1/authorization.grpc.pb.h"

namespace {

class EchoService final
    : public steward::v1::AuthorizationService::WithRawCallbackMethod_Check<
          steward::v1::AuthorizationService::Service> {
 public:
  EchoService() {
    steward::v1::CheckResponse response;
    response.set_effect(steward::v1::ALLOW);
    response.set_reason(steward::v1::ALLOWED_BY_RULE);
    response.set_rule_id("support/1");
    response.set_policy_version(1);
    response.set_store_revision(1);
    response.set_decision_id("0000000000000000-000000000001");
    encoded_ = response.SerializeAsString();
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* /*request*/,
                                  grpc::ByteBuffer* response) override {
    grpc::Slice slice(encoded_);
    *response = grpc::ByteBuffer(&slice, 1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::string encoded_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bare gRPC callback server answering Check (benchmark ceiling)"};
  std::string listen = "127.0.0.1:0";
  int threads = 0;
  app.add_option("--listen", listen, "address")->capture_default_str();
  app.add_option("--threads", threads, "max threads (0: gRPC default)");
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  if (threads > 0) {
    grpc::ResourceQuota quota;
    quota.SetMaxThreads(threads);
    builder.SetResourceQuota(quota);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "steward_echo_server: error: cannot listen on %s\n",
                 listen.c_str());
    return 2;
  }
  std::printf("%s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), port);
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown();
  return 0;
}
