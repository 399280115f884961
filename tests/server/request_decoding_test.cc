// Decoding of raw request bytes: a malformed message is INVALID_ARGUMENT
// naming the field whose string is not UTF-8, never echoing the bytes.
#include "server/grpc/request_decoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "steward/v1/authorization.pb.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"

namespace steward::server {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Corrupt(const google::protobuf::Message& request) {
  std::string wire = ::steward::testing::WithInvalidUtf8(request);
  EXPECT_FALSE(wire.empty()) << "no @@@@ marker";
  return wire;
}

grpc::ByteBuffer ToBuffer(const std::string& wire) {
  grpc::Slice slice(wire);
  return grpc::ByteBuffer(&slice, 1);
}

v1::CheckRequest Valid() {
  v1::CheckRequest request;
  request.set_principal_id("alice");
  request.set_action("read");
  request.mutable_resource()->set_kind("customer");
  return request;
}

TEST(IsValidUtf8Test, AcceptsUtf8AndRejectsMalformedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Zoë Åström 東京 \xF0\x9F\x94\x92"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe6\x9d"));          // truncated
}

TEST(DecodeRequestTest, DecodesAValidRequest) {
  v1::CheckRequest decoded;
  ASSERT_THAT(DecodeRequest(ToBuffer(Valid().SerializeAsString()), &decoded),
              IsOk());
  EXPECT_EQ(decoded.principal_id(), "alice");
  EXPECT_EQ(decoded.resource().kind(), "customer");
}

TEST(DecodeRequestTest, NamesTheFieldThatIsNotUtf8) {
  struct Case {
    const char* expected;
    void (*set)(v1::CheckRequest*);
  };
  const Case cases[] = {
      {"principal_id",
       [](v1::CheckRequest* r) { r->set_principal_id("@@@@"); }},
      {"action", [](v1::CheckRequest* r) { r->set_action("@@@@"); }},
      {"resource.id",
       [](v1::CheckRequest* r) { r->mutable_resource()->set_id("@@@@"); }},
      {"fields[1]",
       [](v1::CheckRequest* r) {
         r->add_fields("name");
         r->add_fields("@@@@");
       }},
      {"resource.attributes[owner]",
       [](v1::CheckRequest* r) {
         (*r->mutable_resource()->mutable_attributes())["owner"]
             .set_string_value("@@@@");
       }},
      {"context[tags]",
       [](v1::CheckRequest* r) {
         (*r->mutable_context())["tags"]
             .mutable_list_value()
             ->add_values()
             ->set_string_value("@@@@");
       }},
      {"resource.attributes (a key)",
       [](v1::CheckRequest* r) {
         (*r->mutable_resource()->mutable_attributes())["@@@@"].set_bool_value(
             true);
       }},
      {"justification",
       [](v1::CheckRequest* r) { r->set_justification("@@@@"); }},
  };
  for (const Case& c : cases) {
    v1::CheckRequest request = Valid();
    c.set(&request);
    v1::CheckRequest decoded;
    absl::Status status = DecodeRequest(ToBuffer(Corrupt(request)), &decoded);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr(std::string(c.expected) +
                                           ": not valid UTF-8")))
        << c.expected;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("\xff")));
  }
}

TEST(DecodeRequestTest, NamesTheBatchItem) {
  v1::BatchCheckRequest batch;
  *batch.add_items() = Valid();
  v1::CheckRequest bad = Valid();
  bad.set_purpose("@@@@");
  *batch.add_items() = bad;
  v1::BatchCheckRequest decoded;
  EXPECT_THAT(DecodeRequest(ToBuffer(Corrupt(batch)), &decoded),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("items[1].purpose: not valid UTF-8")));
}

TEST(DecodeRequestTest, GarbageIsNotAMessage) {
  v1::CheckRequest decoded;
  EXPECT_THAT(
      DecodeRequest(ToBuffer("\x0a\xff\xff\xff\xff\x0f"), &decoded),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("request: not a valid steward.v1.CheckRequest")));
}

}  // namespace
}  // namespace steward::server
