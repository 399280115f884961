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
#include "server/store/entry_assembler.h"

namespace steward::store::sqlite {

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
      const internal::EntryAssembler::Parts parts =
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
  internal::EntryAssembler assembler_;
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
  internal::EntryAssembler assembler(program, &stats);
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
  const internal::EntryAssembler::Parts parts =
      assembler.Finish(principal->Text(2));
  return PrincipalEntry::Create(principal->Text(0), principal->Int(1) != 0,
                                parts.bindings, parts.attributes);
}

}  // namespace steward::store::sqlite
