// AuditQueries: what the AuditService and the access reports ask of an
// audit trail whatever database holds it — one page of records, newest
// first, the records about one resource (subject access), and the
// verification of the whole trail.
//
// Public; the seam between AuditServiceImpl (server/grpc) and the engines.
// Two implementations: SqliteAuditQueries, over the SQLite trail's
// AuditReader (reader.h), and PgAuditQueries
// (postgresql/pg_audit_queries.h), over PgAuditReader, which answers
// across every replica's chain, ordered by time. The reports' usage
// aggregates have their own seam, TrailUsage (usage.h).
#ifndef STEWARD_SERVER_AUDIT_AUDIT_QUERIES_H_
#define STEWARD_SERVER_AUDIT_AUDIT_QUERIES_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/audit/reader.h"
#include "server/audit/verify.h"

namespace steward::audit {

// Implementations are thread-safe.
class AuditQueries {
 public:
  virtual ~AuditQueries() = default;

  // One page of records matching `filter`, newest first; the contract of
  // AuditReader::Query (page sizes, tokens, kInvalidArgument).
  virtual absl::StatusOr<QueryPage> Query(const QueryFilter& filter,
                                          int page_size,
                                          absl::string_view page_token) = 0;

  // Subject access: every record about one resource in [since, until),
  // newest first; the contract of AuditReader::SubjectAccess (both ids
  // required, kInvalidArgument otherwise; pages as Query).
  virtual absl::StatusOr<QueryPage> SubjectAccess(
      absl::string_view resource_kind, absl::string_view resource_id,
      std::optional<absl::Time> since, std::optional<absl::Time> until,
      int page_size, absl::string_view page_token) = 0;

  // The whole trail verified: ok only if every chain verifies; otherwise
  // first_bad_seq and message are those of the first broken chain.
  // Tampering is a value; non-OK only when the trail cannot be read.
  virtual absl::StatusOr<VerifyResult> VerifyChain() = 0;

 protected:
  AuditQueries() = default;
  AuditQueries(const AuditQueries&) = delete;
  AuditQueries& operator=(const AuditQueries&) = delete;
};

// The SQLite trail's single chain, through a borrowed reader that must
// outlive this.
class SqliteAuditQueries final : public AuditQueries {
 public:
  explicit SqliteAuditQueries(AuditReader* reader) : reader_(reader) {}

  absl::StatusOr<QueryPage> Query(const QueryFilter& filter, int page_size,
                                  absl::string_view page_token) override {
    return reader_->Query(filter, page_size, page_token);
  }
  absl::StatusOr<QueryPage> SubjectAccess(
      absl::string_view resource_kind, absl::string_view resource_id,
      std::optional<absl::Time> since, std::optional<absl::Time> until,
      int page_size, absl::string_view page_token) override {
    return reader_->SubjectAccess(resource_kind, resource_id, since, until,
                                  page_size, page_token);
  }
  absl::StatusOr<VerifyResult> VerifyChain() override {
    return reader_->VerifyChain();
  }

 private:
  AuditReader* reader_;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_AUDIT_QUERIES_H_
