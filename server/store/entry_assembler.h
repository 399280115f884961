// Turning one principal's stored rows (its bindings, its attributes JSON)
// into the parts of a Snapshot entry, resolved against the active Program.
//
// Internal to server/store: every engine's snapshot loader
// (sqlite/snapshot_loader.h, postgresql/snapshot_loader.h) feeds it rows,
// so which bindings and attributes reach a snapshot (roles the Program
// lacks and attributes it does not declare, or declares with another type,
// are left out: policy_repository.h) does not depend on the engine.
#ifndef STEWARD_SERVER_STORE_ENTRY_ASSEMBLER_H_
#define STEWARD_SERVER_STORE_ENTRY_ASSEMBLER_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/program.h"
#include "server/store/attributes.h"

namespace steward::store {

// What a snapshot load saw and left out.
struct LoadStats {
  int64_t principals = 0;
  int64_t bindings_loaded = 0;
  int64_t bindings_skipped = 0;    // role not in the Program
  int64_t attributes_skipped = 0;  // undeclared or mistyped, or bad JSON
};

namespace internal {

// Turns one principal's stored rows into a PrincipalEntry. Reused across
// principals so the full load does not reallocate its scratch space.
class EntryAssembler {
 public:
  EntryAssembler(const policy::Program* program, LoadStats* stats)
      : program_(program), stats_(stats) {
    if (program_ != nullptr) {
      values_.resize(program_->principal_attributes().size());
    }
  }

  void Start() {
    bindings_.clear();
    scope_chars_.clear();
    scope_ends_.clear();
  }

  void AddBinding(absl::string_view role, absl::string_view scope,
                  std::optional<int64_t> expires_micros) {
    std::optional<policy::RoleId> id;
    if (program_ != nullptr) id = program_->FindRole(role);
    if (!id.has_value()) {
      ++stats_->bindings_skipped;
      return;
    }
    ++stats_->bindings_loaded;
    // One reused buffer for every scope of the principal: no allocation
    // per binding (a per-scope std::string would allocate for scopes past
    // the small-string size and fragment the heap between entry blocks).
    scope_chars_.append(scope.data(), scope.size());
    scope_ends_.push_back(scope_chars_.size());
    bindings_.push_back(policy::RoleBinding{
        *id, absl::string_view(),
        expires_micros.has_value() ? absl::FromUnixMicros(*expires_micros)
                                   : absl::InfiniteFuture()});
  }

  // The principal's bindings and attribute values (views into this
  // assembler and `json`, valid until the next Start()), ready for
  // SnapshotBuilder::Add or PrincipalEntry::Create, which copy them.
  struct Parts {
    absl::Span<const policy::RoleBinding> bindings;
    absl::Span<const policy::Value> attributes;
  };
  Parts Finish(absl::string_view json) {
    // Scope views are taken only now: scope_chars_ may have reallocated
    // while bindings were added.
    size_t begin = 0;
    for (size_t i = 0; i < bindings_.size(); ++i) {
      bindings_[i].scope =
          absl::string_view(scope_chars_).substr(begin, scope_ends_[i] - begin);
      begin = scope_ends_[i];
    }
    absl::Span<const policy::Value> values;
    if (program_ != nullptr && !values_.empty() && json != "{}") {
      values = BindAttributes(json);
    }
    ++stats_->principals;
    return Parts{bindings_, values};
  }

 private:
  // Parses the stored JSON and places each value in its Program slot.
  // The fast path reads the canonical form AttributesToJson writes without
  // allocating (values are views into `json`, which outlives Finish());
  // anything it does not expect (escapes, floats, ...) goes through the
  // general parser.
  absl::Span<const policy::Value> BindAttributes(absl::string_view json) {
    std::fill(values_.begin(), values_.end(), policy::Value());
    if (!ParseFlat(json)) return BindAttributesSlow(json);
    size_t max_slot = 0;
    for (const FlatAttribute& a : flat_) {
      std::optional<int> slot = program_->FindPrincipalAttribute(a.name);
      if (!slot.has_value() ||
          program_->principal_attributes()[*slot].type != a.type) {
        ++stats_->attributes_skipped;
        continue;
      }
      policy::Value& out = values_[*slot];
      switch (a.type) {
        case policy::ValueType::kString:
          out = policy::Value::String(a.text);
          break;
        case policy::ValueType::kInt:
          out = policy::Value::Int(a.number);
          break;
        case policy::ValueType::kBool:
          out = policy::Value::Bool(a.number != 0);
          break;
        case policy::ValueType::kStringSet:
          out = policy::Value::StringSet(absl::MakeConstSpan(
              flat_elements_.data() + a.set_begin, a.set_end - a.set_begin));
          break;
      }
      max_slot = std::max(max_slot, static_cast<size_t>(*slot) + 1);
    }
    return absl::MakeConstSpan(values_.data(), max_slot);
  }

