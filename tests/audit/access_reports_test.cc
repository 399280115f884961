// audit::AccessReports called directly, as the gRPC service and the
// benchmark call it: queries in, report values out, over a real store and
// trail in a temp dir. The wire mapping and the full report semantics are
// covered end to end in tests/server/reports_test.cc.
#include "server/audit/access_reports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/audit/reader.h"
#include "server/audit/usage.h"
#include "server/store/clock.h"
#include "server/store/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::audit {
namespace {

using steward::testing::IsOk;
using steward::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPolicy[] = R"(policy access_reports_test

purposes { support_case }

resource customer {
  fields { id, name, email pii }
  actions { read, export }
}

role viewer {
  allow read on customer fields { id, name }
}

role support extends viewer {
  allow read on customer fields { email } for support_case
}

role exporter {
  allow export on customer
}

separate support, exporter
)";

class AccessReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.path() + "/steward.db";
    bool created = false;
    absl::StatusOr<std::unique_ptr<store::Store>> opened =
        store::InitializeStore(db, clock_, {}, &created);
    ASSERT_THAT(opened.status(), IsOk());
    store_ = std::move(*opened);
    absl::StatusOr<std::unique_ptr<AuditReader>> reader = AuditReader::Open(db);
    ASSERT_THAT(reader.status(), IsOk());
    reader_ = std::move(*reader);
    absl::StatusOr<std::unique_ptr<UsageIndex>> usage = UsageIndex::Open(db);
    ASSERT_THAT(usage.status(), IsOk());
    usage_ = std::move(*usage);
  }

  AccessReports Reports() {
    return AccessReports(&store_->principals(), &store_->publisher(),
                         reader_.get(), &clock_, usage_.get());
  }

  void ApplyPolicy() {
    ASSERT_THAT(
        store_->policies()
            .ApplyPolicy({policy::SourceFile{"p.policy", kPolicy}}, "test", "")
            .status(),
        IsOk());
  }

  void Grant(const std::string& principal, const std::string& role,
             const std::string& scope,
             std::optional<absl::Time> expires_at = std::nullopt) {
    ASSERT_THAT(store_->principals().UpsertPrincipal(principal, "", {}),
                IsOk());
    store::GrantRequest grant;
    grant.principal = principal;
    grant.role = role;
    grant.scope = scope;
    grant.expires_at = expires_at;
    grant.granted_by = "test";
    ASSERT_THAT(store_->principals().Grant(grant).status(), IsOk());
  }

  steward::testing::TempDir dir_;
  store::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditReader> reader_;
  std::unique_ptr<UsageIndex> usage_;
};

TEST_F(AccessReportsTest, EveryReportNeedsAnActivePolicyButTheSummary) {
  AccessReports reports = Reports();
  EXPECT_THAT(reports.WhoCan({"read", "customer", ""}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(reports.RolePermissions("viewer").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(reports.UnusedGrants(kDefaultUnusedDays).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(reports.SeparationViolations().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(reports.ExpiringGrants(kDefaultExpiringWithin).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<DecisionSummaryReport> summary = reports.Summarize({});
  ASSERT_THAT(summary.status(), IsOk());
  EXPECT_EQ(summary->policy_version, 0);
  EXPECT_THAT(summary->policy_roles, IsEmpty());
}

TEST_F(AccessReportsTest, WhoCanNamesBindingRoleAndRule) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy());
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "support", "acme"));
  ASSERT_NO_FATAL_FAILURE(Grant("bo", "viewer", "acme/us"));
  absl::StatusOr<std::vector<WhoCanEntry>> who =
      Reports().WhoCan({"read", "customer", "acme/eu"});
  ASSERT_THAT(who.status(), IsOk());
  // bo's binding does not cover acme/eu; ann reads through both rules.
  ASSERT_EQ(who->size(), 2u);
  EXPECT_EQ((*who)[0].principal_id, "ann");
  EXPECT_EQ((*who)[0].binding.role, "support");
  EXPECT_EQ((*who)[0].binding.scope, "acme");
  EXPECT_THAT((*who)[0].pii_fields, IsEmpty());
  EXPECT_EQ((*who)[1].via_role, "support");
  EXPECT_THAT((*who)[1].purposes, ElementsAre("support_case"));
  EXPECT_THAT((*who)[1].pii_fields, ElementsAre("email"));
}

TEST_F(AccessReportsTest, QueriesNameTheBadField) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy());
  AccessReports reports = Reports();
  EXPECT_THAT(
      reports.WhoCan({"", "customer", ""}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action")));
  EXPECT_THAT(reports.WhoCan({"read", "invoice", ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("resource_kind: 'invoice'")));
  EXPECT_THAT(reports.WhoCan({"delete", "customer", ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("action: 'delete'")));
  EXPECT_THAT(reports.UnusedGrants(0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("days")));
  EXPECT_THAT(
      reports.ExpiringGrants(-absl::Seconds(1)).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("within")));
  DecisionWindow backwards;
  backwards.since = absl::FromUnixSeconds(100);
  backwards.until = absl::FromUnixSeconds(50);
  EXPECT_THAT(reports.Summarize(backwards).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("until")));
  EXPECT_THAT(reports.RolePermissions("nobody").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
  EXPECT_THAT(reports.PrincipalPermissions("nobody").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
}

TEST_F(AccessReportsTest, PermissionMatricesCarryTheBindingScope) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy());
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "support", "acme"));
  absl::StatusOr<std::vector<PermissionEntry>> role =
      Reports().RolePermissions("support");
  ASSERT_THAT(role.status(), IsOk());
  EXPECT_THAT(*role, ElementsAre(Field(&PermissionEntry::scope, ""),
                                 Field(&PermissionEntry::scope, "")));
  absl::StatusOr<std::vector<PermissionEntry>> ann =
      Reports().PrincipalPermissions("ann");
  ASSERT_THAT(ann.status(), IsOk());
  ASSERT_EQ(ann->size(), 2u);
  for (const PermissionEntry& entry : *ann) {
    EXPECT_EQ(entry.scope, "acme");
    EXPECT_TRUE(entry.allow);
  }
}

TEST_F(AccessReportsTest, ExpiringAndUnusedGrantsAreValues) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy());
  ASSERT_NO_FATAL_FAILURE(Grant("ann", "support", "acme/eu"));
  ASSERT_NO_FATAL_FAILURE(
      Grant("bo", "viewer", "", clock_.Now() + absl::Hours(24)));
  absl::StatusOr<std::vector<ExpiringGrant>> expiring =
      Reports().ExpiringGrants(absl::Hours(48));
  ASSERT_THAT(expiring.status(), IsOk());
  // bo's grant expires within the window; ann's never does and reaches
  // the PII field email.
  ASSERT_EQ(expiring->size(), 2u);
  EXPECT_EQ((*expiring)[0].binding.principal, "bo");
  EXPECT_FALSE((*expiring)[0].pii_without_expiry);
  EXPECT_EQ((*expiring)[1].binding.principal, "ann");
  EXPECT_TRUE((*expiring)[1].pii_without_expiry);

  absl::StatusOr<std::vector<UnusedGrant>> unused =
      Reports().UnusedGrants(kDefaultUnusedDays);
  ASSERT_THAT(unused.status(), IsOk());
  ASSERT_EQ(unused->size(), 2u);
  EXPECT_FALSE((*unused)[0].last_used.has_value());

  absl::StatusOr<std::vector<SeparationViolation>> violations =
      Reports().SeparationViolations();
  ASSERT_THAT(violations.status(), IsOk());
  EXPECT_THAT(*violations, IsEmpty());
}

}  // namespace
}  // namespace steward::audit
