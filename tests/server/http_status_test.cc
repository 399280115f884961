// The gateway's one gRPC -> HTTP mapping (server/http/http_status.h), for
// every gRPC code, and the JSON error body it sends.
#include "server/http/http_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace steward::server {
namespace {

struct Case {
  grpc::StatusCode code;
  int http;
  const char* name;
};

class HttpStatusTest : public ::testing::TestWithParam<Case> {};

TEST_P(HttpStatusTest, MapsToTheUsualHttpStatusAndName) {
  EXPECT_EQ(HttpStatusOf(GetParam().code), GetParam().http);
  EXPECT_EQ(GrpcCodeName(GetParam().code), GetParam().name);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCode, HttpStatusTest,
    ::testing::Values(
        Case{grpc::StatusCode::OK, 200, "OK"},
        Case{grpc::StatusCode::CANCELLED, 499, "CANCELLED"},
        Case{grpc::StatusCode::UNKNOWN, 500, "UNKNOWN"},
        Case{grpc::StatusCode::INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"},
        Case{grpc::StatusCode::DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED"},
        Case{grpc::StatusCode::NOT_FOUND, 404, "NOT_FOUND"},
        Case{grpc::StatusCode::ALREADY_EXISTS, 409, "ALREADY_EXISTS"},
        Case{grpc::StatusCode::PERMISSION_DENIED, 403, "PERMISSION_DENIED"},
        Case{grpc::StatusCode::RESOURCE_EXHAUSTED, 429, "RESOURCE_EXHAUSTED"},
        Case{grpc::StatusCode::FAILED_PRECONDITION, 400, "FAILED_PRECONDITION"},
        Case{grpc::StatusCode::ABORTED, 409, "ABORTED"},
        Case{grpc::StatusCode::OUT_OF_RANGE, 400, "OUT_OF_RANGE"},
        Case{grpc::StatusCode::UNIMPLEMENTED, 501, "UNIMPLEMENTED"},
        Case{grpc::StatusCode::INTERNAL, 500, "INTERNAL"},
        Case{grpc::StatusCode::UNAVAILABLE, 503, "UNAVAILABLE"},
        Case{grpc::StatusCode::DATA_LOSS, 500, "DATA_LOSS"},
        Case{grpc::StatusCode::UNAUTHENTICATED, 401, "UNAUTHENTICATED"},
        Case{static_cast<grpc::StatusCode>(99), 500, "UNKNOWN"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.name) + "_" +
             std::to_string(static_cast<int>(info.param.code));
    });

TEST(JsonErrorTest, CarriesCodeNumberAndEscapedMessage) {
  nlohmann::json body = nlohmann::json::parse(JsonError(
      grpc::StatusCode::INVALID_ARGUMENT, "principal_id: \"a\nb\" is bad"));
  EXPECT_EQ(body["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(body["grpcCode"], 3);
  EXPECT_EQ(body["message"], "principal_id: \"a\nb\" is bad");
}

TEST(JsonErrorTest, BytesThatAreNotUtf8StillMakeValidJson) {
  nlohmann::json body = nlohmann::json::parse(
      JsonError(grpc::StatusCode::UNAUTHENTICATED, "key \xff\xfe"));
  EXPECT_EQ(body["code"], "UNAUTHENTICATED");
  EXPECT_THAT(body["message"].get<std::string>(),
              ::testing::StartsWith("key "));
}

}  // namespace
}  // namespace steward::server
