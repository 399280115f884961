// End to end on a real stewardd: the auditor access reports (WhoCan,
// EffectivePermissions, UnusedGrants, SeparationViolations, ExpiringGrants,
// DecisionSummary) over small seeded stores with known answers.
//
// The scenario needs past times the API cannot create (grants made months
// ago, an expired binding, a use older than the window), so the suite
// seeds through the API, stops the server, moves those times back directly
// in the SQLite file, and restarts the server on the same data dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/audit/usage.h"
#include "server/store/clock.h"
#include "server/store/sqlite/connection.h"
#include "server/store/store.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wait.h"

namespace steward::testing {
namespace {

using ::steward::v1::AdminService;
using ::steward::v1::AuditService;
using ::steward::v1::AuthorizationService;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kPolicyV1[] = R"(policy reports_test

purposes { support_case, billing }

resource customer {
  attributes { owner: string, region: string }
  fields { id, name, email pii, phone pii, notes }
  actions { read, update, export }
}

resource invoice {
  fields { id, amount }
  actions { read, create, approve }
}

role viewer "Reads customers" {
  allow read on customer
}

role sales_rep extends viewer {
  allow update on customer when resource.owner == principal.id
}

role support extends viewer {
  allow read on customer fields { email, phone } for support_case
}

role account_manager extends sales_rep {
  allow export on customer fields { * }
  deny export on customer unless resource.region == "eu"
}

role contractor extends viewer {
  deny read on customer
}

role invoice_clerk {
  allow create, read on invoice
}

role senior_clerk extends invoice_clerk {
}

role invoice_approver {
  allow approve, read on invoice
}
)";

constexpr char kSeparate[] = "\nseparate invoice_clerk, invoice_approver\n";

struct Grant {
  std::string principal, role, scope;
  int granted_days_ago;
};

// Every binding of the scenario, with how long ago it is backdated.
const std::vector<Grant>& Grants() {
  static const auto* grants = new std::vector<Grant>{
      {"alice", "viewer", "", 400},
      {"bob", "sales_rep", "acme", 300},
      {"carol", "support", "acme/eu", 80},  // expires in 7 days
      {"dave", "account_manager", "acme/us", 70},
      {"erin", "contractor", "", 60},
      {"frank", "viewer", "", 50},  // principal disabled
      {"gina", "viewer", "", 40},   // expired yesterday
      {"hank", "invoice_clerk", "", 30},
      {"hank", "invoice_approver", "acme", 30},
      {"ivan", "invoice_clerk", "acme/eu", 20},
      {"ivan", "invoice_approver", "acme/us", 20},
      {"judy", "senior_clerk", "acme/eu", 10},
      {"judy", "invoice_approver", "acme/eu", 10},
  };
  return *grants;
}

v1::CheckRequest CheckOf(const std::string& principal,
                         const std::string& action, const std::string& kind,
                         const std::string& scope,
                         const std::map<std::string, std::string>& attrs = {}) {
  v1::CheckRequest request;
  request.set_principal_id(principal);
  request.set_action(action);
  request.mutable_resource()->set_kind(kind);
  request.mutable_resource()->set_id("r-1");
  request.mutable_resource()->set_scope(scope);
  for (const auto& [name, value] : attrs) {
    (*request.mutable_resource()->mutable_attributes())[name].set_string_value(
        value);
  }
  return request;
}

google::protobuf::Timestamp ProtoTime(absl::Time t) {
  google::protobuf::Timestamp out;
  out.set_seconds(absl::ToUnixSeconds(t));
  return out;
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

class ReportsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess();
    data_ = new std::string(dir_->path() + "/data");
    std::string policy_path = dir_->path() + "/reports.policy";
    {
      std::ofstream out(policy_path);
      out << kPolicyV1;
    }
    ASSERT_THAT(server_->Start(STEWARDD_PATH, *data_,
                               {"--dev", "--policy", policy_path}),
                IsOk());
    Connect();
    Seed();
    // Stop (flushing the trail), backdate, restart.
    ASSERT_EQ(server_->Stop(), 0) << server_->Log();
    Backdate();
    delete server_;
    server_ = new ServerProcess();
    ASSERT_THAT(server_->Start(STEWARDD_PATH, *data_, {"--dev"}), IsOk());
    Connect();
  }

  static void TearDownTestSuite() {
    delete channel_;
    delete server_;
    delete dir_;
    delete data_;
    delete keys_;
    delete seeded_at_;
  }

