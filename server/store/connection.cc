// See connection.h.
#include "server/store/connection.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite_status.h"

namespace steward::store::internal {

Statement::Statement(Connection* connection, sqlite3_stmt* stmt, bool* in_use,
                     absl::string_view sql)
    : connection_(connection), stmt_(stmt), in_use_(in_use), sql_(sql) {
  *in_use_ = true;
}

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      sql_(other.sql_),
      bind_status_(std::move(other.bind_status_)) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  // sqlite3_reset returns the error of the last step, which the caller has
  // already seen; resetting itself cannot fail in a way we could act on.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

void Statement::RecordBindResult(int rc, int index) {
  if (rc == SQLITE_OK || !bind_status_.ok()) return;
  bind_status_ = SqliteStatus(rc, connection_->raw(),
                              absl::StrCat("bind parameter ", index));
}

void Statement::BindText(int index, absl::string_view value) {
  RecordBindResult(sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                                       SQLITE_TRANSIENT, SQLITE_UTF8),
                   index);
}

void Statement::BindBlob(int index, absl::Span<const uint8_t> value) {
  // A zero-length blob must still be a blob, not NULL: SQLite binds NULL
  // for a null data pointer.
  static constexpr uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  RecordBindResult(
      sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT),
      index);
}

void Statement::BindTextUnowned(int index, absl::string_view value) {
  // An empty view may carry a null pointer, which SQLite would bind as NULL.
  const char* data = value.data() != nullptr ? value.data() : "";
  RecordBindResult(sqlite3_bind_text64(stmt_, index, data, value.size(),
                                       SQLITE_STATIC, SQLITE_UTF8),
                   index);
}

void Statement::BindBlobUnowned(int index, absl::Span<const uint8_t> value) {
  static constexpr uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  RecordBindResult(
      sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_STATIC),
      index);
}

void Statement::BindInt(int index, int64_t value) {
  RecordBindResult(sqlite3_bind_int64(stmt_, index, value), index);
}

void Statement::BindNull(int index) {
  RecordBindResult(sqlite3_bind_null(stmt_, index), index);
}

void Statement::BindOptionalInt(int index, std::optional<int64_t> value) {
  if (value.has_value()) {
    BindInt(index, *value);
  } else {
    BindNull(index);
  }
}

void Statement::BindTime(int index, absl::Time t) {
  BindInt(index, absl::ToUnixMicros(t));
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int extended = sqlite3_extended_errcode(connection_->raw());
  return SqliteStatus(extended != 0 ? extended : rc, connection_->raw(),
                      "step");
}

absl::Status Statement::Run() {
  absl::StatusOr<bool> row = Step();
  while (row.ok() && *row) row = Step();
  return row.status();
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

absl::string_view Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return absl::string_view();
  return absl::string_view(reinterpret_cast<const char*>(text),
                           sqlite3_column_bytes(stmt_, column));
}

absl::Span<const uint8_t> Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  return absl::Span<const uint8_t>(static_cast<const uint8_t*>(data),
                                   sqlite3_column_bytes(stmt_, column));
}

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

absl::Time Statement::Time(int column) const {
  return absl::FromUnixMicros(Int(column));
}

std::optional<absl::Time> Statement::OptionalTime(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Time(column);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& path, const ConnectionOptions& options) {
  if (!options.create_if_missing) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::NotFoundError(
          absl::StrCat("no store at ", path, " (run `stewardd init`)"));
    }
  }
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // Even on failure SQLite usually allocates a handle that must be closed.
  auto connection = std::make_unique<Connection>(PrivateTag{}, db);
  if (rc != SQLITE_OK) {
    return SqliteStatus(rc, db, absl::StrCat("open ", path));
  }
  if (int ext = sqlite3_extended_result_codes(db, 1); ext != SQLITE_OK) {
    return SqliteStatus(ext, db, "enable extended result codes");
  }
  const int busy_ms =
      static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout));
  if (int bt = sqlite3_busy_timeout(db, busy_ms); bt != SQLITE_OK) {
    return SqliteStatus(bt, db, "busy_timeout");
  }
  // Reading the schema forces SQLite to look at the file, so "not a
  // database" surfaces here as kDataLoss rather than at a later query.
  if (absl::Status s = connection->Exec("SELECT count(*) FROM sqlite_schema");
      !s.ok()) {
    return s;
  }
  // foreign_keys: ON DELETE CASCADE of bindings and FK checks.
  // secure_delete: deleted principals/audit rows are overwritten, not left
  // in free pages. synchronous=FULL: a committed admin change (and audit
  // batch) survives power loss, not only a process crash.
  if (absl::Status s = connection->Exec(
          "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
          "PRAGMA synchronous = FULL;");
      !s.ok()) {
    return s;
  }
  if (!options.read_only) {
    absl::StatusOr<Statement> wal =
        connection->Prepare("PRAGMA journal_mode = WAL");
    if (!wal.ok()) return wal.status();
    absl::StatusOr<bool> row = wal->Step();
    if (!row.ok()) return row.status();
    if (!*row || wal->Text(0) != "wal") {
      return absl::FailedPreconditionError(
          absl::StrCat("could not switch ", path, " to WAL journal mode"));
    }
  }
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) {
    sqlite3_finalize(cached->stmt);
  }
  cache_.clear();
  // sqlite3_close_v2 defers the close until every statement is finalized,
  // which they now are; a failure here could only leak, never corrupt.
  sqlite3_close_v2(db_);
}

absl::Status Connection::Exec(const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  // sqlite3_errmsg carries the same text; free SQLite's copy.
  sqlite3_free(error);
  if (rc != SQLITE_OK) {
    return SqliteStatus(sqlite3_extended_errcode(db_), db_, "exec");
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto cached = std::make_unique<CachedStatement>();
    const int rc =
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &cached->stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(cached->stmt);
      absl::Status status = SqliteStatus(rc, db_, "prepare");
      return absl::InternalError(absl::StrCat(status.message(), " in: ", sql));
    }
    it = cache_.emplace(std::string(sql), std::move(cached)).first;
  }
  CachedStatement& cached = *it->second;
  if (cached.in_use) {
    return absl::InternalError(absl::StrCat("statement already in use: ", sql));
  }
  return Statement(this, cached.stmt, &cached.in_use, it->first);
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

absl::Status Connection::CheckIntegrity() {
  absl::StatusOr<Statement> stmt = Prepare("PRAGMA integrity_check");
  if (!stmt.ok()) return stmt.status();
  std::string problems;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (stmt->Text(0) == "ok") continue;
    absl::StrAppend(&problems, problems.empty() ? "" : "; ", stmt->Text(0));
  }
  if (!problems.empty()) {
    return absl::DataLossError(
        absl::StrCat("database integrity check failed: ", problems));
  }
  return absl::OkStatus();
}

absl::StatusOr<Transaction> Transaction::Begin(Connection& connection) {
  if (absl::Status s = connection.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  return Transaction(&connection);
}

absl::StatusOr<Transaction> Transaction::BeginRead(Connection& connection) {
  if (absl::Status s = connection.Exec("BEGIN DEFERRED"); !s.ok()) return s;
  return Transaction(&connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

Transaction::~Transaction() {
  if (connection_ == nullptr) return;
  // Rolling back can only fail if there is no transaction left (SQLite
  // already rolled it back after an error such as SQLITE_FULL); either way
  // nothing of it was committed.
  (void)connection_->Exec("ROLLBACK");
}

absl::Status Transaction::Commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  absl::Status s = connection->Exec("COMMIT");
  if (!s.ok()) (void)connection->Exec("ROLLBACK");
  return s;
}

}  // namespace steward::store::internal
