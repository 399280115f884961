// Reading and writing audit_log rows through the store's Connection.
//
// Internal to server/audit: the one place that knows the audit_log column
// order, shared by the writer, the queries, verification and retention.
#ifndef STEWARD_SERVER_AUDIT_ROWS_H_
#define STEWARD_SERVER_AUDIT_ROWS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/audit/record.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit::internal {

// The 25 audit_log columns in canonical order, then prev_hash and hash.
inline constexpr char kRowColumns[] =
    "seq, time, kind, decision_id, caller, principal, action, resource_kind, "
    "resource_id, resource_scope, effect, reason, rule_id, policy_version, "
    "store_revision, request_id, fields, purpose, justification, attributes, "
    "key_id, details, totp_verified, prev_hash, hash";

// A stored row with its chain values.
struct ChainedRow {
  StoredRow row;
  Hash prev_hash = kZeroHash;
  Hash hash = kZeroHash;
};

// Reads the kRowColumns of the current row of `stmt`, starting at column 0.
// kDataLoss when a hash column is not 32 bytes.
absl::StatusOr<ChainedRow> ReadRow(const store::sqlite::Statement& stmt);

// Inserts `row` with its chain values.
absl::Status InsertRow(store::sqlite::Connection& connection,
                       const StoredRow& row, const Hash& prev_hash,
                       const Hash& hash);

// Rows per multi-row INSERT statement (25 parameters each, far below
// SQLite's 32766-parameter limit).
inline constexpr size_t kRowsPerInsert = 32;

struct RowToInsert {
  const StoredRow* row = nullptr;  // not owned
  Hash prev_hash = kZeroHash;
  Hash hash = kZeroHash;
};

// Inserts `rows` in order with multi-row INSERT statements of up to
// kRowsPerInsert rows. On error, some chunks may have been inserted: call
// inside a transaction and roll back.
absl::Status InsertRows(store::sqlite::Connection& connection,
                        absl::Span<const RowToInsert> rows);

// Where the chain continues: the newest record's seq and hash, else the
// newest checkpoint's, else (0, kZeroHash). `next_seq` also accounts for
// sqlite_sequence, so rows deleted from the tail are never reused: their
// removal stays visible to VerifyChain as a gap.
struct ChainTail {
  int64_t last_seq = 0;
  Hash last_hash = kZeroHash;
  int64_t next_seq = 1;
};
absl::StatusOr<ChainTail> LoadChainTail(store::sqlite::Connection& connection);

// Copies a 32-byte blob into a Hash; kDataLoss otherwise.
absl::StatusOr<Hash> ToHash(absl::Span<const uint8_t> blob);

}  // namespace steward::audit::internal

#endif  // STEWARD_SERVER_AUDIT_ROWS_H_
