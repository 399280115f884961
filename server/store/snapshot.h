// The decision snapshot: everything one Check needs, immutable.
//
// Public. The store builds a Snapshot after every committed admin change and
// publishes it through a SnapshotHolder; the check path loads the current
// one with a single atomic load, looks the principal up and evaluates,
// never taking a lock or touching SQLite (ARCHITECTURE.md "The hot path").
//
// Memory layout (the 1,000,000-principal budget is 400 MiB): each principal
// is ONE heap block that holds its reference count, its PrincipalEntry
// header, every string its views point to, its policy::RoleBinding array
// and its policy::Value array. The index is a vector of shards, each a
// flat_hash_set<shared_ptr<const PrincipalEntry>> keyed by id, sized so a
// shard holds ~3,300 principals; an admin change copies one shard and
// shares the others and every unchanged entry with the previous snapshot.
#ifndef STEWARD_SERVER_STORE_SNAPSHOT_H_
#define STEWARD_SERVER_STORE_SNAPSHOT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::store {

// One principal's decision data. Immutable and thread-safe; always owned
// through std::shared_ptr<const PrincipalEntry> (Create), which keeps the
// whole block alive. All views returned point into that block.
class PrincipalEntry {
 public:
  // Copies `id`, every binding (with its scope string) and every attribute
  // value (with its strings and set elements) into one new block.
  // `attributes` is indexed by the Program's principal attribute slot;
  // trailing absent values may be omitted. Bindings are kept as given
  // (expired ones included: the evaluator compares expiry with the
  // request's time, so expiry needs no rebuild).
  static std::shared_ptr<const PrincipalEntry> Create(
      absl::string_view id, bool disabled,
      absl::Span<const policy::RoleBinding> bindings,
      absl::Span<const policy::Value> attributes);

  absl::string_view id() const { return id_; }
  // absl::Hash of id(), computed once at creation (the index uses it on
  // every rehash and shard copy).
  size_t id_hash() const { return id_hash_; }
  bool disabled() const { return disabled_; }
  // Bindings to roles of the snapshot's Program (unknown roles were dropped
  // at build), in (role name, scope) order.
  absl::Span<const policy::RoleBinding> bindings() const {
    return absl::MakeConstSpan(bindings_, binding_count_);
  }
  // By principal attribute slot; may be shorter than the Program's slot
  // count (missing = absent).
  absl::Span<const policy::Value> attributes() const {
    return absl::MakeConstSpan(attributes_, attribute_count_);
  }

  // Sets request.principal_id/known/disabled/bindings/attributes from this
  // entry. The request then borrows from the entry: keep the snapshot (or
  // the entry) alive until evaluation is done.
  void FillRequest(policy::Request& request) const;

  // Approximate bytes of the entry's block (for memory reporting).
  size_t block_bytes() const { return block_bytes_; }

  // Only Create() can name PrivateTag.
  struct PrivateTag {};
  explicit PrincipalEntry(PrivateTag) {}
  // Trivial on purpose: the block is freed as raw bytes.
  ~PrincipalEntry() = default;

 private:
  absl::string_view id_;
  size_t id_hash_ = 0;
  const policy::RoleBinding* bindings_ = nullptr;
  const policy::Value* attributes_ = nullptr;
  uint32_t binding_count_ = 0;
  uint32_t attribute_count_ = 0;
  uint32_t block_bytes_ = 0;
  bool disabled_ = false;
};

// Writes the principal's effective roles at `scope` and time `now` into
// `roles` as a bitset (bit r of word r/64 = role r held): bindings that are
// unexpired and whose scope covers `scope`, closed under `extends`
// (spec §6 step 2). Allocation-free; used by reports and the lookup
// benchmark (the evaluator does the same internally).
// REQUIRES: roles.size() * 64 >= program.role_count(); the entry's role ids
// come from `program`.
void ResolveEffectiveRoles(const policy::Program& program,
                           const PrincipalEntry& entry, absl::string_view scope,
                           absl::Time now, absl::Span<uint64_t> roles);

// The immutable decision state at one store revision. Thread-safe (every
// method is const, nothing changes after construction); share as
// std::shared_ptr<const Snapshot>.
class Snapshot {
 public:
  // An empty snapshot: no policy, no principals, revision 0.
  Snapshot();

  // The active policy; null when no policy version is active yet (the
  // server then denies every check).
  const std::shared_ptr<const policy::Program>& program() const {
    return program_;
  }
  int64_t policy_version() const { return policy_version_; }  // 0 = none
  int64_t store_revision() const { return store_revision_; }
  size_t principal_count() const { return principal_count_; }

