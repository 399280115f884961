// See snapshot.h.
#include "server/store/snapshot.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "server/store/scope.h"

namespace steward::store {
namespace {

// The block is released as raw bytes, without running destructors, so
// everything placed in it must be trivially destructible.
static_assert(std::is_trivially_destructible_v<PrincipalEntry>);
static_assert(std::is_trivially_destructible_v<policy::RoleBinding>);
static_assert(std::is_trivially_destructible_v<policy::Value>);
static_assert(std::is_trivially_destructible_v<absl::string_view>);

size_t AlignUp(size_t n, size_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// Hands out aligned arrays of one block, in the order they were sized.
class BlockWriter {
 public:
  explicit BlockWriter(std::byte* base) : base_(base) {}

  template <typename T>
  T* Array(size_t count) {
    offset_ = AlignUp(offset_, alignof(T));
    T* p = reinterpret_cast<T*>(base_ + offset_);
    offset_ += count * sizeof(T);
    return p;
  }

 private:
  std::byte* base_;
  size_t offset_ = 0;
};

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

}  // namespace

std::shared_ptr<const PrincipalEntry> PrincipalEntry::Create(
    absl::string_view id, bool disabled,
    absl::Span<const policy::RoleBinding> bindings,
    absl::Span<const policy::Value> attributes) {
  // Trailing absent values carry no information.
  while (!attributes.empty() && !attributes.back().present()) {
    attributes.remove_suffix(1);
  }
  size_t set_elements = 0;
  size_t chars = id.size();
  for (const policy::RoleBinding& b : bindings) chars += b.scope.size();
  for (const policy::Value& v : attributes) {
    if (!v.present()) continue;
    if (v.type() == policy::ValueType::kString) {
      chars += v.string_value().size();
    } else if (v.type() == policy::ValueType::kStringSet) {
      set_elements += v.set_value().size();
      for (absl::string_view e : v.set_value()) chars += e.size();
    }
  }
  // Layout, in the order a lookup touches it: header, characters (the id
  // compared by the hash lookup, then the scopes), bindings, then what only
  // conditions read. Same order as the writes below.
  size_t size = sizeof(PrincipalEntry) + chars;
  size = AlignUp(size, alignof(policy::RoleBinding)) +
         bindings.size() * sizeof(policy::RoleBinding);
  size = AlignUp(size, alignof(policy::Value)) +
         attributes.size() * sizeof(policy::Value);
  size = AlignUp(size, alignof(absl::string_view)) +
         set_elements * sizeof(absl::string_view);

  // One allocation holds the control block and the bytes.
  std::shared_ptr<std::byte[]> block =
      std::make_shared_for_overwrite<std::byte[]>(size);
  BlockWriter writer(block.get());
  PrincipalEntry* entry =
      std::construct_at(writer.Array<PrincipalEntry>(1), PrivateTag{});
  CharWriter text(writer.Array<char>(chars));
  policy::RoleBinding* out_bindings =
      writer.Array<policy::RoleBinding>(bindings.size());
  policy::Value* out_values = writer.Array<policy::Value>(attributes.size());
  absl::string_view* out_set = writer.Array<absl::string_view>(set_elements);

  entry->id_ = text.Copy(id);
  entry->id_hash_ = absl::Hash<absl::string_view>{}(id);
  entry->disabled_ = disabled;
  entry->block_bytes_ = static_cast<uint32_t>(size);
  for (size_t i = 0; i < bindings.size(); ++i) {
    std::construct_at(
        out_bindings + i,
        policy::RoleBinding{bindings[i].role, text.Copy(bindings[i].scope),
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
  entry->bindings_ = out_bindings;
  entry->binding_count_ = static_cast<uint32_t>(bindings.size());
  entry->attributes_ = out_values;
  entry->attribute_count_ = static_cast<uint32_t>(attributes.size());
  // Aliasing constructor: shares ownership of the block, points at the
  // entry inside it.
  return std::shared_ptr<const PrincipalEntry>(std::move(block), entry);
}

void PrincipalEntry::FillRequest(policy::Request& request) const {
  request.principal_id = id_;
  request.principal_known = true;
  request.principal_disabled = disabled_;
  request.bindings = bindings();
  request.principal_attributes = attributes();
}

void ResolveEffectiveRoles(const policy::Program& program,
                           const PrincipalEntry& entry, absl::string_view scope,
                           absl::Time now, absl::Span<uint64_t> roles) {
  std::fill(roles.begin(), roles.end(), 0);
  for (const policy::RoleBinding& b : entry.bindings()) {
    if (b.expires_at <= now || !ScopeCovers(b.scope, scope)) continue;
    for (policy::RoleId r : program.RoleClosure(b.role)) {
      roles[r >> 6] |= uint64_t{1} << (r & 63);
    }
  }
}

namespace {

// Shards are sized for ~kTargetShardSize principals: absl's tables grow at
// 7/8 load to the next 2^k - 1 capacity, so 3,300 entries fill a 4,095-slot
// table to ~80% with a margin of several standard deviations before the
// 3,583-entry growth point. (256 fixed shards at 1M principals would hold
// ~3,900 each in 8,191-slot tables: 48% load, 15 MB more.)
constexpr size_t kTargetShardSize = 3300;
constexpr size_t kMinShards = 16;

size_t ShardCountFor(size_t principals) {
  return std::max(kMinShards,
                  (principals + kTargetShardSize - 1) / kTargetShardSize);
}

}  // namespace

Snapshot::Snapshot() : shards_(kMinShards) {}

const PrincipalEntry* Snapshot::FindPrincipal(absl::string_view id) const {
  const HashedId key = Hashed(id);
  const Shard* shard = shards_[ShardOf(key.hash)].get();
  if (shard == nullptr) return nullptr;
  auto it = shard->find(key);
  return it == shard->end() ? nullptr : it->get();
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
  request.principal_attributes = {};
}

std::shared_ptr<const Snapshot> Snapshot::WithPrincipal(
    std::shared_ptr<const PrincipalEntry> entry, int64_t store_revision) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->store_revision_ = store_revision;
  const HashedId key{entry->id(), entry->id_hash()};
  std::shared_ptr<const Shard>& slot = next->shards_[ShardOf(key.hash)];
  auto shard = slot == nullptr ? std::make_unique<Shard>()
                               : std::make_unique<Shard>(*slot);
  auto it = shard->find(key);
  if (it != shard->end()) {
    shard->erase(it);
  } else {
    ++next->principal_count_;
  }
  shard->insert(std::move(entry));
  slot = std::move(shard);
  return next;
}

std::shared_ptr<const Snapshot> Snapshot::WithoutPrincipal(
    absl::string_view id, int64_t store_revision) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->store_revision_ = store_revision;
  const HashedId key = Hashed(id);
  std::shared_ptr<const Shard>& slot = next->shards_[ShardOf(key.hash)];
  if (slot == nullptr || !slot->contains(key)) return next;
  auto shard = std::make_unique<Shard>(*slot);
  shard->erase(shard->find(key));
  --next->principal_count_;
  slot = std::move(shard);
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
    : program_(std::move(program)), policy_version_(policy_version) {
  const size_t count = ShardCountFor(expected_principals);
  shape_.shards_.resize(count);
  shards_.resize(count);
  const size_t per_shard = expected_principals / count;
  for (auto& shard : shards_) {
    shard = std::make_unique<Snapshot::Shard>();
    if (per_shard > 0) shard->reserve(per_shard);
  }
}

void SnapshotBuilder::Add(std::shared_ptr<const PrincipalEntry> entry) {
  shards_[shape_.ShardOf(entry->id_hash())]->insert(std::move(entry));
}

std::shared_ptr<const Snapshot> SnapshotBuilder::Build(
    int64_t store_revision) && {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->program_ = std::move(program_);
  snapshot->policy_version_ = policy_version_;
  snapshot->store_revision_ = store_revision;
  snapshot->shards_.resize(shards_.size());
  for (size_t i = 0; i < shards_.size(); ++i) {
    snapshot->principal_count_ += shards_[i]->size();
    snapshot->shards_[i] = std::move(shards_[i]);
  }
  return snapshot;
}

}  // namespace steward::store
