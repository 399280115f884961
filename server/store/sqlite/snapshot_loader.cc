// See snapshot_loader.h.
#include "server/store/sqlite/snapshot_loader.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "server/store/attributes.h"

namespace steward::store::sqlite {

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

}  // namespace

namespace {

// A run of principals' rows copied out of SQLite (whose column pointers
// die at the next step), so another thread can turn them into entries.
struct RowBatch {
  struct Binding {
    size_t role_begin, role_end, scope_end;  // chars offsets
    bool has_expiry;
    int64_t expires_micros;
  };
  struct Principal {
    size_t id_begin, id_end, json_begin, json_end;  // chars offsets
    bool disabled;
    size_t bindings_end;  // into `bindings`
  };
  std::string chars;
  std::vector<Binding> bindings;
  std::vector<Principal> principals;

  void Clear() {
    chars.clear();
    bindings.clear();
    principals.clear();
  }
  absl::string_view Chars(size_t begin, size_t end) const {
    return absl::string_view(chars).substr(begin, end - begin);
  }
};

// Turns batches into SnapshotBuilder entries: on the calling thread
// (Process) or on a worker thread fed through a bounded queue (Start /
// Submit / Finish). The SQLite scan and the entry building (attribute
// parsing, scope interning, copying into the arena) then overlap on two
// cores; each is about half of a full build.
class BatchConsumer {
 public:
  BatchConsumer(const policy::Program* program, SnapshotBuilder* builder)
      : assembler_(program, &stats_), builder_(builder) {}
  ~BatchConsumer() { Finish(); }

  void Process(const RowBatch& batch) {
    size_t binding = 0;
    for (const RowBatch::Principal& p : batch.principals) {
      assembler_.Start();
      for (; binding < p.bindings_end; ++binding) {
        const RowBatch::Binding& b = batch.bindings[binding];
        assembler_.AddBinding(batch.Chars(b.role_begin, b.role_end),
                              batch.Chars(b.role_end, b.scope_end),
                              b.has_expiry
                                  ? std::optional<int64_t>(b.expires_micros)
                                  : std::nullopt);
      }
      const EntryAssembler::Parts parts =
          assembler_.Finish(batch.Chars(p.json_begin, p.json_end));
      builder_->Add(batch.Chars(p.id_begin, p.id_end), p.disabled,
                    parts.bindings, parts.attributes);
    }
  }

  void Start() {
    worker_ = std::thread([this] { Run(); });
  }

  // A cleared batch to fill (recycled when one is free).
  std::unique_ptr<RowBatch> NewBatch() {
    absl::MutexLock lock(&mu_);
    if (free_.empty()) return std::make_unique<RowBatch>();
    std::unique_ptr<RowBatch> batch = std::move(free_.back());
    free_.pop_back();
    batch->Clear();
    return batch;
  }

  void Submit(std::unique_ptr<RowBatch> batch) {
    if (!worker_.joinable()) {
      Process(*batch);
      return;
    }
    absl::MutexLock lock(&mu_);
    // Bounded: the scan waits when the worker falls behind.
    mu_.Await(absl::Condition(
        +[](std::deque<std::unique_ptr<RowBatch>>* q) {
          return q->size() < kMaxQueued;
        },
        &queue_));
    queue_.push_back(std::move(batch));
  }

  // Waits until every submitted batch is processed.
  void Finish() {
    if (!worker_.joinable()) return;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    worker_.join();
  }

  const LoadStats& stats() const { return stats_; }

 private:
  static constexpr size_t kMaxQueued = 4;

