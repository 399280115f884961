// AuditRecord: one entry of the tamper-evident audit trail, and its
// canonical encoding, which the hash chain is computed over.
//
// Public. The server builds an AuditRecord for every decision, admin change,
// authentication failure and retention purge and hands it to AuditWriter
// (writer.h), which assigns `seq`, `prev_hash` and `hash` in commit order and
// stores the record as one row of `audit_log` (migrations/0001_initial.sql).
// Queries (query.h) return records; VerifyChain (verify.h) recomputes the
// chain from the stored rows.
//
// ---- Canonical encoding, version 1 -------------------------------------
//
// The chain is defined over the stored column values of an audit_log row,
// so it can be recomputed from the database (or an export) alone:
//
//   hash_n = SHA-256(hash_{n-1} || canonical(row_n))
//   hash_0 = 32 zero bytes, or the `hash` of the newest audit_checkpoints
//            row once records have been purged (the checkpoint stores the
//            hash of the last purged record, whose seq it names).
//
// canonical(row) is the byte 0x01 (the format version) followed by these 23
// values in this order (the audit_log columns, without prev_hash and hash):
//
//    1 seq            INTEGER        13 rule_id        TEXT
//    2 time           INTEGER (us)   14 policy_version INTEGER or NULL
//    3 kind           TEXT           15 store_revision INTEGER or NULL
//    4 decision_id    TEXT or NULL   16 request_id     TEXT
//    5 caller         TEXT           17 fields         TEXT (JSON array)
//    6 principal      TEXT           18 purpose        TEXT
//    7 action         TEXT           19 justification  TEXT
//    8 resource_kind  TEXT           20 attributes     BLOB or NULL
//    9 resource_id    TEXT           21 key_id         TEXT or NULL
//   10 resource_scope TEXT           22 details        TEXT or NULL
//   11 effect         TEXT           23 totp_verified  INTEGER or NULL
//   12 reason         TEXT
//
// each value encoded as a one-byte tag and a payload:
//
//   0x00                         NULL
//   0x01 + 8 bytes               INTEGER, big-endian two's complement
//   0x02 + 4-byte length + bytes TEXT, length big-endian, bytes as stored
//   0x03 + 4-byte length + bytes BLOB, same layout
//
// The encoding is injective (every value is typed and length-prefixed, the
// field count is fixed per version), so two different rows never share
// canonical bytes. A future version changes the leading byte; verifiers
// pick the decoder by it. Stored text is the exact bytes: `fields` is the
// compact JSON array the writer produced (nlohmann::json::dump()), `time`
// is unix microseconds. Column values as strings:
//   kind:   "decision" | "admin" | "auth" | "system" (retention purge) |
//           "plan" (PlanResources; migration 0009)
//   effect: "ALLOW" | "DENY" (decisions) | "OK" | "FAILED" (other kinds)
#ifndef STEWARD_SERVER_AUDIT_RECORD_H_
#define STEWARD_SERVER_AUDIT_RECORD_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward::audit {

// What a record is evidence of.
enum class RecordKind {
  kDecision,     // one Check / BatchCheck item ("decision")
  kAdminChange,  // one admin mutation, applied or refused ("admin")
  kAuthFailure,  // a refused credential or TOTP code ("auth")
  // A system event ("system"): the retention job removed old records, or
  // stewardd started a new signed segment (signed_checkpoint.h).
  kRetentionPurge,
  // A query plan answered by PlanResources ("plan"): which resources of a
  // kind the principal may act on. effect OK; reason is the plan kind.
  kPlan,
};

// The outcome a record states. Decisions are kAllow/kDeny; other kinds
// kOk/kFailed (the schema enforces this).
enum class RecordEffect { kAllow, kDeny, kOk, kFailed };

// Column strings: "decision", "admin", "auth", "system", "plan".
absl::string_view RecordKindName(RecordKind kind);
std::optional<RecordKind> ParseRecordKind(absl::string_view name);
// Column strings: "ALLOW", "DENY", "OK", "FAILED".
absl::string_view RecordEffectName(RecordEffect effect);
std::optional<RecordEffect> ParseRecordEffect(absl::string_view name);

using Hash = std::array<uint8_t, 32>;

// The chain's starting value when nothing was ever purged.
inline constexpr Hash kZeroHash = {};

