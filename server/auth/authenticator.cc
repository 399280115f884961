#include "server/auth/authenticator.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "server/auth/totp.h"
#include "spdlog/spdlog.h"

namespace steward::server {
namespace {

// Metadata values are not NUL-terminated strings.
std::string Metadata(const grpc::ServerContextBase& context,
                     absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

bool RoleAllows(store::ServiceRole role, Permission permission) {
  switch (permission) {
    case Permission::kCheck:
      return role == store::ServiceRole::kClient;
    case Permission::kAudit:
      return role == store::ServiceRole::kAuditor ||
             role == store::ServiceRole::kAdmin;
    case Permission::kAdminRead:
    case Permission::kAdminMutate:
      return role == store::ServiceRole::kAdmin;
  }
  return false;
}

absl::string_view NeededRole(Permission permission) {
  switch (permission) {
    case Permission::kCheck:
      return "client";
    case Permission::kAudit:
      return "auditor or admin";
    case Permission::kAdminRead:
    case Permission::kAdminMutate:
      return "admin";
  }
  return "admin";
}

// What a caller is told when the lockout state could not be read or
// written: UNAVAILABLE whatever the store said (never fail open; the call
// may be retried once the store is back). The store's reason goes to the
// log, not to the caller.
absl::Status SecondFactorStoreError(const std::string& key_name,
                                    const absl::Status& cause) {
  spdlog::error("second factor of key \"{}\": lockout state unavailable: {}",
                key_name, cause.ToString());
  return absl::UnavailableError(
      "the second factor cannot be checked now (the key store is "
      "unreachable); retry later");
}

}  // namespace

std::string RpcName::FullName() const {
  return absl::StrCat("/", service, "/", method);
}

absl::string_view AuthFailureReasonName(AuthFailureReason reason) {
  switch (reason) {
    case AuthFailureReason::kMissingKey:
      return "missing_key";
    case AuthFailureReason::kUnknownKey:
      return "unknown_key";
    case AuthFailureReason::kRevokedKey:
      return "revoked_key";
    case AuthFailureReason::kWrongRole:
      return "wrong_role";
    case AuthFailureReason::kLockedOut:
      return "locked_out";
    case AuthFailureReason::kMissingTotp:
      return "missing_totp";
    case AuthFailureReason::kBadTotp:
      return "bad_totp";
    case AuthFailureReason::kReplayedTotp:
      return "replayed_totp";
    case AuthFailureReason::kLockoutUnavailable:
      return "lockout_unavailable";
  }
  return "unknown";
}

Authenticator::Authenticator(store::KeyRepository* keys,
                             const store::Clock* clock, Metrics* metrics,
                             Options options, AuthFailureSink on_failure)
    : keys_(keys),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      on_failure_(std::move(on_failure)) {}

std::string Authenticator::CallerPeer(
    const grpc::ServerContextBase& context) const {
  const std::string& token = options_.forwarded_peer_token;
  if (!token.empty()) {
    std::string forwarded = Metadata(context, kForwardedPeerMetadata);
    absl::string_view rest = forwarded;
    // Compared in full whatever the first difference: its timing must not
    // tell a network caller how much of a guess was right.
    if (rest.size() > token.size() && rest[token.size()] == ' ') {
      unsigned char diff = 0;
      for (size_t i = 0; i < token.size(); ++i) {
        diff |= static_cast<unsigned char>(rest[i] ^ token[i]);
      }
      if (diff == 0) return std::string(rest.substr(token.size() + 1));
    }
  }
  return context.peer();
}

absl::Status Authenticator::Fail(const grpc::ServerContextBase& context,
                                 const RpcName& rpc,
                                 const std::string& key_name,
                                 AuthFailureReason reason, absl::Status status,
                                 bool lock_out) {
  metrics_->RecordAuthFailure();
  if (lock_out) {
    absl::StatusOr<store::SecondFactorFailures> counted =
        keys_->RecordSecondFactorFailure(key_name, clock_->Now(),
                                         options_.limits);
    if (!counted.ok()) {
      // Not counted means the lockout could be dodged: refuse, and say the
      // store is the reason, not the code (which was wrong anyway).
      status = SecondFactorStoreError(key_name, counted.status());
    }
  }
  if (on_failure_) {
    on_failure_(AuthFailure{CallerPeer(context), rpc.FullName(), key_name,
                            reason, std::string(status.message())});
  }
  return status;
}

absl::StatusOr<Caller> Authenticator::Authorize(
    const grpc::ServerContextBase& context, Permission permission,
    const RpcName& rpc) {
  std::string header = Metadata(context, "authorization");
  absl::string_view key = header;
  if (!absl::ConsumePrefix(&key, "Bearer ") || key.empty()) {
    return Fail(context, rpc, "", AuthFailureReason::kMissingKey,
                absl::UnauthenticatedError(
                    "missing API key: send `authorization: Bearer <key>`"));
  }
  absl::StatusOr<store::AuthenticatedKey> found =
      keys_->AuthenticateApiKey(key);
  if (!found.ok()) {
    if (found.status().code() == absl::StatusCode::kNotFound ||
        found.status().code() == absl::StatusCode::kUnauthenticated) {
      return Fail(context, rpc, "", AuthFailureReason::kUnknownKey,
                  absl::UnauthenticatedError("unknown API key"));
    }
    return found.status();
  }
  if (found->revoked) {
    return Fail(context, rpc, found->name, AuthFailureReason::kRevokedKey,
                absl::UnauthenticatedError("API key has been revoked"));
  }
  if (!RoleAllows(found->role, permission)) {
    return Fail(context, rpc, found->name, AuthFailureReason::kWrongRole,
                absl::PermissionDeniedError(absl::StrCat(
                    "this call needs an API key with service role ",
                    NeededRole(permission), "; key \"", found->name,
                    "\" has role ", store::ServiceRoleName(found->role))));
  }
  Caller caller{found->name, found->role, false};
  if (permission == Permission::kAdminMutate && options_.require_totp) {
    // One store read per admin mutation (never on Checks): the lockout may
    // have been set by another replica sharing the store.
    absl::StatusOr<std::optional<absl::Time>> locked_until =
        keys_->SecondFactorLockedUntil(found->name);
    if (!locked_until.ok()) {
      return Fail(context, rpc, found->name,
                  AuthFailureReason::kLockoutUnavailable,
                  SecondFactorStoreError(found->name, locked_until.status()));
    }
    if (locked_until->has_value() && clock_->Now() < **locked_until) {
      return Fail(context, rpc, found->name, AuthFailureReason::kLockedOut,
                  absl::ResourceExhaustedError(absl::StrCat(
                      "too many failed second factors with key \"", found->name,
                      "\"; retry after ", absl::FormatTime(**locked_until))));
    }
    std::string code = Metadata(context, "x-steward-otp");
    if (code.empty()) {
      return Fail(context, rpc, found->name, AuthFailureReason::kMissingTotp,
                  absl::UnauthenticatedError(
                      "admin changes need a TOTP code in x-steward-otp "
                      "(stewardctl --otp)"),
                  /*lock_out=*/true);
    }
    absl::StatusOr<std::string> secret = DecodeBase32(found->totp_secret);
    std::optional<int64_t> step;
    if (secret.ok()) step = VerifyTotp(*secret, code, clock_->Now());
    if (!step.has_value()) {
      return Fail(context, rpc, found->name, AuthFailureReason::kBadTotp,
                  absl::UnauthenticatedError("TOTP code is wrong or stale"),
                  /*lock_out=*/true);
    }
    if (absl::Status burned = keys_->RecordTotpStep(found->name, *step);
        !burned.ok()) {
      if (burned.code() == absl::StatusCode::kFailedPrecondition ||
          burned.code() == absl::StatusCode::kAlreadyExists) {
        return Fail(context, rpc, found->name, AuthFailureReason::kReplayedTotp,
                    absl::UnauthenticatedError(
                        "TOTP code was already used; wait for the next one"),
                    /*lock_out=*/true);
      }
      return burned;
    }
    caller.totp_verified = true;
  }
  return caller;
}

}  // namespace steward::server
