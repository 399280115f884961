// The decision snapshot: everything one Check needs, immutable.
//
// Public. The store builds a Snapshot after every committed admin change and
// publishes it through a SnapshotHolder; the check path loads the current
// one with a single atomic load, looks the principal up and evaluates,
// never taking a lock or touching SQLite (ARCHITECTURE.md "The hot path").
//
// Memory layout (the 1,000,000-principal budget is 400 MiB, the lookup
// budget 100 ns): a principal is one PrincipalEntry block: a 32-byte header
// followed by its id, (full builds only) one 16-byte compact binding per
// binding, its policy::RoleBinding array, its policy::Value array and the
// strings those point to, so a lookup reads the header, the id and the
// bindings from consecutive cache lines. A full build (SnapshotBuilder)
// places every block in one arena (large chunks, transparent huge pages
// requested) and interns binding scopes in a per-arena table; an
// incremental update creates one block on its own (PrincipalEntry::Create).
//
// Effective roles without string compares (Snapshot::ResolveEffectiveRoles):
// a full build numbers its distinct binding scopes in pre-order of the
// scope tree (parent = longest proper segment prefix that is itself a
// binding scope; "" is the root), so "binding scope covers resource scope"
// is an interval test on the number of the resource scope's longest
// covered prefix, found by one hash lookup (PrepareScope). The compact
// bindings carry the scope's number, the role and the expiry as integer
// nanoseconds; the snapshot carries each role's extends-closure as a
// bitset. Entries made by Create() (principals changed since the last full
// build) take the string path, with the same results. The server's Check
// uses this path (FillRequestAndRoles hands the bitset to the evaluator
// through policy::Request::effective_roles).
//
// The index is a vector of shards, each an open-addressing table of
// (64-bit hash, entry pointer) slots with linear probing, sized so a shard
// holds ~2,900 principals; a lookup reads one slot line, then the entry.
// A full build puts the tables in the arena too. An admin change copies
// one shard (to the heap) and shares the others and every unchanged entry
// with the previous snapshot; arena entries it replaces stay allocated
// until the next full build releases the arena.
//
// What a lookup + resolution costs (bench/README.md): ~400
// instructions when everything is in cache (~70 ns here). A principal not
// in cache costs two dependent memory accesses, the slot line and then the
// entry's lines (its second line is prefetched while the id compares),
// plus the scope table and the ranges of its binding scopes, which are
// usually cached: over 1,000,000 principals that is two DRAM latencies,
// well over 100 ns on this machine. The probe loop's branches wait for
// the slot, so independent lookups barely overlap their misses; a batch
// can make them overlap with Prefetch().
#ifndef STEWARD_SERVER_STORE_SNAPSHOT_H_
#define STEWARD_SERVER_STORE_SNAPSHOT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::store {

class PrincipalEntry;

namespace internal {
class EntryArena;
class IndexShard;
class ResolveTables;
// A full build's per-binding decision data, after the entry's id: what
// Snapshot::ResolveEffectiveRoles reads instead of policy::RoleBinding.
struct CompactBinding {
  // Floor of expires_at in Unix nanoseconds, saturated (InfiniteFuture =
  // INT64_MAX); equal keys are settled with the exact absl::Time.
  int64_t expires_key;
  uint32_t scope;  // the arena's scope number; 0 = global
  int32_t role;
};
// One slot of a shard's open-addressing table: empty when `entry` is null.
struct IndexSlot {
  size_t hash;
  const PrincipalEntry* entry;
};
}  // namespace internal

