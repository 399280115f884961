// See snapshot.h.
#include "server/store/snapshot.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "policy/analysis.h"

namespace steward::store {

// The block is released as raw bytes, without running destructors, so
// everything placed in it must be trivially destructible; the offsets the
// header does not store assume 8-byte multiples.
static_assert(std::is_trivially_destructible_v<PrincipalEntry>);
static_assert(std::is_trivially_destructible_v<policy::RoleBinding>);
static_assert(std::is_trivially_destructible_v<policy::Value>);
static_assert(std::is_trivially_destructible_v<absl::string_view>);
static_assert(sizeof(PrincipalEntry) == 32);
static_assert(alignof(PrincipalEntry) <= 8);
static_assert(alignof(policy::RoleBinding) <= 8 &&
              sizeof(policy::RoleBinding) % 8 == 0);
static_assert(alignof(policy::Value) <= 8 && sizeof(policy::Value) % 8 == 0);
static_assert(alignof(absl::string_view) <= 8 &&
              sizeof(absl::string_view) % 8 == 0);
static_assert(std::is_trivially_destructible_v<internal::CompactBinding>);
static_assert(sizeof(internal::CompactBinding) == 16);

namespace {

// Appends strings to the block's character area.
class CharWriter {
 public:
  explicit CharWriter(char* out) : out_(out) {}
  absl::string_view Copy(absl::string_view s) {
    if (s.empty()) return absl::string_view();
    std::memcpy(out_, s.data(), s.size());
    absl::string_view copy(out_, s.size());
    out_ += s.size();
    return copy;
  }

