// See store.h.
#include "server/store/store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "migrations/migrations.h"
#include "nlohmann/json.hpp"
#include "policy/test_runner.h"
#include "server/store/connection.h"
#include "server/store/limits.h"
#include "server/store/migration_runner.h"
#include "server/store/scope.h"
#include "server/store/secrets.h"
#include "server/store/snapshot_loader.h"

namespace steward::store {

namespace internal {

// The API keys by SHA-256 of the key, for AuthenticateApiKey. Immutable
// once published.
struct KeyIndex {
  struct Entry {
    Sha256Digest hash;
    AuthenticatedKey key;
  };
  absl::flat_hash_map<std::string, Entry> by_hash;  // raw digest bytes
};

}  // namespace internal

namespace {

using internal::Connection;
using internal::Statement;
using internal::Transaction;

constexpr size_t kMaxIdBytes = 256;

// Propagation helpers. STYLE.md allows one RETURN_IF_ERROR/ASSIGN_OR_RETURN
// pair in a single header if used everywhere; the store keeps explicit
// checks instead so control flow stays visible.

absl::Status ValidateIdentifier(absl::string_view what,
                                absl::string_view value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must not be empty"));
  }
  if (value.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is longer than ", kMaxIdBytes, " bytes"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " must not contain control characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyName(absl::string_view name) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError(
        "API key name must be 1 to 128 characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '@' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          "API key name may hold only letters, digits and _ . : @ -");
    }
  }
  return absl::OkStatus();
}

int ClampPageSize(int page_size) {
  if (page_size <= 0) return kDefaultPageSize;
  return std::min(page_size, kMaxPageSize);
}

absl::StatusOr<int64_t> BumpRevision(Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "UPDATE store_meta SET revision = revision + 1 WHERE singleton = 1 "
      "RETURNING revision");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::DataLossError("store_meta row is missing");
  const int64_t revision = stmt->Int(0);
  if (absl::Status s = stmt->Run(); !s.ok()) return s;
  return revision;
}

// Every admin change ends alike: the revision is bumped inside the change's
// own transaction, so a reader never sees the data without the revision that
// names it (or the reverse).
absl::StatusOr<int64_t> CommitWithNewRevision(Connection& connection,
                                              Transaction& txn) {
  absl::StatusOr<int64_t> revision = BumpRevision(connection);
  if (!revision.ok()) return revision.status();
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return revision;
}

absl::StatusOr<int64_t> ReadRevision(Connection& connection) {
  absl::StatusOr<Statement> stmt =
      connection.Prepare("SELECT revision FROM store_meta WHERE singleton = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::DataLossError("store_meta row is missing");
  return stmt->Int(0);
}

// Sources are stored as a JSON array of {"path", "text"}.
std::string SourcesToJson(absl::Span<const policy::SourceFile> sources) {
  nlohmann::json doc = nlohmann::json::array();
  for (const policy::SourceFile& f : sources) {
    doc.push_back({{"path", f.path}, {"text", f.text}});
  }
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::vector<policy::SourceFile>> SourcesFromJson(
    absl::string_view json) {
  const nlohmann::json doc =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    return absl::DataLossError("stored policy source is not a JSON array");
  }
  std::vector<policy::SourceFile> sources;
  for (const nlohmann::json& f : doc) {
    if (!f.is_object() || !f.contains("path") || !f.contains("text") ||
        !f["path"].is_string() || !f["text"].is_string()) {
      return absl::DataLossError("stored policy source entry is malformed");
    }
    sources.push_back(
        {f["path"].get<std::string>(), f["text"].get<std::string>()});
  }
  return sources;
}

std::string JoinDiagnostics(absl::Span<const policy::Diagnostic> diagnostics,
                            policy::Severity severity) {
  std::vector<std::string> lines;
  for (const policy::Diagnostic& d : diagnostics) {
    if (d.severity == severity) lines.push_back(d.ToString());
  }
  return absl::StrJoin(lines, "\n");
}

PolicyVersionInfo ReadVersionInfo(const Statement& stmt) {
  // Columns: version, sha256, author, message, created_at, active.
  PolicyVersionInfo info;
  info.version = stmt.Int(0);
  info.sha256 = std::string(stmt.Text(1));
  info.author = std::string(stmt.Text(2));
  info.message = std::string(stmt.Text(3));
  info.created_at = stmt.Time(4);
  info.active = stmt.Int(5) != 0;
  return info;
}

absl::StatusOr<Principal> ReadPrincipal(const Statement& stmt) {
  // Columns: id, display_name, attributes, disabled, created_at, updated_at.
  Principal p;
  p.id = std::string(stmt.Text(0));
  p.display_name = std::string(stmt.Text(1));
  absl::StatusOr<AttributeMap> attributes = ParseAttributesJson(stmt.Text(2));
  if (!attributes.ok()) {
    return absl::DataLossError(
        absl::StrCat("principal \"", p.id,
                     "\": stored attributes: ", attributes.status().message()));
  }
  p.attributes = *std::move(attributes);
  p.disabled = stmt.Int(3) != 0;
  p.created_at = stmt.Time(4);
  p.updated_at = stmt.Time(5);
  return p;
}

Binding ReadBinding(const Statement& stmt) {
  // Columns: principal, role, scope, granted_by, granted_at, expires_at,
  // reason.
  Binding b;
  b.principal = std::string(stmt.Text(0));
  b.role = std::string(stmt.Text(1));
  b.scope = std::string(stmt.Text(2));
  b.granted_by = std::string(stmt.Text(3));
  b.granted_at = stmt.Time(4);
  b.expires_at = stmt.OptionalTime(5);
  b.reason = std::string(stmt.Text(6));
  return b;
}

absl::StatusOr<ServiceRole> RoleFromColumn(absl::string_view text) {
  std::optional<ServiceRole> role = ParseServiceRole(text);
  if (!role.has_value()) {
    return absl::DataLossError(absl::StrCat("unknown service role ", text));
  }
  return *role;
}

// Opaque page tokens: web-safe base64 of the last key, fields separated by
// '\n' (ids, roles and scopes cannot contain control characters).
std::string EncodePageToken(absl::Span<const absl::string_view> fields) {
  return absl::WebSafeBase64Escape(absl::StrJoin(fields, "\n"));
}

absl::StatusOr<std::vector<std::string>> DecodePageToken(
    absl::string_view token, size_t fields) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return absl::InvalidArgumentError("malformed page token");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, '\n');
  if (parts.size() != fields) {
    return absl::InvalidArgumentError("malformed page token");
  }
  return parts;
}

