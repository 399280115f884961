// PgAuditQueries: the AuditService's queries (audit_queries.h) answered
// from the audit trail in PostgreSQL, across every replica's chain.
//
// Public; what the AuditService and the access reports of `stewardd serve
// --store postgresql://…` are given. Query is PgAuditReader::Query with
// each record's chain dropped (the wire record has no chain); SubjectAccess
// is Query on the resource (every chain, newest first by time, through
// the (resource_kind, resource_id, time) index of migration 0004). VerifyChain
// verifies every chain (PgAuditReader::VerifyChains) and folds the result into
// one VerifyResult: ok only if every chain verifies; otherwise first_bad_seq is
// the first bad seq of the first broken chain (by name) and the message names
// that chain. first_seq, last_seq and the signed checkpoints are per chain and
// have no single value across chains, so they stay empty.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_AUDIT_QUERIES_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_AUDIT_QUERIES_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/audit/audit_queries.h"
#include "server/audit/postgresql/pg_reader.h"
#include "server/audit/postgresql/pg_verify.h"

namespace steward::audit {

// Thread-safe (the reader serializes its calls). Borrows the reader,
// which must outlive this.
class PgAuditQueries final : public AuditQueries {
 public:
  explicit PgAuditQueries(PgAuditReader* reader) : reader_(reader) {}

  absl::StatusOr<QueryPage> Query(const QueryFilter& filter, int page_size,
                                  absl::string_view page_token) override;
  absl::StatusOr<QueryPage> SubjectAccess(
      absl::string_view resource_kind, absl::string_view resource_id,
      std::optional<absl::Time> since, std::optional<absl::Time> until,
      int page_size, absl::string_view page_token) override;
  absl::StatusOr<VerifyResult> VerifyChain() override;

 private:
  PgAuditReader* reader_;
};

// The fold VerifyChain applies to every chain's result (exposed for tests).
VerifyResult FoldPgVerifyResult(const PgVerifyResult& chains);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_AUDIT_QUERIES_H_
