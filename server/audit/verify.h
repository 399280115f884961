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
// Signed checkpoints (signed_checkpoint.h) close the gap a chain alone
// leaves, a wholesale rewrite by someone who recomputes every hash (and
// sqlite_sequence): the chain must reach each checkpoint's signed head, and
// a trail that ends before the newest checkpoint was cut. The signatures
// themselves are checked by the holder of the public key (stewardctl), or
// by VerifySignedTail at start.
#ifndef STEWARD_SERVER_AUDIT_VERIFY_H_
#define STEWARD_SERVER_AUDIT_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/audit/signed_checkpoint.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {

// What the chain says about one signed checkpoint.
enum class CheckpointState {
  kNotReached,   // the scan stopped at an earlier break
  kMatches,      // the chain's hash at its seq is its head
  kMismatch,     // it is not: history up to it was rewritten
  kPurged,       // its records were purged by retention; not checkable
  kBeyondTrail,  // it covers records the trail no longer holds (cut)
};

struct CheckpointCheck {
  SignedCheckpoint checkpoint;
  CheckpointState state = CheckpointState::kNotReached;
  std::string chain;  // "" for the SQLite trail's one chain
};

// One chain of a trail with several (PostgreSQL: one per replica).
struct ChainOutcome {
  std::string chain;
  bool ok = true;
  int64_t records_checked = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  int64_t first_bad_seq = 0;
  std::string message;
  std::vector<int64_t> possible_gaps;  // as VerifyResult's, this chain's seqs
};

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
  // Every stored signed checkpoint, by seq, with what the chain says
  // about it. Empty: the trail is unsigned.
  std::vector<CheckpointCheck> checkpoints;
  // Seqs of audit_unclean_stop records after runs that answered Checks
  // before writing them (async): decisions answered just before each may
  // be missing, up to the bound the record states (run_marker.h).
  std::vector<int64_t> possible_gaps;
  // A trail of several chains: each one, by name (the fields above then
  // sum or report the first broken one). Empty for the SQLite trail.
  std::vector<ChainOutcome> chains;
};

// The check stewardd runs before it appends: the newest signed checkpoint
// is signed by `key` and the chain from it to the end verifies (the
// record it names exists and hashes to its head; every later record
// follows; nothing is missing at the end); with a `witness` (the newest
// checkpoint from the witness file), the trail still holds that checkpoint
// with the same head. Reads only the tail, so it costs the records since
// the last checkpoint, not the whole trail. A trail without any signed
// checkpoint (and no witness) is ok: it was never signed. Tampering is a
// value (ok = false, message says what); non-OK only when the database
// cannot be read.
absl::StatusOr<VerifyResult> VerifySignedTail(
    const std::string& db_path, const CheckpointPublicKey& key,
    const std::optional<SignedCheckpoint>& witness);

namespace internal {

// The newest retention checkpoint (audit_checkpoints): where the retained
// chain starts. The hash is as stored, not yet checked.
struct CheckpointRow {
  int64_t seq = 0;
  std::vector<uint8_t> hash;
};
absl::StatusOr<std::optional<CheckpointRow>> NewestRetentionCheckpoint(
    store::sqlite::Connection& connection);

// Runs the verification inside one read transaction on `connection`.
// Tampering is a value (ok = false), not an error; non-OK only when the
// database cannot be read.
absl::StatusOr<VerifyResult> VerifyChain(store::sqlite::Connection& connection);

}  // namespace internal
}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_VERIFY_H_
