// The in-memory index of API keys by their SHA-256 that authenticates a
// key without touching the database, swapped atomically after every key
// change.
//
// Internal to server/store: each engine's KeyRepository fills it from its
// api_keys table (sqlite/key_repository.h, postgresql/key_repository.h),
// so authentication (constant-time comparison, the per-thread digest
// cache, revoked keys still identified) is the same code for every engine.
#ifndef STEWARD_SERVER_STORE_KEY_INDEX_H_
#define STEWARD_SERVER_STORE_KEY_INDEX_H_

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/values.h"

namespace steward::store::internal {

struct KeyIndex;

// Thread-safe; Authenticate is lock-free.
class KeyIndexHolder {
 public:
  // A new index being filled; Publish makes it current.
  class Builder {
   public:
    Builder();
    // `hash` is the key's raw 32-byte SHA-256. kDataLoss: another length.
    absl::Status Add(absl::string_view hash, AuthenticatedKey key);

   private:
    friend class KeyIndexHolder;
    std::shared_ptr<KeyIndex> index_;
  };

  KeyIndexHolder();
  ~KeyIndexHolder();

  void Publish(Builder builder);
  // See KeyRepository::AuthenticateApiKey.
  absl::StatusOr<AuthenticatedKey> Authenticate(absl::string_view key) const;

 private:
  std::atomic<std::shared_ptr<const KeyIndex>> index_;
};

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_KEY_INDEX_H_
