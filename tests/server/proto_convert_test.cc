// server/proto_convert: every conversion between the wire types and the
// store's and policy's own, both ways where both exist, with the inputs the
// wire may carry that the store cannot hold (fractional, non-finite and
// too-large numbers, non-string list elements, null and struct values,
// unknown enum values, missing or oversized source paths).
#include "server/grpc/proto_convert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/testing/status_matchers.h"

namespace steward::server {
namespace {

using ::google::protobuf::Value;
using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using ProtoMap = google::protobuf::Map<std::string, Value>;

// 2026-01-01T00:00:00.123456Z.
const absl::Time kTime = absl::FromUnixMicros(1767225600123456);

// --- Timestamps -----------------------------------------------------------

struct TimeCase {
  const char* name;
  absl::Time time;
  int64_t seconds;
  int32_t nanos;
};

class ProtoTimeTest : public ::testing::TestWithParam<TimeCase> {};

TEST_P(ProtoTimeTest, ConvertsBothWays) {
  const TimeCase& c = GetParam();
  const google::protobuf::Timestamp proto = ToProtoTime(c.time);
  EXPECT_EQ(proto.seconds(), c.seconds);
  EXPECT_EQ(proto.nanos(), c.nanos);
  EXPECT_EQ(FromProtoTime(proto), c.time);
}

INSTANTIATE_TEST_SUITE_P(
    Times, ProtoTimeTest,
    ::testing::Values(
        TimeCase{"Epoch", absl::UnixEpoch(), 0, 0},
        TimeCase{"Micros", kTime, 1767225600, 123456000},
        // Before 1970 nanos still count forward from the second below.
        TimeCase{"OneMicroBeforeEpoch", absl::FromUnixMicros(-1), -1,
                 999999000},
        TimeCase{"BeforeEpoch", absl::FromUnixMicros(-1500000), -2, 500000000},
        // The ends of Timestamp's range: 0001-01-01 and 9999-12-31.
        TimeCase{"FirstValid", absl::FromUnixSeconds(-62135596800),
                 -62135596800, 0},
        TimeCase{
            "LastValid",
            absl::FromUnixSeconds(253402300799) + absl::Microseconds(999999),
            253402300799, 999999000}),
    [](const ::testing::TestParamInfo<TimeCase>& info) {
      return std::string(info.param.name);
    });

TEST(ProtoTimeTest, KeepsMicrosecondsAndDropsFinerDigitsTowardThePast) {
  EXPECT_EQ(ToProtoTime(absl::FromUnixNanos(1999)).nanos(), 1000);
  const google::protobuf::Timestamp before =
      ToProtoTime(absl::FromUnixNanos(-1));
  EXPECT_EQ(before.seconds(), -1);
  EXPECT_EQ(before.nanos(), 999999000);
}

TEST(ProtoTimeTest, ReadsNanoseconds) {
  google::protobuf::Timestamp proto;
  proto.set_seconds(1767225600);
  proto.set_nanos(123456789);
  EXPECT_EQ(FromProtoTime(proto),
            absl::FromUnixSeconds(1767225600) + absl::Nanoseconds(123456789));
}

TEST(ProtoTimeTest, AnUnsetTimestampIsTheEpoch) {
  EXPECT_EQ(FromProtoTime(google::protobuf::Timestamp()), absl::UnixEpoch());
}

// --- Attributes -----------------------------------------------------------

Value String(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
Value Number(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}
Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
Value List(const std::vector<Value>& elements) {
  Value v;
  v.mutable_list_value();  // an empty list is still a list
  for (const Value& e : elements) *v.mutable_list_value()->add_values() = e;
  return v;
}

// Value compares structurally (sets as sets); OwnedValue owns one.
void ExpectSameAttributes(const store::AttributeMap& got,
                          const store::AttributeMap& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, value] : want) {
    ASSERT_TRUE(got.contains(name)) << name;
    EXPECT_EQ(got.at(name).view(), value.view()) << name;
  }
}

TEST(ProtoAttributesTest, ReadsEveryAttributeType) {
  ProtoMap map;
  map["region"] = String("emea");
  map["level"] = Number(3);
  map["debt"] = Number(-42);
  map["zero"] = Number(0);
  map["mfa"] = Bool(true);
  map["off"] = Bool(false);
  map["teams"] = List({String("a"), String("b")});
  map["none"] = List({});
  map["empty"] = String("");
  absl::StatusOr<store::AttributeMap> read =
      FromProtoAttributes(map, "principal.attributes");
  ASSERT_THAT(read, IsOk());
  store::AttributeMap want;
  want["region"] = policy::OwnedValue::String("emea");
  want["level"] = policy::OwnedValue::Int(3);
  want["debt"] = policy::OwnedValue::Int(-42);
  want["zero"] = policy::OwnedValue::Int(0);
  want["mfa"] = policy::OwnedValue::Bool(true);
  want["off"] = policy::OwnedValue::Bool(false);
  want["teams"] = policy::OwnedValue::StringSet({"a", "b"});
  want["none"] = policy::OwnedValue::StringSet({});
  want["empty"] = policy::OwnedValue::String("");
  ExpectSameAttributes(*read, want);
}

TEST(ProtoAttributesTest, AnEmptyMapIsEmpty) {
  absl::StatusOr<store::AttributeMap> read =
      FromProtoAttributes(ProtoMap(), "principal.attributes");
  ASSERT_THAT(read, IsOk());
  EXPECT_THAT(*read, IsEmpty());
}

TEST(ProtoAttributesTest, WholeNumbersUpToTwoToThe53rdExclusive) {
  const double kLargest = 9007199254740991.0;  // 2^53 - 1
  for (double number : {kLargest, -kLargest}) {
    ProtoMap map;
    map["n"] = Number(number);
    absl::StatusOr<store::AttributeMap> read = FromProtoAttributes(map, "a");
    ASSERT_THAT(read, IsOk()) << number;
    EXPECT_EQ(read->at("n").view().int_value(), static_cast<int64_t>(number));
  }
}

struct BadValueCase {
  const char* name;
  Value value;
  const char* message;  // a part of the error after "FIELD[NAME]: "
};

class BadAttributeTest : public ::testing::TestWithParam<BadValueCase> {};

TEST_P(BadAttributeTest, IsInvalidArgumentNamingTheAttribute) {
  ProtoMap map;
  map["fine"] = String("ok");
  map["bad"] = GetParam().value;
  EXPECT_THAT(FromProtoAttributes(map, "principal.attributes"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("principal.attributes[bad]: "),
                             HasSubstr(GetParam().message))));
}

