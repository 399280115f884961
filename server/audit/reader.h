// AuditReader: auditor queries over the trail, subject access, lookup by
// decision id, and chain verification.
//
// Public. The AuditService (QueryDecisions, SubjectAccess, VerifyChain)
// calls it; it never writes. Queries return records newest first — by
// (time, seq) descending — and page by keyset: the page token encodes the
// last (time, seq) returned, so every page is an index or rowid range scan
// and no OFFSET is ever used: for principal and resource filters on the
// deferred index tables of migrations/0005; for other filters on
// audit_log's time index, or, for a rare value, on the rowid ranges of the
// generations whose value counts (migrations/0007) include it; each plus a
// rowid range scan of the rows the writer has not indexed yet (at most
// WriterOptions::index_batch_rows). Pages taken while
// records are being appended (or indexed) neither repeat nor skip records
// older than the first page's first record.
#ifndef STEWARD_SERVER_AUDIT_READER_H_
#define STEWARD_SERVER_AUDIT_READER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/audit/record.h"
#include "server/audit/verify.h"

namespace steward::store::sqlite {
class Connection;
}  // namespace steward::store::sqlite

namespace steward::audit {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 10000;

// Every set member narrows the result (AND). Strings match exactly; "" means
// "any".
struct QueryFilter {
  std::string principal;
  std::string action;
  std::string resource_kind;
  std::string resource_id;
  std::optional<RecordEffect> effect;
  std::string rule_id;
  std::string purpose;
  std::string caller;
  std::optional<absl::Time> since;  // inclusive
  std::optional<absl::Time> until;  // exclusive
  std::vector<RecordKind> kinds;    // empty = every kind
};

// The filter of a subject access query (every record about one resource
// in [since, until)), for every engine's SubjectAccess. kInvalidArgument
// unless both ids are set: without them it would be a query of the whole
// trail.
absl::StatusOr<QueryFilter> SubjectAccessFilter(
    absl::string_view resource_kind, absl::string_view resource_id,
    std::optional<absl::Time> since, std::optional<absl::Time> until);

struct QueryPage {
  std::vector<AuditRecord> records;  // newest first
  std::string next_page_token;       // "" = no more
};

// Thread-safe: calls are serialized on one read-only connection (use one
// reader per concurrent auditor stream if that ever matters). Owns its
// connection.
class AuditReader {
 public:
  // kNotFound: no such file.
  static absl::StatusOr<std::unique_ptr<AuditReader>> Open(
      const std::string& db_path);

  AuditReader(const AuditReader&) = delete;
  AuditReader& operator=(const AuditReader&) = delete;
  ~AuditReader();

  // One page of records matching `filter`. page_size 0 = kDefaultPageSize.
  // kInvalidArgument: page_size < 0 or > kMaxPageSize, a malformed page
  // token, since >= until.
  absl::StatusOr<QueryPage> Query(const QueryFilter& filter, int page_size,
                                  absl::string_view page_token);

  // Subject access: every record about one resource (e.g. one customer's
  // record) in [since, until) — who accessed it, when, why, with what
  // outcome. Same paging and errors as Query.
  absl::StatusOr<QueryPage> SubjectAccess(absl::string_view resource_kind,
                                          absl::string_view resource_id,
                                          std::optional<absl::Time> since,
                                          std::optional<absl::Time> until,
                                          int page_size,
                                          absl::string_view page_token);

  // The record of one decision. kNotFound when absent.
  absl::StatusOr<AuditRecord> FindDecision(absl::string_view decision_id);

  // Recomputes the whole chain (verify.h). Reads every retained row: run
  // it from the auditor path or a job, not per request.
  absl::StatusOr<VerifyResult> VerifyChain();

  // The query plan SQLite chooses for `filter` (EXPLAIN QUERY PLAN rows
  // joined by "\n"), so tests and operators can check index use. A query
  // answered from a deferred index table has two parts (the index table,
  // then the rows above the watermark), separated by a line "UNION ALL";
  // so has one on a rare kind, action, resource kind, caller, effect, rule
  // or purpose (a generation's rowid range, then the rows above the
  // watermark).
  absl::StatusOr<std::string> ExplainQuery(const QueryFilter& filter);

 private:
  explicit AuditReader(std::unique_ptr<store::sqlite::Connection> connection);

  absl::Mutex mu_;
  std::unique_ptr<store::sqlite::Connection> connection_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_READER_H_