// Creates the database file owner-only before SQLite does: it holds TOTP
// secrets and personal attributes. SQLite gives the -wal and -shm files the
// permissions of the main file.
absl::Status CreateFileOwnerOnly(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

absl::string_view ServiceRoleName(ServiceRole role) {
  switch (role) {
    case ServiceRole::kClient:
      return "client";
    case ServiceRole::kAuditor:
      return "auditor";
    case ServiceRole::kAdmin:
      return "admin";
  }
  return "client";
}

std::optional<ServiceRole> ParseServiceRole(absl::string_view name) {
  if (name == "client") return ServiceRole::kClient;
  if (name == "auditor") return ServiceRole::kAuditor;
  if (name == "admin") return ServiceRole::kAdmin;
  return std::nullopt;
}

// ---- Open / Initialize. ----------------------------------------------------

Store::Store(PrivateTag, const Clock& clock, Options options,
             std::unique_ptr<internal::Connection> connection,
             std::shared_ptr<const Snapshot> snapshot)
    : clock_(clock),
      options_(std::move(options)),
      connection_(std::move(connection)),
      holder_(std::move(snapshot)) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const Clock& clock,
                                                   const Options& options) {
  if (options.create_if_missing) {
    if (absl::Status s = CreateFileOwnerOnly(path); !s.ok()) return s;
  }
  internal::ConnectionOptions connection_options;
  connection_options.create_if_missing = options.create_if_missing;
  connection_options.busy_timeout = options.busy_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(path, connection_options);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<internal::MigrationResult> migrated =
      internal::RunMigrations(**connection, migrations::All(), clock.Now());
  if (!migrated.ok()) return migrated.status();

  auto store = std::make_unique<Store>(PrivateTag{}, clock, options,
                                       *std::move(connection),
                                       std::make_shared<Snapshot>());
  absl::MutexLock lock(&store->mu_);
  // The active policy, recompiled from its stored source.
  std::shared_ptr<const policy::Program> program;
  int64_t active_version = 0;
  {
    absl::StatusOr<Statement> stmt = store->connection_->Prepare(
        "SELECT version, source FROM policy_versions WHERE active = 1");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      active_version = stmt->Int(0);
      absl::StatusOr<std::vector<policy::SourceFile>> sources =
          SourcesFromJson(stmt->Text(1));
      if (!sources.ok()) return sources.status();
      policy::CompileResult compiled =
          policy::Compile(*sources, options.compile_options);
      if (!compiled.ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the active policy version ", active_version,
            " no longer compiles with this stewardd:\n",
            JoinDiagnostics(compiled.diagnostics, policy::Severity::kError)));
      }
      program = std::move(compiled.program);
    }
  }
  if (absl::Status s = store->RebuildSnapshotLocked(program, active_version);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = store->ReloadKeysLocked(); !s.ok()) return s;
  return store;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Initialize(
    const std::string& path, const Clock& clock, const Options& options,
    bool* created) {
  Options create_options = options;
  create_options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<Store>> store =
      Open(path, clock, create_options);
  if (!store.ok()) return store.status();
  {
    absl::MutexLock lock(&(*store)->mu_);
    Connection& c = *(*store)->connection_;
    absl::StatusOr<Statement> stmt = c.Prepare(
        "UPDATE store_meta SET initialized_at = ? "
        "WHERE singleton = 1 AND initialized_at IS NULL");
    if (!stmt.ok()) return stmt.status();
    stmt->BindTime(1, clock.Now());
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
    if (created != nullptr) *created = c.changes() == 1;
  }
  return store;
}

