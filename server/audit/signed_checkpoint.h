// Signed checkpoints of the audit chain: an Ed25519 signature over
// (seq, chain head, time), made with a key held outside the database.
//
// Public. The writer (writer.h) signs a checkpoint every so many records or
// seconds and at shutdown, stores it in audit_signed_checkpoints
// (migrations/0008) and hands it to a witness callback that logs it and
// appends it to a witness file outside the database. Verification
// (verify.h) checks that the chain reaches each checkpoint's head; the
// signatures are checked by whoever holds the public key (`stewardctl
// audit verify --public-key`, and stewardd at start). The hash chain alone
// cannot stop someone who can write the file from recomputing it; a
// signature they cannot make, and a witness line kept elsewhere, can.
//
// `stewardctl` may not include server/ headers, so the formats are
// specified here completely enough to reimplement them:
//
// ---- Signed message (version 1) ------------------------------------------
//   "steward-audit-checkpoint-v1" 0x00      (28 bytes, domain separation)
//   seq          8 bytes, big-endian two's complement
//   head        32 bytes, the chain hash of record `seq` (record.h); for
//               seq 0 (an empty trail) 32 zero bytes
//   time         8 bytes, big-endian, unix microseconds
// signed with Ed25519 (pure, no pre-hash): a 64-byte signature.
//
// ---- Keys ------------------------------------------------------------------
// Private key file: PEM "PRIVATE KEY" (PKCS#8), not accessible by group or
// others (mode & 077 == 0). Public key file: PEM "PUBLIC KEY"
// (SubjectPublicKeyInfo). key id: the first 16 lowercase hex characters of
// SHA-256(the 32 raw public key bytes); stored next to each signature so a
// verifier can tell which key (after a rotation) made it.
//
// ---- Witness line ----------------------------------------------------------
//   audit checkpoint seq=N head=HEX64 time=MICROS key=KEYID sig=HEX128
// One line per checkpoint, in the server log and in the witness file. A
// parser looks for "audit checkpoint seq=" anywhere in a line, so a log file
// with timestamps and levels is a valid witness file too.
#ifndef STEWARD_SERVER_AUDIT_SIGNED_CHECKPOINT_H_
#define STEWARD_SERVER_AUDIT_SIGNED_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/audit/record.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace steward::store::sqlite {
class Connection;
}  // namespace steward::store::sqlite

namespace steward::audit {

// One signed checkpoint. Plain value type.
struct SignedCheckpoint {
  int64_t seq = 0;
  Hash head = kZeroHash;
  int64_t time_micros = 0;
  std::string key_id;     // 16 hex chars
  std::string signature;  // 64 bytes
};

// The bytes a checkpoint's signature covers (format above).
std::string CheckpointMessage(int64_t seq, const Hash& head,
                              int64_t time_micros);

// An Ed25519 public key. Movable, immutable after construction;
// concurrent const use is safe.
class CheckpointPublicKey {
 public:
  // From PEM SubjectPublicKeyInfo text. kInvalidArgument: not an Ed25519
  // public key.
  static absl::StatusOr<CheckpointPublicKey> FromPem(absl::string_view pem);
  // kNotFound: no such file; kInvalidArgument as FromPem.
  static absl::StatusOr<CheckpointPublicKey> LoadFile(const std::string& path);

  CheckpointPublicKey(CheckpointPublicKey&&) noexcept;
  CheckpointPublicKey& operator=(CheckpointPublicKey&&) noexcept;
  ~CheckpointPublicKey();

  const std::string& key_id() const { return key_id_; }
  std::string Pem() const;
  // True when `checkpoint` carries this key's id and a valid signature
  // over its seq, head and time.
  bool Verify(const SignedCheckpoint& checkpoint) const;

 private:
  friend class CheckpointSigningKey;
  explicit CheckpointPublicKey(EVP_PKEY* key);
  EVP_PKEY* key_ = nullptr;
  std::string key_id_;
};

// An Ed25519 private key that signs checkpoints. Movable; immutable after
// construction, so concurrent Sign calls are safe.
class CheckpointSigningKey {
 public:
  // A fresh random key. kInternal only if OpenSSL fails.
  static absl::StatusOr<CheckpointSigningKey> Generate();
  // From PEM PKCS#8 text. kInvalidArgument: not an Ed25519 private key.
  static absl::StatusOr<CheckpointSigningKey> FromPem(absl::string_view pem);
  // kNotFound: no such file. kPermissionDenied: readable by group/others.
  // kInvalidArgument as FromPem.
  static absl::StatusOr<CheckpointSigningKey> LoadFile(const std::string& path);

  CheckpointSigningKey(CheckpointSigningKey&&) noexcept;
  CheckpointSigningKey& operator=(CheckpointSigningKey&&) noexcept;
  ~CheckpointSigningKey();

  const CheckpointPublicKey& public_key() const { return public_key_; }
  const std::string& key_id() const { return public_key_.key_id(); }
  // PEM PKCS#8; a secret: write it only to a 0600 file.
  std::string PrivatePem() const;
  // Signs (seq, head, time). kInternal only if OpenSSL fails.
  absl::StatusOr<SignedCheckpoint> Sign(int64_t seq, const Hash& head,
                                        absl::Time time) const;

 private:
  CheckpointSigningKey(EVP_PKEY* key, CheckpointPublicKey public_key);
  EVP_PKEY* key_ = nullptr;
  CheckpointPublicKey public_key_;
};

// The witness line of `checkpoint` (format above), without a newline.
std::string WitnessLine(const SignedCheckpoint& checkpoint);
// The checkpoint a witness line names; nullopt when the line has none.
std::optional<SignedCheckpoint> ParseWitnessLine(absl::string_view line);

// Appends WitnessLine(checkpoint) + "\n" to `path` (created 0600) and
// fsyncs it. kInternal with errno text on failure.
absl::Status AppendWitness(const std::string& path,
                           const SignedCheckpoint& checkpoint);
// The witnessed checkpoint with the highest seq in the file at `path`;
// nullopt when the file does not exist or names none.
absl::StatusOr<std::optional<SignedCheckpoint>> LatestWitness(
    const std::string& path);

// The record stewardd appends when an operator starts a new segment on a
// trail whose signed tail does not verify (--audit-start-new-segment): a
// "system" record, action "audit_new_segment", whose details name the
// failure and the signing key. The chain continues from the stored tail,
// so the segment is linked to what came before, and the failure stays
// visible to every later verification.
AuditRecord NewSegmentRecord(absl::Time time, absl::string_view failure,
                             absl::string_view key_id);

namespace internal {

// audit_signed_checkpoints rows. Internal to server/audit.
absl::Status InsertSignedCheckpoint(store::sqlite::Connection& connection,
                                    const SignedCheckpoint& checkpoint);
// Every stored checkpoint, by ascending seq. kDataLoss: a malformed row.
absl::StatusOr<std::vector<SignedCheckpoint>> LoadSignedCheckpoints(
    store::sqlite::Connection& connection);
// The newest stored checkpoint, or nullopt.
absl::StatusOr<std::optional<SignedCheckpoint>> LastSignedCheckpoint(
    store::sqlite::Connection& connection);

}  // namespace internal
}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_SIGNED_CHECKPOINT_H_
