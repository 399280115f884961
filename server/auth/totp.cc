#include "server/auth/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace steward::server {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string UrlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> DecodeBase32(absl::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') continue;
    char upper = absl::ascii_toupper(static_cast<unsigned char>(c));
    const char* found = nullptr;
    for (const char* p = kBase32Alphabet; *p != '\0'; ++p) {
      if (*p == upper) found = p;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError("TOTP secret is not valid base32");
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(found - kBase32Alphabet);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string EncodeBase32(absl::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::string TotpCode(absl::string_view key, int64_t step, int digits) {
  std::array<unsigned char, 8> counter;
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), counter.data(),
       counter.size(), mac, &mac_len);
  int offset = mac[mac_len - 1] & 0x0f;
  uint32_t binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) |
                    (mac[offset + 2] << 8) | mac[offset + 3];
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  return absl::StrFormat("%0*u", digits, binary % modulus);
}

int64_t TotpStep(absl::Time time) {
  return absl::ToUnixSeconds(time) / kTotpStepSeconds;
}

std::optional<int64_t> VerifyTotp(absl::string_view key, absl::string_view code,
                                  absl::Time now) {
  if (code.size() != 6) return std::nullopt;
  int64_t current = TotpStep(now);
  std::optional<int64_t> match;
  // Check every candidate step so the time taken does not depend on which
  // one matched.
  for (int64_t step = current - 1; step <= current + 1; ++step) {
    std::string expected = TotpCode(key, step);
    if (CRYPTO_memcmp(expected.data(), code.data(), expected.size()) == 0) {
      match = step;
    }
  }
  return match;
}

std::string TotpUri(absl::string_view account,
                    absl::string_view base32_secret) {
  return absl::StrCat("otpauth://totp/Steward:", UrlEscape(account),
                      "?secret=", base32_secret,
                      "&issuer=Steward&algorithm=SHA1&digits=6&period=30");
}

}  // namespace steward::server
