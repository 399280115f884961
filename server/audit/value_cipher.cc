// See value_cipher.h.
#include "server/audit/value_cipher.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/audit/key_file.h"

namespace steward::audit {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr absl::string_view kEnvelopePrefix = "v1:";
constexpr absl::string_view kAadPrefix = "steward-audit-v1:";
// Larger key files are certainly not keys; bounded so a wrong path (a log
// file) is not read whole into memory.
constexpr size_t kMaxKeyFileBytes = 4096;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

std::string ComputeKeyId(const std::array<uint8_t, kAuditKeyBytes>& key) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(key.data(), key.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 4));
}

std::string Aad(absl::string_view label) {
  return absl::StrCat(kAadPrefix, label);
}

struct Envelope {
  absl::string_view key_id;
  std::string payload;  // nonce || ciphertext || tag
};

absl::StatusOr<Envelope> SplitEnvelope(absl::string_view envelope) {
  if (!absl::StartsWith(envelope, kEnvelopePrefix)) {
    return absl::InvalidArgumentError("not an encrypted audit value");
  }
  envelope.remove_prefix(kEnvelopePrefix.size());
  if (envelope.size() < 9 || envelope[8] != ':') {
    return absl::InvalidArgumentError("not an encrypted audit value");
  }
  Envelope out;
  out.key_id = envelope.substr(0, 8);
  if (!absl::Base64Unescape(envelope.substr(9), &out.payload) ||
      out.payload.size() < kNonceBytes + kTagBytes) {
    return absl::InvalidArgumentError("malformed encrypted audit value");
  }
  return out;
}

}  // namespace

absl::StatusOr<AuditKey> AuditKey::FromBytes(absl::string_view raw) {
  if (raw.size() != kAuditKeyBytes) {
    return absl::InvalidArgumentError("audit key must be 32 bytes");
  }
  AuditKey key;
  std::memcpy(key.key_.data(), raw.data(), kAuditKeyBytes);
  key.key_id_ = ComputeKeyId(key.key_);
  return key;
}

absl::StatusOr<AuditKey> AuditKey::Parse(absl::string_view contents) {
  if (contents.size() == kAuditKeyBytes) return FromBytes(contents);
  absl::string_view hex = contents;
  if (absl::EndsWith(hex, "\r\n")) {
    hex.remove_suffix(2);
  } else if (absl::EndsWith(hex, "\n")) {
    hex.remove_suffix(1);
  }
  if (hex.size() != 2 * kAuditKeyBytes) {
    return absl::InvalidArgumentError(
        "audit key file must hold 32 raw bytes or 64 hex characters");
  }
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "audit key file must hold 32 raw bytes or 64 hex characters");
    }
  }
  std::string raw = absl::HexStringToBytes(hex);
  absl::StatusOr<AuditKey> key = FromBytes(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

absl::StatusOr<AuditKey> AuditKey::LoadFile(const std::string& path) {
  absl::StatusOr<std::string> contents = internal::ReadKeyFile(
      path, "audit key file", /*owner_only=*/true, kMaxKeyFileBytes);
  if (!contents.ok()) {
    if (contents.status().code() != absl::StatusCode::kInvalidArgument) {
      return contents.status();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": audit key file must hold 32 raw bytes or 64 hex characters"));
  }
  absl::StatusOr<AuditKey> key = Parse(*contents);
  OPENSSL_cleanse(contents->data(), contents->size());
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

AuditKey::AuditKey(const AuditKey& other)
    : key_(other.key_), key_id_(other.key_id_) {}

AuditKey& AuditKey::operator=(const AuditKey& other) {
  key_ = other.key_;
  key_id_ = other.key_id_;
  return *this;
}

AuditKey::~AuditKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::StatusOr<std::string> EncryptValue(const AuditKey& key,
                                         absl::string_view label,
                                         absl::string_view plaintext) {
  std::string payload(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(payload.data());
  unsigned char* ct = nonce + kNonceBytes;
  if (RAND_bytes(nonce, kNonceBytes) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return absl::InternalError("EVP_CIPHER_CTX_new failed");
  const std::string aad = Aad(label);
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes().data(),
                         nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(
          ctx.get(), ct, &len,
          reinterpret_cast<const unsigned char*>(plaintext.data()),
          static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          ct + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return absl::StrCat(kEnvelopePrefix, key.key_id(), ":",
                      absl::Base64Escape(payload));
}

absl::StatusOr<std::string> DecryptValue(const AuditKey& key,
                                         absl::string_view label,
                                         absl::string_view envelope) {
  absl::StatusOr<Envelope> parts = SplitEnvelope(envelope);
  if (!parts.ok()) return parts.status();
  if (parts->key_id != key.key_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("value was encrypted with audit key ", parts->key_id,
                     ", not with key ", key.key_id()));
  }
  const auto* nonce =
      reinterpret_cast<const unsigned char*>(parts->payload.data());
  const unsigned char* ct = nonce + kNonceBytes;
  const size_t ct_size = parts->payload.size() - kNonceBytes - kTagBytes;
  std::string plaintext(ct_size, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return absl::InternalError("EVP_CIPHER_CTX_new failed");
  const std::string aad = Aad(label);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes().data(),
                         nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(),
                        reinterpret_cast<unsigned char*>(plaintext.data()),
                        &len, ct, static_cast<int>(ct_size)) != 1) {
    return absl::InternalError("AES-256-GCM decryption failed");
  }
  // The tag is set after the data and checked by Final: a mismatch means
  // the ciphertext, its label or the key is not what was used to write it.
  std::string tag(parts->payload.end() - kTagBytes, parts->payload.end());
  int final_len = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(
          ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + len,
          &final_len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return absl::DataLossError(
        "encrypted audit value failed authentication (wrong key or altered)");
  }
  return plaintext;
}

absl::StatusOr<std::string> EnvelopeKeyId(absl::string_view envelope) {
  absl::StatusOr<Envelope> parts = SplitEnvelope(envelope);
  if (!parts.ok()) return parts.status();
  return std::string(parts->key_id);
}

}  // namespace steward::audit
