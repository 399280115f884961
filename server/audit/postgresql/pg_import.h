// Copying the SQLite audit trail (DATA_DIR/steward.db's audit_log) into
// PostgreSQL's audit_records as a chain of its own: the trail half of
// `stewardd migrate-store` (server/daemon/migrate_command.h); the role
// store half is server/store/postgresql/sqlite_import.h.
//
// Public to the daemon. Every record keeps its seq, prev_hash, hash and
// every column's stored bytes, so the PostgreSQL verifier (pg_verify.h),
// which computes record.h's canonical encoding from the same columns,
// recomputes the same hashes and the copied chain verifies unchanged. The
// chain's head row (audit_chains) is set to the last record, so a
// `stewardd serve --replica-name CHAIN` started later continues this very
// chain, as it would its own. Retention anchors (audit_checkpoints) become
// the chain's audit_retention_checkpoints, so a trail that retention has
// purged still verifies from its anchor; signed checkpoints
// (audit_signed_checkpoints) are carried with their signatures, which sign
// (seq, head, time) and not a chain name, so they stay valid.
//
// The copy streams the source in one scan and inserts batches of
// `batch_records` rows, so memory stays bounded whatever the trail's
// size; every row's chain hash is recomputed on the way, so what lands in
// PostgreSQL is exactly the chain that verified. The caller owns both
// transactions.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_IMPORT_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_IMPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/audit/record.h"
#include "server/audit/verify.h"
#include "server/store/postgresql/connection.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {

struct TrailImportOptions {
  // The chain the SQLite trail becomes. REQUIRES: a valid chain name
  // (1 to 128 of A-Z a-z 0-9 _ . : @ -).
  std::string chain;
  // Rows per INSERT, and how often `progress` is called.
  size_t batch_records = 5000;
  // Called after each batch with the records copied so far and the total.
  std::function<void(int64_t copied, int64_t total)> progress;
  absl::Time now;  // audit_chains.created_at / updated_at
};

struct TrailImportResult {
  int64_t records = 0;
  int64_t first_seq = 0;  // 0 when no record was copied
  int64_t last_seq = 0;   // the chain head's seq (an anchor's if purged)
  Hash head = kZeroHash;
  int64_t retention_checkpoints = 0;
  int64_t signed_checkpoints = 0;
};

// Verifies the SQLite trail on `source` as `stewardctl audit verify`
// does (VerifyChain, verify.h). A broken chain is a value (ok = false,
// the message names the first bad record); non-OK only when the database
// cannot be read. REQUIRES: `source` not inside a transaction.
absl::StatusOr<VerifyResult> VerifySqliteTrail(
    store::sqlite::Connection& source);

// What the audit tables of `target` hold, one phrase per non-empty table
// ("2 audit chains (a, b)", "1200 audit records"); empty when nothing.
absl::StatusOr<std::vector<std::string>> DescribeTrailContents(
    store::postgresql::Connection& target);

// Copies the trail (see the file comment). kDataLoss when a source row
// does not continue the chain (it changed after VerifySqliteTrail) or the
// target's counts read back differ from what was copied;
// kInvalidArgument when a record holds a NUL byte PostgreSQL text cannot
// store. Other codes: the engines'. REQUIRES: `target` inside a
// Transaction::Mode::kWrite transaction with DescribeTrailContents empty;
// `source` inside a read transaction after VerifySqliteTrail said ok.
absl::StatusOr<TrailImportResult> ImportSqliteTrail(
    store::sqlite::Connection& source, store::postgresql::Connection& target,
    const TrailImportOptions& options);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_IMPORT_H_