 private:
  char* out_;
};

// a == b without a library call for ids of 8 to 16 bytes (two overlapping
// 8-byte loads per side): the lookup's id check.
inline bool SameId(absl::string_view a, absl::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.data(), 8);
    std::memcpy(&b0, b.data(), 8);
    std::memcpy(&a1, a.data() + n - 8, 8);
    std::memcpy(&b1, b.data() + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return n == 0 || std::memcmp(a.data(), b.data(), n) == 0;
}

// 64x64 -> 128-bit multiply, folded: the mixing step of StringHash.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  const unsigned __int128 m = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}
inline uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t Load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The hash of the principal index and of the scope table: inline and
// branch-light for the usual 4 to 16 bytes (two overlapping loads, one
// multiply), 16 bytes a step beyond; about a third of absl::Hash's
// instructions on a 12-byte id. Unseeded: ids and scopes come from the
// store's admins, not from callers (a caller's unknown id or scope costs
// one probe run, and the tables stay at <= 80% load whatever the keys).
inline uint64_t StringHash(absl::string_view s) {
  constexpr uint64_t k0 = 0x9E3779B97F4A7C15u;
  constexpr uint64_t k1 = 0xC2B2AE3D27D4EB4Fu;
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = k0 ^ n;
  while (n > 16) {
    h = Mix(Load8(p) ^ k1, Load8(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (n >= 8) {
    a = Load8(p);
    b = Load8(p + n - 8);
  } else if (n >= 4) {
    a = Load4(p);
    b = Load4(p + n - 4);
  } else if (n > 0) {
    a = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
        (uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
        static_cast<unsigned char>(p[n - 1]);
  }
  return Mix(a ^ k1, b ^ h);
}

// The position of the last '/' in s[0, n), or n when there is none.
// Eight bytes a step (exact per-byte test, no borrow between bytes).
inline size_t LastSlash(const char* s, size_t n) {
  constexpr uint64_t kSlashes = 0x2F2F2F2F2F2F2F2Fu;
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Fu;
  size_t end = n;
  while (end >= 8) {
    const uint64_t w = Load8(s + end - 8) ^ kSlashes;  // zero byte = '/'
    const uint64_t zero = ~(((w & kLow7) + kLow7) | w | kLow7);
    if (zero != 0) return end - 8 + (63 - std::countl_zero(zero)) / 8;
    end -= 8;
  }
  while (end > 0) {
    if (s[--end] == '/') return end;
  }
  return n;
}

// Trailing absent values carry no information.
absl::Span<const policy::Value> TrimAbsent(
    absl::Span<const policy::Value> attributes) {
  while (!attributes.empty() && !attributes.back().present()) {
    attributes.remove_suffix(1);
  }
  return attributes;
}

}  // namespace

size_t PrincipalEntry::BlockSize(absl::string_view id,
                                 absl::Span<const policy::RoleBinding> bindings,
                                 absl::Span<const policy::Value> attributes,
                                 const uint32_t* scope_numbers) {
  attributes = TrimAbsent(attributes);
  size_t set_elements = 0;
  size_t chars = 0;
  if (scope_numbers == nullptr) {
    for (const policy::RoleBinding& b : bindings) chars += b.scope.size();
  }
  for (const policy::Value& v : attributes) {
    if (!v.present()) continue;
    if (v.type() == policy::ValueType::kString) {
      chars += v.string_value().size();
    } else if (v.type() == policy::ValueType::kStringSet) {
      set_elements += v.set_value().size();
      for (absl::string_view e : v.set_value()) chars += e.size();
    }
  }
  return AlignArray(sizeof(PrincipalEntry) + id.size()) +
         (scope_numbers != nullptr
              ? bindings.size() * sizeof(internal::CompactBinding)
              : 0) +
         bindings.size() * sizeof(policy::RoleBinding) +
         attributes.size() * sizeof(policy::Value) +
         set_elements * sizeof(absl::string_view) + chars;
}

const PrincipalEntry* PrincipalEntry::Write(
    std::byte* block, size_t size, absl::string_view id, bool disabled,
    absl::Span<const policy::RoleBinding> bindings,
    absl::Span<const policy::Value> attributes, const uint32_t* scope_numbers) {
  attributes = TrimAbsent(attributes);
  const bool scopes_inline = scope_numbers == nullptr;
  PrincipalEntry* entry =
      std::construct_at(reinterpret_cast<PrincipalEntry*>(block), PrivateTag{});
  entry->id_hash_ = absl::Hash<absl::string_view>{}(id);
  entry->id_size_ = static_cast<uint32_t>(id.size());
  entry->binding_count_ = static_cast<uint32_t>(bindings.size());
  entry->attribute_count_ = static_cast<uint32_t>(attributes.size());
  entry->block_bytes_ = static_cast<uint32_t>(size);
  entry->disabled_ = disabled;
  entry->compact_ = !scopes_inline;
  if (!id.empty())
    std::memcpy(block + sizeof(PrincipalEntry), id.data(), id.size());

  // Layout, in the order a lookup touches it: header, id (compared by the
  // lookup), bindings, then what only conditions read. BlockSize() sums
  // the same parts.
  size_t set_elements = 0;
  for (const policy::Value& v : attributes) {
    if (v.present() && v.type() == policy::ValueType::kStringSet) {
      set_elements += v.set_value().size();
    }
  }
  auto* out_bindings =
      reinterpret_cast<policy::RoleBinding*>(block + entry->BindingsOffset());
  auto* out_values =
      reinterpret_cast<policy::Value*>(block + entry->AttributesOffset());
  auto* out_set =
      reinterpret_cast<absl::string_view*>(out_values + attributes.size());
  CharWriter text(reinterpret_cast<char*>(out_set + set_elements));

  if (!scopes_inline) {
    auto* out_compact = reinterpret_cast<internal::CompactBinding*>(
        block + entry->CompactOffset());
    for (size_t i = 0; i < bindings.size(); ++i) {
      std::construct_at(
          out_compact + i,
          internal::CompactBinding{absl::ToUnixNanos(bindings[i].expires_at),
                                   scope_numbers[i], bindings[i].role});
    }
  }
  for (size_t i = 0; i < bindings.size(); ++i) {
    std::construct_at(
        out_bindings + i,
        policy::RoleBinding{
            bindings[i].role,
            scopes_inline ? text.Copy(bindings[i].scope) : bindings[i].scope,
            bindings[i].expires_at});
  }
  for (size_t i = 0; i < attributes.size(); ++i) {
    const policy::Value& v = attributes[i];
    policy::Value copy;
    if (v.present()) {
      switch (v.type()) {
        case policy::ValueType::kString:
          copy = policy::Value::String(text.Copy(v.string_value()));
          break;
        case policy::ValueType::kInt:
        case policy::ValueType::kBool:
          copy = v;
          break;
        case policy::ValueType::kStringSet: {
          absl::Span<const absl::string_view> elements = v.set_value();
          for (size_t e = 0; e < elements.size(); ++e) {
            std::construct_at(out_set + e, text.Copy(elements[e]));
          }
          copy = policy::Value::StringSet(
              absl::MakeConstSpan(out_set, elements.size()));
          out_set += elements.size();
          break;
        }
      }
    }
    std::construct_at(out_values + i, copy);
  }
  return entry;
}

std::shared_ptr<const PrincipalEntry> PrincipalEntry::Create(
    absl::string_view id, bool disabled,
    absl::Span<const policy::RoleBinding> bindings,
    absl::Span<const policy::Value> attributes) {
  const size_t size = BlockSize(id, bindings, attributes, nullptr);
  // One allocation holds the control block and the bytes; uint64_t words
  // give the 8-byte alignment the layout needs.
  std::shared_ptr<uint64_t[]> block =
      std::make_shared_for_overwrite<uint64_t[]>((size + 7) / 8);
  const PrincipalEntry* entry =
      Write(reinterpret_cast<std::byte*>(block.get()), size, id, disabled,
            bindings, attributes, nullptr);
  // Aliasing constructor: shares ownership of the block, points at the
  // entry inside it.
  return std::shared_ptr<const PrincipalEntry>(std::move(block), entry);
}

void PrincipalEntry::FillRequest(policy::Request& request) const {
  request.principal_id = id();
  request.principal_known = true;
  request.principal_disabled = disabled_;
  request.bindings = bindings();
  request.effective_roles = {};
  request.principal_attributes = attributes();
}

void ResolveEffectiveRoles(const policy::Program& program,
                           const PrincipalEntry& entry, absl::string_view scope,
                           absl::Time now, absl::Span<uint64_t> roles) {
  // The entry's roles come from `program` (REQUIRES): none is skipped.
  policy::ResolveEffectiveRoles(program, entry.bindings(), scope, now, roles);
}

namespace internal {

// The storage of a full build's entries: large chunks handed out by a
// bump pointer, freed together when the last snapshot sharing any of the
// entries goes away. Chunks of 2 MiB and more ask for transparent huge
// pages, so random lookups over a million principals take fewer TLB
// misses. Also interns binding scopes: a million principals share a few
// thousand distinct scopes. Thread-compatible while building; immutable
// (and then thread-safe) once the snapshot is published.
class EntryArena {
 public:
  explicit EntryArena(size_t expected_principals)
      : chunk_bytes_(ChunkBytesFor(expected_principals)) {}
  EntryArena(const EntryArena&) = delete;
  EntryArena& operator=(const EntryArena&) = delete;
  ~EntryArena() {
    for (const Chunk& c : chunks_) munmap(c.base, c.bytes);
  }

  const PrincipalEntry* Add(absl::string_view id, bool disabled,
                            absl::Span<const policy::RoleBinding> bindings,
                            absl::Span<const policy::Value> attributes) {
    interned_.assign(bindings.begin(), bindings.end());
    numbers_.resize(bindings.size());
    for (size_t i = 0; i < interned_.size(); ++i) {
      interned_[i].scope = InternScope(interned_[i].scope, &numbers_[i]);
    }
    const size_t size =
        PrincipalEntry::BlockSize(id, interned_, attributes, numbers_.data());
    // What a lookup + role resolution reads: header, id, compact bindings.
    // Start the block on a cache line when that saves one line of that
    // part (costs ~10 bytes a principal on average).
    const size_t hot =
        PrincipalEntry::AlignArray(sizeof(PrincipalEntry) + id.size()) +
        bindings.size() * sizeof(internal::CompactBinding);
    const size_t lines = (hot + kLine - 1) / kLine;
    if (used_ % kLine + hot > lines * kLine && lines * kLine <= chunk_bytes_) {
      used_ = (used_ + kLine - 1) / kLine * kLine;
    }
    return PrincipalEntry::Write(Allocate(size), size, id, disabled, interned_,
                                 attributes, numbers_.data());
  }

  // Uninitialized storage for `count` index slots, on a cache line.
  IndexSlot* AllocateSlots(size_t count) {
    return reinterpret_cast<IndexSlot*>(
        AllocateBytes(count * sizeof(IndexSlot), kLine));
  }

  // Drops what only building needs; returns the interned scopes, by
  // number (0 = "", global).
  std::vector<absl::string_view> FinishBuild() {
    scopes_ = {};
    interned_ = {};
    numbers_ = {};
    return std::move(scope_by_number_);
  }

 private:
  struct Chunk {
    void* base;
    size_t bytes;
  };
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kLine = 64;

  // ~300 bytes per principal (3 bindings, 2 attributes); a chunk is at
  // most 32 MiB so the unused tail of the last one stays small.
  static size_t ChunkBytesFor(size_t principals) {
    const size_t wanted =
        std::clamp(principals * 320, size_t{64} << 10, size_t{32} << 20);
    return wanted >= kHugePage
               ? (wanted + kHugePage - 1) / kHugePage * kHugePage
               : wanted;
  }

  // The arena's copy of `scope` and (in *number) its number.
  absl::string_view InternScope(absl::string_view scope, uint32_t* number) {
    *number = 0;
    if (scope.empty()) return absl::string_view();
    auto it = scopes_.find(scope);
    if (it != scopes_.end()) {
      *number = it->second;
      return it->first;
    }
    char* chars = reinterpret_cast<char*>(AllocateBytes(scope.size(), 1));
    std::memcpy(chars, scope.data(), scope.size());
    absl::string_view copy(chars, scope.size());
    *number = static_cast<uint32_t>(scope_by_number_.size());
    scopes_.emplace(copy, *number);
    scope_by_number_.push_back(copy);
    return copy;
  }

  std::byte* Allocate(size_t bytes) { return AllocateBytes(bytes, 8); }

  std::byte* AllocateBytes(size_t bytes, size_t alignment) {
    size_t offset = (used_ + alignment - 1) & ~(alignment - 1);
    if (chunks_.empty() || offset + bytes > chunks_.back().bytes) {
      NewChunk(std::max(bytes, chunk_bytes_));
      offset = 0;
    }
    used_ = offset + bytes;
    return static_cast<std::byte*>(chunks_.back().base) + offset;
  }

  void NewChunk(size_t bytes) {
    void* base = MAP_FAILED;
    if (bytes >= kHugePage) {
      // Over-map by one huge page and trim so the chunk is 2 MiB aligned
      // (huge pages need aligned ranges).
      bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      void* raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (raw == MAP_FAILED) throw std::bad_alloc();
      const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
      const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
      if (aligned > start) munmap(raw, aligned - start);
      const size_t tail = kHugePage - (aligned - start);
      if (tail > 0) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
      base = reinterpret_cast<void*>(aligned);
      // Advice only: without huge pages the arena works the same.
      (void)madvise(base, bytes, MADV_HUGEPAGE);
    } else {
      base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base == MAP_FAILED) throw std::bad_alloc();
    }
    chunks_.push_back({base, bytes});
    used_ = 0;
  }

  const size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
  size_t used_ = 0;  // bytes handed out from chunks_.back()
  absl::flat_hash_map<absl::string_view, uint32_t> scopes_;
  std::vector<absl::string_view> scope_by_number_{absl::string_view()};
  std::vector<policy::RoleBinding> interned_;
  std::vector<uint32_t> numbers_;
};

// What Snapshot::ResolveEffectiveRoles needs besides the entry: the scope
// tree of a full build's binding scopes in pre-order, and the Program's
// extends-closures as bitsets. Immutable; shared by a snapshot lineage.
class ResolveTables {
 public:
  // The pre-order numbers of a scope's subtree: [begin, end).
  struct Range {
    uint32_t begin;
    uint32_t end;
  };

  // `scopes` by arena number (0 = "", the root), copied; `program` may be
  // null.
  ResolveTables(std::vector<absl::string_view> scopes,
                const policy::Program* program) {
    if (scopes.empty()) scopes.emplace_back();
    const size_t n = scopes.size();
    absl::flat_hash_map<absl::string_view, uint32_t> number_of;
    number_of.reserve(n);
    for (size_t i = 1; i < n; ++i) {
      number_of.emplace(scopes[i], static_cast<uint32_t>(i));
    }
    // Parent: the longest proper prefix ending before a '/' that is itself
    // a binding scope, else the root. Whatever a scope covers (itself and
    // what extends it by whole segments), its parent covers too.
    std::vector<uint32_t> parent(n, 0);
    std::vector<uint32_t> child_count(n + 1, 0);
    for (size_t i = 1; i < n; ++i) {
      const absl::string_view s = scopes[i];
      for (size_t cut = s.rfind('/'); cut != absl::string_view::npos && cut > 0;
           cut = s.rfind('/', cut - 1)) {
        auto it = number_of.find(s.substr(0, cut));
        if (it != number_of.end()) {
          parent[i] = it->second;
          break;
        }
      }
      ++child_count[parent[i] + 1];
    }
    // Children grouped by parent (counting sort), then a depth-first walk
    // numbering each scope before its subtree.
    for (size_t i = 0; i < n; ++i) child_count[i + 1] += child_count[i];
    std::vector<uint32_t> children(n > 0 ? n - 1 : 0);
    {
      std::vector<uint32_t> next(child_count.begin(), child_count.end() - 1);
      for (size_t i = 1; i < n; ++i) {
        children[next[parent[i]]++] = static_cast<uint32_t>(i);
      }
    }
    ranges_.assign(n, Range{0, 0});
    uint32_t counter = 0;
    // (scope, index of its next child to visit)
    std::vector<std::pair<uint32_t, uint32_t>> stack;
    stack.emplace_back(0, child_count[0]);
    ranges_[0].begin = counter++;
    while (!stack.empty()) {
      auto& [scope, next_child] = stack.back();
      if (next_child == child_count[scope + 1]) {
        ranges_[scope].end = counter;
        stack.pop_back();
        continue;
      }
      const uint32_t child = children[next_child++];
      ranges_[child].begin = counter++;
      stack.emplace_back(child, child_count[child]);
    }
    // The lookup table: its own copy of the characters (the arena's are
    // spread among the entries, a cache miss each), slots at <= 50% load.
    size_t chars = 0;
    for (size_t i = 1; i < n; ++i) chars += scopes[i].size();
    chars_.resize(chars);
    slots_.assign(std::bit_ceil(std::max<size_t>(16, 2 * n)), Slot{});
    const size_t mask = slots_.size() - 1;
    size_t at = 0;
    for (size_t i = 1; i < n; ++i) {
      const absl::string_view scope = scopes[i];
      std::memcpy(chars_.data() + at, scope.data(), scope.size());
      const uint64_t hash = StringHash(scope);
      size_t slot = hash & mask;
      while (slots_[slot].size != 0) slot = (slot + 1) & mask;
      slots_[slot] =
          Slot{hash, static_cast<uint32_t>(at),
               static_cast<uint32_t>(scope.size()), ranges_[i].begin};
      at += scope.size();
    }

    if (program != nullptr) {
      role_words_ = static_cast<size_t>(program->role_count() + 63) / 64;
      const size_t words = role_words_ * program->role_count();
      if (words <= kMaxClosureWords) {
        closure_.assign(words, 0);
        for (policy::RoleId r = 0; r < program->role_count(); ++r) {
          policy::AddRoleClosure(
              *program, r,
              absl::MakeSpan(&closure_[r * role_words_], role_words_));
        }
      }
    }
  }

  // The pre-order number of the longest binding scope that covers
  // `scope` (0: only the global scope does): `scope` itself, else its
  // prefixes ending before a '/', longest first.
  uint32_t NumberOf(absl::string_view scope) const {
    const char* data = scope.data();
    size_t size = scope.size();
    while (size > 0) {
      const uint32_t number = Find(absl::string_view(data, size));
      if (number != 0) return number;
      const size_t slash = LastSlash(data, size);
      size = slash == size ? 0 : slash;
    }
    return 0;
  }

  const Range* ranges() const { return ranges_.data(); }

  // For Snapshot::Prefetch: what NumberOf(scope) reads first (the slots of
  // `scope` and of its parent segment), then the characters it compares,
  // and one scope's range.
  void PrefetchSlots(absl::string_view scope) const {
    const size_t mask = slots_.size() - 1;
    __builtin_prefetch(&slots_[StringHash(scope) & mask]);
    const size_t slash = LastSlash(scope.data(), scope.size());
    if (slash < scope.size()) {
      __builtin_prefetch(&slots_[StringHash(scope.substr(0, slash)) & mask]);
    }
  }
  void PrefetchChars(absl::string_view scope) const {
    const size_t mask = slots_.size() - 1;
    __builtin_prefetch(chars_.data() + slots_[StringHash(scope) & mask].offset);
    const size_t slash = LastSlash(scope.data(), scope.size());
    if (slash < scope.size()) {
      __builtin_prefetch(
          chars_.data() +
          slots_[StringHash(scope.substr(0, slash)) & mask].offset);
    }
  }
  void PrefetchRange(uint32_t number) const {
    if (number < ranges_.size()) __builtin_prefetch(&ranges_[number]);
  }
  // Closure bitsets, role_words() words per role; null when the Program
  // has too many roles for the table (or there is no Program).
  const uint64_t* closure() const {
    return closure_.empty() ? nullptr : closure_.data();
  }
  size_t role_words() const { return role_words_; }

 private:
  // 1 MiB: up to ~2,900 roles.
  static constexpr size_t kMaxClosureWords = size_t{1} << 17;

  // Open addressing, linear probing; size == 0 marks an empty slot (the
  // global scope is not stored: it is number 0).
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;  // into chars_
    uint32_t size = 0;
    uint32_t number = 0;  // pre-order number, >= 1
  };

  // The number of exactly `scope`, or 0.
  uint32_t Find(absl::string_view scope) const {
    const uint64_t hash = StringHash(scope);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.size == 0) return 0;
      if (slot.hash == hash &&
          SameId(absl::string_view(chars_.data() + slot.offset, slot.size),
                 scope)) {
        return slot.number;
      }
    }
  }

  std::vector<Range> ranges_;  // by arena scope number
  std::vector<char> chars_;
  std::vector<Slot> slots_;
  size_t role_words_ = 0;
  std::vector<uint64_t> closure_;
};

// One shard of the principal index: an open-addressing table of
// (hash, entry) slots with linear probing, plus what keeps its entries
// alive. Immutable once published; a change copies the shard.
class IndexShard {
 public:
  // Slots for `expected` entries at <= 80% load.
  static size_t CapacityFor(size_t expected) {
    return std::bit_ceil(std::max<size_t>(16, expected * 5 / 4 + 1));
  }
  // An empty table with room for `expected` entries, on the heap.
  explicit IndexShard(size_t expected)
      : own_(CapacityFor(expected), IndexSlot{0, nullptr}),
        slots_(own_.data()),
        capacity_(own_.size()) {}
  // An empty table in `storage` (`capacity` slots, a power of two), which
  // `arena` owns (a full build puts every table in its arena's huge pages:
  // one TLB entry covers 2 MiB of slots).
  IndexShard(IndexSlot* storage, size_t capacity,
             std::shared_ptr<const EntryArena> arena)
      : slots_(storage), capacity_(capacity), arena_(std::move(arena)) {
    std::fill(slots_, slots_ + capacity_, IndexSlot{0, nullptr});
  }
  // Copies go to the heap (a shard changed by an admin change).
  IndexShard(const IndexShard& other)
      : own_(other.slots_, other.slots_ + other.capacity_),
        slots_(own_.data()),
        capacity_(own_.size()),
        size_(other.size_),
        arena_(other.arena_),
        owned_(other.owned_) {}
  IndexShard& operator=(const IndexShard&) = delete;

