// Encryption of PII values kept in the audit trail, and the audit key file.
//
// Public and self-contained: depends on OpenSSL and Abseil only (no store,
// no JSON), so that `stewardctl audit query --decrypt` can reuse the format;
// the CLI may not include server/ headers, so the format is specified here
// completely enough to reimplement it.
//
// ---- Key file --------------------------------------------------------------
// Exactly 32 raw bytes, or 64 hexadecimal characters (either case) optionally
// followed by one "\n" or "\r\n". The file must not be accessible by group or
// others (mode & 077 == 0), otherwise it is refused. The key id is the first
// 8 lowercase hex characters of SHA-256(the 32 key bytes); it is recorded
// next to every encrypted value so an auditor can tell which key is needed.
//
// ---- Envelope (format version 1) -------------------------------------------
//   "v1:" KEY_ID ":" BASE64(nonce || ciphertext || tag)
// with KEY_ID the 8-character key id, BASE64 the standard alphabet with
// padding (RFC 4648 §4), nonce 12 random bytes (RAND_bytes), tag 16 bytes.
// Cipher: AES-256-GCM with the 32-byte key; the additional authenticated
// data is the ASCII string "steward-audit-v1:" followed by the value's
// label (minimize.h uses "resource.<name>" / "context.<name>"), which binds
// a ciphertext to the attribute it was written for. The plaintext is the
// value's compact JSON text (e.g. "\"a@example.com\"", "42").
#ifndef STEWARD_SERVER_AUDIT_VALUE_CIPHER_H_
#define STEWARD_SERVER_AUDIT_VALUE_CIPHER_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace steward::audit {

inline constexpr size_t kAuditKeyBytes = 32;

// A 256-bit audit encryption key. Value type (copyable, movable); the key
// bytes are wiped when an AuditKey is destroyed or overwritten.
// Thread-compatible; immutable after construction, so concurrent const use
// is safe.
class AuditKey {
 public:
  // From exactly 32 raw bytes. kInvalidArgument otherwise.
  static absl::StatusOr<AuditKey> FromBytes(absl::string_view raw);
  // From key file contents (32 raw bytes or 64 hex chars + optional
  // newline). kInvalidArgument otherwise; the message never echoes bytes.
  static absl::StatusOr<AuditKey> Parse(absl::string_view contents);
  // Reads and parses a key file. kNotFound: no such file.
  // kPermissionDenied: readable by group/others (or not a regular file).
  // kInvalidArgument: bad contents. Other errors: kInternal with errno text.
  static absl::StatusOr<AuditKey> LoadFile(const std::string& path);

  AuditKey(const AuditKey& other);
  AuditKey& operator=(const AuditKey& other);
  ~AuditKey();

  // 8 lowercase hex chars: first 4 bytes of SHA-256(key).
  const std::string& key_id() const { return key_id_; }
  absl::Span<const uint8_t> bytes() const { return key_; }

 private:
  AuditKey() = default;
  std::array<uint8_t, kAuditKeyBytes> key_{};
  std::string key_id_;
};

// Encrypts `plaintext` under `key` for the value labelled `label`, with a
// fresh random nonce. kInternal only if OpenSSL fails.
absl::StatusOr<std::string> EncryptValue(const AuditKey& key,
                                         absl::string_view label,
                                         absl::string_view plaintext);

// Inverse of EncryptValue. kInvalidArgument: not a v1 envelope.
// kFailedPrecondition: the envelope names another key id (wrong key).
// kDataLoss: authentication failed (tampered ciphertext, wrong label, or a
// different key that happens to share the id).
absl::StatusOr<std::string> DecryptValue(const AuditKey& key,
                                         absl::string_view label,
                                         absl::string_view envelope);

// The key id an envelope names. kInvalidArgument: not a v1 envelope.
absl::StatusOr<std::string> EnvelopeKeyId(absl::string_view envelope);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_VALUE_CIPHER_H_