absl::StatusOr<bool> Store::IsInitialized() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT initialized_at IS NOT NULL FROM store_meta WHERE singleton = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row && stmt->Int(0) != 0;
}

// ---- Snapshot maintenance.
// ---------------------------------------------------

absl::Status Store::RebuildSnapshotLocked(
    std::shared_ptr<const policy::Program> program, int64_t policy_version) {
  absl::StatusOr<int64_t> revision = ReadRevision(*connection_);
  if (!revision.ok()) return revision.status();
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      internal::LoadSnapshot(*connection_, std::move(program), policy_version,
                             *revision, nullptr);
  if (!snapshot.ok()) {
    snapshot_stale_ = true;
    return snapshot.status();
  }
  holder_.Publish(*std::move(snapshot));
  snapshot_stale_ = false;
  return absl::OkStatus();
}

absl::Status Store::ReloadSnapshot() {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<const Snapshot> current = holder_.Get();
  return RebuildSnapshotLocked(current->program(), current->policy_version());
}

absl::Status Store::PublishPrincipalLocked(absl::string_view id,
                                           int64_t revision) {
  std::shared_ptr<const Snapshot> current = holder_.Get();
  if (snapshot_stale_) {
    return RebuildSnapshotLocked(current->program(), current->policy_version());
  }
  absl::StatusOr<std::shared_ptr<const PrincipalEntry>> entry =
      internal::LoadPrincipalEntry(*connection_, current->program().get(), id);
  if (!entry.ok()) {
    // The change is committed; the snapshot catches up on the next call.
    snapshot_stale_ = true;
    return absl::Status(entry.status().code(),
                        absl::StrCat("change committed at revision ", revision,
                                     " but the snapshot could not be updated: ",
                                     entry.status().message()));
  }
  holder_.Publish(*entry == nullptr
                      ? current->WithoutPrincipal(id, revision)
                      : current->WithPrincipal(*std::move(entry), revision));
  return absl::OkStatus();
}

absl::Status Store::ReloadKeysLocked() {
  auto index = std::make_shared<internal::KeyIndex>();
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT name, role, key_hash, totp_secret, revoked_at FROM api_keys");
  if (!stmt.ok()) return stmt.status();
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    absl::StatusOr<ServiceRole> role = RoleFromColumn(stmt->Text(1));
    if (!role.ok()) return role.status();
    absl::Span<const uint8_t> hash = stmt->Blob(2);
    internal::KeyIndex::Entry entry;
    if (hash.size() != entry.hash.size()) {
      return absl::DataLossError("api_keys.key_hash has the wrong length");
    }
    std::copy(hash.begin(), hash.end(), entry.hash.begin());
    entry.key.name = std::string(stmt->Text(0));
    entry.key.role = *role;
    entry.key.totp_secret = std::string(stmt->Text(3));
    entry.key.revoked = !stmt->IsNull(4);
    std::string key(reinterpret_cast<const char*>(hash.data()), hash.size());
    index->by_hash.emplace(std::move(key), std::move(entry));
  }
  keys_.store(std::move(index), std::memory_order_release);
  return absl::OkStatus();
}

// ---- Policy versions.
// --------------------------------------------------------

policy::CompileResult Store::ValidatePolicy(
    absl::Span<const policy::SourceFile> sources) const {
  return policy::Compile(sources, options_.compile_options);
}