  const IndexSlot* slots() const { return slots_; }
  size_t mask() const { return capacity_ - 1; }
  size_t size() const { return size_; }

  // REQUIRES: no entry with the same id; the caller keeps it alive (the
  // arena, or Own()).
  void InsertNew(size_t hash, const PrincipalEntry* entry) {
    if ((size_ + 1) * 8 > capacity_ * 7) Grow();
    size_t i = hash & mask();
    while (slots_[i].entry != nullptr) i = (i + 1) & mask();
    slots_[i] = IndexSlot{hash, entry};
    ++size_;
  }

  // Inserts or replaces the entry with `entry`'s id; true when new.
  bool Upsert(std::shared_ptr<const PrincipalEntry> entry) {
    const size_t hash = StringHash(entry->id());
    const size_t found = Position(entry->id(), hash);
    const PrincipalEntry* raw = entry.get();
    owned_[raw] = std::move(entry);
    if (found != kNotFound) {
      if (slots_[found].entry != raw) owned_.erase(slots_[found].entry);
      slots_[found].entry = raw;
      return false;
    }
    InsertNew(hash, raw);
    return true;
  }

  // Removes the entry with `id`; true when it was there.
  bool Erase(absl::string_view id, size_t hash) {
    size_t i = Position(id, hash);
    if (i == kNotFound) return false;
    owned_.erase(slots_[i].entry);
    --size_;
    // Backward-shift deletion: move later members of the probe run into
    // the hole when their home slot allows, so probes need no tombstones.
    size_t j = i;
    while (true) {
      j = (j + 1) & mask();
      if (slots_[j].entry == nullptr) break;
      const size_t home = slots_[j].hash & mask();
      // The entry at j may move to i when its home is not in (i, j]
      // (cyclically).
      const bool home_in_range =
          i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!home_in_range) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = IndexSlot{0, nullptr};
    return true;
  }

