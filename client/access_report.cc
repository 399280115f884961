// HTML access report rendering (see access_report.h).
#include "client/access_report.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/arguments.h"
#include "client/output.h"

namespace steward::client {

namespace v1 = ::steward::v1;

DecisionStats DecisionStats::FromSummary(
    const v1::DecisionSummaryResponse& summary) {
  DecisionStats stats;
  for (const v1::DayDecisions& day : summary.days()) {
    Day& counts = stats.days_[day.day()];
    counts.allow += day.allow();
    counts.deny += day.deny();
  }
  for (const v1::DeniedPrincipal& denied : summary.top_denied()) {
    stats.denies_by_principal_[denied.principal_id()] = denied.denies();
  }
  stats.total_ = summary.total_allow() + summary.total_deny();
  stats.denied_principals_ = summary.denied_principals();
  return stats;
}

void DecisionStats::Add(const v1::AuditRecord& record) {
  if (record.kind() != v1::DECISION) return;
  ++total_;
  const std::string day = absl::FormatTime(
      "%Y-%m-%d", FromProtoTime(record.time()), absl::UTCTimeZone());
  if (record.effect() == v1::ALLOW) {
    ++days_[day].allow;
  } else {
    // Unspecified counts as deny, as everywhere in Steward.
    ++days_[day].deny;
    if (++denies_by_principal_[record.principal_id()] == 1) {
      ++denied_principals_;
    }
  }
}

std::vector<std::pair<std::string, int64_t>> DecisionStats::TopDenied(
    size_t limit) const {
  std::vector<std::pair<std::string, int64_t>> out(denies_by_principal_.begin(),
                                                   denies_by_principal_.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second > b.second;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

constexpr absl::string_view kStyle = R"css(
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; }
th { background: #f0f0f0; }
td.allow { background: #e3f4e3; } td.cond { background: #fdf6d8; }
td.deny { background: #f8dddd; } td.pii { outline: 2px solid #c0392b;
  outline-offset: -2px; font-weight: bold; }
.bar { display: inline-block; height: 0.9em; }
.bar.allow { background: #4caf50; } .bar.deny { background: #e53935; }
.legend span { margin-right: 1.5em; } .note { color: #666; font-size: 0.85em; }
)css";

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& list) {
  return absl::StrJoin(list, ", ");
}

std::string MatrixSection(const AccessReportData& data) {
  std::set<std::pair<std::string, std::string>> columns;  // (kind, action)
  for (const RolePermissions& role : data.roles) {
    for (const v1::PermissionEntry& entry : role.entries) {
      columns.emplace(entry.resource_kind(), entry.action());
    }
  }
  std::string out = "<h2>Role &times; permission matrix</h2>\n";
  absl::StrAppend(&out,
                  "<p class=\"legend\"><span>allow = unconditional</span>"
                  "<span>allow? = conditional or purpose-bound</span>"
                  "<span>deny = explicit deny</span><span><b>bold red "
                  "frame</b> = reaches PII fields</span></p>\n");
  if (columns.empty()) {
    return out + "<p>No permissions found.</p>\n";
  }
  absl::StrAppend(&out, "<table>\n<tr><th>role</th>");
  for (const auto& [kind, action] : columns) {
    absl::StrAppend(&out, "<th>", HtmlEscape(kind), "<br>", HtmlEscape(action),
                    "</th>");
  }
  absl::StrAppend(&out, "</tr>\n");
  for (const RolePermissions& role : data.roles) {
    absl::StrAppend(&out, "<tr><th>", HtmlEscape(role.role), "</th>");
    for (const auto& column : columns) {
      std::string label;
      std::string css;
      std::vector<std::string> details;
      bool pii = false;
      for (const v1::PermissionEntry& entry : role.entries) {
        if (entry.resource_kind() != column.first ||
            entry.action() != column.second) {
          continue;
        }
        const bool deny = entry.effect() == "deny";
        const bool conditional =
            !entry.condition().empty() || !entry.purposes().empty();
        // A deny in the cell wins, as in the decision algorithm.
        if (deny) {
          label = "deny";
          css = "deny";
        } else if (css != "deny") {
          if (!conditional) {
            label = "allow";
            css = "allow";
          } else if (css != "allow") {
            label = "allow?";
            css = "cond";
          }
        }
        pii = pii || entry.pii_fields_size() > 0;
        std::string detail =
            absl::StrCat(entry.effect(), " by ", entry.rule_id());
        if (!entry.inherited_via().empty()) {
          absl::StrAppend(&detail, " via ", entry.inherited_via());
        }
        if (!entry.condition().empty()) {
          // The condition text carries its own `when`/`unless`.
          absl::StrAppend(&detail, " ", entry.condition());
        }
        if (!entry.purposes().empty()) {
          absl::StrAppend(&detail, " for ", Join(entry.purposes()));
        }
        if (!entry.fields().empty()) {
          absl::StrAppend(&detail, "; fields ", Join(entry.fields()));
        }
        if (!entry.pii_fields().empty()) {
          absl::StrAppend(&detail, "; PII ", Join(entry.pii_fields()));
        }
        details.push_back(std::move(detail));
      }
      if (pii) absl::StrAppend(&css, " pii");
      absl::StrAppend(&out, "<td class=\"", css, "\" title=\"",
                      HtmlEscape(absl::StrJoin(details, "\n")), "\">",
                      HtmlEscape(label), "</td>");
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</table>\n");
  return out;
}

std::string DecisionsSection(const AccessReportData& data) {
  std::string out =
      absl::StrCat("<h2>Decisions per day (last ", data.days, " days)</h2>\n");
  if (data.decisions.days().empty()) {
    return out + "<p>No decisions in the window.</p>\n";
  }
  int64_t peak = 1;
  for (const auto& [day, counts] : data.decisions.days()) {
    peak = std::max(peak, counts.allow + counts.deny);
  }
  absl::StrAppend(&out,
                  "<table>\n<tr><th>day</th><th>allow</th><th>deny</th>"
                  "<th></th></tr>\n");
  for (const auto& [day, counts] : data.decisions.days()) {
    // Bar widths in pixels out of 400: CSS only, no charting library.
    const int64_t allow_px = counts.allow * 400 / peak;
    const int64_t deny_px = counts.deny * 400 / peak;
    absl::StrAppend(
        &out, "<tr><td>", HtmlEscape(day), "</td><td>", counts.allow,
        "</td><td>", counts.deny,
        "</td><td><span class=\"bar allow\" style=\"width:", allow_px,
        "px\"></span><span class=\"bar deny\" "
        "style=\"width:",
        deny_px, "px\"></span></td></tr>\n");
  }
  absl::StrAppend(&out, "</table>\n");
  if (data.last_seq > 0) {
    absl::StrAppend(&out,
                    "<p class=\"note\">Counted by the server over trail "
                    "records ",
                    data.first_seq, "&ndash;", data.last_seq, ".</p>\n");
  }
  return out;
}

std::string TopDeniedSection(const AccessReportData& data) {
  std::string out = "<h2>Top denied principals</h2>\n";
  auto top = data.decisions.TopDenied(10);
  if (top.empty()) return out + "<p>No denied decisions.</p>\n";
  absl::StrAppend(&out, "<p class=\"note\">",
                  data.decisions.denied_principals(),
                  " principals denied at least once in the window.</p>\n");
  absl::StrAppend(&out,
                  "<table>\n<tr><th>principal</th><th>denies</th></tr>\n");
  for (const auto& [principal, count] : top) {
    absl::StrAppend(&out, "<tr><td>", HtmlEscape(principal), "</td><td>", count,
                    "</td></tr>\n");
  }
  absl::StrAppend(&out, "</table>\n");
  return out;
}

std::string UnusedSection(const AccessReportData& data) {
  std::string out = absl::StrCat("<h2>Unused grants (no allow in ", data.days,
                                 " days)</h2>\n");
  if (data.unused.empty()) return out + "<p>None.</p>\n";
  absl::StrAppend(&out,
                  "<table>\n<tr><th>principal</th><th>role</th><th>scope</th>"
                  "<th>granted</th><th>expires</th><th>last used</th></tr>\n");
  for (const v1::UnusedGrant& grant : data.unused) {
    const v1::Binding& b = grant.binding();
    absl::StrAppend(
        &out, "<tr><td>", HtmlEscape(b.principal_id()), "</td><td>",
        HtmlEscape(b.role()), "</td><td>",
        HtmlEscape(b.scope().empty() ? "(global)" : b.scope()), "</td><td>",
        HtmlEscape(FormatTimestamp(b.granted_at())), "</td><td>",
        HtmlEscape(b.has_expires_at() ? FormatTimestamp(b.expires_at())
                                      : "never"),
        "</td><td>",
        HtmlEscape(grant.has_last_used() ? FormatTimestamp(grant.last_used())
                                         : "never"),
        "</td></tr>\n");
  }
  absl::StrAppend(&out, "</table>\n");
  return out;
}

}  // namespace

std::string RenderAccessReport(const AccessReportData& data) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>Steward access report</title>\n<style>";
  absl::StrAppend(&out, kStyle, "</style>\n</head>\n<body>\n");
  absl::StrAppend(&out, "<h1>Steward access report</h1>\n<p class=\"note\">",
                  "Generated ", HtmlEscape(FormatUtcTime(data.generated_at)),
                  " from ", HtmlEscape(data.server), "; ",
                  data.decisions.total(), " decisions in the window.</p>\n");
  absl::StrAppend(&out, MatrixSection(data), DecisionsSection(data),
                  TopDeniedSection(data), UnusedSection(data));
  absl::StrAppend(&out, "</body>\n</html>\n");
  return out;
}

}  // namespace steward::client
