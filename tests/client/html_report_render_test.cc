// End to end: `stewardctl report access --html` against a real stewardd,
// and the page rendered by a real browser — headless Chromium (Debian's
// `chromium`, installed by scripts/bootstrap) dumps the DOM it built and
// takes a screenshot. The DOM must hold the role x permission matrix, the
// decisions per day with the exact counts made here, the most denied
// principals and the unused grants; neither the file nor the DOM may
// reference anything outside the page.
//
// Skipped (reported as such by CTest) when no Chromium is installed; set
// STEWARD_CHROMIUM to use another binary.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/cli_session.h"
#include "tests/testing/wait.h"

namespace steward::client {
namespace {

using ::steward::testing::CommandResult;
using ::steward::testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string FindChromium() {
  const char* env = std::getenv("STEWARD_CHROMIUM");
  if (env != nullptr && *env != '\0') {
    return std::filesystem::exists(env) ? env : "";
  }
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Anything that would make a browser fetch something: the page must read
// the same offline, years later.
void ExpectNoExternalReferences(const std::string& html) {
  for (const char* needle :
       {"http:", "https:", "src=", "href=", "url(", "@import", "<link",
        "<script", "<img", "<iframe", "<object", "<embed"}) {
    EXPECT_THAT(html, Not(HasSubstr(needle))) << needle;
  }
}

class HtmlReportRenderTest : public CliSessionTest {
 protected:
  void SetUp() override {
    chromium_ = FindChromium();
    if (chromium_.empty()) {
      GTEST_SKIP() << "chromium is not installed (scripts/bootstrap installs "
                      "it; STEWARD_CHROMIUM names another binary)";
    }
    StartServer({"--policy", Testdata("shop.policy")});
    if (HasFatalFailure()) return;
    for (std::vector<std::string> args :
         {std::vector<std::string>{"principal", "add", "u7"},
          std::vector<std::string>{"principal", "add", "u8"},
          std::vector<std::string>{"principal", "add", "u9"},
          std::vector<std::string>{"grant", "u7", "support_agent", "--scope",
                                   "acme"},
          std::vector<std::string>{"grant", "u8", "finance_approver"},
          std::vector<std::string>{"grant", "u9", "finance_clerk"}}) {
      CommandResult r = Ctl(As::kAdmin, args);
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
    }
    // 3 allows, 3 denies (u7 twice, u8 once); u9's grant is never used.
    Check(0, {"u7", "read", "customer/c1", "--scope", "acme"});
    Check(0, {"u7", "read", "customer/c2", "--scope", "acme/eu"});
    Check(3, {"u7", "update", "customer/c1", "--scope", "acme"});
    Check(3, {"u7", "update", "customer/c2", "--scope", "acme"});
    Check(0, {"u8", "approve", "refund/r1", "--attr", "created_by=u7", "--attr",
              "amount=50"});
    Check(3, {"u8", "approve", "refund/r2", "--attr", "created_by=u8", "--attr",
              "amount=50"});
  }

  // Runs headless Chromium on `html_path` with `mode` (--dump-dom or
  // --screenshot=FILE), bounded by coreutils' timeout.
  CommandResult Chromium(const std::string& html_path,
                         const std::string& mode) const {
    const std::string profile = dir_.path() + "/chromium-profile";
    std::filesystem::create_directories(profile);
    return testing::RunCommand(
        {"/usr/bin/timeout", "90", chromium_, "--headless", "--no-sandbox",
         "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1280,2000",
         absl::StrCat("--user-data-dir=", profile), mode,
         absl::StrCat("file://", html_path)},
        {absl::StrCat("HOME=", dir_.path())});
  }

  std::string chromium_;
};

TEST_F(HtmlReportRenderTest, RendersInHeadlessChromium) {
  const std::string html_path = dir_.path() + "/access.html";
  // The trail is written behind the decisions; regenerate until it holds
  // all six (a few tries at most).
  std::string html;
  CommandResult r;
  WaitUntil(
      [&] {
        r = Ctl(As::kAuditor,
                {"report", "access", "--html", html_path, "--days", "30"});
        return r.exit_code != 0 ||
               r.out.find(" 6 decisions") != std::string::npos;
      },
      absl::Seconds(30), "the access report to count all 6 decisions");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_THAT(r.out, StartsWith("wrote " + html_path));
  html = ReadFile(html_path);
  ASSERT_THAT(html, StartsWith("<!DOCTYPE html>"));
  ExpectNoExternalReferences(html);

  CommandResult dump = Chromium(html_path, "--dump-dom");
  ASSERT_EQ(dump.exit_code, 0) << Describe(dump);
  const std::string& dom = dump.out;
  ASSERT_THAT(dom, HasSubstr("<title>Steward access report</title>"))
      << Describe(dump);
  ExpectNoExternalReferences(dom);

  // The matrix: one column per (kind, action) granted, one row per role;
  // support_agent's customer/read cell allows and reaches PII (phone).
  EXPECT_THAT(dom, HasSubstr("permission matrix</h2>"));
  EXPECT_THAT(dom, HasSubstr("<th>customer<br>read</th>"));
  EXPECT_THAT(dom, HasSubstr("<th>refund<br>approve</th>"));
  EXPECT_THAT(dom, HasSubstr("<tr><th>support_agent</th><td class=\"allow "
                             "pii\""));
  EXPECT_THAT(dom, HasSubstr("<tr><th>finance_approver</th>"));

  // Decisions per day: the rows the browser built add up to this test's
  // decisions (one day, or two if the test ran across midnight UTC).
  EXPECT_THAT(dom, HasSubstr("<h2>Decisions per day (last 30 days)</h2>"));
  const std::regex day_row(
      "<tr><td>(\\d{4}-\\d\\d-\\d\\d)</td><td>(\\d+)</td><td>(\\d+)</td>");
  int days = 0, allow = 0, deny = 0;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), day_row);
       it != std::sregex_iterator(); ++it) {
    ++days;
    allow += std::stoi((*it)[2]);
    deny += std::stoi((*it)[3]);
  }
  EXPECT_GE(days, 1);
  EXPECT_LE(days, 2);
  EXPECT_EQ(allow, 3);
  EXPECT_EQ(deny, 3);
  EXPECT_THAT(
      dom, HasSubstr(absl::StrCat(
               "<tr><td>",
               absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()),
               "</td>")));

  // The figures are the server's (DecisionSummary), over the trail's
  // records: this test's six decisions and the admin changes before them.
  EXPECT_THAT(dom, HasSubstr("Counted by the server over trail records 1"));
  EXPECT_THAT(dom, HasSubstr("6 decisions in the window."));

  // Top denied principals, most first.
  EXPECT_THAT(dom, HasSubstr("<h2>Top denied principals</h2>"));
  EXPECT_THAT(dom,
              HasSubstr("2 principals denied at least once in the window."));
  const size_t u7 = dom.find("<tr><td>u7</td><td>2</td></tr>");
  const size_t u8 = dom.find("<tr><td>u8</td><td>1</td></tr>");
  EXPECT_NE(u7, std::string::npos) << dom;
  EXPECT_NE(u8, std::string::npos) << dom;
  EXPECT_LT(u7, u8);

  // Unused grants: u9's clerk grant only (u7 and u8 used theirs).
  EXPECT_THAT(dom, HasSubstr("<h2>Unused grants (no allow in 30 days)</h2>"));
  EXPECT_THAT(dom, HasSubstr("<tr><td>u9</td><td>finance_clerk</td><td>(global)"
                             "</td>"));
  EXPECT_THAT(dom, Not(HasSubstr("<tr><td>u7</td><td>support_agent</td>")));

  // And it paints: a PNG of the page.
  const std::string png = dir_.path() + "/access.png";
  CommandResult shot = Chromium(html_path, "--screenshot=" + png);
  ASSERT_EQ(shot.exit_code, 0) << Describe(shot);
  const std::string image = ReadFile(png);
  ASSERT_GT(image.size(), 8u) << Describe(shot);
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(image.size(), 10000u);  // text and tables, not a blank page
}

}  // namespace
}  // namespace steward::client