 private:
  static constexpr size_t kNotFound = ~size_t{0};

  size_t Position(absl::string_view id, size_t hash) const {
    for (size_t i = hash & mask();; i = (i + 1) & mask()) {
      const IndexSlot& s = slots_[i];
      if (s.entry == nullptr) return kNotFound;
      if (s.hash == hash && SameId(s.entry->id(), id)) return i;
    }
  }

  void Grow() {
    std::vector<IndexSlot> grown(capacity_ * 2, IndexSlot{0, nullptr});
    const size_t grown_mask = grown.size() - 1;
    for (size_t j = 0; j < capacity_; ++j) {
      const IndexSlot& s = slots_[j];
      if (s.entry == nullptr) continue;
      size_t i = s.hash & grown_mask;
      while (grown[i].entry != nullptr) i = (i + 1) & grown_mask;
      grown[i] = s;
    }
    own_.swap(grown);
    slots_ = own_.data();
    capacity_ = own_.size();
  }

  std::vector<IndexSlot> own_;  // the slots unless they are in the arena
  IndexSlot* slots_;
  size_t capacity_;
  size_t size_ = 0;
  // Entries of a full build live in its arena (replaced ones stay there
  // until the next full build); entries added since own their blocks.
  std::shared_ptr<const EntryArena> arena_;
  absl::flat_hash_map<const PrincipalEntry*,
                      std::shared_ptr<const PrincipalEntry>>
      owned_;
};

}  // namespace internal

namespace {

// Shards are sized for ~kTargetShardSize principals in 4,096-slot tables
// (~71% load: successful probes average ~2 slots, half a cache line), so a
// shard copy on an admin change moves 64 KiB.
constexpr size_t kTargetShardSize = 2900;
constexpr size_t kMinShards = 16;

size_t ShardCountFor(size_t principals) {
  return std::max(kMinShards,
                  (principals + kTargetShardSize - 1) / kTargetShardSize);
}

// The view of a null (empty) shard: one empty slot, so lookups need no
// null check.
constexpr internal::IndexSlot kEmptyTable[1] = {{0, nullptr}};

}  // namespace

Snapshot::Snapshot()
    : shards_(kMinShards), views_(kMinShards, ShardView{kEmptyTable, 0}) {}

void Snapshot::SetShard(size_t index,
                        std::shared_ptr<const internal::IndexShard> shard) {
  views_[index] = shard == nullptr || shard->size() == 0
                      ? ShardView{kEmptyTable, 0}
                      : ShardView{shard->slots(), shard->mask()};
  shards_[index] = std::move(shard);
}

size_t Snapshot::HashId(absl::string_view id) { return StringHash(id); }

const PrincipalEntry* Snapshot::FindPrincipal(absl::string_view id) const {
  const size_t hash = HashId(id);
  const ShardView view = views_[ShardOf(hash)];
  for (size_t i = hash & view.mask;; i = (i + 1) & view.mask) {
    const internal::IndexSlot& s = view.slots[i];
    if (s.entry == nullptr) return nullptr;
    if (s.hash == hash) {
      // The entry's second line (compact bindings) while the id compares:
      // two overlapping misses instead of two in a row when it is cold.
      __builtin_prefetch(reinterpret_cast<const char*>(s.entry) + 64);
      if (SameId(s.entry->id(), id)) return s.entry;
    }
  }
}

void Snapshot::Prefetch(absl::string_view id, absl::string_view scope,
                        PrefetchStage stage) const {
  const size_t hash = HashId(id);
  const ShardView view = views_[ShardOf(hash)];
  const size_t home = hash & view.mask;
  const internal::ResolveTables* tables = resolve_.get();
  if (stage == PrefetchStage::kIndex) {
    __builtin_prefetch(&view.slots[home]);
    if (tables != nullptr) tables->PrefetchSlots(scope);
    return;
  }
  // The home slot or the next one hold the id in most probe runs (load
  // <= 80%); a later one is only missed by the prefetch, not by the lookup.
  const internal::IndexSlot* slot = &view.slots[home];
  if (slot->hash != hash) slot = &view.slots[(home + 1) & view.mask];
  const PrincipalEntry* entry = slot->hash == hash ? slot->entry : nullptr;
  if (stage == PrefetchStage::kEntry) {
    if (entry != nullptr) {
      __builtin_prefetch(entry);
      __builtin_prefetch(reinterpret_cast<const char*>(entry) + 64);
    }
    if (tables != nullptr) tables->PrefetchChars(scope);
    return;
  }
  if (entry != nullptr && tables != nullptr) {
    for (const internal::CompactBinding& b : entry->compact_bindings()) {
      tables->PrefetchRange(b.scope);
    }
  }
}

void Snapshot::FillRequest(absl::string_view id,
                           policy::Request& request) const {
  if (const PrincipalEntry* entry = FindPrincipal(id)) {
    entry->FillRequest(request);
    return;
  }
  request.principal_id = id;
  request.principal_known = false;
  request.principal_disabled = false;
  request.bindings = {};
  request.effective_roles = {};
  request.principal_attributes = {};
}

const PrincipalEntry* Snapshot::FillRequestAndRoles(
    absl::string_view id, absl::Span<uint64_t> roles,
    policy::Request& request) const {
  const PrincipalEntry* entry = FindPrincipal(id);
  if (entry == nullptr) {
    FillRequest(id, request);  // a second probe, only for unknown ids
    return nullptr;
  }
  entry->FillRequest(request);
  if (!entry->disabled()) {
    ResolveEffectiveRoles(*entry, PrepareScope(request.scope), request.now,
                          roles);
    request.effective_roles = roles;
  }
  return entry;
}

ResourceScope Snapshot::PrepareScope(absl::string_view scope) const {
  ResourceScope prepared;
  prepared.scope_ = scope;
  if (resolve_ != nullptr) prepared.number_ = resolve_->NumberOf(scope);
  return prepared;
}

void Snapshot::ResolveEffectiveRoles(const PrincipalEntry& entry,
                                     const ResourceScope& scope, absl::Time now,
                                     absl::Span<uint64_t> roles) const {
  const internal::ResolveTables* tables = resolve_.get();
  absl::Span<const internal::CompactBinding> compact = entry.compact_bindings();
  if (tables == nullptr || tables->closure() == nullptr ||
      scope.number_ == ResourceScope::kNoNumber ||
      compact.size() != entry.bindings().size()) {
    store::ResolveEffectiveRoles(*program_, entry, scope.scope(), now, roles);
    return;
  }
  const size_t words = tables->role_words();
  const internal::ResolveTables::Range* ranges = tables->ranges();
  const uint64_t* closure = tables->closure();
  const uint32_t number = scope.number_;
  const int64_t now_key = absl::ToUnixNanos(now);
  if (words == 1) {
    // Up to 64 roles: one word, no loops but the bindings', no branch on
    // what a binding grants.
    uint64_t bits = 0;
    bool tie = false;
    for (const internal::CompactBinding& b : compact) {
      const internal::ResolveTables::Range range = ranges[b.scope];
      // begin <= number < end, as one unsigned compare.
      const bool applies = (b.expires_key > now_key) &
                           (number - range.begin < range.end - range.begin);
      // The keys are floors: equal keys need the exact times (below).
      tie |= b.expires_key == now_key;
      bits |= closure[b.role] & (uint64_t{0} - static_cast<uint64_t>(applies));
    }
    if (tie) [[unlikely]] {
      store::ResolveEffectiveRoles(*program_, entry, scope.scope(), now, roles);
      return;
    }
    roles[0] = bits;
    std::fill(roles.begin() + 1, roles.end(), 0);
    return;
  }
  std::fill(roles.begin(), roles.end(), 0);
  for (size_t i = 0; i < compact.size(); ++i) {
    const internal::CompactBinding& b = compact[i];
    const internal::ResolveTables::Range range = ranges[b.scope];
    bool live = b.expires_key > now_key;
    if (b.expires_key == now_key) [[unlikely]] {
      live = policy::BindingUnexpired(entry.bindings()[i].expires_at, now);
    }
    if (!live || range.begin > number || number >= range.end) continue;
    const uint64_t* bits = closure + static_cast<size_t>(b.role) * words;
    for (size_t w = 0; w < words; ++w) roles[w] |= bits[w];
  }
}

std::shared_ptr<const Snapshot> Snapshot::WithPrincipal(
    std::shared_ptr<const PrincipalEntry> entry, int64_t store_revision) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->store_revision_ = store_revision;
  const size_t index = ShardOf(HashId(entry->id()));
  const internal::IndexShard* old = shards_[index].get();
  auto shard = old == nullptr ? std::make_shared<internal::IndexShard>(0)
                              : std::make_shared<internal::IndexShard>(*old);
  if (shard->Upsert(std::move(entry))) ++next->principal_count_;
  next->SetShard(index, std::move(shard));
  return next;
}

