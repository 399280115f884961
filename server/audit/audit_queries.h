// AuditQueries: what the AuditService asks of an audit trail whatever
// database holds it — one page of records, newest first, and the
// verification of the whole trail.
//
// Public; the seam between AuditServiceImpl (server/grpc) and the engines.
// Two implementations: SqliteAuditQueries, over the SQLite trail's
// AuditReader (reader.h), and PgAuditQueries
// (postgresql/pg_audit_queries.h), over PgAuditReader, which answers
// across every replica's chain. Only what both engines can answer
// correctly is here; the SQLite-only queries (subject access, the reports'
// usage index) stay on AuditReader, so a PostgreSQL trail can never be
// asked for them by accident.
#ifndef STEWARD_SERVER_AUDIT_AUDIT_QUERIES_H_
#define STEWARD_SERVER_AUDIT_AUDIT_QUERIES_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
  absl::StatusOr<VerifyResult> VerifyChain() override {
    return reader_->VerifyChain();
  }

 private:
  AuditReader* reader_;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_AUDIT_QUERIES_H_