Value NullValue() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}
Value StructValue() {
  Value v;
  (*v.mutable_struct_value()->mutable_fields())["k"] = String("v");
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadAttributeTest,
    ::testing::Values(
        BadValueCase{"Fraction", Number(1.5), "whole"},
        BadValueCase{"NegativeFraction", Number(-0.25), "whole"},
        BadValueCase{"NaN", Number(std::nan("")), "whole"},
        BadValueCase{"Infinity",
                     Number(std::numeric_limits<double>::infinity()), "whole"},
        BadValueCase{"MinusInfinity",
                     Number(-std::numeric_limits<double>::infinity()), "whole"},
        BadValueCase{"TwoToThe53rd", Number(9007199254740992.0), "whole"},
        BadValueCase{"MinusTwoToThe53rd", Number(-9007199254740992.0), "whole"},
        BadValueCase{"Huge", Number(1e300), "whole"},
        BadValueCase{"ListOfNumbers", List({String("a"), Number(1)}),
                     "lists may only hold strings"},
        BadValueCase{"ListOfBools", List({Bool(true)}),
                     "lists may only hold strings"},
        BadValueCase{"ListOfLists", List({List({String("a")})}),
                     "lists may only hold strings"},
        BadValueCase{"Null", NullValue(),
                     "must be a string, whole number, bool or string list"},
        BadValueCase{"Struct", StructValue(),
                     "must be a string, whole number, bool or string list"},
        BadValueCase{"Unset", Value(),
                     "must be a string, whole number, bool or string list"}),
    [](const ::testing::TestParamInfo<BadValueCase>& info) {
      return std::string(info.param.name);
    });