// One audit record. A plain value type (copyable, thread-compatible).
// The writer fills seq, prev_hash and hash; everything else is the caller's.
struct AuditRecord {
  int64_t seq = 0;  // dense, ascending in commit order; 0 before commit
  absl::Time time = absl::UnixEpoch();  // when it happened (decision time)
  RecordKind kind = RecordKind::kDecision;
  // Required (non-empty, unique) for decisions; "" stores NULL.
  std::string decision_id;
  std::string caller;     // API key name of the calling service / admin
  std::string principal;  // decision subject; admin: the affected principal
  // Decision: the action checked. Admin: the RPC ("Grant", "ApplyPolicy").
  // Auth failure: what was attempted. Purge: "retention_purge".
  std::string action;
  std::string resource_kind;
  std::string resource_id;
  std::string resource_scope;
  RecordEffect effect = RecordEffect::kDeny;
  // Decision: the spec §6 name ("ALLOWED_BY_RULE"); others: a short code.
  std::string reason;
  std::string rule_id;
  std::optional<int64_t> policy_version;
  std::optional<int64_t> store_revision;
  std::string request_id;
  std::vector<std::string> fields;  // requested fields, as asked
  std::string purpose;
  std::string justification;
  // Minimized request attributes (minimize.h): a JSON object, or nullopt
  // when nothing was kept. Never raw request attributes.
  std::optional<std::string> attributes;
  // Id of the audit key that encrypted values inside `attributes`; "" when
  // nothing is encrypted (stores NULL).
  std::string key_id;
  // JSON text: admin changes' compact {"before":..,"after":..}, purge
  // statistics. nullopt stores NULL. Never secrets or PII in clear.
  std::optional<std::string> details;
  std::optional<bool> totp_verified;  // admin changes: second factor used
  Hash prev_hash = kZeroHash;
  Hash hash = kZeroHash;
};

// The canonical bytes of `record` (format above). The record's seq must be
// set; prev_hash and hash are not part of the encoding.
std::string CanonicalEncoding(const AuditRecord& record);

// SHA-256(prev || canonical).
Hash ChainHash(const Hash& prev, absl::string_view canonical);

// Lowercase hex of a hash, for messages and exports.
std::string HashHex(const Hash& hash);

namespace internal {

// The audit_log column values of one row, exactly as stored. The canonical
// encoding is computed from this form so verification does not depend on
// re-parsing JSON columns. Internal to server/audit.
struct StoredRow {
  int64_t seq = 0;
  int64_t time_micros = 0;
  std::string kind;
  std::optional<std::string> decision_id;
  std::string caller;
  std::string principal;
  std::string action;
  std::string resource_kind;
  std::string resource_id;
  std::string resource_scope;
  std::string effect;
  std::string reason;
  std::string rule_id;
  std::optional<int64_t> policy_version;
  std::optional<int64_t> store_revision;
  std::string request_id;
  std::string fields_json;
  std::string purpose;
  std::string justification;
  std::optional<std::string> attributes;  // BLOB
  std::optional<std::string> key_id;
  std::optional<std::string> details;
  std::optional<int64_t> totp_verified;
};

StoredRow ToStoredRow(const AuditRecord& record);
// As above, moving the record's strings instead of copying them.
StoredRow ToStoredRow(AuditRecord&& record);
// kDataLoss when a column holds a value no writer produces (unknown kind or
// effect, malformed fields JSON): the row was edited outside Steward.
absl::StatusOr<AuditRecord> FromStoredRow(const StoredRow& row,
                                          const Hash& prev_hash,
                                          const Hash& hash);
std::string CanonicalEncoding(const StoredRow& row);

// The canonical encoding split at the seq, so the writer can encode a
// record's body on the submitting thread and only the seq on the writer
// thread: CanonicalEncoding(row) == CanonicalHead(row.seq) +
// CanonicalBody(row).
std::string CanonicalHead(int64_t seq);  // version byte + seq (10 bytes)
std::string CanonicalBody(const StoredRow& row);  // values 2..23
// SHA-256(prev || head || body) == ChainHash(prev, head + body).
Hash ChainHash(const Hash& prev, absl::string_view head,
               absl::string_view body);

// The schema's rules (the CHECK constraints of audit_log and of
// PostgreSQL's audit_records), checked by the writers before queuing so a
// bad record is refused to its submitter instead of failing a batch.
// kInvalidArgument naming the rule broken.
absl::Status ValidateRecord(const AuditRecord& record);

}  // namespace internal

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_RECORD_H_