absl::StatusOr<std::shared_ptr<const policy::Program>> Store::CompileAndTest(
    absl::Span<const policy::SourceFile> sources,
    std::vector<policy::Diagnostic>* warnings, int* tests_passed) const {
  policy::CompileResult compiled =
      policy::Compile(sources, options_.compile_options);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy does not compile:\n",
        JoinDiagnostics(compiled.diagnostics, policy::Severity::kError)));
  }
  const policy::TestReport report =
      policy::RunTests(*compiled.program, clock_.Now());
  if (!report.ok()) {
    std::vector<std::string> lines;
    for (const policy::TestFailure& f : report.failures) {
      lines.push_back(f.ToString());
    }
    lines.push_back(report.Summary());
    return absl::FailedPreconditionError(
        absl::StrCat("policy tests failed:\n", absl::StrJoin(lines, "\n")));
  }
  if (warnings != nullptr) {
    for (const policy::Diagnostic& d : compiled.diagnostics) {
      if (d.severity == policy::Severity::kWarning) warnings->push_back(d);
    }
  }
  if (tests_passed != nullptr) *tests_passed = report.passed;
  return std::move(compiled.program);
}

absl::StatusOr<ApplyPolicyResult> Store::ApplyPolicy(
    std::vector<policy::SourceFile> sources, absl::string_view author,
    absl::string_view message) {
  if (sources.empty()) {
    return absl::InvalidArgumentError("no policy source files given");
  }
  if (absl::Status s = ValidateIdentifier("author", author); !s.ok()) return s;
  if (message.size() > kMaxPolicyMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message is longer than ", kMaxPolicyMessageBytes, " bytes"));
  }
  ApplyPolicyResult result;
  // Compiling and testing are pure and may be slow: no lock needed.
  absl::StatusOr<std::shared_ptr<const policy::Program>> program =
      CompileAndTest(sources, &result.warnings, &result.tests_passed);
  if (!program.ok()) return program.status();
  const std::string source_json = SourcesToJson(sources);

  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  const absl::Time now = clock_.Now();
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    int64_t version = 0;
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions");
      if (!stmt.ok()) return stmt.status();
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      version = stmt->Int(0);
    }
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("UPDATE policy_versions SET active = 0 WHERE active = 1");
      if (!stmt.ok()) return stmt.status();
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    result.version.version = version;
    result.version.sha256 = internal::Sha256Hex(source_json);
    result.version.author = std::string(author);
    result.version.message = std::string(message);
    result.version.created_at = now;
    result.version.active = true;
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO policy_versions "
          "(version, source, sha256, author, message, created_at, active) "
          "VALUES (?, ?, ?, ?, ?, ?, 1)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindInt(1, version);
      stmt->BindText(2, source_json);
      stmt->BindText(3, result.version.sha256);
      stmt->BindText(4, author);
      stmt->BindText(5, message);
      stmt->BindTime(6, now);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  // Role ids and attribute slots belong to the Program: a new Program
  // means every entry is rebuilt.
  if (absl::Status s =
          RebuildSnapshotLocked(*std::move(program), result.version.version);
      !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("policy version ", result.version.version,
                                     " committed but the snapshot could not ",
                                     "be rebuilt: ", s.message()));
  }
  return result;
}

absl::StatusOr<std::vector<PolicyVersionInfo>> Store::ListPolicyVersions() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT version, sha256, author, message, created_at, active "
      "FROM policy_versions ORDER BY version DESC");
  if (!stmt.ok()) return stmt.status();
  std::vector<PolicyVersionInfo> versions;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    versions.push_back(ReadVersionInfo(*stmt));
  }
  return versions;
}

absl::StatusOr<PolicyVersion> Store::GetPolicy(std::optional<int64_t> version) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt =
      version.has_value()
          ? connection_->Prepare(
                "SELECT version, sha256, author, message, created_at, active, "
                "source FROM policy_versions WHERE version = ?")
          : connection_->Prepare(
                "SELECT version, sha256, author, message, created_at, active, "
                "source FROM policy_versions WHERE active = 1");
  if (!stmt.ok()) return stmt.status();
  if (version.has_value()) stmt->BindInt(1, *version);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(
        version.has_value() ? absl::StrCat("no policy version ", *version)
                            : std::string("no policy version is active"));
  }
  PolicyVersion result;
  result.info = ReadVersionInfo(*stmt);
  absl::StatusOr<std::vector<policy::SourceFile>> sources =
      SourcesFromJson(stmt->Text(6));
  if (!sources.ok()) return sources.status();
  result.sources = *std::move(sources);
  return result;
}

