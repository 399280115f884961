// Who is calling, and may they? Every RPC starts here: the bearer API key is
// looked up (by SHA-256, in constant time, in the store's in-memory key
// index), its service role checked against what the RPC needs, and for
// admin mutations a fresh TOTP code required and burned (replay refused).
// Repeated failed second factors with one key lock that key out for a while
// (RESOURCE_EXHAUSTED), so a stolen admin key cannot be used to guess TOTP
// codes; the failures are counted in the store, across every replica that
// shares it, and only admin mutations (the calls that take a second factor)
// read or write them: Checks cost no store round trip. Unknown keys are not
// locked out by source: guessing a 256-bit key is hopeless, and locking an
// address out would let anyone deny service to everyone behind it; they are
// counted and audited. Every refusal names the RPC and a short reason code, so
// the trail can aggregate a flood of them per peer instead of writing one
// record each (trail_audit_sink.h).
#ifndef STEWARD_SERVER_AUTH_AUTHENTICATOR_H_
#define STEWARD_SERVER_AUTH_AUTHENTICATOR_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/metrics/metrics.h"
#include "server/store/clock.h"
#include "server/store/key_repository.h"

namespace steward::server {

// Metadata naming the HTTP client of a call that the HTTP/JSON gateway
// (server/http/) makes over the in-process channel: "TOKEN PEER", PEER as
// gRPC would write it ("ipv4:10.0.0.7:51234"). gRPC names every in-process
// caller "unknown", so the gateway proves itself with a random token
// made at start (Options::forwarded_peer_token) that never leaves the
// process: a network caller cannot choose what the audit trail says about
// its address.
inline constexpr char kForwardedPeerMetadata[] = "x-steward-forwarded-peer";

// What an RPC needs from its caller.
enum class Permission {
  kCheck,        // client
  kAudit,        // auditor or admin
  kAdminRead,    // admin
  kAdminMutate,  // admin + TOTP (except in --dev)
};

// The authenticated caller of one RPC.
struct Caller {
  std::string key_name;
  store::ServiceRole role = store::ServiceRole::kClient;
  bool totp_verified = false;
};

// The RPC being authorized: the gRPC service's full name
// ("steward.v1.AdminService") and the method ("Grant"). Both must outlive
// the Authorize call (string literals and generated names do).
struct RpcName {
  absl::string_view service;
  absl::string_view method;
  // "/steward.v1.AdminService/Grant", as gRPC names it on the wire.
  std::string FullName() const;
};

// Why an authentication was refused, as a stable code for the audit trail
// and metrics (the caller is told a longer message).
enum class AuthFailureReason {
  kMissingKey,    // no `authorization: Bearer` header
  kUnknownKey,    // no such key
  kRevokedKey,    // the key was revoked
  kWrongRole,     // the key's service role may not call this RPC
  kLockedOut,     // too many failed second factors with this key
  kMissingTotp,   // admin mutation without x-steward-otp
  kBadTotp,       // wrong or stale TOTP code
  kReplayedTotp,  // TOTP code already used
  // the key's lockout state could not be read from the store (refused:
  // never fail open)
  kLockoutUnavailable,
};

// "missing_key", "unknown_key", "revoked_key", "wrong_role", "locked_out",
// "missing_totp", "bad_totp", "replayed_totp", "lockout_unavailable".
absl::string_view AuthFailureReasonName(AuthFailureReason reason);

// One refused authentication, as reported to the AuthFailureSink.
struct AuthFailure {
  std::string peer;      // CallerPeer(): "ipv4:127.0.0.1:51234"
  std::string rpc;       // full method name, RpcName::FullName()
  std::string key_name;  // "" unless a key was found
  AuthFailureReason reason = AuthFailureReason::kMissingKey;
  std::string message;  // what the caller was told
};

// Failed authentications are reported here (the server records them in the
// audit trail). Called on the RPC's thread after the refusal is decided; it
// must not block.
using AuthFailureSink = std::function<void(const AuthFailure& failure)>;

// Thread-safe. Borrows the store, clock and metrics, which must outlive it.
class Authenticator {
 public:
  struct Options {
    bool require_totp = true;  // false only in --dev
    // When failed second factors lock a key out (10 within a minute lock
    // it for a minute by default). Counted in the store, so the limit
    // holds across replicas sharing it.
    store::SecondFactorLimits limits;
    // The token of kForwardedPeerMetadata; "" trusts no forwarded peer.
    std::string forwarded_peer_token;
  };

  Authenticator(store::KeyRepository* keys, const store::Clock* clock,
                Metrics* metrics, Options options, AuthFailureSink on_failure);

  // OK with the caller, or: kUnauthenticated (no, unknown or revoked key;
  // missing, wrong or replayed TOTP code), kPermissionDenied naming the
  // service role the RPC needs, kResourceExhausted for a locked-out key,
  // kUnavailable when an admin mutation's lockout state cannot be read or
  // its failed second factor cannot be counted in the store (refused rather
  // than let through uncounted). `rpc` names the call in failure reports.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   Permission permission, const RpcName& rpc);

  // The caller's address for audit records: gRPC's peer, or the HTTP
  // client that a kForwardedPeerMetadata with the right token names.
  std::string CallerPeer(const grpc::ServerContextBase& context) const;

 private:
  // Counts and audits a refusal; `lock` counts it towards the key's
  // lockout.
  absl::Status Fail(const grpc::ServerContextBase& context, const RpcName& rpc,
                    const std::string& key_name, AuthFailureReason reason,
                    absl::Status status, bool lock = false);

  store::KeyRepository* keys_;
  const store::Clock* clock_;
  Metrics* metrics_;
  Options options_;
  AuthFailureSink on_failure_;

  // No failure state here: second-factor failures and lockouts are kept on
  // the key's row in the store (KeyRepository::RecordSecondFactorFailure),
  // so replicas sharing a PostgreSQL store count them together and a
  // single node's lockout survives a restart.
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_AUTH_AUTHENTICATOR_H_