TEST(ProtoAttributesTest, WritesEveryAttributeType) {
  store::AttributeMap attributes;
  attributes["region"] = policy::OwnedValue::String("emea");
  attributes["level"] = policy::OwnedValue::Int(-7);
  attributes["mfa"] = policy::OwnedValue::Bool(true);
  attributes["teams"] = policy::OwnedValue::StringSet({"a", "b"});
  attributes["none"] = policy::OwnedValue::StringSet({});
  ProtoMap map;
  ToProtoAttributes(attributes, &map);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(map["region"].string_value(), "emea");
  EXPECT_EQ(map["level"].kind_case(), Value::kNumberValue);
  EXPECT_EQ(map["level"].number_value(), -7.0);
  EXPECT_EQ(map["mfa"].kind_case(), Value::kBoolValue);
  EXPECT_TRUE(map["mfa"].bool_value());
  ASSERT_EQ(map["teams"].list_value().values_size(), 2);
  EXPECT_EQ(map["teams"].list_value().values(0).string_value(), "a");
  EXPECT_EQ(map["teams"].list_value().values(1).string_value(), "b");
  EXPECT_EQ(map["none"].kind_case(), Value::kListValue);
  EXPECT_EQ(map["none"].list_value().values_size(), 0);

  // And back: the same map.
  absl::StatusOr<store::AttributeMap> read = FromProtoAttributes(map, "a");
  ASSERT_THAT(read, IsOk());
  ExpectSameAttributes(*read, attributes);
}

// --- Store records --------------------------------------------------------

TEST(ProtoRecordTest, Principal) {
  store::Principal principal;
  principal.id = "u7";
  principal.display_name = "Zoë";
  principal.attributes["region"] = policy::OwnedValue::String("emea");
  principal.disabled = true;
  principal.created_at = kTime;
  principal.updated_at = kTime + absl::Seconds(5);
  const v1::Principal proto = ToProto(principal);
  EXPECT_EQ(proto.id(), "u7");
  EXPECT_EQ(proto.display_name(), "Zoë");
  ASSERT_EQ(proto.attributes().size(), 1u);
  EXPECT_EQ(proto.attributes().at("region").string_value(), "emea");
  EXPECT_TRUE(proto.disabled());
  EXPECT_EQ(FromProtoTime(proto.created_at()), kTime);
  EXPECT_EQ(FromProtoTime(proto.updated_at()), kTime + absl::Seconds(5));
}

TEST(ProtoRecordTest, BindingWithAndWithoutExpiry) {
  store::Binding binding;
  binding.principal = "u7";
  binding.role = "viewer";
  binding.scope = "acme/eu";
  binding.granted_by = "ops";
  binding.granted_at = kTime;
  binding.reason = "ticket 42";
  v1::Binding proto = ToProto(binding);
  EXPECT_EQ(proto.principal_id(), "u7");
  EXPECT_EQ(proto.role(), "viewer");
  EXPECT_EQ(proto.scope(), "acme/eu");
  EXPECT_EQ(proto.granted_by(), "ops");
  EXPECT_EQ(FromProtoTime(proto.granted_at()), kTime);
  EXPECT_FALSE(proto.has_expires_at());  // never expires
  EXPECT_EQ(proto.reason(), "ticket 42");

  binding.expires_at = kTime + absl::Hours(24);
  proto = ToProto(binding);
  ASSERT_TRUE(proto.has_expires_at());
  EXPECT_EQ(FromProtoTime(proto.expires_at()), kTime + absl::Hours(24));
}

TEST(ProtoRecordTest, PolicyVersion) {
  store::PolicyVersionInfo version;
  version.version = 3;
  version.sha256 = std::string(64, 'a');
  version.author = "ops";
  version.message = "tighten exports";
  version.created_at = kTime;
  version.active = true;
  const v1::PolicyVersion proto = ToProto(version, "crm");
  EXPECT_EQ(proto.version(), 3);
  EXPECT_EQ(proto.sha256(), std::string(64, 'a'));
  EXPECT_EQ(proto.author(), "ops");
  EXPECT_EQ(proto.message(), "tighten exports");
  EXPECT_EQ(FromProtoTime(proto.created_at()), kTime);
  EXPECT_TRUE(proto.active());
  EXPECT_EQ(proto.policy_name(), "crm");
}

TEST(ProtoRecordTest, ApiKeyWithAndWithoutRevocation) {
  store::ApiKeyInfo key;
  key.name = "crm-backend";
  key.role = store::ServiceRole::kAuditor;
  key.created_by = "bootstrap";
  key.created_at = kTime;
  v1::ApiKey proto = ToProto(key);
  EXPECT_EQ(proto.name(), "crm-backend");
  EXPECT_EQ(proto.role(), v1::AUDITOR);
  EXPECT_EQ(proto.created_by(), "bootstrap");
  EXPECT_EQ(FromProtoTime(proto.created_at()), kTime);
  EXPECT_FALSE(proto.has_revoked_at());

  key.revoked_at = kTime + absl::Minutes(1);
  proto = ToProto(key);
  ASSERT_TRUE(proto.has_revoked_at());
  EXPECT_EQ(FromProtoTime(proto.revoked_at()), kTime + absl::Minutes(1));
}