  absl::Span<const policy::Value> BindAttributesSlow(absl::string_view json) {
    absl::StatusOr<AttributeMap> parsed = ParseAttributesJson(json);
    if (!parsed.ok()) {
      // Written by us and CHECKed as a JSON object, so this means a value
      // type we do not know; treat every attribute as absent.
      ++stats_->attributes_skipped;
      return {};
    }
    attributes_ = *std::move(parsed);
    for (const auto& [name, value] : attributes_) {
      std::optional<int> slot = program_->FindPrincipalAttribute(name);
      if (!slot.has_value() || !value.present() ||
          program_->principal_attributes()[*slot].type != value.type()) {
        ++stats_->attributes_skipped;
        continue;
      }
      // A view into attributes_, which lives as long as the values.
      values_[*slot] = value.view();
    }
    return values_;
  }

  // ---- The fast path: a flat JSON object without escapes.
  struct FlatAttribute {
    absl::string_view name;
    policy::ValueType type = policy::ValueType::kString;
    absl::string_view text;
    int64_t number = 0;
    size_t set_begin = 0;
    size_t set_end = 0;
  };

  static void SkipSpace(absl::string_view& in) {
    while (!in.empty() &&
           (in[0] == ' ' || in[0] == '\t' || in[0] == '\n' || in[0] == '\r')) {
      in.remove_prefix(1);
    }
  }
  static bool Consume(absl::string_view& in, char c) {
    SkipSpace(in);
    if (in.empty() || in[0] != c) return false;
    in.remove_prefix(1);
    return true;
  }
  // A string without escapes or control characters.
  static bool ReadString(absl::string_view& in, absl::string_view* out) {
    if (!Consume(in, '"')) return false;
    for (size_t i = 0; i < in.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(in[i]);
      if (c == '"') {
        *out = in.substr(0, i);
        in.remove_prefix(i + 1);
        return true;
      }
      if (c == '\\' || c < 0x20) return false;
    }
    return false;
  }
  static bool ReadInt(absl::string_view& in, int64_t* out) {
    bool negative = false;
    if (!in.empty() && in[0] == '-') {
      negative = true;
      in.remove_prefix(1);
    }
    size_t digits = 0;
    uint64_t value = 0;
    while (digits < in.size() && in[digits] >= '0' && in[digits] <= '9') {
      value = value * 10 + static_cast<uint64_t>(in[digits] - '0');
      ++digits;
    }
    // 18 digits cannot overflow; longer numbers take the general path.
    if (digits == 0 || digits > 18) return false;
    in.remove_prefix(digits);
    if (!in.empty() && (in[0] == '.' || in[0] == 'e' || in[0] == 'E')) {
      return false;
    }
    *out =
        negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return true;
  }

  bool ParseFlat(absl::string_view in) {
    flat_.clear();
    flat_elements_.clear();
    if (!Consume(in, '{')) return false;
    if (Consume(in, '}')) {
      SkipSpace(in);
      return in.empty();
    }
    while (true) {
      FlatAttribute a;
      if (!ReadString(in, &a.name) || !Consume(in, ':')) return false;
      SkipSpace(in);
      if (in.empty()) return false;
      if (in[0] == '"') {
        a.type = policy::ValueType::kString;
        if (!ReadString(in, &a.text)) return false;
      } else if (absl::ConsumePrefix(&in, "true")) {
        a.type = policy::ValueType::kBool;
        a.number = 1;
      } else if (absl::ConsumePrefix(&in, "false")) {
        a.type = policy::ValueType::kBool;
      } else if (in[0] == '[') {
        in.remove_prefix(1);
        a.type = policy::ValueType::kStringSet;
        a.set_begin = flat_elements_.size();
        if (!Consume(in, ']')) {
          while (true) {
            absl::string_view element;
            if (!ReadString(in, &element)) return false;
            flat_elements_.push_back(element);
            if (Consume(in, ']')) break;
            if (!Consume(in, ',')) return false;
          }
        }
        a.set_end = flat_elements_.size();
        // Sets compare as sets, but canonical storage is sorted and unique;
        // anything else goes the general way, which normalizes.
        for (size_t i = a.set_begin + 1; i < a.set_end; ++i) {
          if (!(flat_elements_[i - 1] < flat_elements_[i])) return false;
        }
      } else {
        a.type = policy::ValueType::kInt;
        if (!ReadInt(in, &a.number)) return false;
      }
      flat_.push_back(a);
      if (Consume(in, '}')) break;
      if (!Consume(in, ',')) return false;
    }
    SkipSpace(in);
    if (!in.empty()) return false;
    // Duplicate keys: the general parser decides which one wins.
    for (size_t i = 0; i < flat_.size(); ++i) {
      for (size_t j = i + 1; j < flat_.size(); ++j) {
        if (flat_[i].name == flat_[j].name) return false;
      }
    }
    return true;
  }

  const policy::Program* program_;
  LoadStats* stats_;
  std::vector<policy::RoleBinding> bindings_;
  std::string scope_chars_;
  std::vector<size_t> scope_ends_;
  std::vector<policy::Value> values_;
  AttributeMap attributes_;
  std::vector<FlatAttribute> flat_;
  std::vector<absl::string_view> flat_elements_;
};

}  // namespace internal
}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_ENTRY_ASSEMBLER_H_