absl::StatusOr<int64_t> Store::ActivatePolicyVersion(int64_t version) {
  absl::StatusOr<PolicyVersion> stored = GetPolicy(version);
  if (!stored.ok()) return stored.status();
  if (stored->info.active) return revision();
  absl::StatusOr<std::shared_ptr<const policy::Program>> program =
      CompileAndTest(stored->sources, nullptr, nullptr);
  if (!program.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("policy version ", version,
                     " cannot be activated: ", program.status().message()));
  }

  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  int64_t new_revision = 0;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("UPDATE policy_versions SET active = 0 WHERE active = 1");
      if (!stmt.ok()) return stmt.status();
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("UPDATE policy_versions SET active = 1 WHERE version = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindInt(1, version);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
      if (c.changes() != 1) {
        return absl::NotFoundError(absl::StrCat("no policy version ", version));
      }
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    new_revision = *revision;
  }
  if (absl::Status s = RebuildSnapshotLocked(*std::move(program), version);
      !s.ok()) {
    return s;
  }
  return new_revision;
}

// ---- Principals.
// -------------------------------------------------------------

absl::StatusOr<UpsertPrincipalResult> Store::UpsertPrincipal(
    absl::string_view id, absl::string_view display_name,
    const AttributeMap& attributes) {
  if (absl::Status s = ValidateIdentifier("principal id", id); !s.ok()) {
    return s;
  }
  if (display_name.size() > 1024) {
    return absl::InvalidArgumentError("display name is longer than 1024 bytes");
  }
  std::shared_ptr<const Snapshot> current = holder_.Get();
  if (!attributes.empty()) {
    if (current->program() == nullptr) {
      return absl::FailedPreconditionError(
          "no policy is active, so principal attributes cannot be checked; "
          "apply a policy first");
    }
    if (absl::Status s = ValidateAttributes(*current->program(), attributes);
        !s.ok()) {
      return s;
    }
  }
  const std::string json = AttributesToJson(attributes);
  if (json.size() > kMaxAttributeJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attributes are larger than ", kMaxAttributeJsonBytes, " bytes"));
  }

  absl::MutexLock lock(&mu_);
  // The policy may have changed while we validated without the lock.
  if (holder_.Get()->program() != current->program() && !attributes.empty()) {
    if (absl::Status s =
            ValidateAttributes(*holder_.Get()->program(), attributes);
        !s.ok()) {
      return s;
    }
  }
  Connection& c = *connection_;
  const absl::Time now = clock_.Now();
  UpsertPrincipalResult result;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("SELECT 1 FROM principals WHERE id = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, id);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      result.created = !*row;
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO principals "
          "(id, display_name, attributes, disabled, created_at, updated_at) "
          "VALUES (?1, ?2, ?3, 0, ?4, ?4) "
          "ON CONFLICT (id) DO UPDATE SET display_name = "
          "excluded.display_name, "
          "attributes = excluded.attributes, "
          "updated_at = max(excluded.updated_at, principals.created_at) "
          "RETURNING id, display_name, attributes, disabled, created_at, "
          "updated_at");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, id);
      stmt->BindText(2, display_name);
      stmt->BindText(3, json);
      stmt->BindTime(4, now);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::InternalError("upsert returned no row");
      absl::StatusOr<Principal> p = ReadPrincipal(*stmt);
      if (!p.ok()) return p.status();
      result.principal = *std::move(p);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  if (absl::Status s = PublishPrincipalLocked(id, result.store_revision);
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<Principal> Store::GetPrincipal(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals WHERE id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, id);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
  }
  return ReadPrincipal(*stmt);
}

absl::StatusOr<PrincipalPage> Store::ListPrincipals(
    int page_size, absl::string_view page_token) {
  const int limit = ClampPageSize(page_size);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts =
        DecodePageToken(page_token, 1);
    if (!parts.ok()) return parts.status();
    after = (*parts)[0];
  }
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals WHERE id > ? ORDER BY id LIMIT ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, after);
  stmt->BindInt(2, limit + 1);  // one more tells whether a next page exists
  PrincipalPage page;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int>(page.principals.size()) == limit) {
      const absl::string_view last = page.principals.back().id;
      page.next_page_token = EncodePageToken({last});
      break;
    }
    absl::StatusOr<Principal> p = ReadPrincipal(*stmt);
    if (!p.ok()) return p.status();
    page.principals.push_back(*std::move(p));
  }
  return page;
}