// --- Service roles --------------------------------------------------------

TEST(ProtoServiceRoleTest, EveryRoleBothWays) {
  const std::pair<store::ServiceRole, v1::ServiceRole> kRoles[] = {
      {store::ServiceRole::kClient, v1::CLIENT},
      {store::ServiceRole::kAuditor, v1::AUDITOR},
      {store::ServiceRole::kAdmin, v1::ADMIN}};
  for (const auto& [role, proto] : kRoles) {
    EXPECT_EQ(ToProto(role), proto);
    EXPECT_EQ(FromProto(proto), role);
  }
}

TEST(ProtoServiceRoleTest, UnspecifiedAndUnknownRolesAreNone) {
  EXPECT_EQ(FromProto(v1::SERVICE_ROLE_UNSPECIFIED), std::nullopt);
  // An enum value from a newer client arrives as its number.
  EXPECT_EQ(FromProto(static_cast<v1::ServiceRole>(99)), std::nullopt);
  EXPECT_EQ(FromProto(static_cast<v1::ServiceRole>(-1)), std::nullopt);
}

// --- Diagnostics ----------------------------------------------------------

TEST(ProtoDiagnosticTest, ErrorsAndWarnings) {
  policy::Diagnostic error;
  error.severity = policy::Severity::kError;
  error.file = "crm.policy";
  error.line = 3;
  error.column = 7;
  error.message = "unknown role 'x'";
  error.source_line = "role x extends y {";
  v1::Diagnostic proto = ToProto(error);
  EXPECT_EQ(proto.severity(), v1::Diagnostic::ERROR);
  EXPECT_EQ(proto.path(), "crm.policy");
  EXPECT_EQ(proto.line(), 3);
  EXPECT_EQ(proto.column(), 7);
  EXPECT_EQ(proto.message(), "unknown role 'x'");
  EXPECT_EQ(proto.formatted(), error.ToString());

  policy::Diagnostic warning = error;
  warning.severity = policy::Severity::kWarning;
  proto = ToProto(warning);
  EXPECT_EQ(proto.severity(), v1::Diagnostic::WARNING);
  EXPECT_EQ(proto.formatted(), warning.ToString());
}

// --- Policy sources -------------------------------------------------------

google::protobuf::RepeatedPtrField<v1::PolicySource> Sources(
    const std::vector<std::pair<std::string, std::string>>& files) {
  google::protobuf::RepeatedPtrField<v1::PolicySource> out;
  for (const auto& [path, text] : files) {
    v1::PolicySource* source = out.Add();
    source->set_path(path);
    source->set_text(text);
  }
  return out;
}

TEST(ProtoSourcesTest, KeepsPathsTextsAndOrder) {
  absl::StatusOr<std::vector<policy::SourceFile>> read = FromProtoSources(
      Sources({{"b.policy", "role b {}"}, {"a.policy", ""}}), "sources");
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].path, "b.policy");
  EXPECT_EQ((*read)[0].text, "role b {}");
  EXPECT_EQ((*read)[1].path, "a.policy");
  EXPECT_EQ((*read)[1].text, "");
}

TEST(ProtoSourcesTest, PathsUpTo256Bytes) {
  EXPECT_THAT(
      FromProtoSources(Sources({{std::string(256, 'p'), "x"}}), "sources"),
      IsOk());
  EXPECT_THAT(
      FromProtoSources(
          Sources({{"a.policy", "x"}, {std::string(257, 'p'), ""}}), "sources"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("sources[1].path: required, at most 256 bytes")));
}

TEST(ProtoSourcesTest, NoSourcesOrAnEmptyPathIsInvalid) {
  EXPECT_THAT(FromProtoSources(Sources({}), "sources"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sources: at least one policy source")));
  EXPECT_THAT(FromProtoSources(Sources({{"", "role a {}"}}), "request.sources"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("request.sources[0].path: required")));
}

}  // namespace
}  // namespace steward::server
