// The audit trail's deferred secondary indexes (migrations/0005, 0006).
//
// Internal to server/audit, except IndexAuditTrail. The lookups by
// principal and by resource are WITHOUT ROWID tables (audit_idx_principal,
// audit_idx_resource; 0006 dropped 0005's audit_idx_principal_rule) that
// hold the keys of the rows seq <= audit_index_state.indexed_through (the
// watermark). The writer appends rows above the watermark; IndexTail moves
// the watermark up, inserting the new rows' keys in key order in the same
// transaction (each leaf page is then written once per pass, not once per
// record), so a crash leaves either the old watermark and no new keys or
// both. Readers answer from the index tables plus a scan of the rows above
// the watermark (reader.cc); retention deletes the keys of the rows it
// purges (retention.cc).
//
// Every key starts with its generation, seq >> gen_shift (migrations/0006):
// a pass writes only into the newest generation's subtree of each table,
// so its cost does not grow with the trail. audit_idx_generations keeps
// each generation's time bounds for the readers, which probe generations
// newest first; audit_idx_values (migrations/0007) counts each generation's
// records per kind, action, resource kind, caller, effect, rule and
// purpose, so that filters on those alone read only the generations that
// hold the value.
#ifndef STEWARD_SERVER_AUDIT_INDEXER_H_
#define STEWARD_SERVER_AUDIT_INDEXER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {

// Indexes every row of the trail at `db_path` above the watermark, in
// passes of at most a million rows. For tools and benchmarks that insert
// rows without an AuditWriter (a running writer does this by itself).
absl::Status IndexAuditTrail(const std::string& db_path);

namespace internal {

// audit_index_state.gen_shift unless a test changed it: 65,536 records per
// generation.
inline constexpr int kDefaultGenShift = 16;

struct IndexState {
  // The watermark: every row with seq <= it has its index keys.
  int64_t indexed_through = 0;
  // Keys lead with their generation, seq >> gen_shift (migrations/0006).
  int gen_shift = kDefaultGenShift;
};

absl::StatusOr<IndexState> ReadIndexState(
    store::sqlite::Connection& connection);
// ReadIndexState(connection)->indexed_through.
absl::StatusOr<int64_t> IndexedThrough(store::sqlite::Connection& connection);

struct IndexPass {
  int64_t from = 0;     // old watermark
  int64_t through = 0;  // new watermark
};

// In one write transaction: indexes rows seq in (watermark, watermark +
// max_rows] (all of them above the watermark when max_rows <= 0), up to the
// newest row, and stores the new watermark. from == through: nothing to do.
absl::StatusOr<IndexPass> IndexTail(store::sqlite::Connection& connection,
                                    int64_t max_rows = 0);

// Deletes the index keys of the rows seq <= through (to be called inside
// the retention transaction, before the rows themselves are deleted).
// Deletes by primary key, so the cost is that of the purged rows only.
absl::Status DeleteIndexKeys(store::sqlite::Connection& connection,
                             int64_t through);

}  // namespace internal
}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_INDEXER_H_
