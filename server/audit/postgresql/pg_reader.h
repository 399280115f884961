// PgAuditReader: auditor queries over the PostgreSQL trail, across every
// replica's chain, newest first.
//
// Public. The PostgreSQL counterpart of AuditReader (reader.h), with the
// same filter, page and error contract: records come newest first by
// (time, chain, seq) descending, across all chains, and pages go by
// keyset (the token encodes the last (time, chain, seq) returned), never
// OFFSET. Each statement is constant text with every filter bound as a
// parameter; PostgreSQL plans an unnamed statement with the values known,
// so unset filters fold away, the time bounds prune partitions, and the
// order is read from the (time, chain, seq) index of each partition.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_READER_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_READER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/audit/postgresql/pg_verify.h"
#include "server/audit/reader.h"
#include "server/audit/record.h"

namespace steward::store::postgresql {
class Connection;
}  // namespace steward::store::postgresql

namespace steward::audit {

// One record and the chain (replica) that wrote it.
struct ChainRecord {
  std::string chain;
  AuditRecord record;
};

struct PgQueryPage {
  std::vector<ChainRecord> records;  // newest first
  std::string next_page_token;       // "" = no more
};

// Thread-safe: calls are serialized on one connection. Owns it.
class PgAuditReader {
 public:
  // kInvalidArgument: bad connection string; kUnavailable: unreachable.
  static absl::StatusOr<std::unique_ptr<PgAuditReader>> Open(
      const std::string& conninfo);
  PgAuditReader(const PgAuditReader&) = delete;
  PgAuditReader& operator=(const PgAuditReader&) = delete;
  ~PgAuditReader();

  // One page of records of every chain matching `filter`. page_size 0 =
  // kDefaultPageSize. kInvalidArgument: page_size < 0 or > kMaxPageSize, a
  // malformed page token, since >= until. kDataLoss: a row no writer
  // produces (edited outside Steward).
  absl::StatusOr<PgQueryPage> Query(const QueryFilter& filter, int page_size,
                                    absl::string_view page_token);

  // The record of one decision, whichever replica made it. kNotFound when
  // absent.
  absl::StatusOr<ChainRecord> FindDecision(absl::string_view decision_id);

  // Every chain, verified (pg_verify.h).
  absl::StatusOr<PgVerifyResult> VerifyChains();

 private:
  explicit PgAuditReader(
      std::unique_ptr<store::postgresql::Connection> connection);
  absl::Mutex mu_;
  std::unique_ptr<store::postgresql::Connection> connection_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_READER_H_