  static void Connect() {
    delete keys_;
    keys_ = new std::map<std::string, std::string>();
    for (const char* role : {"admin", "auditor", "client"}) {
      (*keys_)[role] = ReadKey(*data_, role);
    }
    delete channel_;
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  static void Seed() {
    auto admin = AdminService::NewStub(*channel_);
    const std::string& key = (*keys_)["admin"];
    seeded_at_ = new absl::Time(absl::Now());
    for (const Grant& g : Grants()) {
      v1::UpsertPrincipalRequest upsert;
      upsert.mutable_principal()->set_id(g.principal);
      v1::UpsertPrincipalResponse upserted;
      grpc::Status status =
          admin->UpsertPrincipal(Context(key).get(), upsert, &upserted);
      ASSERT_TRUE(status.ok()) << status.error_message();
      v1::GrantRequest grant;
      grant.set_principal_id(g.principal);
      grant.set_role(g.role);
      grant.set_scope(g.scope);
      grant.set_reason("seed");
      if (g.principal == "carol") {
        *grant.mutable_expires_at() =
            ProtoTime(*seeded_at_ + absl::Hours(24 * 7));
      } else if (g.principal == "gina") {
        *grant.mutable_expires_at() = ProtoTime(*seeded_at_ + absl::Hours(1));
      }
      v1::GrantResponse granted;
      status = admin->Grant(Context(key).get(), grant, &granted);
      ASSERT_TRUE(status.ok()) << g.principal << ": " << status.error_message();
    }
    v1::SetPrincipalDisabledRequest disable;
    disable.set_id("frank");
    disable.set_disabled(true);
    v1::SetPrincipalDisabledResponse disabled;
    grpc::Status status =
        admin->SetPrincipalDisabled(Context(key).get(), disable, &disabled);
    ASSERT_TRUE(status.ok()) << status.error_message();

    // Uses: each ALLOW goes through exactly one binding.
    auto authz = AuthorizationService::NewStub(*channel_);
    struct Expected {
      v1::CheckRequest request;
      v1::Effect effect;
      std::string rule_id;
    };
    std::vector<Expected> checks = {
        {CheckOf("alice", "read", "customer", ""), v1::ALLOW, "viewer/1"},
        {CheckOf("carol", "read", "customer", "acme/eu"), v1::ALLOW,
         "viewer/1"},
        {CheckOf("bob", "update", "customer", "acme", {{"owner", "bob"}}),
         v1::ALLOW, "sales_rep/1"},
        {CheckOf("hank", "create", "invoice", ""), v1::ALLOW,
         "invoice_clerk/1"},
        {CheckOf("ivan", "read", "invoice", "acme/eu"), v1::ALLOW,
         "invoice_clerk/1"},
        {CheckOf("erin", "read", "customer", ""), v1::DENY, "contractor/1"},
    };
    for (const Expected& check : checks) {
      v1::CheckResponse response;
      status = authz->Check(Context((*keys_)["client"]).get(), check.request,
                            &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(response.effect(), check.effect)
          << check.request.ShortDebugString() << " "
          << response.ShortDebugString();
      EXPECT_EQ(response.rule_id(), check.rule_id);
    }
  }

  // Moves grant times back, expires gina's binding, and ages bob's only
  // use to 200 days ago (outside a 90-day window, inside a 365-day one).
  static void Backdate() {
    store::sqlite::ConnectionOptions options;
    auto connection =
        store::sqlite::Connection::Open(*data_ + "/steward.db", options);
    ASSERT_THAT(connection.status(), IsOk());
    store::sqlite::Connection& db = **connection;
    const absl::Time now = *seeded_at_;
    for (const Grant& g : Grants()) {
      auto stmt = db.Prepare(
          "UPDATE role_bindings SET granted_at = ?, expires_at = "
          "CASE WHEN ? THEN ? ELSE expires_at END "
          "WHERE principal = ? AND role = ? AND scope = ?");
      ASSERT_THAT(stmt.status(), IsOk());
      stmt->BindTime(1, now - absl::Hours(24 * g.granted_days_ago));
      stmt->BindInt(2, g.principal == "gina" ? 1 : 0);
      stmt->BindTime(3, now - absl::Hours(24));
      stmt->BindText(4, g.principal);
      stmt->BindText(5, g.role);
      stmt->BindText(6, g.scope);
      ASSERT_THAT(stmt->Run(), IsOk());
      ASSERT_EQ(db.changes(), 1) << g.principal << " " << g.role;
    }
    auto stmt = db.Prepare(
        "UPDATE audit_log SET time = ? "
        "WHERE principal = 'bob' AND kind = 'decision'");
    ASSERT_THAT(stmt.status(), IsOk());
    stmt->BindTime(1, now - absl::Hours(24 * 200));
    ASSERT_THAT(stmt->Run(), IsOk());
    ASSERT_EQ(db.changes(), 1);
  }

  static std::unique_ptr<AuditService::Stub> Audit() {
    return AuditService::NewStub(*channel_);
  }
  static const std::string& Key(const std::string& role) {
    return (*keys_)[role];
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string* data_;
  static std::map<std::string, std::string>* keys_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static absl::Time* seeded_at_;
};

TempDir* ReportsTest::dir_ = nullptr;
ServerProcess* ReportsTest::server_ = nullptr;
std::string* ReportsTest::data_ = nullptr;
std::map<std::string, std::string>* ReportsTest::keys_ = nullptr;
std::shared_ptr<grpc::Channel>* ReportsTest::channel_ = nullptr;
absl::Time* ReportsTest::seeded_at_ = nullptr;

// "principal role@scope via_role rule_id" per entry, for compact checks.
std::vector<std::string> Summaries(const v1::WhoCanResponse& response) {
  std::vector<std::string> out;
  for (const v1::WhoCanEntry& e : response.entries()) {
    out.push_back(e.principal_id() + " " + e.binding().role() + "@" +
                  e.binding().scope() + " " + e.via_role() + " " + e.rule_id());
  }
  return out;
}

TEST_F(ReportsTest, WhoCanReadCustomersInAScope) {
  v1::WhoCanRequest request;
  request.set_action("read");
  request.set_resource_kind("customer");
  request.set_scope("acme/eu");
  v1::WhoCanResponse response;
  grpc::Status status =
      Audit()->WhoCan(Context(Key("auditor")).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Not dave (acme/us does not cover acme/eu), erin (unconditional deny),
  // frank (disabled), gina (expired).
  EXPECT_THAT(Summaries(response),
              ElementsAre("alice viewer@ viewer viewer/1",
                          "bob sales_rep@acme viewer viewer/1",
                          "carol support@acme/eu viewer viewer/1",
                          "carol support@acme/eu support support/1"));
  for (const v1::WhoCanEntry& e : response.entries()) {
    EXPECT_FALSE(e.conditional()) << e.ShortDebugString();
    if (e.rule_id() == "support/1") {
      EXPECT_THAT(e.purposes(), ElementsAre("support_case"));
      EXPECT_THAT(e.pii_fields(), ElementsAre("email", "phone"));
      EXPECT_TRUE(e.binding().has_expires_at());
    } else {
      EXPECT_THAT(e.purposes(), IsEmpty());
      EXPECT_THAT(e.pii_fields(), IsEmpty());
    }
  }
}

TEST_F(ReportsTest, WhoCanUnscopedSeesOnlyGlobalBindings) {
  v1::WhoCanRequest request;
  request.set_action("read");
  request.set_resource_kind("customer");
  v1::WhoCanResponse response;
  ASSERT_TRUE(
      Audit()->WhoCan(Context(Key("auditor")).get(), request, &response).ok());
  EXPECT_THAT(Summaries(response),
              ElementsAre("alice viewer@ viewer viewer/1"));
}

TEST_F(ReportsTest, WhoCanShowsConditionsAndConditionalDenies) {
  v1::WhoCanRequest request;
  request.set_action("update");
  request.set_resource_kind("customer");
  request.set_scope("acme/us/nyc");
  v1::WhoCanResponse response;
  ASSERT_TRUE(
      Audit()->WhoCan(Context(Key("auditor")).get(), request, &response).ok());
  EXPECT_THAT(Summaries(response),
              ElementsAre("bob sales_rep@acme sales_rep sales_rep/1",
                          "dave account_manager@acme/us sales_rep "
                          "sales_rep/1"));
  for (const v1::WhoCanEntry& e : response.entries()) {
    EXPECT_TRUE(e.conditional());
    EXPECT_THAT(e.condition(), HasSubstr("when resource.owner"));
  }

  request.set_action("export");
  ASSERT_TRUE(
      Audit()->WhoCan(Context(Key("auditor")).get(), request, &response).ok());
  ASSERT_THAT(Summaries(response),
              ElementsAre("dave account_manager@acme/us account_manager "
                          "account_manager/1"));
  const v1::WhoCanEntry& dave = response.entries(0);
  EXPECT_TRUE(dave.conditional());
  EXPECT_THAT(dave.condition(), HasSubstr("denied by account_manager/2"));
  EXPECT_THAT(dave.condition(), HasSubstr("unless resource.region"));
  EXPECT_THAT(dave.pii_fields(), ElementsAre("email", "phone"));
}

TEST_F(ReportsTest, WhoCanRejectsUnknownKindAndAction) {
  v1::WhoCanRequest request;
  request.set_action("read");
  request.set_resource_kind("spaceship");
  v1::WhoCanResponse response;
  EXPECT_EQ(Audit()
                ->WhoCan(Context(Key("auditor")).get(), request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_resource_kind("customer");
  request.set_action("fly");
  EXPECT_EQ(Audit()
                ->WhoCan(Context(Key("auditor")).get(), request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReportsTest, EffectivePermissionsOfARoleExpandsInheritance) {
  v1::EffectivePermissionsRequest request;
  request.set_role("account_manager");
  v1::EffectivePermissionsResponse response;
  grpc::Status status = Audit()->EffectivePermissions(
      Context(Key("auditor")).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> rows;
  for (const v1::PermissionEntry& e : response.entries()) {
    rows.push_back(e.resource_kind() + " " + e.action() + " " + e.effect() +
                   " " + e.rule_id() + " [" + e.inherited_via() + "]");
  }
  EXPECT_THAT(
      rows,
      ElementsAre(
          "customer read allow viewer/1 [account_manager > sales_rep > viewer]",
          "customer update allow sales_rep/1 [account_manager > sales_rep]",
          "customer export allow account_manager/1 []",
          "customer export deny account_manager/2 []"));
  ASSERT_EQ(response.entries_size(), 4);
  EXPECT_EQ(response.entries(0).source_role(), "viewer");
  EXPECT_THAT(response.entries(0).fields(), ElementsAre("id", "name", "notes"));
  EXPECT_THAT(response.entries(0).pii_fields(), IsEmpty());
  EXPECT_THAT(response.entries(1).condition(),
              HasSubstr("when resource.owner == principal.id"));
  EXPECT_THAT(response.entries(2).fields(),
              ElementsAre("id", "name", "email", "phone", "notes"));
  EXPECT_THAT(response.entries(2).pii_fields(), ElementsAre("email", "phone"));
  EXPECT_THAT(response.entries(3).condition(), HasSubstr("unless"));
  EXPECT_THAT(response.entries(3).fields(), IsEmpty());
}

TEST_F(ReportsTest, EffectivePermissionsOfAPrincipalPerBinding) {
  v1::EffectivePermissionsRequest request;
  request.set_principal_id("carol");
  v1::EffectivePermissionsResponse response;
  ASSERT_TRUE(Audit()
                  ->EffectivePermissions(Context(Key("auditor")).get(), request,
                                         &response)
                  .ok());
  ASSERT_EQ(response.entries_size(), 2);
  EXPECT_EQ(response.entries(0).rule_id(), "viewer/1");
  EXPECT_EQ(response.entries(0).inherited_via(), "support > viewer");
  EXPECT_EQ(response.entries(1).rule_id(), "support/1");
  EXPECT_THAT(response.entries(1).purposes(), ElementsAre("support_case"));
  EXPECT_THAT(response.entries(1).pii_fields(), ElementsAre("email", "phone"));
  for (const v1::PermissionEntry& e : response.entries()) {
    EXPECT_EQ(e.scope(), "acme/eu");
  }

  // gina's only binding has expired: nothing.
  request.set_principal_id("gina");
  ASSERT_TRUE(Audit()
                  ->EffectivePermissions(Context(Key("auditor")).get(), request,
                                         &response)
                  .ok());
  EXPECT_EQ(response.entries_size(), 0);

  // judy: two bindings, each with its scope; senior_clerk inherits.
  request.set_principal_id("judy");
  ASSERT_TRUE(Audit()
                  ->EffectivePermissions(Context(Key("auditor")).get(), request,
                                         &response)
                  .ok());
  std::vector<std::string> rows;
  for (const v1::PermissionEntry& e : response.entries()) {
    rows.push_back(e.action() + " " + e.rule_id() + " " + e.scope() + " [" +
                   e.inherited_via() + "]");
  }
  EXPECT_THAT(rows, ElementsAre("read invoice_approver/1 acme/eu []",
                                "approve invoice_approver/1 acme/eu []",
                                "read invoice_clerk/1 acme/eu "
                                "[senior_clerk > invoice_clerk]",
                                "create invoice_clerk/1 acme/eu "
                                "[senior_clerk > invoice_clerk]"));
}

TEST_F(ReportsTest, EffectivePermissionsErrors) {
  v1::EffectivePermissionsRequest request;
  v1::EffectivePermissionsResponse response;
  EXPECT_EQ(Audit()
                ->EffectivePermissions(Context(Key("auditor")).get(), request,
                                       &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_principal_id("nobody");
  EXPECT_EQ(Audit()
                ->EffectivePermissions(Context(Key("auditor")).get(), request,
                                       &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_role("no_such_role");
  EXPECT_EQ(Audit()
                ->EffectivePermissions(Context(Key("auditor")).get(), request,
                                       &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

std::vector<std::string> Summaries(const v1::UnusedGrantsResponse& response) {
  std::vector<std::string> out;
  for (const v1::UnusedGrant& g : response.grants()) {
    out.push_back(g.binding().principal_id() + " " + g.binding().role() +
                  (g.has_last_used() ? " last_used" : ""));
  }
  return out;
}

TEST_F(ReportsTest, UnusedGrantsOldestFirstWithLastUse) {
  v1::UnusedGrantsRequest request;  // 0 = 90 days
  v1::UnusedGrantsResponse response;
  grpc::Status status =
      Audit()->UnusedGrants(Context(Key("auditor")).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Used: alice, carol (through the inherited viewer/1), hank's and ivan's
  // clerk bindings. Expired: gina. bob's only use is 200 days old.
  EXPECT_THAT(Summaries(response),
              ElementsAre("bob sales_rep last_used", "dave account_manager",
                          "erin contractor", "frank viewer",
                          "hank invoice_approver", "ivan invoice_approver",
                          "judy invoice_approver", "judy senior_clerk"));
  ASSERT_GT(response.grants_size(), 0);
  EXPECT_LT(absl::AbsDuration(FromProto(response.grants(0).last_used()) -
                              (*seeded_at_ - absl::Hours(24 * 200))),
            absl::Minutes(1));

  request.set_days(365);
  ASSERT_TRUE(
      Audit()
          ->UnusedGrants(Context(Key("auditor")).get(), request, &response)
          .ok());
  EXPECT_THAT(
      Summaries(response),
      ElementsAre("dave account_manager", "erin contractor", "frank viewer",
                  "hank invoice_approver", "ivan invoice_approver",
                  "judy invoice_approver", "judy senior_clerk"));

  request.set_days(-1);
  EXPECT_EQ(
      Audit()
          ->UnusedGrants(Context(Key("auditor")).get(), request, &response)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReportsTest, ExpiringGrantsAndPiiWithoutExpiry) {
  v1::ExpiringGrantsRequest request;  // unset = 14 days
  v1::ExpiringGrantsResponse response;
  grpc::Status status = Audit()->ExpiringGrants(Context(Key("auditor")).get(),
                                                request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> rows;
  for (const v1::ExpiringGrant& g : response.grants()) {
    rows.push_back(g.binding().principal_id() + " " + g.binding().role() +
                   (g.pii_without_expiry() ? " pii_without_expiry" : ""));
  }
  // carol's support grant expires in 7 days (gina's has expired already);
  // dave's account_manager reaches email/phone and never expires.
  EXPECT_THAT(rows, ElementsAre("carol support",
                                "dave account_manager pii_without_expiry"));

  request.mutable_within()->set_seconds(24 * 3600);
  ASSERT_TRUE(
      Audit()
          ->ExpiringGrants(Context(Key("auditor")).get(), request, &response)
          .ok());
  ASSERT_EQ(response.grants_size(), 1);
  EXPECT_EQ(response.grants(0).binding().principal_id(), "dave");

  request.mutable_within()->set_seconds(-1);
  EXPECT_EQ(
      Audit()
          ->ExpiringGrants(Context(Key("auditor")).get(), request, &response)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReportsTest, SeparationViolationAfterAPolicyChange) {
  v1::SeparationViolationsResponse response;
  ASSERT_TRUE(
      Audit()
          ->SeparationViolations(Context(Key("auditor")).get(), {}, &response)
          .ok());
  EXPECT_EQ(response.violations_size(), 0);

  // Both roles were granted under v1; v2 adds the constraint.
  v1::ApplyPolicyRequest apply;
  auto* source = apply.add_sources();
  source->set_path("reports.policy");
  source->set_text(std::string(kPolicyV1) + kSeparate);
  apply.set_message("separate clerks and approvers");
  v1::ApplyPolicyResponse applied;
  grpc::Status status = AdminService::NewStub(*channel_)->ApplyPolicy(
      Context(Key("admin")).get(), apply, &applied);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_TRUE(
      Audit()
          ->SeparationViolations(Context(Key("auditor")).get(), {}, &response)
          .ok());
  std::vector<std::string> rows;
  for (const v1::SeparationViolation& v : response.violations()) {
    rows.push_back(v.principal_id() + " " + v.role_a() + "/" + v.role_b() +
                   " " + v.binding_a().role() + "@" + v.binding_a().scope() +
                   " " + v.binding_b().role() + "@" + v.binding_b().scope());
  }
  // hank: global clerk overlaps approver@acme. judy: senior_clerk extends
  // invoice_clerk, same scope as her approver binding. Not ivan: acme/eu
  // and acme/us do not overlap.
  EXPECT_THAT(rows,
              ElementsAre("hank invoice_approver/invoice_clerk "
                          "invoice_approver@acme invoice_clerk@",
                          "judy invoice_approver/invoice_clerk "
                          "invoice_approver@acme/eu senior_clerk@acme/eu"));
}

TEST_F(ReportsTest, AuditorAndAdminKeysOnlyClientKeyDenied) {
  auto audit = Audit();
  v1::WhoCanRequest who;
  who.set_action("read");
  who.set_resource_kind("customer");
  v1::WhoCanResponse who_response;
  EXPECT_TRUE(
      audit->WhoCan(Context(Key("admin")).get(), who, &who_response).ok());
  const std::string& client = Key("client");
  EXPECT_EQ(
      audit->WhoCan(Context(client).get(), who, &who_response).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::EffectivePermissionsRequest permissions;
  permissions.set_role("viewer");
  v1::EffectivePermissionsResponse permissions_response;
  EXPECT_EQ(audit
                ->EffectivePermissions(Context(client).get(), permissions,
                                       &permissions_response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::UnusedGrantsResponse unused;
  EXPECT_EQ(
      audit->UnusedGrants(Context(client).get(), {}, &unused).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::SeparationViolationsResponse sod;
  EXPECT_EQ(
      audit->SeparationViolations(Context(client).get(), {}, &sod).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::ExpiringGrantsResponse expiring;
  EXPECT_EQ(
      audit->ExpiringGrants(Context(client).get(), {}, &expiring).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(audit->WhoCan(Context("").get(), who, &who_response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// UnusedGrants after the first report sees the decisions made since (the
// usage aggregate is brought up to date on each call), and a use counts
// for every binding reaching its rule whose scope covers the resource's.
TEST_F(ReportsTest, UnusedGrantsFollowNewDecisions) {
  auto unused_scoped = [] {
    v1::UnusedGrantsResponse response;
    grpc::Status status =
        Audit()->UnusedGrants(Context(Key("auditor")).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> out;
    for (const v1::UnusedGrant& g : response.grants()) {
      out.push_back(g.binding().principal_id() + " " + g.binding().role() +
                    "@" + g.binding().scope() +
                    (g.has_last_used() ? " last_used" : ""));
    }
    return out;
  };
  std::vector<std::string> before = unused_scoped();
  EXPECT_THAT(before, ::testing::Contains("dave account_manager@acme/us"));
  EXPECT_THAT(before, ::testing::Not(
                          ::testing::Contains(::testing::HasSubstr("alice"))));

  // A second viewer binding of alice: her only use (scope "") went through
  // the global one, which covers it; the acme/us one does not.
  auto admin = AdminService::NewStub(*channel_);
  v1::GrantRequest grant;
  grant.set_principal_id("alice");
  grant.set_role("viewer");
  grant.set_scope("acme/us");
  v1::GrantResponse granted;
  grpc::Status status =
      admin->Grant(Context(Key("admin")).get(), grant, &granted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(unused_scoped(), ::testing::Contains("alice viewer@acme/us"));

  // Uses now: alice in acme/us (both her bindings cover it), dave through
  // the inherited sales_rep/1.
  auto authz = AuthorizationService::NewStub(*channel_);
  for (const v1::CheckRequest& request :
       {CheckOf("alice", "read", "customer", "acme/us"),
        CheckOf("dave", "read", "customer", "acme/us", {{"owner", "dave"}})}) {
    v1::CheckResponse response;
    status = authz->Check(Context(Key("client")).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.effect(), v1::ALLOW) << response.ShortDebugString();
  }
  // The trail is written behind the decisions: wait for them to land.
  std::vector<std::string> after;
  WaitUntil(
      [&] {
        after = unused_scoped();
        return std::find(after.begin(), after.end(), "alice viewer@acme/us") ==
                   after.end() &&
               std::find(after.begin(), after.end(),
                         "dave account_manager@acme/us") == after.end();
      },
      absl::Seconds(30),
      "the unused-bindings report to see alice's and dave's new decisions");
  EXPECT_THAT(after, ::testing::Not(
                         ::testing::Contains(::testing::HasSubstr("alice"))));
  EXPECT_THAT(
      after, ::testing::Not(::testing::Contains(::testing::HasSubstr("dave"))));
  // Everything else is as before.
  std::vector<std::string> expected;
  for (const std::string& s : before) {
    if (s.rfind("dave ", 0) != 0) expected.push_back(s);
  }
  EXPECT_EQ(after, expected);
}

// The reports page through Store::ListBindings; each filter form (none,
// principal, role, both) has its own statement, so check every form pages
// through the same rows, in key order, as one unpaged read.
TEST(ListBindingsPagingTest, EveryFilterFormPagesInKeyOrder) {
  TempDir dir;
  store::FakeClock clock(absl::FromUnixSeconds(1800000000));
  store::Store::Options options;
  options.create_if_missing = true;
  auto opened = store::OpenStore(dir.path() + "/s.db", clock, options);
  ASSERT_THAT(opened.status(), IsOk());
  store::Store& s = **opened;
  ASSERT_THAT(s.policies()
                  .ApplyPolicy({policy::SourceFile{"p.policy", kPolicyV1}},
                               "test", "v1")
                  .status(),
              IsOk());
  for (const char* p : {"a", "b", "c", "d"}) {
    ASSERT_THAT(s.principals().UpsertPrincipal(p, p, {}).status(), IsOk());
    for (const char* role : {"viewer", "support", "invoice_clerk"}) {
      for (const char* scope : {"", "acme", "acme/eu"}) {
        store::GrantRequest grant;
        grant.principal = p;
        grant.role = role;
        grant.scope = scope;
        grant.granted_by = "test";
        ASSERT_THAT(s.principals().Grant(grant).status(), IsOk());
      }
    }
  }
  auto key = [](const store::Binding& b) {
    return absl::StrCat(b.principal, "/", b.role, "/", b.scope);
  };
  const std::vector<std::pair<store::BindingFilter, size_t>> cases = {
      {{}, 36}, {{"b", ""}, 9}, {{"", "support"}, 12}, {{"c", "viewer"}, 3}};
  for (const auto& [filter, count] : cases) {
    std::vector<std::string> expected;
    auto all = s.principals().ListBindings(filter, 1000, "");
    ASSERT_THAT(all.status(), IsOk());
    EXPECT_TRUE(all->next_page_token.empty());
    for (const store::Binding& b : all->bindings) {
      if ((filter.principal.empty() || b.principal == filter.principal) &&
          (filter.role.empty() || b.role == filter.role)) {
        expected.push_back(key(b));
      }
    }
    EXPECT_EQ(expected.size(), all->bindings.size());
    EXPECT_EQ(expected.size(), count);
    EXPECT_TRUE(std::is_sorted(expected.begin(), expected.end()));
    std::vector<std::string> paged;
    std::string token;
    int pages = 0;
    do {
      auto page = s.principals().ListBindings(filter, 2, token);
      ASSERT_THAT(page.status(), IsOk());
      for (const store::Binding& b : page->bindings) paged.push_back(key(b));
      token = page->next_page_token;
      ASSERT_LT(++pages, 100);
    } while (!token.empty());
    EXPECT_EQ(paged, expected) << filter.principal << " " << filter.role;
  }
}

// A new, migrated store at `path`, and a raw connection to it for writing
// audit rows directly. nullptr (after a test failure) when either fails.
std::unique_ptr<store::sqlite::Connection> CreateStoreAndConnect(
    const std::string& path) {
  {
    store::FakeClock clock(absl::FromUnixSeconds(1800000000));
    store::Store::Options options;
    options.create_if_missing = true;
    auto created = store::OpenStore(path, clock, options);
    EXPECT_THAT(created.status(), IsOk());
    if (!created.ok()) return nullptr;
  }
  auto connection =
      store::sqlite::Connection::Open(path, store::sqlite::ConnectionOptions{});
  EXPECT_THAT(connection.status(), IsOk());
  if (!connection.ok()) return nullptr;
  return *std::move(connection);
}

// audit::UsageIndex on its own: the aggregate per (principal, rule, scope),
// incremental refreshes, and a retention purge (a seq prefix) dropping
// what has no record left.
TEST(UsageIndexTest, FoldsNewRecordsAndForgetsPurgedOnes) {
  TempDir dir;
  const std::string path = dir.path() + "/usage.db";
  std::unique_ptr<store::sqlite::Connection> connection =
      CreateStoreAndConnect(path);
  ASSERT_NE(connection, nullptr);
  store::sqlite::Connection& db = *connection;
  int next = 0;
  auto add = [&](const std::string& kind, const std::string& principal,
                 const std::string& effect, const std::string& rule,
                 const std::string& scope, int64_t time_s) {
    auto stmt = db.Prepare(
        "INSERT INTO audit_log (time, kind, decision_id, principal, effect, "
        "rule_id, resource_scope, seq, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, zeroblob(32), zeroblob(32))");
    ASSERT_THAT(stmt.status(), IsOk());
    stmt->BindTime(1, absl::FromUnixSeconds(time_s));
    stmt->BindText(2, kind);
    ++next;
    stmt->BindInt(8, next);
    if (kind == "decision") {
      stmt->BindText(3, absl::StrCat("d", next));
    } else {
      stmt->BindNull(3);
    }
    stmt->BindText(4, principal);
    stmt->BindText(5, effect);
    stmt->BindText(6, rule);
    stmt->BindText(7, scope);
    ASSERT_THAT(stmt->Run(), IsOk());
  };
  auto summary = [](audit::UsageIndex& index) {
    std::vector<std::string> out;
    absl::Status s = index.Read([&](const audit::UsageMap& map) {
      for (const auto& [principal, uses] : map) {
        for (const audit::ScopedUse& use : uses) {
          out.push_back(absl::StrCat(principal, " ", use.rule_id, "@",
                                     use.resource_scope, " ",
                                     absl::ToUnixSeconds(use.last_allow)));
        }
      }
    });
    EXPECT_THAT(s, IsOk());
    std::sort(out.begin(), out.end());
    return out;
  };

  auto index = audit::UsageIndex::Open(path);
  ASSERT_THAT(index.status(), IsOk());
  EXPECT_THAT(summary(**index), IsEmpty());

  add("decision", "p1", "ALLOW", "r/1", "a", 100);  // seq 1
  add("decision", "p1", "ALLOW", "r/1", "a", 300);  // seq 2
  add("decision", "p1", "ALLOW", "r/1", "b", 200);  // seq 3
  add("decision", "p2", "DENY", "r/2", "a", 400);   // not a use
  add("admin", "p2", "OK", "", "", 500);            // not a decision
  add("decision", "p3", "ALLOW", "r/1", "", 150);   // seq 6
  EXPECT_THAT(summary(**index),
              ElementsAre("p1 r/1@a 300", "p1 r/1@b 200", "p3 r/1@ 150"));

  // Only what was added since is read; the maximum per key wins.
  add("decision", "p1", "ALLOW", "r/1", "a", 350);  // seq 7
  add("decision", "p2", "ALLOW", "r/2", "a", 600);
  EXPECT_THAT(summary(**index), ElementsAre("p1 r/1@a 350", "p1 r/1@b 200",
                                            "p2 r/2@a 600", "p3 r/1@ 150"));

  // Retention deletes a seq prefix: p1's uses in b (seq 3) and p3's
  // (seq 6) are gone; p1 in a still has seq 7.
  ASSERT_THAT(db.Exec("DELETE FROM audit_log WHERE seq <= 6"), IsOk());
  EXPECT_THAT(summary(**index), ElementsAre("p1 r/1@a 350", "p2 r/2@a 600"));

  // A new index reads the whole remaining trail.
  auto fresh = audit::UsageIndex::Open(path);
  ASSERT_THAT(fresh.status(), IsOk());
  EXPECT_THAT(summary(**fresh), ElementsAre("p1 r/1@a 350", "p2 r/2@a 600"));

  // The incremental read is a rowid range, not a scan of the trail.
  auto plan = (*index)->ExplainRefresh();
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_THAT(*plan, HasSubstr("INTEGER PRIMARY KEY"));
  EXPECT_THAT(*plan, ::testing::Not(HasSubstr("SCAN")));
}

// Inserts one record straight into the trail (seq given), as the writer
// would minus the chain: for the UsageIndex tests.
void InsertRecord(store::sqlite::Connection& db, int64_t seq,
                  const std::string& kind, const std::string& principal,
                  const std::string& effect, absl::Time time) {
  auto stmt = db.Prepare(
      "INSERT INTO audit_log (time, kind, decision_id, principal, effect, "
      "rule_id, resource_scope, seq, prev_hash, hash) "
      "VALUES (?, ?, ?, ?, ?, '', '', ?, zeroblob(32), zeroblob(32))");
  ASSERT_THAT(stmt.status(), IsOk());
  stmt->BindTime(1, time);
  stmt->BindText(2, kind);
  if (kind == "decision") {
    stmt->BindText(3, absl::StrCat("d", seq));
  } else {
    stmt->BindNull(3);
  }
  stmt->BindText(4, principal);
  stmt->BindText(5, effect);
  stmt->BindInt(6, seq);
  ASSERT_THAT(stmt->Run(), IsOk());
}

// "YYYY-MM-DD allow/deny" per day, then "principal=denies" per top denied
// principal, then "total allow/deny, N denied, seq A-B".
std::vector<std::string> SummaryLines(const audit::DecisionSummary& summary) {
  std::vector<std::string> out;
  for (const audit::DecisionSummary::Day& day : summary.days) {
    out.push_back(absl::StrCat(
        absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + day.day), " ",
        day.allow, "/", day.deny));
  }
  for (const auto& [principal, denies] : summary.top_denied) {
    out.push_back(absl::StrCat(principal, "=", denies));
  }
  out.push_back(absl::StrCat("total ", summary.total_allow, "/",
                             summary.total_deny, ", ",
                             summary.denied_principals, " denied, seq ",
                             summary.first_seq, "-", summary.last_seq));
  return out;
}

// audit::UsageIndex's decision counts: per UTC day, exact windows (edges
// inside a day read that day's records), incremental folding, and purges
// that remove whole days or cut through one.
TEST(UsageIndexTest, SummarizesDaysWindowsAndPurges) {
  TempDir dir;
  const std::string path = dir.path() + "/summary.db";
  std::unique_ptr<store::sqlite::Connection> connection =
      CreateStoreAndConnect(path);
  ASSERT_NE(connection, nullptr);
  store::sqlite::Connection& db = *connection;
  // 2027-01-15T00:00:00Z and the two days after it.
  const absl::Time d0 = absl::FromUnixSeconds(1799971200);
  auto at = [&](int day, double hours) {
    return d0 + absl::Hours(24 * day) + absl::Hours(hours);
  };
  InsertRecord(db, 1, "decision", "p1", "ALLOW", at(0, 1));
  InsertRecord(db, 2, "decision", "p2", "DENY", at(0, 2));
  InsertRecord(db, 3, "decision", "p2", "DENY", at(0, 20));
  InsertRecord(db, 4, "admin", "p9", "OK", at(0, 21));  // not a decision
  InsertRecord(db, 5, "decision", "p3", "DENY", at(1, 1));
  InsertRecord(db, 6, "decision", "p1", "ALLOW", at(1, 5));
  InsertRecord(db, 7, "decision", "p2", "DENY", at(2, 3));
  InsertRecord(db, 8, "decision", "p3", "DENY", at(2, 4));
  InsertRecord(db, 9, "decision", "p3", "DENY", at(2, 12));

  auto index = audit::UsageIndex::Open(path);
  ASSERT_THAT(index.status(), IsOk());
  auto summarize = [&](audit::UsageIndex& i, audit::DecisionWindow window) {
    absl::StatusOr<audit::DecisionSummary> summary = i.Summarize(window);
    EXPECT_THAT(summary.status(), IsOk());
    return summary.ok() ? SummaryLines(*summary) : std::vector<std::string>{};
  };
  audit::DecisionWindow all;
  EXPECT_THAT(summarize(**index, all),
              ElementsAre("2027-01-15 1/2", "2027-01-16 1/1", "2027-01-17 0/3",
                          "p2=3", "p3=3", "total 2/6, 2 denied, seq 1-9"));

  // Both edges inside a day: only the records inside count (until is
  // exclusive: seq 8 at exactly 04:00 is out).
  audit::DecisionWindow edges;
  edges.since = at(0, 10);
  edges.until = at(2, 4);
  EXPECT_THAT(summarize(**index, edges),
              ElementsAre("2027-01-15 0/1", "2027-01-16 1/1", "2027-01-17 0/1",
                          "p2=2", "p3=1", "total 1/3, 2 denied, seq 1-9"));
  // Whole days: the first and last day are left out.
  audit::DecisionWindow middle;
  middle.since = at(1, 0);
  middle.until = at(2, 0);
  EXPECT_THAT(
      summarize(**index, middle),
      ElementsAre("2027-01-16 1/1", "p3=1", "total 1/1, 1 denied, seq 1-9"));
  // Open at one side; a window with no decision.
  audit::DecisionWindow before;
  before.until = at(0, 2);
  EXPECT_THAT(summarize(**index, before),
              ElementsAre("2027-01-15 1/0", "total 1/0, 0 denied, seq 1-9"));
  audit::DecisionWindow after;
  after.since = at(2, 13);
  EXPECT_THAT(summarize(**index, after),
              ElementsAre("total 0/0, 0 denied, seq 1-9"));
  audit::DecisionWindow top1;
  top1.top_denied = 1;
  EXPECT_THAT(summarize(**index, top1),
              ElementsAre("2027-01-15 1/2", "2027-01-16 1/1", "2027-01-17 0/3",
                          "p2=3", "total 2/6, 2 denied, seq 1-9"));

  // New records are folded in.
  InsertRecord(db, 10, "decision", "p1", "DENY", at(2, 13));
  EXPECT_THAT(
      summarize(**index, all),
      ElementsAre("2027-01-15 1/2", "2027-01-16 1/1", "2027-01-17 0/4", "p2=3",
                  "p3=3", "p1=1", "total 2/7, 3 denied, seq 1-10"));

  // Retention cuts through the first day: it is recounted from what is
  // left (seq 3 only).
  ASSERT_THAT(db.Exec("DELETE FROM audit_log WHERE seq <= 2"), IsOk());
  EXPECT_THAT(
      summarize(**index, all),
      ElementsAre("2027-01-15 0/1", "2027-01-16 1/1", "2027-01-17 0/4", "p3=3",
                  "p2=2", "p1=1", "total 1/6, 3 denied, seq 3-10"));
  // Then removes the first two days whole.
  ASSERT_THAT(db.Exec("DELETE FROM audit_log WHERE seq <= 6"), IsOk());
  const std::vector<std::string> last_day = {"2027-01-17 0/4", "p3=2", "p1=1",
                                             "p2=1",
                                             "total 0/4, 3 denied, seq 7-10"};
  EXPECT_EQ(summarize(**index, all), last_day);
  EXPECT_EQ((*index)->FoldSize().days, 1);
  EXPECT_EQ((*index)->FoldSize().deny_entries, 3);
  EXPECT_EQ((*index)->FoldSize().principals, 3);
  // A new index over the same trail agrees.
  auto fresh = audit::UsageIndex::Open(path);
  ASSERT_THAT(fresh.status(), IsOk());
  EXPECT_EQ(summarize(**fresh, all), last_day);
  // Everything purged.
  ASSERT_THAT(db.Exec("DELETE FROM audit_log"), IsOk());
  EXPECT_THAT(summarize(**index, all),
              ElementsAre("total 0/0, 0 denied, seq 0-0"));
  EXPECT_EQ((*index)->FoldSize().principals, 0);

  // A part of a day is read through the time index, not the whole trail.
  auto plan = (*index)->ExplainDayRead();
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_THAT(*plan, HasSubstr("audit_log_by_time"));
}

// DecisionSummary through a real stewardd: decisions spread over several
// UTC days (times moved back in the SQLite file between two runs), windows
// that cut days, and the retention purge at start removing the oldest day.
class DecisionSummaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    const std::string policy_path = dir_.path() + "/reports.policy";
    {
      std::ofstream out(policy_path);
      out << kPolicyV1;
    }
    ASSERT_THAT(
        server_.Start(STEWARDD_PATH, data_, {"--dev", "--policy", policy_path}),
        IsOk());
    Connect();
    auto admin = AdminService::NewStub(channel_);
    for (const char* id : {"alice", "erin", "zed"}) {
      v1::UpsertPrincipalRequest upsert;
      upsert.mutable_principal()->set_id(id);
      v1::UpsertPrincipalResponse upserted;
      grpc::Status status = admin->UpsertPrincipal(Context(Key("admin")).get(),
                                                   upsert, &upserted);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    for (const auto& [principal, role] :
         std::vector<std::pair<std::string, std::string>>{
             {"alice", "viewer"}, {"erin", "contractor"}}) {
      v1::GrantRequest grant;
      grant.set_principal_id(principal);
      grant.set_role(role);
      v1::GrantResponse granted;
      grpc::Status status =
          admin->Grant(Context(Key("admin")).get(), grant, &granted);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    // Decision n goes to day Plan()[n].days_ago at Plan()[n].hour.
    auto authz = AuthorizationService::NewStub(channel_);
    for (const Planned& planned : Plan()) {
      v1::CheckResponse response;
      grpc::Status status = authz->Check(
          Context(Key("client")).get(),
          CheckOf(planned.principal, "read", "customer", ""), &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(response.effect(), planned.allow ? v1::ALLOW : v1::DENY)
          << planned.principal;
    }
    ASSERT_EQ(server_.Stop(), 0) << server_.Log();
    Backdate();
  }

  struct Planned {
    std::string principal;
    bool allow;
    int days_ago;
    int hour;
  };
  static const std::vector<Planned>& Plan() {
    static const auto* plan = new std::vector<Planned>{
        {"alice", true, 500, 12}, {"erin", false, 500, 13},
        {"alice", true, 3, 10},   {"erin", false, 3, 11},
        {"erin", false, 2, 9},    {"zed", false, 2, 10},
        {"alice", true, 1, 8},    {"zed", false, 1, 9},
        {"zed", false, 1, 15},
    };
    return *plan;
  }

  // Midnight UTC of the day `days_ago` days before today, plus `hours`.
  absl::Time DayAgo(int days_ago, double hours = 0) const {
    return today_ - absl::Hours(24 * days_ago) + absl::Hours(hours);
  }
  std::string DayName(int days_ago) const {
    return absl::FormatTime("%Y-%m-%d", DayAgo(days_ago), absl::UTCTimeZone());
  }

  // Decision n of the plan moves to its day; every record before the last
  // 500-days-old decision moves 500 days back too, so that retention,
  // which purges a seq prefix, can take them.
  void Backdate() {
    auto connection = store::sqlite::Connection::Open(
        data_ + "/steward.db", store::sqlite::ConnectionOptions{});
    ASSERT_THAT(connection.status(), IsOk());
    store::sqlite::Connection& db = **connection;
    std::vector<int64_t> seqs;
    {
      auto stmt = db.Prepare(
          "SELECT seq FROM audit_log WHERE kind = 'decision' ORDER BY seq");
      ASSERT_THAT(stmt.status(), IsOk());
      while (true) {
        auto row = stmt->Step();
        ASSERT_THAT(row.status(), IsOk());
        if (!*row) break;
        seqs.push_back(stmt->Int(0));
      }
    }
    ASSERT_EQ(seqs.size(), Plan().size());
    today_ = absl::FromCivil(
        absl::CivilDay(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())),
        absl::UTCTimeZone());
    auto old = db.Prepare("UPDATE audit_log SET time = ? WHERE seq < ?");
    ASSERT_THAT(old.status(), IsOk());
    old->BindTime(1, DayAgo(500, 1));
    old->BindInt(2, seqs[1]);
    ASSERT_THAT(old->Run(), IsOk());
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto stmt = db.Prepare("UPDATE audit_log SET time = ? WHERE seq = ?");
      ASSERT_THAT(stmt.status(), IsOk());
      stmt->BindTime(1, DayAgo(Plan()[i].days_ago, Plan()[i].hour));
      stmt->BindInt(2, seqs[i]);
      ASSERT_THAT(stmt->Run(), IsOk());
    }
  }

  void Restart(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"--dev"};
    args.insert(args.end(), flags.begin(), flags.end());
    ASSERT_THAT(server_.Start(STEWARDD_PATH, data_, args), IsOk());
    Connect();
  }

  void Connect() {
    for (const char* role : {"admin", "auditor", "client"}) {
      keys_[role] = ReadKey(data_, role);
    }
    channel_ = grpc::CreateChannel(server_.address(),
                                   grpc::InsecureChannelCredentials());
  }
  const std::string& Key(const std::string& role) { return keys_[role]; }

  grpc::Status Summary(const v1::DecisionSummaryRequest& request,
                       v1::DecisionSummaryResponse* response,
                       const std::string& role = "auditor") {
    return AuditService::NewStub(channel_)->DecisionSummary(
        Context(Key(role)).get(), request, response);
  }
  std::vector<std::string> Lines(const v1::DecisionSummaryRequest& request) {
    v1::DecisionSummaryResponse response;
    grpc::Status status = Summary(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> out;
    for (const v1::DayDecisions& day : response.days()) {
      out.push_back(absl::StrCat(day.day(), " ", day.allow(), "/", day.deny()));
    }
    for (const v1::DeniedPrincipal& p : response.top_denied()) {
      out.push_back(absl::StrCat(p.principal_id(), "=", p.denies()));
    }
    out.push_back(absl::StrCat("total ", response.total_allow(), "/",
                               response.total_deny(), ", ",
                               response.denied_principals(), " denied"));
    return out;
  }

  TempDir dir_;
  ServerProcess server_;
  std::string data_;
  std::map<std::string, std::string> keys_;
  std::shared_ptr<grpc::Channel> channel_;
  absl::Time today_;
};

TEST_F(DecisionSummaryTest, DaysWindowsTopDeniedAndRetention) {
  // Retention long enough to keep the 500-day-old records.
  Restart({"--audit-retention", "1000d"});
  if (HasFatalFailure()) return;
  EXPECT_THAT(Lines({}), ElementsAre(DayName(500) + " 1/1", DayName(3) + " 1/1",
                                     DayName(2) + " 0/2", DayName(1) + " 1/2",
                                     "erin=3", "zed=3", "total 3/6, 2 denied"));
  v1::DecisionSummaryResponse response;
  ASSERT_TRUE(Summary({}, &response).ok());
  EXPECT_EQ(response.first_seq(), 1);
  EXPECT_GT(response.last_seq(), 9);
  EXPECT_THAT(response.policy_roles(),
              ElementsAre("viewer", "sales_rep", "support", "account_manager",
                          "contractor", "invoice_clerk", "senior_clerk",
                          "invoice_approver"));
  EXPECT_GT(response.policy_version(), 0);

  // The whole of day 3 to the middle of day 1: zed's 15:00 deny is out,
  // and so are the 500-day-old ones.
  v1::DecisionSummaryRequest window;
  *window.mutable_since() = ProtoTime(DayAgo(3));
  *window.mutable_until() = ProtoTime(DayAgo(1, 12));
  EXPECT_THAT(
      Lines(window),
      ElementsAre(DayName(3) + " 1/1", DayName(2) + " 0/2", DayName(1) + " 1/1",
                  "erin=2", "zed=2", "total 2/4, 2 denied"));
  // From inside day 2 on, one principal listed.
  v1::DecisionSummaryRequest recent;
  *recent.mutable_since() = ProtoTime(DayAgo(2, 9.5));
  recent.set_top_denied(1);
  EXPECT_THAT(Lines(recent),
              ElementsAre(DayName(2) + " 0/1", DayName(1) + " 1/2", "zed=3",
                          "total 1/3, 1 denied"));

  // Validation names the field; a client key is refused.
  v1::DecisionSummaryRequest bad;
  bad.set_top_denied(1001);
  grpc::Status status = Summary(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("top_denied"));
  v1::DecisionSummaryRequest backwards;
  *backwards.mutable_since() = ProtoTime(DayAgo(1));
  *backwards.mutable_until() = ProtoTime(DayAgo(2));
  status = Summary(backwards, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("until"));
  EXPECT_EQ(Summary({}, &response, "client").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Summary({}, &response, "admin").ok());

  // The default retention (400 days) purges the oldest day at start; the
  // purge runs beside serving, so wait for it.
  ASSERT_EQ(server_.Stop(), 0) << server_.Log();
  Restart({});
  if (HasFatalFailure()) return;
  grpc::Status summarized;
  WaitUntil(
      [&] {
        summarized = Summary({}, &response);
        return !summarized.ok() || response.first_seq() > 1;
      },
      absl::Seconds(30), "the start-up retention purge of the oldest day");
  ASSERT_TRUE(summarized.ok()) << summarized.error_message();
  EXPECT_GT(response.first_seq(), 1);
  EXPECT_THAT(Lines({}), ElementsAre(DayName(3) + " 1/1", DayName(2) + " 0/2",
                                     DayName(1) + " 1/2", "zed=3", "erin=2",
                                     "total 2/5, 2 denied"));
}

}  // namespace
}  // namespace steward::testing