// One principal's decision data. Immutable and thread-safe. Entries made
// by Create() are owned through std::shared_ptr<const PrincipalEntry>,
// which keeps the whole block alive; entries made by SnapshotBuilder live
// in the snapshot's arena, which every snapshot sharing them keeps alive.
// All views returned point into the block (or the arena's scope table).
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

  // The id's characters follow the header.
  absl::string_view id() const {
    return absl::string_view(reinterpret_cast<const char*>(this + 1), id_size_);
  }
  // absl::Hash of id(), computed once at creation. (The index keeps its
  // own, cheaper hash of the id in its slots.)
  size_t id_hash() const { return id_hash_; }
  bool disabled() const { return disabled_; }
  // Bindings to roles of the snapshot's Program (unknown roles were dropped
  // at build), in (role name, scope) order.
  absl::Span<const policy::RoleBinding> bindings() const {
    return absl::MakeConstSpan(
        reinterpret_cast<const policy::RoleBinding*>(
            reinterpret_cast<const std::byte*>(this) + BindingsOffset()),
        binding_count_);
  }
  // By principal attribute slot; may be shorter than the Program's slot
  // count (missing = absent).
  absl::Span<const policy::Value> attributes() const {
    return absl::MakeConstSpan(
        reinterpret_cast<const policy::Value*>(
            reinterpret_cast<const std::byte*>(this) + AttributesOffset()),
        attribute_count_);
  }

  // Sets request.principal_id/known/disabled/bindings/attributes from this
  // entry and clears request.effective_roles. The request then borrows from the
  // entry: keep the snapshot (or the entry) alive until evaluation is done.
  void FillRequest(policy::Request& request) const;

  // Bytes of the entry's block (for memory reporting); scopes interned in
  // an arena's table are not counted.
  size_t block_bytes() const { return block_bytes_; }

  // The compact bindings (parallel to bindings()) of an entry built by a
  // full build; empty for entries made by Create().
  absl::Span<const internal::CompactBinding> compact_bindings() const {
    return absl::MakeConstSpan(
        reinterpret_cast<const internal::CompactBinding*>(
            reinterpret_cast<const std::byte*>(this) + CompactOffset()),
        compact_ ? binding_count_ : 0);
  }

  // Only this file's implementation can name PrivateTag.
  struct PrivateTag {};
  explicit PrincipalEntry(PrivateTag) {}
  // Trivial on purpose: the block is freed as raw bytes.
  ~PrincipalEntry() = default;

 private:
  friend class internal::EntryArena;

  // Bytes the block needs. With `scope_numbers` (one per binding: the
  // arena interned the scopes), binding scopes are not copied and the
  // block has compact bindings; without, scopes are copied inline.
  static size_t BlockSize(absl::string_view id,
                          absl::Span<const policy::RoleBinding> bindings,
                          absl::Span<const policy::Value> attributes,
                          const uint32_t* scope_numbers);
  // Writes the block into `block` (BlockSize() bytes, 8-aligned).
  static const PrincipalEntry* Write(
      std::byte* block, size_t size, absl::string_view id, bool disabled,
      absl::Span<const policy::RoleBinding> bindings,
      absl::Span<const policy::Value> attributes,
      const uint32_t* scope_numbers);

  // The block: this 32-byte header, the id, the compact bindings (full
  // builds only), the bindings, the attribute values (each array aligned
  // to 8), then the other characters. The offsets follow from the sizes,
  // so the header stores none.
  static constexpr size_t kArrayAlign = 8;
  static constexpr size_t AlignArray(size_t n) {
    return (n + kArrayAlign - 1) & ~(kArrayAlign - 1);
  }
  size_t CompactOffset() const {
    return AlignArray(sizeof(PrincipalEntry) + id_size_);
  }
  size_t BindingsOffset() const {
    return CompactOffset() +
           (compact_ ? binding_count_ * sizeof(internal::CompactBinding) : 0);
  }
  size_t AttributesOffset() const {
    return BindingsOffset() + binding_count_ * sizeof(policy::RoleBinding);
  }

  size_t id_hash_ = 0;
  uint32_t id_size_ = 0;
  uint32_t binding_count_ = 0;
  uint32_t attribute_count_ = 0;
  uint32_t block_bytes_ = 0;
  bool disabled_ = false;
  bool compact_ = false;  // has compact bindings (a full build's entry)
};

// Writes the principal's effective roles at `scope` and time `now` into
// `roles` as a bitset (bit r of word r/64 = role r held): bindings that are
// unexpired and whose scope covers `scope`, closed under `extends`
// (spec §6 step 2). policy::ResolveEffectiveRoles over the entry's
// bindings, the walk the evaluator does. Allocation-free; used by reports
// and the lookup benchmark.
// REQUIRES: roles.size() * 64 >= program.role_count(); the entry's role ids
// come from `program`.
void ResolveEffectiveRoles(const policy::Program& program,
                           const PrincipalEntry& entry, absl::string_view scope,
                           absl::Time now, absl::Span<uint64_t> roles);