absl::StatusOr<int64_t> Store::SetPrincipalDisabled(absl::string_view id,
                                                    bool disabled) {
  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  int64_t new_revision = 0;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "UPDATE principals SET disabled = ?, "
          "updated_at = max(?, created_at) WHERE id = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindInt(1, disabled ? 1 : 0);
      stmt->BindTime(2, clock_.Now());
      stmt->BindText(3, id);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
      if (c.changes() == 0) {
        return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
      }
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    new_revision = *revision;
  }
  if (absl::Status s = PublishPrincipalLocked(id, new_revision); !s.ok()) {
    return s;
  }
  return new_revision;
}

absl::StatusOr<int64_t> Store::DeletePrincipal(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  int64_t new_revision = 0;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      // Bindings go with it (ON DELETE CASCADE); audit_log rows stay.
      absl::StatusOr<Statement> stmt =
          c.Prepare("DELETE FROM principals WHERE id = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, id);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
      if (c.changes() == 0) {
        return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
      }
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    new_revision = *revision;
  }
  if (absl::Status s = PublishPrincipalLocked(id, new_revision); !s.ok()) {
    return s;
  }
  return new_revision;
}

// ---- Role bindings.
// ----------------------------------------------------------

absl::StatusOr<GrantResult> Store::Grant(const GrantRequest& request) {
  if (absl::Status s = ValidateIdentifier("principal id", request.principal);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateScope(request.scope); !s.ok()) return s;
  if (absl::Status s = ValidateIdentifier("granted_by", request.granted_by);
      !s.ok()) {
    return s;
  }
  if (request.reason.size() > 1024) {
    return absl::InvalidArgumentError("reason is longer than 1024 bytes");
  }
  absl::MutexLock lock(&mu_);
  const std::shared_ptr<const Snapshot> current = holder_.Get();
  const policy::Program* program = current->program().get();
  if (program == nullptr) {
    return absl::FailedPreconditionError(
        "no policy is active, so there are no roles to grant; apply a policy "
        "first");
  }
  const std::optional<policy::RoleId> role = program->FindRole(request.role);
  if (!role.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "role \"", request.role, "\" is not defined in the active policy"));
  }
  const absl::Time now = clock_.Now();
  if (request.expires_at.has_value() && *request.expires_at <= now) {
    return absl::InvalidArgumentError(
        absl::StrCat("expires_at ", absl::FormatTime(*request.expires_at),
                     " is not in the future"));
  }

  Connection& c = *connection_;
  GrantResult result;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("SELECT 1 FROM principals WHERE id = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, request.principal);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) {
        return absl::NotFoundError(
            absl::StrCat("no principal \"", request.principal, "\""));
      }
    }
    {
      // Separation of duties against every other unexpired binding of the
      // principal whose scope overlaps the new one.
      absl::StatusOr<Statement> stmt = c.Prepare(
          "SELECT role, scope, expires_at FROM role_bindings "
          "WHERE principal = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, request.principal);
      while (true) {
        absl::StatusOr<bool> row = stmt->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        const absl::string_view other_role = stmt->Text(0);
        const absl::string_view other_scope = stmt->Text(1);
        if (other_role == request.role && other_scope == request.scope) {
          return absl::AlreadyExistsError(absl::StrCat(
              "principal \"", request.principal, "\" already holds role \"",
              request.role, "\" in scope \"", request.scope, "\""));
        }
        std::optional<absl::Time> expires = stmt->OptionalTime(2);
        if (expires.has_value() && *expires <= now) continue;
        if (!ScopesOverlap(request.scope, other_scope)) continue;
        std::optional<policy::RoleId> other = program->FindRole(other_role);
        if (!other.has_value()) continue;
        std::optional<std::pair<std::string, std::string>> conflict =
            program->SeparationConflict(*role, *other);
        if (conflict.has_value()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "granting role \"", request.role, "\" (scope \"", request.scope,
              "\") to \"", request.principal,
              "\" would break separation of duties: it holds role \"",
              other_role, "\" (scope \"", other_scope,
              "\") and the policy separates \"", conflict->first, "\" and \"",
              conflict->second, "\""));
        }
      }
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO role_bindings (principal, role, scope, granted_by, "
          "granted_at, expires_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, request.principal);
      stmt->BindText(2, request.role);
      stmt->BindText(3, request.scope);
      stmt->BindText(4, request.granted_by);
      stmt->BindTime(5, now);
      if (request.expires_at.has_value()) {
        stmt->BindTime(6, *request.expires_at);
      } else {
        stmt->BindNull(6);
      }
      stmt->BindText(7, request.reason);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  result.binding = Binding{request.principal,  request.role, request.scope,
                           request.granted_by, now,          request.expires_at,
                           request.reason};
  if (absl::Status s =
          PublishPrincipalLocked(request.principal, result.store_revision);
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<int64_t> Store::Revoke(absl::string_view principal,
                                      absl::string_view role,
                                      absl::string_view scope) {
  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  int64_t new_revision = 0;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "DELETE FROM role_bindings "
          "WHERE principal = ? AND role = ? AND scope = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, principal);
      stmt->BindText(2, role);
      stmt->BindText(3, scope);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
      if (c.changes() == 0) {
        return absl::NotFoundError(absl::StrCat("principal \"", principal,
                                                "\" holds no role \"", role,
                                                "\" in scope \"", scope, "\""));
      }
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    new_revision = *revision;
  }
  if (absl::Status s = PublishPrincipalLocked(principal, new_revision);
      !s.ok()) {
    return s;
  }
  return new_revision;
}

absl::StatusOr<BindingPage> Store::ListBindings(const BindingFilter& filter,
                                                int page_size,
                                                absl::string_view page_token) {
  const int limit = ClampPageSize(page_size);
  std::vector<std::string> after = {"", "", ""};
  bool has_after = false;
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts =
        DecodePageToken(page_token, 3);
    if (!parts.ok()) return parts.status();
    after = *std::move(parts);
    has_after = true;
  }
  // One statement per combination of filters and first/later page, so
  // each is an index range scan already in (principal, role, scope) order:
  // the primary key when the principal is given or nothing is, else
  // role_bindings_by_role (role, principal, then the key's scope). A form
  // like (?1 = '' OR principal = ?1) cannot use any index and made every
  // page a scan from the start (quadratic paging). The row-value keyset
  // term stays exact; SQLite turns it into the range start (EXPLAIN QUERY
  // PLAN: SEARCH ... USING PRIMARY KEY / INDEX role_bindings_by_role, no
  // temp b-tree, for all eight forms).
  std::string sql =
      "SELECT principal, role, scope, granted_by, granted_at, expires_at, "
      "reason FROM role_bindings";
  const char* glue = " WHERE ";
  if (!filter.principal.empty()) {
    absl::StrAppend(&sql, glue, "principal = ?");
    glue = " AND ";
  }
  if (!filter.role.empty()) {
    absl::StrAppend(&sql, glue, "role = ?");
    glue = " AND ";
  }
  if (has_after) {
    absl::StrAppend(&sql, glue, "(principal, role, scope) > (?, ?, ?)");
  }
  absl::StrAppend(&sql, " ORDER BY principal, role, scope LIMIT ?");
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  int param = 0;
  if (!filter.principal.empty()) stmt->BindText(++param, filter.principal);
  if (!filter.role.empty()) stmt->BindText(++param, filter.role);
  if (has_after) {
    stmt->BindText(++param, after[0]);
    stmt->BindText(++param, after[1]);
    stmt->BindText(++param, after[2]);
  }
  stmt->BindInt(++param, limit + 1);
  BindingPage page;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int>(page.bindings.size()) == limit) {
      const Binding& last = page.bindings.back();
      page.next_page_token =
          EncodePageToken({last.principal, last.role, last.scope});
      break;
    }
    page.bindings.push_back(ReadBinding(*stmt));
  }
  return page;
}

