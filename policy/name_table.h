// NameTable: the immutable string -> small-int map of the check path.
//
// The evaluator resolves a handful of names per check (kind, action,
// purpose, each request attribute and field). absl::flat_hash_map pays for
// generality (a strong hash, out-of-line memcmp); names here are short
// identifiers, so a table with an inline word-at-a-time hash and compare
// halves the cost of a check. Open addressing, load factor <= 1/2, built
// at compile time and read-only afterwards. Internal to policy/.
#ifndef STEWARD_POLICY_NAME_TABLE_H_
#define STEWARD_POLICY_NAME_TABLE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace steward::policy::internal {

// Thread-compatible while being built; immutable (thread-safe) afterwards.
class NameTable {
 public:
  // Adds `name` -> `value` unless `name` is present; returns whether it was
  // added. REQUIRES: value >= 0.
  bool Insert(absl::string_view name, int value);
  // The value of `name`, or -1.
  int Find(absl::string_view name) const {
    if (slots_.empty()) return -1;
    const uint64_t h = Hash(name);
    const uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;  // 0 = empty
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return -1;
      if (s.tag == tag && s.length == name.size() &&
          Equal(chars_.data() + s.offset, name.data(), name.size())) {
        return s.value;
      }
    }
  }
  bool contains(absl::string_view name) const { return Find(name) >= 0; }

  // Pair keys: a table used only through these two maps (a, b) -> value,
  // so the check path finds a (kind, action) pair in one probe. Names
  // never contain '\0', which separates the parts in storage.
  bool InsertPair(absl::string_view a, absl::string_view b, int value);
  int FindPair(absl::string_view a, absl::string_view b) const {
    if (slots_.empty()) return -1;
    const uint64_t h = PairHash(a, b);
    const uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;
    const size_t length = a.size() + 1 + b.size();
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return -1;
      if (s.tag == tag && s.length == length) {
        const char* key = chars_.data() + s.offset;
        if (Equal(key, a.data(), a.size()) && key[a.size()] == '\0' &&
            Equal(key + a.size() + 1, b.data(), b.size())) {
          return s.value;
        }
      }
    }
  }
  static uint64_t PairHash(absl::string_view a, absl::string_view b) {
    return Hash(a) ^ (Hash(b) * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull);
  }
  int size() const { return size_; }
  size_t MemoryBytes() const {
    return slots_.capacity() * sizeof(Slot) + chars_.capacity();
  }

  static uint64_t Hash(absl::string_view s) {
    const char* p = s.data();
    size_t n = s.size();
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 29;
      p += 8;
      n -= 8;
    }
    if (n > 0) {
      uint64_t w = 0;
      for (size_t i = 0; i < n; ++i) {
        w |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
      }
      h = (h ^ w) * 0x94d049bb133111ebull;
      h ^= h >> 31;
    }
    return h * 0xbf58476d1ce4e5b9ull;
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t length = 0;
    uint32_t offset = 0;
    int32_t value = -1;
  };

  static bool Equal(const char* a, const char* b, size_t n) {
    while (n >= 8) {
      uint64_t x, y;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      if (x != y) return false;
      a += 8;
      b += 8;
      n -= 8;
    }
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  void Rehash(size_t capacity);
  uint64_t StoredHash(const Slot& s) const;
  void Place(const Slot& slot, uint64_t hash);

  std::vector<Slot> slots_;
  std::string chars_;  // all names, concatenated
  uint64_t mask_ = 0;
  int size_ = 0;
  bool pairs_ = false;  // keys are "a\0b", hashed with PairHash
};

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_NAME_TABLE_H_
