// A fixture over one `stewardd serve --dev` on a temp data dir, with stubs
// for the three services and the dev keys it wrote. Test-only.
#ifndef STEWARD_TESTS_SERVER_DEV_SERVER_TEST_H_
#define STEWARD_TESTS_SERVER_DEV_SERVER_TEST_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {

class DevServerTest : public ::testing::Test {
 protected:
  // Starts the server (with `extra_args` after --dev) and connects.
  void StartDevServer(const std::vector<std::string>& extra_args = {}) {
    data_ = dir_.path() + "/data";
    std::vector<std::string> args = {"--dev"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    ASSERT_THAT(server_.Start(STEWARDD_PATH, data_, args), IsOk());
    channel_ = grpc::CreateChannel(server_.address(),
                                   grpc::InsecureChannelCredentials());
    admin_ = v1::AdminService::NewStub(channel_);
    authz_ = v1::AuthorizationService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
    admin_key_ = ReadKey(data_, "admin");
    client_key_ = ReadKey(data_, "client");
    auditor_key_ = ReadKey(data_, "auditor");
  }

  TempDir dir_;
  ServerProcess server_;
  std::string data_, admin_key_, client_key_, auditor_key_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::AuthorizationService::Stub> authz_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

}  // namespace steward::testing

#endif  // STEWARD_TESTS_SERVER_DEV_SERVER_TEST_H_