// A resource scope prepared for one Snapshot's ResolveEffectiveRoles (see
// Snapshot::PrepareScope). Borrows the scope's characters.
class ResourceScope {
 public:
  absl::string_view scope() const { return scope_; }

 private:
  friend class Snapshot;
  static constexpr uint32_t kNoNumber = ~uint32_t{0};
  absl::string_view scope_;
  // Pre-order number of the longest binding scope covering scope_ (0 = the
  // root, ""), or kNoNumber when the snapshot has no scope numbering.
  uint32_t number_ = kNoNumber;
};

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
  // snapshot. One hash of `id`, one linear probe (usually one cache line);
  // no allocation.
  const PrincipalEntry* FindPrincipal(absl::string_view id) const;

  // The stages of Prefetch(), in the order a batch issues them for one
  // item, a few items apart, so that each stage finds in cache what the
  // one before fetched.
  enum class PrefetchStage { kIndex, kEntry, kBindings };

  // Starts loading, without waiting for it, what FindPrincipal(id),
  // PrepareScope(scope) and ResolveEffectiveRoles will read: kIndex the
  // index slot line and the scope table's slots; kEntry (reads the slot)
  // the entry's first two lines and the scope's characters; kBindings
  // (reads the entry) the scope ranges its compact bindings use. For
  // batches (BatchCheck, benchmarks): the lookups of several items then
  // overlap their cache misses instead of taking them one after another.
  // Changes no result; allocation-free; any id and scope are fine.
  void Prefetch(absl::string_view id, absl::string_view scope,
                PrefetchStage stage) const;

  // `scope` for ResolveEffectiveRoles below: one hash lookup per segment
  // of `scope` until a binding scope of the last full build matches (one
  // when the resource scope is itself a binding scope). Keep `scope`'s
  // characters alive while the result is used.
  ResourceScope PrepareScope(absl::string_view scope) const;

  // The same as the free ResolveEffectiveRoles(*program(), entry,
  // scope.scope(), now, roles), faster for entries of the last full build:
  // integer scope-interval and expiry tests (the same answers as
  // policy::ScopeCovers and policy::BindingUnexpired) and one OR per binding
  // of a closure bitset built with policy::AddRoleClosure, no string
  // compare. Allocation-free.
  // REQUIRES: program() != nullptr; `entry` is this snapshot's; `scope`
  // was prepared by this snapshot; roles.size() * 64 >= role_count().
  void ResolveEffectiveRoles(const PrincipalEntry& entry,
                             const ResourceScope& scope, absl::Time now,
                             absl::Span<uint64_t> roles) const;

  // Fills the principal part of `request` for `id`: from the entry when
  // known, else principal_known = false (DENY UNKNOWN_PRINCIPAL).
  // Clears request.effective_roles (the evaluator then resolves the
  // bindings itself).
  void FillRequest(absl::string_view id, policy::Request& request) const;

  // The decision path's FillRequest: the same, and for a known, enabled
  // principal also its effective roles at request.scope and request.now
  // (ResolveEffectiveRoles above) written into `roles` and pointed to by
  // request.effective_roles, so the evaluator skips the bindings. The
  // decision equals the one FillRequest would give: entries hold only
  // roles of this snapshot's Program (the loader drops unknown ones), the
  // only case where the evaluator's own walk would differ. Returns the
  // entry, or null when unknown. Allocation-free; keep the snapshot and
  // `roles` alive until evaluation is done.
  // REQUIRES: program() != nullptr; request.scope and request.now set;
  // roles.size() == (program()->role_count() + 63) / 64.
  const PrincipalEntry* FillRequestAndRoles(absl::string_view id,
                                            absl::Span<uint64_t> roles,
                                            policy::Request& request) const;

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
    for (const ShardView& view : views_) {
      for (size_t i = 0; i <= view.mask; ++i) {
        if (view.slots[i].entry != nullptr) fn(*view.slots[i].entry);
      }
    }
  }

 private:
  friend class SnapshotBuilder;

  // A shard's table as lookups read it: the slots (capacity mask + 1, a
  // power of two, never full) of the shard owned at the same index of
  // shards_. Kept in one array apart from the owners so a lookup reads
  // this small, hot array, then one slot line, then the entry.
  struct ShardView {
    const internal::IndexSlot* slots;
    size_t mask;
  };

  // The index's hash of an id (not id_hash(): cheaper, see snapshot.cc).
  static size_t HashId(absl::string_view id);
  // Shards are picked from the hash's high half (multiply-shift); the
  // table inside a shard indexes with the low bits, which therefore stay
  // well distributed.
  size_t ShardOf(size_t hash) const {
    return static_cast<size_t>(
        (static_cast<uint64_t>(hash >> 32) * views_.size()) >> 32);
  }
  // Replaces shard `index` (null = empty) in this (new, unpublished)
  // snapshot.
  void SetShard(size_t index, std::shared_ptr<const internal::IndexShard> s);

  std::shared_ptr<const policy::Program> program_;
  int64_t policy_version_ = 0;
  int64_t store_revision_ = 0;
  size_t principal_count_ = 0;
  // Fixed per snapshot lineage; chosen by SnapshotBuilder from the
  // principal count so shards fill their tables well (see snapshot.cc).
  // A null shard is empty (its view is a one-slot empty table).
  std::vector<std::shared_ptr<const internal::IndexShard>> shards_;
  std::vector<ShardView> views_;
  // The last full build's scope numbering and the Program's closure
  // bitsets; null for an empty snapshot. Shared along the lineage.
  std::shared_ptr<const internal::ResolveTables> resolve_;
};

