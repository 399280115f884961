// See secrets.h.
#include "server/store/secrets.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace steward::store::internal {
namespace {

absl::Status RandomBytes(absl::Span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return absl::InternalError("the system random generator failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> GenerateApiKey() {
  std::array<uint8_t, 32> bytes;
  if (absl::Status s = RandomBytes(absl::MakeSpan(bytes)); !s.ok()) return s;
  std::string key = absl::StrCat(kApiKeyPrefix, Base64UrlEncode(bytes));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

absl::StatusOr<std::string> GenerateTotpSecret() {
  std::array<uint8_t, 20> bytes;
  if (absl::Status s = RandomBytes(absl::MakeSpan(bytes)); !s.ok()) return s;
  std::string secret = Base32Encode(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return secret;
}

Sha256Digest Sha256(absl::string_view data) {
  // OpenSSL 3's one-shot SHA256() fetches the algorithm and allocates a
  // context on every call, which costs more than hashing an API key; this
  // runs on every request, so fetch once and keep a context per thread.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct ContextFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, ContextFree> context(
      EVP_MD_CTX_new());
  Sha256Digest digest;
  unsigned int size = 0;
  if (kSha256 == nullptr || context == nullptr ||
      EVP_DigestInit_ex2(context.get(), kSha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1) {
    // Not reachable with a working libcrypto; the one-shot call is correct
    // if slower.
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           digest.data());
  }
  return digest;
}

std::string Sha256Hex(absl::string_view data) {
  const Sha256Digest digest = Sha256(data);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string Base64UrlEncode(absl::Span<const uint8_t> bytes) {
  return absl::WebSafeBase64Escape(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string Base32Encode(absl::Span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

bool DigestsEqual(const Sha256Digest& a, absl::Span<const uint8_t> b) {
  return b.size() == a.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace steward::store::internal
