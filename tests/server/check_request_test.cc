#include "server/grpc/check_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "tests/testing/status_matchers.h"

namespace steward::server {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;

v1::CheckRequest Valid() {
  v1::CheckRequest request;
  request.set_principal_id("u1");
  request.set_action("read");
  request.mutable_resource()->set_kind("customer");
  request.mutable_resource()->set_id("c1");
  return request;
}

struct InvalidCase {
  std::string name;
  std::function<void(v1::CheckRequest&)> mutate;
  std::string field;
};

class ValidateCheckRequestTest : public ::testing::TestWithParam<InvalidCase> {
};

TEST_P(ValidateCheckRequestTest, NamesTheField) {
  v1::CheckRequest request = Valid();
  GetParam().mutate(request);
  EXPECT_THAT(ValidateCheckRequest(request, CheckLimits{}, "items[2]."),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("items[2]." + GetParam().field)));
}

google::protobuf::Value Number(double n) {
  google::protobuf::Value v;
  v.set_number_value(n);
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateCheckRequestTest,
    ::testing::Values(
        InvalidCase{"MissingPrincipal", [](auto& r) { r.clear_principal_id(); },
                    "principal_id"},
        InvalidCase{"EmptyAction", [](auto& r) { r.clear_action(); }, "action"},
        InvalidCase{"MissingResource", [](auto& r) { r.clear_resource(); },
                    "resource"},
        InvalidCase{"MissingKind",
                    [](auto& r) { r.mutable_resource()->clear_kind(); },
                    "resource.kind"},
        InvalidCase{"LongPrincipal",
                    [](auto& r) { r.set_principal_id(std::string(257, 'a')); },
                    "principal_id"},
        InvalidCase{"LongResourceId",
                    [](auto& r) {
                      r.mutable_resource()->set_id(std::string(300, 'x'));
                    },
                    "resource.id"},
        InvalidCase{"ControlCharacter", [](auto& r) { r.set_action("re\nad"); },
                    "action"},
        InvalidCase{"TooManyAttributes",
                    [](auto& r) {
                      for (int i = 0; i < 65; ++i) {
                        (*r.mutable_resource()
                              ->mutable_attributes())["a" + std::to_string(i)] =
                            Number(1);
                      }
                    },
                    "resource.attributes"},
        InvalidCase{"FractionalNumber",
                    [](auto& r) {
                      (*r.mutable_resource()->mutable_attributes())["amount"] =
                          Number(1.5);
                    },
                    "resource.attributes[amount]"},
        InvalidCase{"NestedObject",
                    [](auto& r) {
                      (*r.mutable_context())["mfa"].mutable_struct_value();
                    },
                    "context[mfa]"},
        InvalidCase{"ListOfNumbers",
                    [](auto& r) {
                      *(*r.mutable_context())["teams"]
                           .mutable_list_value()
                           ->add_values() = Number(3);
                    },
                    "context[teams]"},
        InvalidCase{"EmptyField", [](auto& r) { r.add_fields(""); },
                    "fields[0]"},
        InvalidCase{"OversizedRequest",
                    [](auto& r) {
                      (*r.mutable_resource()->mutable_attributes())["notes"]
                          .set_string_value(std::string(70 * 1024, 'n'));
                    },
                    "request"},
        InvalidCase{
            "LongJustification",
            [](auto& r) { r.set_justification(std::string(1025, 'j')); },
            "justification"}),
    [](const auto& info) { return info.param.name; });

TEST(ValidateCheckRequestTest, AcceptsAFullRequest) {
  v1::CheckRequest request = Valid();
  (*request.mutable_resource()->mutable_attributes())["amount"] = Number(50);
  (*request.mutable_context())["mfa"].set_bool_value(true);
  *(*request.mutable_context())["teams"].mutable_list_value()->add_values() =
      [] {
        google::protobuf::Value v;
        v.set_string_value("eu");
        return v;
      }();
  request.add_fields("email");
  request.set_purpose("support_case");
  EXPECT_THAT(ValidateCheckRequest(request, CheckLimits{}), IsOk());
}

TEST(BoundCheckTest, BindsValuesWithTheirTypes) {
  v1::CheckRequest request = Valid();
  (*request.mutable_resource()->mutable_attributes())["amount"] = Number(50);
  (*request.mutable_resource()->mutable_attributes())["owner"].set_string_value(
      "u1");
  auto& teams = (*request.mutable_context())["teams"];
  for (const char* t : {"eu", "us"}) {
    teams.mutable_list_value()->add_values()->set_string_value(t);
  }
  (*request.mutable_context())["gone"].set_null_value(
      google::protobuf::NULL_VALUE);
  request.add_fields("email");
  BoundCheck bound(request, absl::UnixEpoch());
  const policy::Request& r = bound.request();
  EXPECT_EQ(r.principal_id, "u1");
  EXPECT_EQ(r.kind, "customer");
  ASSERT_EQ(r.resource_attributes.size(), 2u);
  for (const policy::NamedValue& v : r.resource_attributes) {
    if (v.name == "amount") {
      EXPECT_EQ(v.value.type(), policy::ValueType::kInt);
      EXPECT_EQ(v.value.int_value(), 50);
    } else {
      EXPECT_EQ(v.value.string_value(), "u1");
    }
  }
  ASSERT_EQ(r.context.size(), 2u);
  for (const policy::NamedValue& v : r.context) {
    if (v.name == "teams") {
      ASSERT_EQ(v.value.set_value().size(), 2u);
      EXPECT_EQ(v.value.set_value()[1], "us");
    } else {
      EXPECT_FALSE(v.value.present());  // null is absent: unknown
    }
  }
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.fields[0], "email");
}

}  // namespace
}  // namespace steward::server
