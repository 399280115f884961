// Verification of the audit hash chain.
//
// Public (the result type); the server reaches it through
// AuditReader::VerifyChain (reader.h), `stewardctl audit verify` through the
// AuditService. Recomputes hash_n = SHA-256(hash_{n-1} || canonical(row_n))
// (record.h) from the newest checkpoint (or 32 zero bytes) over every
// retained row in seq order and names the first record that does not
// match. Detects: a changed column (the row's hash no longer matches), a
// removed row (a gap in seq, or a missing tail per sqlite_sequence), rows
// swapped or reordered (seq is part of the encoding, and prev_hash links
// neighbours), edited hashes (the row itself or its successor fails), and a
// removed prefix hidden behind a forged checkpoint (the newest checkpoint
// must be named by a retained retention_purge record).
//
// Limits: a local chain cannot detect a wholesale rewrite of the file by
// someone who recomputes every hash (and sqlite_sequence); publishing the
// latest hash elsewhere from time to time (an anchor) closes that gap.
#ifndef STEWARD_SERVER_AUDIT_VERIFY_H_
#define STEWARD_SERVER_AUDIT_VERIFY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {

struct VerifyResult {
  bool ok = true;
  int64_t records_checked = 0;  // rows whose hash was recomputed
  // First retained seq (checkpoint seq + 1 after a purge); 0 if empty.
  int64_t first_seq = 0;
  int64_t last_seq = 0;  // last seq checked
  // The first record that does not verify (a missing record's seq for a
  // removal); 0 when ok.
  int64_t first_bad_seq = 0;
  // Human-readable: "chain verified: 120 records (1..120)" or what broke.
  std::string message;
};

namespace internal {

// Runs the verification inside one read transaction on `connection`.
// Tampering is a value (ok = false), not an error; non-OK only when the
// database cannot be read.
absl::StatusOr<VerifyResult> VerifyChain(store::sqlite::Connection& connection);

}  // namespace internal
}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_VERIFY_H_
