// Verification of the audit trail in PostgreSQL: every replica's hash
// chain, recomputed from the stored rows.
//
// Public. The PostgreSQL counterpart of VerifyChain (verify.h), which
// `audit verify` reaches through the reader. For each chain in
// audit_chains it recomputes hash_n = SHA-256(hash_{n-1} ||
// canonical(row_n)) (record.h) over the chain's rows in seq order, from the
// newest retention anchor of the chain (audit_retention_checkpoints) or 32
// zero bytes, and names the first record that does not match. Detects per
// chain: a changed column, a removed row (a gap in seq), rows reordered or
// moved to another chain (chain and seq are checked against the scan),
// edited hashes, and a removed tail (the chain must end at the head that
// audit_chains records, which the writer updates in each batch's
// transaction). Signed checkpoints of a chain are checked against the
// chain's hashes like VerifyChain does (signatures by the key holder).
// Runs in one REPEATABLE READ transaction, so replicas writing meanwhile
// do not disturb it.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_VERIFY_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_VERIFY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/audit/verify.h"

namespace steward::store::postgresql {
class Connection;
}  // namespace steward::store::postgresql

namespace steward::audit {

// What verification says about one chain.
struct ChainVerifyResult {
  std::string chain;
  VerifyResult result;  // as for the SQLite trail; possible_gaps unused
};

struct PgVerifyResult {
  bool ok = true;                         // every chain verified
  std::vector<ChainVerifyResult> chains;  // by chain name
  // "3 chains verified: 1200 records" or the first broken chain's message.
  std::string message;
};

// Verifies every chain of the database at `conninfo`. Tampering is a
// value (ok = false); non-OK only when the database cannot be read
// (kUnavailable, ... per pg_status.h).
absl::StatusOr<PgVerifyResult> VerifyPgChains(const std::string& conninfo);

// As above on an open connection (not inside a transaction).
absl::StatusOr<PgVerifyResult> VerifyPgChains(
    store::postgresql::Connection& connection);

// The check a replica runs before it appends to its chain with a signing
// key (VerifySignedTail's counterpart, verify.h): the chain's newest
// signed checkpoint carries a valid signature by `key`, the record it
// names still hashes to its head, and every later record follows up to
// the head audit_chains records. Reads only that tail. A new chain, or
// one never signed, is ok. Tampering is a value (ok = false, message
// names the chain and record); non-OK only when the database cannot be
// read.
absl::StatusOr<VerifyResult> VerifyPgChainTail(const std::string& conninfo,
                                               const std::string& chain,
                                               const CheckpointPublicKey& key);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_VERIFY_H_