  void Run() {
    while (true) {
      std::unique_ptr<RowBatch> batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](BatchConsumer* c) { return c->done_ || !c->queue_.empty(); },
            this));
        if (queue_.empty()) return;  // done_ and drained
        batch = std::move(queue_.front());
        queue_.pop_front();
      }
      Process(*batch);
      absl::MutexLock lock(&mu_);
      free_.push_back(std::move(batch));
    }
  }

  LoadStats stats_;
  EntryAssembler assembler_;
  SnapshotBuilder* builder_;
  std::thread worker_;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<RowBatch>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<RowBatch>> free_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Snapshot>> LoadSnapshot(
    Connection& connection, std::shared_ptr<const policy::Program> program,
    int64_t policy_version, int64_t store_revision, LoadStats* stats,
    const LoadOptions& options) {
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
  BatchConsumer consumer(program.get(), &builder);
  if (count >= options.min_principals_for_worker) consumer.Start();
  {
    absl::StatusOr<Statement> principals = connection.Prepare(
        "SELECT id, disabled, attributes FROM principals ORDER BY id");
    if (!principals.ok()) return principals.status();
    absl::StatusOr<Statement> bindings = connection.Prepare(
        "SELECT principal, role, scope, expires_at FROM role_bindings "
        "ORDER BY principal, role, scope");
    if (!bindings.ok()) return bindings.status();

    absl::StatusOr<bool> binding_row = bindings->Step();
    if (!binding_row.ok()) return binding_row.status();
    // The current binding row's principal (valid until the next Step()):
    // read once per row, not once per comparison.
    absl::string_view binding_principal =
        *binding_row ? bindings->Text(0) : absl::string_view();
    std::unique_ptr<RowBatch> batch = consumer.NewBatch();
    // The principals drive the scan; the bindings cursor is advanced by
    // hand alongside them (a merge join).
    absl::Status scanned =
        ForEachRow(*principals, [&](const Statement& principal) {
          const absl::string_view id = principal.Text(0);
          RowBatch::Principal p;
          p.id_begin = batch->chars.size();
          batch->chars.append(id.data(), id.size());
          p.id_end = batch->chars.size();
          // Both scans are in id order (BINARY collation on both sides), and
          // the foreign key guarantees every binding has its principal, so
          // bindings before `id` cannot exist; skip defensively anyway.
          while (*binding_row && binding_principal <= id) {
            if (binding_principal == id) {
              RowBatch::Binding b;
              const absl::string_view role = bindings->Text(1);
              const absl::string_view scope = bindings->Text(2);
              const std::optional<int64_t> expires = bindings->OptionalInt(3);
              b.role_begin = batch->chars.size();
              batch->chars.append(role.data(), role.size());
              b.role_end = batch->chars.size();
              batch->chars.append(scope.data(), scope.size());
              b.scope_end = batch->chars.size();
              b.has_expiry = expires.has_value();
              b.expires_micros = expires.value_or(0);
              batch->bindings.push_back(b);
            }
            binding_row = bindings->Step();
            if (!binding_row.ok()) return binding_row.status();
            if (*binding_row) binding_principal = bindings->Text(0);
          }
          p.disabled = principal.Int(1) != 0;
          const absl::string_view json = principal.Text(2);
          p.json_begin = batch->chars.size();
          batch->chars.append(json.data(), json.size());
          p.json_end = batch->chars.size();
          p.bindings_end = batch->bindings.size();
          batch->principals.push_back(p);
          if (batch->principals.size() >= options.batch_principals) {
            consumer.Submit(std::move(batch));
            batch = consumer.NewBatch();
          }
          return absl::OkStatus();
        });
    if (!scanned.ok()) return scanned;
    consumer.Submit(std::move(batch));
  }
  consumer.Finish();
  if (stats != nullptr) {
    stats->principals += consumer.stats().principals;
    stats->bindings_loaded += consumer.stats().bindings_loaded;
    stats->bindings_skipped += consumer.stats().bindings_skipped;
    stats->attributes_skipped += consumer.stats().attributes_skipped;
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
    if (absl::Status s = ForEachRow(*bindings,
                                    [&](const Statement& row) {
                                      assembler.AddBinding(row.Text(0),
                                                           row.Text(1),
                                                           row.OptionalInt(2));
                                      return absl::OkStatus();
                                    });
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<Statement> principal = connection.Prepare(
      "SELECT id, disabled, attributes FROM principals WHERE id = ?");
  if (!principal.ok()) return principal.status();
  principal->BindText(1, id);
  absl::StatusOr<bool> row = principal->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::shared_ptr<const PrincipalEntry>();
  const EntryAssembler::Parts parts = assembler.Finish(principal->Text(2));
  return PrincipalEntry::Create(principal->Text(0), principal->Int(1) != 0,
                                parts.bindings, parts.attributes);
}

}  // namespace steward::store::sqlite
