// The v1 contract's value rules on a real stewardd: principal ids outside
// [A-Za-z0-9_.@:-]{1,256} and Timestamps outside 0001-01-01..9999-12-31 are
// INVALID_ARGUMENT naming the field at every RPC that takes them, while
// principals stored before the id rule stay readable and deletable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "server/store/sqlite/connection.h"
#include "tests/server/dev_server_test.h"
#include "tests/server/grpc_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(
resource doc {
  actions { read }
}
role editor {
  allow read on doc
}
)";

// The ids of the issue, and a few more outside the charset.
const char* const kBadIds[] = {"a b/c", "\xc3\xa9", "<script>",
                               "*",     "a/b",      "tab\there"};

class ContractTest : public DevServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartDevServer());
    v1::ApplyPolicyRequest apply;
    v1::PolicySource* source = apply.add_sources();
    source->set_path("doc.policy");
    source->set_text(kPolicy);
    apply.set_message("test");
    v1::ApplyPolicyResponse applied;
    ASSERT_TRUE(
        admin_->ApplyPolicy(Context(admin_key_).get(), apply, &applied).ok());
    ASSERT_TRUE(Upsert("alice").ok());
  }

  grpc::Status Upsert(const std::string& id) {
    v1::UpsertPrincipalRequest request;
    request.mutable_principal()->set_id(id);
    v1::UpsertPrincipalResponse response;
    return admin_->UpsertPrincipal(Context(admin_key_).get(), request,
                                   &response);
  }

  grpc::Status Grant(const std::string& principal,
                     const google::protobuf::Timestamp* expires_at = nullptr) {
    v1::GrantRequest request;
    request.set_principal_id(principal);
    request.set_role("editor");
    if (expires_at != nullptr) *request.mutable_expires_at() = *expires_at;
    v1::GrantResponse response;
    return admin_->Grant(Context(admin_key_).get(), request, &response);
  }

  v1::CheckRequest Read(const std::string& principal) {
    v1::CheckRequest request;
    request.set_principal_id(principal);
    request.set_action("read");
    request.mutable_resource()->set_kind("doc");
    return request;
  }

  std::vector<std::string> PrincipalIds() {
    v1::ListPrincipalsResponse response;
    EXPECT_TRUE(admin_
                    ->ListPrincipals(Context(admin_key_).get(),
                                     v1::ListPrincipalsRequest(), &response)
                    .ok());
    std::vector<std::string> ids;
    for (const v1::Principal& p : response.principals()) ids.push_back(p.id());
    return ids;
  }
};

// INVALID_ARGUMENT with a message that starts with `field` and a colon.
::testing::AssertionResult IsInvalid(const grpc::Status& status,
                                     const std::string& field) {
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
      status.error_message().rfind(field + ": ", 0) == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "code " << status.error_code() << " \"" << status.error_message()
         << "\", wanted INVALID_ARGUMENT naming " << field;
}

TEST_F(ContractTest, PrincipalIdsOutsideTheCharsetAreRefusedEverywhere) {
  for (const std::string id : kBadIds) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(IsInvalid(Upsert(id), "principal.id"));
    EXPECT_TRUE(IsInvalid(Grant(id), "principal_id"));

    v1::RevokeRequest revoke;
    revoke.set_principal_id(id);
    revoke.set_role("editor");
    v1::RevokeResponse revoked;
    EXPECT_TRUE(
        IsInvalid(admin_->Revoke(Context(admin_key_).get(), revoke, &revoked),
                  "principal_id"));

    v1::SetPrincipalDisabledRequest disable;
    disable.set_id(id);
    disable.set_disabled(true);
    v1::SetPrincipalDisabledResponse disabled;
    EXPECT_TRUE(IsInvalid(admin_->SetPrincipalDisabled(
                              Context(admin_key_).get(), disable, &disabled),
                          "id"));

    v1::ListBindingsRequest list;
    list.set_principal_id(id);
    v1::ListBindingsResponse bindings;
    EXPECT_TRUE(IsInvalid(
        admin_->ListBindings(Context(admin_key_).get(), list, &bindings),
        "principal_id"));

    v1::CheckResponse decision;
    EXPECT_TRUE(IsInvalid(
        authz_->Check(Context(client_key_).get(), Read(id), &decision),
        "principal_id"));
    v1::BatchCheckRequest batch;
    *batch.add_items() = Read("alice");
    *batch.add_items() = Read(id);
    v1::BatchCheckResponse decisions;
    EXPECT_TRUE(IsInvalid(
        authz_->BatchCheck(Context(client_key_).get(), batch, &decisions),
        "items[1].principal_id"));

    v1::QueryDecisionsRequest query;
    query.mutable_filter()->set_principal_id(id);
    v1::QueryDecisionsResponse records;
    EXPECT_TRUE(IsInvalid(
        audit_->QueryDecisions(Context(auditor_key_).get(), query, &records),
        "filter.principal_id"));

    v1::EffectivePermissionsRequest permissions;
    permissions.set_principal_id(id);
    v1::EffectivePermissionsResponse entries;
    EXPECT_TRUE(
        IsInvalid(audit_->EffectivePermissions(Context(auditor_key_).get(),
                                               permissions, &entries),
                  "principal_id"));
  }
  // The error names the position, never the bytes.
  const grpc::Status status = Upsert("<script>");
  EXPECT_THAT(status.error_message(), HasSubstr("byte 1 is not allowed"));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("<script>")));

  // Nothing was stored, and ids inside the charset still work.
  EXPECT_THAT(PrincipalIds(), ::testing::ElementsAre("alice"));
  EXPECT_TRUE(Upsert("svc:crm@eu.example-1_a").ok());
  EXPECT_TRUE(Grant("svc:crm@eu.example-1_a").ok());
  v1::CheckResponse decision;
  ASSERT_TRUE(authz_
                  ->Check(Context(client_key_).get(),
                          Read("svc:crm@eu.example-1_a"), &decision)
                  .ok());
  EXPECT_EQ(decision.effect(), v1::ALLOW);
}

