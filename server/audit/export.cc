// See export.h.
#include "server/audit/export.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace steward::audit {
namespace {

using Json = nlohmann::json;

constexpr const char* kColumns[] = {
    "seq",         "time",           "kind",           "decision_id",
    "caller",      "principal",      "action",         "resource_kind",
    "resource_id", "resource_scope", "effect",         "reason",
    "rule_id",     "policy_version", "store_revision", "request_id",
    "fields",      "purpose",        "justification",  "attributes",
    "key_id",      "details",        "totp_verified",  "prev_hash",
    "hash"};

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Embedded JSON columns: the parsed value, or the raw text as a string if
// it does not parse (an export must not fail on one odd row).
Json Embedded(const std::optional<std::string>& text) {
  if (!text.has_value()) return Json();
  Json parsed = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Json(*text);
  return parsed;
}

Json FieldsArray(const AuditRecord& r) {
  Json a = Json::array();
  for (const std::string& f : r.fields) a.push_back(f);
  return a;
}

}  // namespace

std::string FormatRecordTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

std::string ToJsonLine(const AuditRecord& r) {
  // nlohmann's object is a std::map: keys come out sorted, which keeps
  // lines stable for diffs.
  Json j = Json::object();
  j["seq"] = r.seq;
  j["time"] = FormatRecordTime(r.time);
  j["kind"] = std::string(RecordKindName(r.kind));
  j["decision_id"] = r.decision_id.empty() ? Json() : Json(r.decision_id);
  j["caller"] = r.caller;
  j["principal"] = r.principal;
  j["action"] = r.action;
  j["resource_kind"] = r.resource_kind;
  j["resource_id"] = r.resource_id;
  j["resource_scope"] = r.resource_scope;
  j["effect"] = std::string(RecordEffectName(r.effect));
  j["reason"] = r.reason;
  j["rule_id"] = r.rule_id;
  j["policy_version"] = r.policy_version ? Json(*r.policy_version) : Json();
  j["store_revision"] = r.store_revision ? Json(*r.store_revision) : Json();
  j["request_id"] = r.request_id;
  j["fields"] = FieldsArray(r);
  j["purpose"] = r.purpose;
  j["justification"] = r.justification;
  j["attributes"] = Embedded(r.attributes);
  j["key_id"] = r.key_id.empty() ? Json() : Json(r.key_id);
  j["details"] = Embedded(r.details);
  j["totp_verified"] = r.totp_verified ? Json(*r.totp_verified) : Json();
  j["prev_hash"] = HashHex(r.prev_hash);
  j["hash"] = HashHex(r.hash);
  return Dump(j) + "\n";
}

// RFC 4180, and the same rule as stewardctl's CSV (client/output.cc
// CsvField, which cannot include this header): quoted when the cell holds a
// comma, quote, CR or LF, or starts or ends with a space that a spreadsheet
// would otherwise trim; '"' doubled inside. Both run the cases of
// tests/testing/csv_cases.h.
std::string CsvCell(absl::string_view value) {
  const bool needs_quotes =
      value.find_first_of(",\"\r\n") != absl::string_view::npos ||
      (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string CsvHeader() {
  return absl::StrCat(absl::StrJoin(kColumns, ","), "\r\n");
}

std::string ToCsvRow(const AuditRecord& r) {
  auto opt_int = [](const std::optional<int64_t>& v) {
    return v.has_value() ? absl::StrCat(*v) : std::string();
  };
  std::vector<std::string> cells = {
      absl::StrCat(r.seq),
      FormatRecordTime(r.time),
      std::string(RecordKindName(r.kind)),
      r.decision_id,
      r.caller,
      r.principal,
      r.action,
      r.resource_kind,
      r.resource_id,
      r.resource_scope,
      std::string(RecordEffectName(r.effect)),
      r.reason,
      r.rule_id,
      opt_int(r.policy_version),
      opt_int(r.store_revision),
      r.request_id,
      Dump(FieldsArray(r)),
      r.purpose,
      r.justification,
      r.attributes.value_or(""),
      r.key_id,
      r.details.value_or(""),
      r.totp_verified.has_value() ? (*r.totp_verified ? "true" : "false") : "",
      HashHex(r.prev_hash),
      HashHex(r.hash)};
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line.push_back(',');
    line += CsvCell(cells[i]);
  }
  line += "\r\n";
  return line;
}

}  // namespace steward::audit
