// Checking the signed checkpoints of the audit trail on the auditor's side
// (`stewardctl audit verify --public-key F [--witness F]`).
//
// Internal to client/. The server reports each stored checkpoint and
// whether the chain reaches its head; the signatures are checked here, with
// a public key the auditor holds, so a server or database they do not
// trust cannot vouch for itself. The formats (signed message, PEM keys, key
// id, witness line) are specified in server/audit/signed_checkpoint.h and
// reimplemented here because the CLI may not include server/ headers; a
// test signs with the server's code and verifies with this one.
#ifndef STEWARD_CLIENT_CHECKPOINT_SIGNATURE_H_
#define STEWARD_CLIENT_CHECKPOINT_SIGNATURE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/audit.pb.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace steward::client {

// An Ed25519 public key that signed checkpoints. Movable, immutable;
// concurrent const use is safe.
class CheckpointVerifier {
 public:
  // From a PEM SubjectPublicKeyInfo file. kNotFound: no such file;
  // kInvalidArgument: not an Ed25519 public key.
  static absl::StatusOr<CheckpointVerifier> LoadFile(const std::string& path);

  const std::string& key_id() const { return key_id_; }
  // True when `checkpoint` names this key and its signature is valid over
  // its seq, head and time.
  bool Verify(const v1::SignedCheckpoint& checkpoint) const;

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const;
  };
  std::unique_ptr<EVP_PKEY, Free> key_;
  std::string key_id_;
};

// The bytes a checkpoint signature covers; nullopt when `checkpoint` has
// a head that is not 32 bytes or a time that is not whole microseconds.
std::optional<std::string> CheckpointMessage(
    const v1::SignedCheckpoint& checkpoint);

// The witness line ("audit checkpoint seq=… head=… time=… key=… sig=…",
// anywhere in the line) with the highest seq in the file at `path`;
// nullopt when it has none. kNotFound: no such file.
absl::StatusOr<std::optional<v1::SignedCheckpoint>> LatestWitness(
    const std::string& path);
std::optional<v1::SignedCheckpoint> ParseWitnessLine(absl::string_view line);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_CHECKPOINT_SIGNATURE_H_