// ---- API keys.
// ---------------------------------------------------------------

absl::StatusOr<NewApiKey> Store::CreateApiKey(absl::string_view name,
                                              ServiceRole role,
                                              absl::string_view created_by) {
  if (absl::Status s = ValidateKeyName(name); !s.ok()) return s;
  if (absl::Status s = ValidateIdentifier("created_by", created_by); !s.ok()) {
    return s;
  }
  NewApiKey result;
  absl::StatusOr<std::string> key = internal::GenerateApiKey();
  if (!key.ok()) return key.status();
  result.key = *std::move(key);
  if (role == ServiceRole::kAdmin) {
    absl::StatusOr<std::string> secret = internal::GenerateTotpSecret();
    if (!secret.ok()) return secret.status();
    result.totp_secret = *std::move(secret);
  }
  const internal::Sha256Digest hash = internal::Sha256(result.key);

  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  const absl::Time now = clock_.Now();
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("SELECT 1 FROM api_keys WHERE name = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, name);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (*row) {
        return absl::AlreadyExistsError(
            absl::StrCat("an API key named \"", name,
                         "\" exists or existed (names are never reused)"));
      }
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO api_keys (name, role, key_hash, totp_secret, "
          "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, name);
      stmt->BindText(2, ServiceRoleName(role));
      stmt->BindBlob(3, hash);
      if (result.totp_secret.empty()) {
        stmt->BindNull(4);
      } else {
        stmt->BindText(4, result.totp_secret);
      }
      stmt->BindText(5, created_by);
      stmt->BindTime(6, now);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  result.info = ApiKeyInfo{std::string(name), role, std::string(created_by),
                           now, std::nullopt};
  holder_.Publish(holder_.Get()->WithRevision(result.store_revision));
  if (absl::Status s = ReloadKeysLocked(); !s.ok()) return s;
  return result;
}

absl::StatusOr<std::vector<ApiKeyInfo>> Store::ListApiKeys() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT name, role, created_by, created_at, revoked_at FROM api_keys "
      "ORDER BY name");
  if (!stmt.ok()) return stmt.status();
  std::vector<ApiKeyInfo> keys;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    absl::StatusOr<ServiceRole> role = RoleFromColumn(stmt->Text(1));
    if (!role.ok()) return role.status();
    keys.push_back(ApiKeyInfo{std::string(stmt->Text(0)), *role,
                              std::string(stmt->Text(2)), stmt->Time(3),
                              stmt->OptionalTime(4)});
  }
  return keys;
}

