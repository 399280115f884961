// See key_index.h.
#include "server/store/key_index.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "server/store/secrets.h"

namespace steward::store::internal {

// The API keys by SHA-256 of the key. Immutable once published.
struct KeyIndex {
  struct Entry {
    Sha256Digest hash;
    AuthenticatedKey key;
  };
  absl::flat_hash_map<std::string, Entry> by_hash;  // raw digest bytes
};

KeyIndexHolder::Builder::Builder() : index_(std::make_shared<KeyIndex>()) {}

absl::Status KeyIndexHolder::Builder::Add(absl::string_view hash,
                                          AuthenticatedKey key) {
  KeyIndex::Entry entry;
  if (hash.size() != entry.hash.size()) {
    return absl::DataLossError("api_keys.key_hash has the wrong length");
  }
  std::copy(hash.begin(), hash.end(), entry.hash.begin());
  entry.key = std::move(key);
  index_->by_hash.emplace(std::string(hash), std::move(entry));
  return absl::OkStatus();
}

KeyIndexHolder::KeyIndexHolder() = default;
KeyIndexHolder::~KeyIndexHolder() = default;

void KeyIndexHolder::Publish(Builder builder) {
  index_.store(std::move(builder.index_), std::memory_order_release);
}

absl::StatusOr<AuthenticatedKey> KeyIndexHolder::Authenticate(
    absl::string_view key) const {
  // Built only on failure: a Status with a message allocates.
  auto unknown = [] { return absl::UnauthenticatedError("unknown API key"); };
  if (key.size() > 256) return unknown();
  // A client sends the same key on every call; remembering the last key's
  // digest per thread saves a SHA-256 (several percent of a Check). The
  // comparison is constant-time, so it reveals at most the key's length.
  thread_local std::string last_key;
  thread_local Sha256Digest last_digest;
  Sha256Digest hash;
  if (!last_key.empty() && last_key.size() == key.size() &&
      CRYPTO_memcmp(last_key.data(), key.data(), key.size()) == 0) {
    hash = last_digest;
  } else {
    hash = Sha256(key);
    last_key.assign(key.data(), key.size());
    last_digest = hash;
  }
  std::shared_ptr<const KeyIndex> index =
      index_.load(std::memory_order_acquire);
  if (index == nullptr) return unknown();
  auto it = index->by_hash.find(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
  // The lookup is keyed by a hash of the secret, so its timing reveals
  // nothing useful about the key; the final comparison is constant-time
  // all the same.
  if (it == index->by_hash.end() || !DigestsEqual(it->second.hash, hash)) {
    return unknown();
  }
  return it->second.key;
}

}  // namespace steward::store::internal
