// Random secrets and hashes for service API keys.
//
// Internal to server/store (the API key repository and its tests). Keys
// are 256 random bits from OpenSSL's CSPRNG, shown once as
// "stw_" + base64url (43 characters, no padding); only their SHA-256 is
// stored. Admin TOTP secrets are 160 random bits (RFC 4226's recommended
// length for HMAC-SHA-1) in RFC 4648 base32 without padding, the form
// authenticator apps expect in otpauth:// URIs.
#ifndef STEWARD_SERVER_STORE_SECRETS_H_
#define STEWARD_SERVER_STORE_SECRETS_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace steward::store::internal {

inline constexpr absl::string_view kApiKeyPrefix = "stw_";

using Sha256Digest = std::array<uint8_t, 32>;

// kInternal if the CSPRNG fails (it is never silently weakened).
absl::StatusOr<std::string> GenerateApiKey();
absl::StatusOr<std::string> GenerateTotpSecret();

Sha256Digest Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);  // lowercase hex

// RFC 4648 encodings without padding.
std::string Base64UrlEncode(absl::Span<const uint8_t> bytes);
std::string Base32Encode(absl::Span<const uint8_t> bytes);

// Constant-time equality (CRYPTO_memcmp) of two digests.
bool DigestsEqual(const Sha256Digest& a, absl::Span<const uint8_t> b);

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_SECRETS_H_