std::shared_ptr<const Snapshot> Snapshot::WithoutPrincipal(
    absl::string_view id, int64_t store_revision) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->store_revision_ = store_revision;
  if (FindPrincipal(id) == nullptr) return next;
  const size_t hash = HashId(id);
  const size_t index = ShardOf(hash);
  auto shard = std::make_shared<internal::IndexShard>(*shards_[index]);
  shard->Erase(id, hash);
  --next->principal_count_;
  next->SetShard(index, std::move(shard));
  return next;
}

std::shared_ptr<const Snapshot> Snapshot::WithRevision(
    int64_t store_revision) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->store_revision_ = store_revision;
  return next;
}

SnapshotBuilder::SnapshotBuilder(std::shared_ptr<const policy::Program> program,
                                 int64_t policy_version,
                                 size_t expected_principals)
    : program_(std::move(program)),
      policy_version_(policy_version),
      arena_(std::make_shared<internal::EntryArena>(expected_principals)) {
  pending_.reserve(expected_principals);
}

SnapshotBuilder::~SnapshotBuilder() = default;

void SnapshotBuilder::Add(absl::string_view id, bool disabled,
                          absl::Span<const policy::RoleBinding> bindings,
                          absl::Span<const policy::Value> attributes) {
  const PrincipalEntry* entry = arena_->Add(id, disabled, bindings, attributes);
  pending_.push_back(Pending{StringHash(id), entry});
}