absl::StatusOr<int64_t> Store::RevokeApiKey(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  int64_t new_revision = 0;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "SELECT revoked_at IS NOT NULL FROM api_keys WHERE name = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, name);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) {
        return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
      }
      if (stmt->Int(0) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("API key \"", name, "\" is already revoked"));
      }
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "UPDATE api_keys SET revoked_at = max(?, created_at) WHERE name = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindTime(1, clock_.Now());
      stmt->BindText(2, name);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    new_revision = *revision;
  }
  holder_.Publish(holder_.Get()->WithRevision(new_revision));
  if (absl::Status s = ReloadKeysLocked(); !s.ok()) return s;
  return new_revision;
}

absl::StatusOr<AuthenticatedKey> Store::AuthenticateApiKey(
    absl::string_view key) const {
  // Built only on failure: a Status with a message allocates.
  auto unknown = [] { return absl::UnauthenticatedError("unknown API key"); };
  if (key.size() > 256) return unknown();
  // A client sends the same key on every call; remembering the last key's
  // digest per thread saves a SHA-256 (several percent of a Check). The
  // comparison is constant-time, so it reveals at most the key's length.
  thread_local std::string last_key;
  thread_local internal::Sha256Digest last_digest;
  internal::Sha256Digest hash;
  if (!last_key.empty() && last_key.size() == key.size() &&
      CRYPTO_memcmp(last_key.data(), key.data(), key.size()) == 0) {
    hash = last_digest;
  } else {
    hash = internal::Sha256(key);
    last_key.assign(key.data(), key.size());
    last_digest = hash;
  }
  std::shared_ptr<const internal::KeyIndex> index =
      keys_.load(std::memory_order_acquire);
  if (index == nullptr) return unknown();
  auto it = index->by_hash.find(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
  // The lookup is keyed by a hash of the secret, so its timing reveals
  // nothing useful about the key; the final comparison is constant-time
  // all the same.
  if (it == index->by_hash.end() ||
      !internal::DigestsEqual(it->second.hash, hash)) {
    return unknown();
  }
  return it->second.key;
}

absl::Status Store::RecordTotpStep(absl::string_view name, int64_t step) {
  if (step < 0) return absl::InvalidArgumentError("negative TOTP step");
  absl::MutexLock lock(&mu_);
  Connection& c = *connection_;
  {
    // A single conditional UPDATE is atomic: two concurrent uses of one
    // code cannot both succeed.
    absl::StatusOr<Statement> stmt = c.Prepare(
        "UPDATE api_keys SET totp_last_step = ?2 WHERE name = ?1 "
        "AND role = 'admin' AND revoked_at IS NULL "
        "AND (totp_last_step IS NULL OR totp_last_step < ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, name);
    stmt->BindInt(2, step);
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
    if (c.changes() == 1) return absl::OkStatus();
  }
  absl::StatusOr<Statement> stmt = c.Prepare(
      "SELECT role, revoked_at IS NOT NULL FROM api_keys WHERE name = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, name);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  if (stmt->Text(0) != "admin") {
    return absl::FailedPreconditionError(
        absl::StrCat("API key \"", name, "\" has no second factor"));
  }
  if (stmt->Int(1) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("API key \"", name, "\" is revoked"));
  }
  return absl::FailedPreconditionError(
      "TOTP code already used (or older than the last one used)");
}

absl::StatusOr<bool> Store::HasAnyAdminKey() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = connection_->Prepare(
      "SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
      "LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

}  // namespace steward::store
