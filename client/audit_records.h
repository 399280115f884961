// Audit records as stewardctl filters and prints them: the filter flags
// shared by `audit query`, `audit export` and `report subject-access`, and
// the columns of a record in tables and CSV exports.
#ifndef STEWARD_CLIENT_AUDIT_RECORDS_H_
#define STEWARD_CLIENT_AUDIT_RECORDS_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/audit.pb.h"

namespace steward::client {

// What the user typed; BuildRecordFilter() validates it.
struct RecordFilterOptions {
  std::string principal;
  std::string action;
  std::string kind;
  std::string resource;
  std::string effect;  // allow|deny
  std::string rule;
  std::string purpose;
  std::string since;  // 24h or RFC 3339
  std::string until;
  std::string record_kind;  // decision|admin_change|auth_failure|...
};

// Adds --principal --action --kind --resource --effect --rule --purpose
// --since --until --record-kind, bound to `options`.
void AddRecordFilterOptions(CLI::App& command, RecordFilterOptions& options);

// InvalidArgument (a usage error) for a bad principal id (v1::ValidateId),
// time or enum value.
absl::StatusOr<steward::v1::RecordFilter> BuildRecordFilter(
    const RecordFilterOptions& options, absl::Time now);

// Every field of a record, in proto order: the CSV export's columns.
std::vector<std::string> RecordExportHeaders();
std::vector<std::string> RecordExportCells(
    const steward::v1::AuditRecord& record);

// The columns a person scans first: the table view of `audit query`.
std::vector<std::string> RecordSummaryHeaders();
std::vector<std::string> RecordSummaryCells(
    const steward::v1::AuditRecord& record);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_AUDIT_RECORDS_H_