TEST_F(ContractTest, OutOfRangeTimestampsAreRefusedNamingTheField) {
  struct Bad {
    int64_t seconds;
    int32_t nanos;
  };
  const int64_t future = absl::ToUnixSeconds(absl::Now() + absl::Hours(24));
  for (const Bad& bad : {Bad{int64_t{1} << 62, 0}, Bad{future, -1},
                         Bad{future, 1000000000}, Bad{253402300800, 0}}) {
    SCOPED_TRACE(absl::StrCat(bad.seconds, "s ", bad.nanos, "ns"));
    google::protobuf::Timestamp t;
    t.set_seconds(bad.seconds);
    t.set_nanos(bad.nanos);
    EXPECT_TRUE(IsInvalid(Grant("alice", &t), "expires_at"));

    v1::QueryDecisionsRequest query;
    *query.mutable_filter()->mutable_since() = t;
    v1::QueryDecisionsResponse records;
    EXPECT_TRUE(IsInvalid(
        audit_->QueryDecisions(Context(auditor_key_).get(), query, &records),
        "filter.since"));
    query.mutable_filter()->clear_since();
    *query.mutable_filter()->mutable_until() = t;
    EXPECT_TRUE(IsInvalid(
        audit_->QueryDecisions(Context(auditor_key_).get(), query, &records),
        "filter.until"));

    v1::SubjectAccessRequest subject;
    subject.set_resource_kind("doc");
    subject.set_resource_id("d1");
    *subject.mutable_since() = t;
    v1::SubjectAccessResponse accesses;
    EXPECT_TRUE(IsInvalid(
        audit_->SubjectAccess(Context(auditor_key_).get(), subject, &accesses),
        "since"));

    v1::DecisionSummaryRequest summary;
    *summary.mutable_until() = t;
    v1::DecisionSummaryResponse summarized;
    EXPECT_TRUE(IsInvalid(audit_->DecisionSummary(Context(auditor_key_).get(),
                                                  summary, &summarized),
                          "until"));
  }
  // No binding was made; a valid expiry still works.
  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(admin_
                  ->ListBindings(Context(admin_key_).get(),
                                 v1::ListBindingsRequest(), &bindings)
                  .ok());
  EXPECT_EQ(bindings.bindings_size(), 0);
  google::protobuf::Timestamp t;
  t.set_seconds(future);
  t.set_nanos(999999999);
  EXPECT_TRUE(Grant("alice", &t).ok());
}

// Stores written before the id rule may hold such ids: they can still be
// listed, read and deleted (with their bindings), not granted or checked.
TEST_F(ContractTest, PrincipalsStoredBeforeTheIdRuleStayReadableAndDeletable) {
  {
    auto db = store::sqlite::Connection::Open(
        data_ + "/steward.db", store::sqlite::ConnectionOptions{});
    ASSERT_THAT(db.status(), IsOk());
    ASSERT_THAT((*db)->Exec("INSERT INTO principals (id, created_at, "
                            "updated_at) VALUES ('a b/c', 1, 1)"),
                IsOk());
    ASSERT_THAT((*db)->Exec("INSERT INTO role_bindings (principal, role, "
                            "granted_by, granted_at) VALUES ('a b/c', "
                            "'editor', 'dev-admin', 1)"),
                IsOk());
  }
  EXPECT_THAT(PrincipalIds(), ::testing::ElementsAre("a b/c", "alice"));

  v1::GetPrincipalRequest get;
  get.set_id("a b/c");
  v1::GetPrincipalResponse got;
  grpc::Status status =
      admin_->GetPrincipal(Context(admin_key_).get(), get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.principal().id(), "a b/c");
  EXPECT_EQ(got.bindings_size(), 1);

  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(admin_
                  ->ListBindings(Context(admin_key_).get(),
                                 v1::ListBindingsRequest(), &bindings)
                  .ok());
  ASSERT_EQ(bindings.bindings_size(), 1);
  EXPECT_EQ(bindings.bindings(0).principal_id(), "a b/c");

  EXPECT_TRUE(IsInvalid(Grant("a b/c"), "principal_id"));

  v1::DeletePrincipalRequest remove;
  remove.set_id("a b/c");
  v1::DeletePrincipalResponse removed;
  status = admin_->DeletePrincipal(Context(admin_key_).get(), remove, &removed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(removed.bindings_removed(), 1);
  EXPECT_THAT(PrincipalIds(), ::testing::ElementsAre("alice"));

  // The weaker rule still refuses what no store could hold.
  get.set_id("a\nb");
  EXPECT_TRUE(IsInvalid(
      admin_->GetPrincipal(Context(admin_key_).get(), get, &got), "id"));
}

}  // namespace
}  // namespace steward::testing
