// AuthorizationService.PlanResources on a real stewardd: who may call it,
// how its requests are validated, the plans it answers over the wire
// (kinds, reasons, conditions, field conditions, validity) and the PLAN
// record each one leaves in the audit trail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "tests/server/dev_server_test.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPolicy[] = R"(
principal { region: string }
purposes { support_case }
resource customer {
  attributes { owner: string, region: string, locked: bool }
  fields { name, phone pii }
  actions { read, export }
}
role owner_reader {
  allow read on customer when resource.owner == principal.id
}
role regional {
  allow read on customer fields { phone } for support_case when resource.region == principal.region
  deny read on customer when resource.locked
}
role everyone {
  allow read on customer
}
)";

class PlanResourcesTest : public DevServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartDevServer());
    v1::ApplyPolicyRequest apply;
    v1::PolicySource* source = apply.add_sources();
    source->set_path("crm.policy");
    source->set_text(kPolicy);
    apply.set_message("test");
    v1::ApplyPolicyResponse applied;
    grpc::Status status =
        admin_->ApplyPolicy(Context(admin_key_).get(), apply, &applied);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Upsert(const std::string& id, const std::string& region = "") {
    v1::UpsertPrincipalRequest request;
    request.mutable_principal()->set_id(id);
    if (!region.empty()) {
      (*request.mutable_principal()->mutable_attributes())["region"]
          .set_string_value(region);
    }
    v1::UpsertPrincipalResponse response;
    grpc::Status status =
        admin_->UpsertPrincipal(Context(admin_key_).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Grant(const std::string& id, const std::string& role,
             const std::string& scope = "",
             const google::protobuf::Timestamp* expires_at = nullptr) {
    v1::GrantRequest request;
    request.set_principal_id(id);
    request.set_role(role);
    request.set_scope(scope);
    if (expires_at != nullptr) *request.mutable_expires_at() = *expires_at;
    v1::GrantResponse response;
    grpc::Status status =
        admin_->Grant(Context(admin_key_).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static v1::PlanResourcesRequest Read(const std::string& principal) {
    v1::PlanResourcesRequest request;
    request.set_principal_id(principal);
    request.set_action("read");
    request.set_resource_kind("customer");
    return request;
  }

  grpc::Status Plan(const v1::PlanResourcesRequest& request,
                    v1::PlanResourcesResponse* response,
                    const std::string& key = "") {
    return authz_->PlanResources(Context(key.empty() ? client_key_ : key).get(),
                                 request, response);
  }
};

v1::PlanExpression Reference(const std::string& attribute, v1::ValueType type) {
  v1::PlanExpression e;
  e.mutable_reference()->set_path("resource." + attribute);
  e.mutable_reference()->set_attribute(attribute);
  e.mutable_reference()->set_type(type);
  return e;
}

v1::PlanExpression StringLiteral(const std::string& value) {
  v1::PlanExpression e;
  e.mutable_literal()->set_string_value(value);
  return e;
}

v1::PlanExpression Operation(v1::PlanOperator op,
                             std::vector<v1::PlanExpression> operands) {
  v1::PlanExpression e;
  e.mutable_operation()->set_operator_(op);
  for (v1::PlanExpression& operand : operands) {
    *e.mutable_operation()->add_operands() = std::move(operand);
  }
  return e;
}

MATCHER_P(EqualsProto, expected, "") {
  return arg.SerializeAsString() == expected.SerializeAsString();
}

TEST_F(PlanResourcesTest, OwnerRuleIsAConditionOnTheOwnerAttribute) {
  ASSERT_NO_FATAL_FAILURE(Upsert("alice"));
  ASSERT_NO_FATAL_FAILURE(Grant("alice", "owner_reader"));
  v1::PlanResourcesRequest request = Read("alice");
  request.set_request_id("req-1");
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(request, &response).ok());
  EXPECT_EQ(response.kind(), v1::CONDITIONAL);
  EXPECT_EQ(response.reason(), v1::ALLOWED_BY_RULE);
  EXPECT_THAT(response.condition(),
              EqualsProto(Operation(v1::OPERATOR_EQ,
                                    {Reference("owner", v1::VALUE_TYPE_STRING),
                                     StringLiteral("alice")})))
      << response.condition().DebugString();
  EXPECT_GT(response.policy_version(), 0);
  EXPECT_GT(response.store_revision(), 0);
  EXPECT_FALSE(response.plan_id().empty());
  EXPECT_EQ(response.request_id(), "req-1");
  EXPECT_FALSE(response.has_valid_until());
  EXPECT_TRUE(response.explanation().empty());
}

TEST_F(PlanResourcesTest, UnconditionalAllowIsAlwaysAllowed) {
  ASSERT_NO_FATAL_FAILURE(Upsert("bob"));
  ASSERT_NO_FATAL_FAILURE(Grant("bob", "everyone"));
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(Read("bob"), &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_ALLOWED);
  EXPECT_FALSE(response.has_condition());
}

TEST_F(PlanResourcesTest, DeniedPlansSayWhy) {
  ASSERT_NO_FATAL_FAILURE(Upsert("carol"));
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(Read("carol"), &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_DENIED);
  EXPECT_EQ(response.reason(), v1::NO_MATCHING_RULE);

  ASSERT_TRUE(Plan(Read("nobody"), &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_DENIED);
  EXPECT_EQ(response.reason(), v1::UNKNOWN_PRINCIPAL);

  v1::PlanResourcesRequest unknown_kind = Read("carol");
  unknown_kind.set_resource_kind("invoice");
  ASSERT_TRUE(Plan(unknown_kind, &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_DENIED);
  EXPECT_EQ(response.reason(), v1::UNKNOWN_RESOURCE_KIND);
}

TEST_F(PlanResourcesTest, ScopedBindingsBecomeScopeConditionsUnlessScoped) {
  ASSERT_NO_FATAL_FAILURE(Upsert("dave"));
  ASSERT_NO_FATAL_FAILURE(Grant("dave", "everyone", "acme"));
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(Read("dave"), &response).ok());
  EXPECT_EQ(response.kind(), v1::CONDITIONAL);
  v1::PlanExpression scope;
  scope.mutable_reference()->set_path("resource.scope");
  scope.mutable_reference()->set_type(v1::VALUE_TYPE_STRING);
  EXPECT_THAT(response.condition(),
              EqualsProto(Operation(v1::OPERATOR_IN_SCOPE,
                                    {scope, StringLiteral("acme")})))
      << response.condition().DebugString();

  v1::PlanResourcesRequest inside = Read("dave");
  inside.set_scope("acme/eu");
  ASSERT_TRUE(Plan(inside, &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_ALLOWED);

  v1::PlanResourcesRequest outside = Read("dave");
  outside.set_scope("acmex");
  ASSERT_TRUE(Plan(outside, &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_DENIED);

  // An explicitly empty scope is the unscoped resources, which a scoped
  // binding does not cover.
  v1::PlanResourcesRequest global = Read("dave");
  global.set_scope("");
  ASSERT_TRUE(Plan(global, &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_DENIED);
}

TEST_F(PlanResourcesTest, FieldsGetTheirOwnConditions) {
  ASSERT_NO_FATAL_FAILURE(Upsert("erin", "eu"));
  ASSERT_NO_FATAL_FAILURE(Grant("erin", "everyone"));
  ASSERT_NO_FATAL_FAILURE(Grant("erin", "regional"));
  v1::PlanResourcesRequest request = Read("erin");
  request.add_fields("name");
  request.add_fields("phone");
  request.set_purpose("support_case");
  request.set_explain(true);
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(request, &response).ok());
  // The deny on locked customers applies to every row where `locked` is
  // not known to be false.
  EXPECT_EQ(response.kind(), v1::CONDITIONAL);
  ASSERT_EQ(response.field_conditions_size(), 2);
  EXPECT_EQ(response.field_conditions(0).field(), "name");
  EXPECT_EQ(response.field_conditions(1).field(), "phone");
  EXPECT_EQ(response.field_conditions(1).kind(), v1::CONDITIONAL);
  // phone needs the region rule on top of the action's condition.
  EXPECT_THAT(response.field_conditions(1).condition().DebugString(),
              HasSubstr("eu"));
  EXPECT_THAT(response.condition().DebugString(), Not(HasSubstr("eu")));
  EXPECT_FALSE(response.explanation().empty());

  // Without the purpose, the phone rule cannot match.
  request.clear_purpose();
  ASSERT_TRUE(Plan(request, &response).ok());
  ASSERT_EQ(response.field_conditions_size(), 2);
  EXPECT_EQ(response.field_conditions(1).kind(), v1::ALWAYS_DENIED);
}

TEST_F(PlanResourcesTest, ExpiringBindingsBoundThePlansValidity) {
  ASSERT_NO_FATAL_FAILURE(Upsert("frank"));
  google::protobuf::Timestamp expires =
      google::protobuf::util::TimeUtil::GetCurrentTime() +
      google::protobuf::util::TimeUtil::SecondsToDuration(3600);
  ASSERT_NO_FATAL_FAILURE(Grant("frank", "everyone", "", &expires));
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(Read("frank"), &response).ok());
  EXPECT_EQ(response.kind(), v1::ALWAYS_ALLOWED);
  ASSERT_TRUE(response.has_valid_until());
  EXPECT_EQ(response.valid_until().seconds(), expires.seconds());
}

TEST_F(PlanResourcesTest, RequestsAreValidatedAsChecksAre) {
  struct Case {
    std::string field;
    std::function<void(v1::PlanResourcesRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"principal_id", [](auto& r) { r.clear_principal_id(); }},
      {"principal_id", [](auto& r) { r.set_principal_id("a b"); }},
      {"action", [](auto& r) { r.clear_action(); }},
      {"resource_kind", [](auto& r) { r.clear_resource_kind(); }},
      {"scope", [](auto& r) { r.set_scope(std::string(300, 's')); }},
      {"context[mfa]",
       [](auto& r) {
         (*(*r.mutable_context())["mfa"]
               .mutable_struct_value()
               ->mutable_fields())["x"]
             .set_bool_value(true);
       }},
      {"fields",
       [](auto& r) {
         for (int i = 0; i < 65; ++i) r.add_fields("f" + std::to_string(i));
       }},
      {"fields[0]", [](auto& r) { r.add_fields(""); }},
      {"justification",
       [](auto& r) { r.set_justification(std::string(2000, 'j')); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    v1::PlanResourcesRequest request = Read("alice");
    c.mutate(request);
    v1::PlanResourcesResponse response;
    grpc::Status status = Plan(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message().rfind(c.field + ":", 0), 0u)
        << status.error_message();
  }
}

TEST_F(PlanResourcesTest, OnlyClientKeysMayPlan) {
  v1::PlanResourcesResponse response;
  EXPECT_EQ(Plan(Read("alice"), &response, auditor_key_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext anonymous;
  EXPECT_EQ(
      authz_->PlanResources(&anonymous, Read("alice"), &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(PlanResourcesTest, EveryPlanIsAPlanRecordInTheTrail) {
  ASSERT_NO_FATAL_FAILURE(Upsert("alice"));
  ASSERT_NO_FATAL_FAILURE(Grant("alice", "owner_reader"));
  v1::PlanResourcesRequest request = Read("alice");
  request.set_purpose("support_case");
  request.set_justification("ticket 42");
  request.set_request_id("req-9");
  request.add_fields("name");
  v1::PlanResourcesResponse response;
  ASSERT_TRUE(Plan(request, &response).ok());
  v1::PlanResourcesResponse denied;
  ASSERT_TRUE(Plan(Read("nobody"), &denied).ok());

  v1::QueryDecisionsRequest query;
  query.mutable_filter()->set_kind(v1::PLAN);
  v1::QueryDecisionsResponse records;
  ASSERT_TRUE(
      audit_->QueryDecisions(Context(auditor_key_).get(), query, &records)
          .ok());
  ASSERT_EQ(records.records_size(), 2);
  // Newest first.
  const v1::AuditRecord& unknown = records.records(0);
  EXPECT_EQ(unknown.kind(), v1::PLAN);
  EXPECT_EQ(unknown.plan_kind(), v1::ALWAYS_DENIED);
  EXPECT_EQ(unknown.reason(), v1::UNKNOWN_PRINCIPAL);
  const v1::AuditRecord& record = records.records(1);
  EXPECT_EQ(record.kind(), v1::PLAN);
  EXPECT_EQ(record.decision_id(), response.plan_id());
  EXPECT_EQ(record.principal_id(), "alice");
  EXPECT_EQ(record.action(), "read");
  EXPECT_EQ(record.resource_kind(), "customer");
  EXPECT_EQ(record.plan_kind(), v1::CONDITIONAL);
  EXPECT_EQ(record.reason(), v1::ALLOWED_BY_RULE);
  EXPECT_EQ(record.purpose(), "support_case");
  EXPECT_EQ(record.justification(), "ticket 42");
  EXPECT_EQ(record.request_id(), "req-9");
  EXPECT_THAT(record.fields(), ::testing::ElementsAre("name"));
  EXPECT_EQ(record.policy_version(), response.policy_version());
  EXPECT_EQ(record.store_revision(), response.store_revision());

  // Plans are not decisions: a decision query does not return them.
  query.mutable_filter()->set_kind(v1::DECISION);
  ASSERT_TRUE(
      audit_->QueryDecisions(Context(auditor_key_).get(), query, &records)
          .ok());
  EXPECT_EQ(records.records_size(), 0);

  v1::VerifyChainResponse verified;
  ASSERT_TRUE(audit_
                  ->VerifyChain(Context(auditor_key_).get(),
                                v1::VerifyChainRequest(), &verified)
                  .ok());
  EXPECT_TRUE(verified.ok());
}

}  // namespace
}  // namespace steward::testing