  // The principal, or null when unknown. The pointer lives as long as the
  // snapshot. One hash of `id`, one probe; no allocation.
  const PrincipalEntry* FindPrincipal(absl::string_view id) const;

  // Fills the principal part of `request` for `id`: from the entry when
  // known, else principal_known = false (DENY UNKNOWN_PRINCIPAL).
  void FillRequest(absl::string_view id, policy::Request& request) const;

  // Derivations for the store's incremental updates: the result shares the
  // Program, the untouched shards and every untouched entry with `this`.
  std::shared_ptr<const Snapshot> WithPrincipal(
      std::shared_ptr<const PrincipalEntry> entry,
      int64_t store_revision) const;
  std::shared_ptr<const Snapshot> WithoutPrincipal(
      absl::string_view id, int64_t store_revision) const;
  std::shared_ptr<const Snapshot> WithRevision(int64_t store_revision) const;

  // Calls `fn(const PrincipalEntry&)` for every principal, in no particular
  // order (reports).
  template <typename Fn>
  void ForEachPrincipal(Fn fn) const {
    for (const auto& shard : shards_) {
      if (shard == nullptr) continue;
      for (const auto& entry : *shard) fn(*entry);
    }
  }

 private:
  friend class SnapshotBuilder;

  // A lookup key whose hash is computed once, for both the shard choice
  // and the probe inside the shard.
  struct HashedId {
    absl::string_view id;
    size_t hash;
  };
  static HashedId Hashed(absl::string_view id) {
    return {id, absl::Hash<absl::string_view>{}(id)};
  }
  struct EntryHash {
    using is_transparent = void;
    size_t operator()(const HashedId& key) const { return key.hash; }
    size_t operator()(const std::shared_ptr<const PrincipalEntry>& e) const {
      return e->id_hash();
    }
  };
  struct EntryEq {
    using is_transparent = void;
    static absl::string_view Key(const HashedId& key) { return key.id; }
    static absl::string_view Key(
        const std::shared_ptr<const PrincipalEntry>& e) {
      return e->id();
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Key(a) == Key(b);
    }
  };
  using Shard = absl::flat_hash_set<std::shared_ptr<const PrincipalEntry>,
                                    EntryHash, EntryEq>;

  // Shards are picked from the hash's high half (multiply-shift); the
  // table inside a shard indexes with the low bits, which therefore stay
  // well distributed.
  size_t ShardOf(size_t hash) const {
    return static_cast<size_t>(
        (static_cast<uint64_t>(hash >> 32) * shards_.size()) >> 32);
  }

  std::shared_ptr<const policy::Program> program_;
  int64_t policy_version_ = 0;
  int64_t store_revision_ = 0;
  size_t principal_count_ = 0;
  // Fixed per snapshot lineage; chosen by SnapshotBuilder from the
  // principal count so shards fill their tables well (see snapshot.cc).
  // A null shard is empty.
  std::vector<std::shared_ptr<const Shard>> shards_;
};

// Builds a Snapshot from scratch (store open, policy activation).
// Thread-compatible; one use.
class SnapshotBuilder {
 public:
  SnapshotBuilder(std::shared_ptr<const policy::Program> program,
                  int64_t policy_version, size_t expected_principals);

  // REQUIRES: no entry with the same id was added (ids come from the
  // principals table's primary key).
  void Add(std::shared_ptr<const PrincipalEntry> entry);

  std::shared_ptr<const Snapshot> Build(int64_t store_revision) &&;

 private:
  std::shared_ptr<const policy::Program> program_;
  int64_t policy_version_;
  Snapshot shape_;  // only its shard count is used, for ShardOf()
  std::vector<std::unique_ptr<Snapshot::Shard>> shards_;
};

// Publishes the current Snapshot. Readers call Get() from any thread and
// keep the returned pointer for as long as they need it (in-flight checks
// finish on the snapshot they started with); the store calls Publish()
// after each committed change. Thread-safe; readers never block on the
// writer beyond the atomic operation itself.
class SnapshotHolder {
 public:
  explicit SnapshotHolder(std::shared_ptr<const Snapshot> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const Snapshot> Get() const {
    return current_.load(std::memory_order_acquire);
  }
  void Publish(std::shared_ptr<const Snapshot> snapshot) {
    current_.store(std::move(snapshot), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_SNAPSHOT_H_
