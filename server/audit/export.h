// Export of audit records as JSON Lines and CSV.
//
// Public, pure functions (no I/O): the AuditService streams what they
// produce for `stewardctl audit export`; the CLI may reimplement the same
// layout. Both formats carry the same columns, in this order:
//   seq, time, kind, decision_id, caller, principal, action, resource_kind,
//   resource_id, resource_scope, effect, reason, rule_id, policy_version,
//   store_revision, request_id, fields, purpose, justification, attributes,
//   key_id, details, totp_verified, prev_hash, hash
// time is RFC 3339 UTC with microseconds ("2026-01-01T00:00:00.000000Z");
// kind and effect are the stored strings (record.h); hashes are lowercase
// hex; absent optional values are JSON null / an empty CSV cell.
// JSON Lines: one compact object per line, "\n"-terminated; fields is an
// array, attributes and details are embedded JSON. CSV (RFC 4180): CRLF
// line ends, a header line, every cell containing '"', ',', CR or LF
// quoted with '"' doubled; fields, attributes and details are their JSON
// text.
#ifndef STEWARD_SERVER_AUDIT_EXPORT_H_
#define STEWARD_SERVER_AUDIT_EXPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "server/audit/record.h"

namespace steward::audit {

// One JSON Lines line, ending in "\n".
std::string ToJsonLine(const AuditRecord& record);

// The CSV header line, ending in "\r\n".
std::string CsvHeader();
// One CSV line, ending in "\r\n".
std::string ToCsvRow(const AuditRecord& record);
// One RFC 4180 cell: quoted only when needed.
std::string CsvCell(absl::string_view value);

// The export time format.
std::string FormatRecordTime(absl::Time time);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_EXPORT_H_
