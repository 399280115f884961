// Tests of the HTML access report (client/access_report.h): aggregation of
// decisions, escaping, and that the page needs nothing from the network.
#include "client/access_report.h"

#include "client/output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace v1 = ::steward::v1;

v1::AuditRecord Decision(const std::string& principal, v1::Effect effect,
                         absl::Time time) {
  v1::AuditRecord record;
  record.set_kind(v1::DECISION);
  record.set_principal_id(principal);
  record.set_effect(effect);
  *record.mutable_time() = ToProtoTime(time);
  return record;
}

TEST(DecisionStatsTest, CountsPerDayAndTopDenied) {
  const absl::Time day1 = absl::FromUnixSeconds(1800000000);
  const absl::Time day2 = day1 + absl::Hours(24);
  DecisionStats stats;
  stats.Add(Decision("u1", v1::ALLOW, day1));
  stats.Add(Decision("u2", v1::DENY, day1));
  stats.Add(Decision("u2", v1::DENY, day2));
  stats.Add(Decision("u3", v1::DENY, day2));
  v1::AuditRecord admin_change = Decision("u9", v1::DENY, day2);
  admin_change.set_kind(v1::ADMIN_CHANGE);
  stats.Add(admin_change);
  EXPECT_EQ(stats.total(), 4);
  ASSERT_EQ(stats.days().size(), 2u);
  EXPECT_EQ(stats.days().at("2027-01-15").allow, 1);
  EXPECT_EQ(stats.days().at("2027-01-15").deny, 1);
  EXPECT_EQ(stats.days().at("2027-01-16").deny, 2);
  auto top = stats.TopDenied(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, "u2");
  EXPECT_EQ(top[0].second, 2);
}

TEST(HtmlEscapeTest, EscapesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
}

TEST(AccessReportTest, SelfContainedWithMatrixAndPiiHighlight) {
  AccessReportData data;
  data.generated_at = absl::FromUnixSeconds(1800000000);
  data.server = "127.0.0.1:7070";
  RolePermissions support{"support_agent", {}};
  v1::PermissionEntry read;
  read.set_resource_kind("customer");
  read.set_action("read");
  read.set_effect("allow");
  read.set_rule_id("support_agent/1");
  support.entries.push_back(read);
  v1::PermissionEntry phone = read;
  phone.set_rule_id("support_agent/2");
  phone.add_purposes("support_case");
  phone.add_pii_fields("phone");
  support.entries.push_back(phone);
  data.roles.push_back(support);
  RolePermissions evil{"<script>alert(1)</script>", {}};
  data.roles.push_back(evil);
  data.decisions.Add(Decision("u1", v1::DENY, data.generated_at));
  v1::UnusedGrant unused;
  unused.mutable_binding()->set_principal_id("u5");
  unused.mutable_binding()->set_role("support_agent");
  data.unused.push_back(unused);

  const std::string html = RenderAccessReport(data);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<th>customer<br>read</th>"));
  EXPECT_THAT(html, HasSubstr("class=\"allow pii\""));
  EXPECT_THAT(html, HasSubstr("PII phone"));
  EXPECT_THAT(html, HasSubstr("Top denied principals"));
  EXPECT_THAT(html, HasSubstr("<td>u5</td>"));
  // Names from the server are text, never markup.
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  // Readable offline: no external stylesheet, script, font or image.
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
}

}  // namespace
}  // namespace steward::client