void SnapshotBuilder::Add(std::shared_ptr<const PrincipalEntry> entry) {
  owned_.push_back(std::move(entry));
}

std::shared_ptr<const Snapshot> SnapshotBuilder::Build(
    int64_t store_revision) && {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->resolve_ = std::make_shared<internal::ResolveTables>(
      arena_->FinishBuild(), program_.get());
  const size_t count = ShardCountFor(pending_.size() + owned_.size());
  snapshot->program_ = std::move(program_);
  snapshot->policy_version_ = policy_version_;
  snapshot->store_revision_ = store_revision;
  snapshot->shards_.assign(count, nullptr);
  snapshot->views_.assign(count, Snapshot::ShardView{kEmptyTable, 0});

  // Group the arena entries by shard (a counting sort), then fill one
  // shard at a time: each table is written while it sits in cache,
  // instead of a cache miss per insert across all tables.
  std::vector<size_t> begin(count + 1, 0);
  for (const Pending& p : pending_) ++begin[snapshot->ShardOf(p.hash) + 1];
  for (size_t i = 0; i < count; ++i) begin[i + 1] += begin[i];
  std::vector<Pending> grouped(pending_.size());
  {
    std::vector<size_t> next(begin.begin(), begin.end() - 1);
    for (const Pending& p : pending_) {
      grouped[next[snapshot->ShardOf(p.hash)]++] = p;
    }
  }
  pending_ = {};
  std::vector<size_t> extra(count, 0);
  for (const auto& e : owned_) {
    ++extra[snapshot->ShardOf(Snapshot::HashId(e->id()))];
  }

  std::vector<std::shared_ptr<internal::IndexShard>> shards(count);
  for (size_t s = 0; s < count; ++s) {
    const size_t capacity =
        internal::IndexShard::CapacityFor(begin[s + 1] - begin[s] + extra[s]);
    auto shard = std::make_shared<internal::IndexShard>(
        arena_->AllocateSlots(capacity), capacity, arena_);
    for (size_t i = begin[s]; i < begin[s + 1]; ++i) {
      shard->InsertNew(grouped[i].hash, grouped[i].entry);
    }
    shards[s] = std::move(shard);
  }
  for (auto& entry : owned_) {
    shards[snapshot->ShardOf(Snapshot::HashId(entry->id()))]->Upsert(
        std::move(entry));
  }
  for (size_t s = 0; s < count; ++s) {
    snapshot->principal_count_ += shards[s]->size();
    snapshot->SetShard(s, std::move(shards[s]));
  }
  return snapshot;
}

}  // namespace steward::store
