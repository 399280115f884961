// See snapshot_loader.h.
#include "server/store/snapshot_loader.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "server/store/attributes.h"

namespace steward::store::internal {
namespace {

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

  std::shared_ptr<const PrincipalEntry> Finish(absl::string_view id,
                                               bool disabled,
                                               absl::string_view json) {
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
    return PrincipalEntry::Create(id, disabled, bindings_, values);
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
    set_views_.clear();
    set_views_.resize(attributes_.size());
    size_t set_index = 0;
    for (const auto& [name, value] : attributes_) {
      std::optional<int> slot = program_->FindPrincipalAttribute(name);
      if (!slot.has_value() ||
          program_->principal_attributes()[*slot].type != TypeOf(value)) {
        ++stats_->attributes_skipped;
        continue;
      }
      policy::Value& out = values_[*slot];
      if (const auto* s = std::get_if<std::string>(&value)) {
        out = policy::Value::String(*s);
      } else if (const auto* i = std::get_if<int64_t>(&value)) {
        out = policy::Value::Int(*i);
      } else if (const auto* b = std::get_if<bool>(&value)) {
        out = policy::Value::Bool(*b);
      } else {
        std::vector<absl::string_view>& views = set_views_[set_index++];
        for (const std::string& e : std::get<std::vector<std::string>>(value)) {
          views.emplace_back(e);
        }
        out = policy::Value::StringSet(views);
      }
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
  std::vector<std::vector<absl::string_view>> set_views_;
  std::vector<FlatAttribute> flat_;
  std::vector<absl::string_view> flat_elements_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Snapshot>> LoadSnapshot(
    Connection& connection, std::shared_ptr<const policy::Program> program,
    int64_t policy_version, int64_t store_revision, LoadStats* stats) {
  LoadStats local_stats;
  if (stats == nullptr) stats = &local_stats;
  absl::StatusOr<Transaction> read = Transaction::BeginRead(connection);
  if (!read.ok()) return read.status();

  int64_t count = 0;
  {
    absl::StatusOr<Statement> stmt =
        connection.Prepare("SELECT count(*) FROM principals");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    count = stmt->Int(0);
  }
  SnapshotBuilder builder(program, policy_version, static_cast<size_t>(count));
  {
    absl::StatusOr<Statement> principals = connection.Prepare(
        "SELECT id, disabled, attributes FROM principals ORDER BY id");
    if (!principals.ok()) return principals.status();
    absl::StatusOr<Statement> bindings = connection.Prepare(
        "SELECT principal, role, scope, expires_at FROM role_bindings "
        "ORDER BY principal, role, scope");
    if (!bindings.ok()) return bindings.status();

    EntryAssembler assembler(program.get(), stats);
    absl::StatusOr<bool> binding_row = bindings->Step();
    if (!binding_row.ok()) return binding_row.status();
    while (true) {
      absl::StatusOr<bool> row = principals->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const absl::string_view id = principals->Text(0);
      assembler.Start();
      // Both scans are in id order (BINARY collation on both sides), and
      // the foreign key guarantees every binding has its principal, so
      // bindings before `id` cannot exist; skip defensively anyway.
      while (*binding_row && bindings->Text(0) <= id) {
        if (bindings->Text(0) == id) {
          assembler.AddBinding(bindings->Text(1), bindings->Text(2),
                               bindings->OptionalInt(3));
        }
        binding_row = bindings->Step();
        if (!binding_row.ok()) return binding_row.status();
      }
      builder.Add(
          assembler.Finish(id, principals->Int(1) != 0, principals->Text(2)));
    }
  }
  if (absl::Status s = read->Commit(); !s.ok()) return s;
  return std::move(builder).Build(store_revision);
}

absl::StatusOr<std::shared_ptr<const PrincipalEntry>> LoadPrincipalEntry(
    Connection& connection, const policy::Program* program,
    absl::string_view id) {
  LoadStats stats;
  EntryAssembler assembler(program, &stats);
  assembler.Start();
  {
    absl::StatusOr<Statement> bindings = connection.Prepare(
        "SELECT role, scope, expires_at FROM role_bindings "
        "WHERE principal = ? ORDER BY role, scope");
    if (!bindings.ok()) return bindings.status();
    bindings->BindText(1, id);
    while (true) {
      absl::StatusOr<bool> row = bindings->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      assembler.AddBinding(bindings->Text(0), bindings->Text(1),
                           bindings->OptionalInt(2));
    }
  }
  absl::StatusOr<Statement> principal = connection.Prepare(
      "SELECT id, disabled, attributes FROM principals WHERE id = ?");
  if (!principal.ok()) return principal.status();
  principal->BindText(1, id);
  absl::StatusOr<bool> row = principal->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::shared_ptr<const PrincipalEntry>();
  return assembler.Finish(principal->Text(0), principal->Int(1) != 0,
                          principal->Text(2));
}

}  // namespace steward::store::internal
