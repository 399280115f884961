// Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 30 s steps, 6
// digits), the second factor every admin mutation needs. Pure functions
// over OpenSSL's HMAC; replay refusal (a step accepted once) is the
// caller's job, since it needs the store.
#ifndef STEWARD_SERVER_AUTH_TOTP_H_
#define STEWARD_SERVER_AUTH_TOTP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward::server {

inline constexpr int64_t kTotpStepSeconds = 30;

// Decodes RFC 4648 base32 (upper or lower case, '=' padding optional).
absl::StatusOr<std::string> DecodeBase32(absl::string_view text);
std::string EncodeBase32(absl::string_view bytes);

// The code for one time step, `digits` long (6 for Steward; the RFC test
// vectors use 8).
std::string TotpCode(absl::string_view key, int64_t step, int digits = 6);

// The step `time` falls in.
int64_t TotpStep(absl::Time time);

// Checks `code` against the steps around `now` (±1 step of clock skew).
// Returns the matching step, or nullopt. Compares in constant time.
std::optional<int64_t> VerifyTotp(absl::string_view key, absl::string_view code,
                                  absl::Time now);

// `otpauth://totp/Steward:<account>?secret=...&issuer=Steward&...` for
// authenticator apps.
std::string TotpUri(absl::string_view account, absl::string_view base32_secret);

}  // namespace steward::server

#endif  // STEWARD_SERVER_AUTH_TOTP_H_