// Builds a Snapshot from scratch (store open, policy activation).
// Thread-compatible; one use.
class SnapshotBuilder {
 public:
  SnapshotBuilder(std::shared_ptr<const policy::Program> program,
                  int64_t policy_version, size_t expected_principals);
  ~SnapshotBuilder();

  // Adds a principal whose entry is written into the snapshot's arena
  // (the same copies PrincipalEntry::Create makes, without a block per
  // principal; binding scopes are interned). The fast path for full loads.
  // REQUIRES: no entry with the same id was added (ids come from the
  // principals table's primary key).
  void Add(absl::string_view id, bool disabled,
           absl::Span<const policy::RoleBinding> bindings,
           absl::Span<const policy::Value> attributes);
  // Adds an entry made by PrincipalEntry::Create. Same REQUIRES.
  void Add(std::shared_ptr<const PrincipalEntry> entry);

  std::shared_ptr<const Snapshot> Build(int64_t store_revision) &&;

 private:
  struct Pending {
    size_t hash;
    const PrincipalEntry* entry;
  };

  std::shared_ptr<const policy::Program> program_;
  int64_t policy_version_;
  std::shared_ptr<internal::EntryArena> arena_;
  std::vector<Pending> pending_;
  std::vector<std::shared_ptr<const PrincipalEntry>> owned_;
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
    // Wakes WaitForRevision callers: absl::Mutex re-evaluates their
    // conditions when the lock is released. Publishing is rare (admin
    // changes, a replica catching up), so the lock costs readers nothing.
    absl::MutexLock lock(&wait_mu_);
  }

  // The current snapshot once its store revision is at least
  // `min_revision`, or the current (older) one when `deadline` passes or
  // `*interrupt` (if given) is found true first. Blocks without polling:
  // Publish and WakeWaiters make it look again.
  std::shared_ptr<const Snapshot> WaitForRevision(
      int64_t min_revision, absl::Time deadline,
      const std::atomic<bool>* interrupt = nullptr) const {
    std::shared_ptr<const Snapshot> current = Get();
    if (current->store_revision() >= min_revision) return current;
    auto done = [this, min_revision, interrupt] {
      return Get()->store_revision() >= min_revision ||
             (interrupt != nullptr &&
              interrupt->load(std::memory_order_acquire));
    };
    absl::MutexLock lock(&wait_mu_);
    wait_mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
    return Get();
  }
  // Makes WaitForRevision callers re-check their conditions (after setting
  // an `interrupt` flag).
  void WakeWaiters() const { absl::MutexLock lock(&wait_mu_); }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  // Guards nothing: WaitForRevision's condition reads current_.
  mutable absl::Mutex wait_mu_;
};

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_SNAPSHOT_H_
