// Input a well-behaved client never sends, on a real stewardd: request
// bodies that are not the message the method takes, or whose strings are
// not UTF-8, sent to every method of every service (taken from the service
// descriptors, so a method added later is covered without touching this
// file).
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string LengthDelimited(int number, const std::string& bytes) {
  return absl::StrCat(Varint((static_cast<uint64_t>(number) << 3) | 2),
                      Varint(bytes.size()), bytes);
}

// A body for `type` whose first reachable string field (depth first, in
// declaration order) holds bytes that are not UTF-8, and that field's path
// as the server names it. Empty when `type` has no string field.
struct Utf8Probe {
  std::string wire;
  std::string path;
};

Utf8Probe InvalidUtf8Body(const Descriptor& type, int depth = 0) {
  if (depth > 4) return {};
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (field.is_map()) continue;
    const std::string name =
        field.is_repeated() ? absl::StrCat(field.name(), "[0]") : field.name();
    if (field.type() == FieldDescriptor::TYPE_STRING) {
      return {LengthDelimited(field.number(), "\xff\xfe\xc0\x80"), name};
    }
    if (field.type() == FieldDescriptor::TYPE_MESSAGE &&
        field.message_type()->file()->package() != "google.protobuf") {
      Utf8Probe inner = InvalidUtf8Body(*field.message_type(), depth + 1);
      if (!inner.wire.empty()) {
        return {LengthDelimited(field.number(), inner.wire),
                absl::StrCat(name, ".", inner.path)};
      }
    }
  }
  return {};
}

std::vector<const MethodDescriptor*> MethodsOf(
    std::initializer_list<const char*> services) {
  std::vector<const MethodDescriptor*> methods;
  for (const char* name : services) {
    const ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            name);
    if (service == nullptr) {
      ADD_FAILURE() << "no service " << name;
      continue;
    }
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(service->method(i));
    }
  }
  return methods;
}

std::string PathOf(const MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    ASSERT_THAT(server_.Start(STEWARDD_PATH, data_, {"--dev"}), IsOk());
    channel_ = grpc::CreateChannel(server_.address(),
                                   grpc::InsecureChannelCredentials());
    admin_key_ = ReadKey(data_, "admin");
  }

  TempDir dir_;
  std::string data_;
  ServerProcess server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string admin_key_;
};

const std::initializer_list<const char*> kAllServices = {
    "steward.v1.AuthorizationService", "steward.v1.AdminService",
    "steward.v1.AuditService"};

TEST_F(HostileInputTest, GarbageBodyIsInvalidArgumentForEveryMethod) {
  const std::vector<const MethodDescriptor*> methods = MethodsOf(kAllServices);
  ASSERT_GE(methods.size(), 28u);
  for (const MethodDescriptor* method : methods) {
    // Admin keys may call everything but Check and BatchCheck.
    const std::string key = method->service()->name() == "AuthorizationService"
                                ? ReadKey(data_, "client")
                                : admin_key_;
    // Field 1, length-delimited, with a length that never ends.
    grpc::Status status =
        SendRaw(channel_, key, PathOf(*method), "\x0a\xff\xff");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << method->full_name() << ": " << status.error_message();
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat("not a valid ",
                                       method->input_type()->full_name())))
        << method->full_name();
  }
}

TEST_F(HostileInputTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  int probed = 0;
  for (const MethodDescriptor* method : MethodsOf(kAllServices)) {
    Utf8Probe probe = InvalidUtf8Body(*method->input_type());
    if (probe.wire.empty()) continue;  // nothing that could hold one
    ++probed;
    const std::string key = method->service()->name() == "AuthorizationService"
                                ? ReadKey(data_, "client")
                                : admin_key_;
    grpc::Status status = SendRaw(channel_, key, PathOf(*method), probe.wire);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << method->full_name() << ": " << status.error_message();
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat(probe.path, ": not valid UTF-8")))
        << method->full_name();
  }
  EXPECT_GE(probed, 20);
}

// Authorization comes before the body is read, as it does before a
// well-formed request is validated: a caller without a key, or with the
// wrong service role, learns nothing about how its bytes were decoded.
TEST_F(HostileInputTest, BadBodiesFromUnauthorizedCallersAreRefusedFirst) {
  const std::string client_key = ReadKey(data_, "client");
  for (const MethodDescriptor* method :
       MethodsOf({"steward.v1.AdminService", "steward.v1.AuditService"})) {
    grpc::Status status =
        SendRaw(channel_, "", PathOf(*method), "\x0a\xff\xff");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << method->full_name() << ": " << status.error_message();
    status = SendRaw(channel_, client_key, PathOf(*method), "\x0a\xff\xff");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << method->full_name() << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), Not(HasSubstr("valid")));
  }
}

// A body that decodes still reaches the handler, and its response still
// reaches the caller, through the same path.
TEST_F(HostileInputTest, WellFormedRawBodiesAreServed) {
  v1::UpsertPrincipalRequest upsert;
  upsert.mutable_principal()->set_id("alice");
  grpc::Status status =
      SendRaw(channel_, admin_key_, "/steward.v1.AdminService/UpsertPrincipal",
              upsert.SerializeAsString());
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto admin = v1::AdminService::NewStub(channel_);
  v1::GetPrincipalRequest get;
  get.set_id("alice");
  v1::GetPrincipalResponse got;
  status = admin->GetPrincipal(Context(admin_key_).get(), get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.principal().id(), "alice");
  auto audit = v1::AuditService::NewStub(channel_);
  v1::VerifyChainRequest verify;
  v1::VerifyChainResponse verified;
  status = audit->VerifyChain(Context(admin_key_).get(), verify, &verified);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace steward::testing
