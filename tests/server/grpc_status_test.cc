#include "server/grpc/grpc_status.h"

#include <gtest/gtest.h>

namespace steward::server {
namespace {

class ToGrpcStatusTest : public ::testing::TestWithParam<int> {};

TEST_P(ToGrpcStatusTest, KeepsTheCode) {
  auto code = static_cast<absl::StatusCode>(GetParam());
  grpc::Status status = ToGrpcStatus(absl::Status(code, "field x: bad"));
  EXPECT_EQ(static_cast<int>(status.error_code()), GetParam());
  bool generic = code == absl::StatusCode::kInternal ||
                 code == absl::StatusCode::kUnknown ||
                 code == absl::StatusCode::kDataLoss;
  if (generic) {
    // Internal details stay in the server log.
    EXPECT_EQ(status.error_message(), "internal error; see the server log");
  } else {
    EXPECT_EQ(status.error_message(), "field x: bad");
  }
}

// Every non-OK code of google.rpc.Code.
INSTANTIATE_TEST_SUITE_P(AllCodes, ToGrpcStatusTest, ::testing::Range(1, 17));

TEST(ToGrpcStatusTest, Ok) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

}  // namespace
}  // namespace steward::server
