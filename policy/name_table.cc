// Construction of NameTable (see name_table.h).
#include "policy/name_table.h"

namespace steward::policy::internal {

void NameTable::Place(const Slot& slot, uint64_t hash) {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    if (slots_[i].tag == 0) {
      slots_[i] = slot;
      return;
    }
  }
}

void NameTable::Rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot());
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (s.tag == 0) continue;
    Place(s, StoredHash(s));
  }
}

uint64_t NameTable::StoredHash(const Slot& s) const {
  const absl::string_view key(chars_.data() + s.offset, s.length);
  if (!pairs_) return Hash(key);
  const size_t sep = key.find('\0');
  return PairHash(key.substr(0, sep), key.substr(sep + 1));
}

bool NameTable::InsertPair(absl::string_view a, absl::string_view b,
                           int value) {
  pairs_ = true;
  if (FindPair(a, b) >= 0) return false;
  if (static_cast<size_t>(size_ + 1) * 2 > slots_.size()) {
    Rehash(slots_.empty() ? 8 : slots_.size() * 2);
  }
  Slot s;
  const uint64_t h = PairHash(a, b);
  s.tag = static_cast<uint32_t>(h >> 32) | 1;
  s.length = static_cast<uint32_t>(a.size() + 1 + b.size());
  s.offset = static_cast<uint32_t>(chars_.size());
  s.value = value;
  chars_.append(a.data(), a.size());
  chars_.push_back('\0');
  chars_.append(b.data(), b.size());
  Place(s, h);
  ++size_;
  return true;
}

bool NameTable::Insert(absl::string_view name, int value) {
  if (Find(name) >= 0) return false;
  if (static_cast<size_t>(size_ + 1) * 2 > slots_.size()) {
    Rehash(slots_.empty() ? 8 : slots_.size() * 2);
  }
  Slot s;
  const uint64_t h = Hash(name);
  s.tag = static_cast<uint32_t>(h >> 32) | 1;
  s.length = static_cast<uint32_t>(name.size());
  s.offset = static_cast<uint32_t>(chars_.size());
  s.value = value;
  chars_.append(name.data(), name.size());
  Place(s, h);
  ++size_;
  return true;
}

}  // namespace steward::policy::internal
