// End to end on a real stewardd: the shared CRM workload (300 principals,
// 10,000 requests with known answers) through Check and BatchCheck.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::steward::v1::AuthorizationService;

class WorkloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess();
    std::string data = dir_->path() + "/data";
    ASSERT_THAT(
        server_->Start(STEWARDD_PATH, data,
                       {"--dev", "--policy",
                        std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"}),
        IsOk());
    admin_key_ = new std::string(ReadKey(data, "admin"));
    client_key_ = new std::string(ReadKey(data, "client"));
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
    auto admin = AdminService::NewStub(*channel_);
    grpc::Status loaded =
        LoadWorkloadPrincipals(*admin, *admin_key_, STEWARD_WORKLOAD_DIR);
    ASSERT_TRUE(loaded.ok()) << loaded.error_message();
    requests_ = new std::vector<WorkloadRequest>(
        LoadWorkloadRequests(STEWARD_WORKLOAD_DIR));
    ASSERT_EQ(requests_->size(), 10000u);
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete server_;
    delete dir_;
    delete admin_key_;
    delete client_key_;
    delete requests_;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string* admin_key_;
  static std::string* client_key_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::vector<WorkloadRequest>* requests_;
};

TempDir* WorkloadTest::dir_ = nullptr;
ServerProcess* WorkloadTest::server_ = nullptr;
std::string* WorkloadTest::admin_key_ = nullptr;
std::string* WorkloadTest::client_key_ = nullptr;
std::shared_ptr<grpc::Channel>* WorkloadTest::channel_ = nullptr;
std::vector<WorkloadRequest>* WorkloadTest::requests_ = nullptr;

TEST_F(WorkloadTest, EveryCheckMatchesExpected) {
  auto stub = AuthorizationService::NewStub(*channel_);
  int mismatches = 0;
  int allows = 0;
  for (size_t i = 0; i < requests_->size(); ++i) {
    const WorkloadRequest& item = (*requests_)[i];
    v1::CheckResponse response;
    grpc::Status status =
        stub->Check(Context(*client_key_).get(), item.request, &response);
    ASSERT_TRUE(status.ok())
        << "request " << i << ": " << status.error_message();
    bool allowed = response.effect() == v1::ALLOW;
    allows += allowed;
    if (allowed != item.expect_allow && ++mismatches <= 5) {
      ADD_FAILURE() << "request " << i << " " << item.request.ShortDebugString()
                    << " got " << response.ShortDebugString();
    }
    ASSERT_FALSE(response.decision_id().empty());
    ASSERT_GT(response.policy_version(), 0);
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(allows, 4164);
}

TEST_F(WorkloadTest, EveryBatchCheckItemMatchesExpectedInOrder) {
  auto stub = AuthorizationService::NewStub(*channel_);
  int mismatches = 0;
  constexpr size_t kChunk = 1000;
  for (size_t start = 0; start < requests_->size(); start += kChunk) {
    v1::BatchCheckRequest batch;
    for (size_t i = start; i < std::min(start + kChunk, requests_->size());
         ++i) {
      *batch.add_items() = (*requests_)[i].request;
    }
    v1::BatchCheckResponse response;
    grpc::Status status =
        stub->BatchCheck(Context(*client_key_).get(), batch, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.items_size(), batch.items_size());
    for (int j = 0; j < response.items_size(); ++j) {
      bool allowed = response.items(j).effect() == v1::ALLOW;
      if (allowed != (*requests_)[start + j].expect_allow) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace steward::testing
