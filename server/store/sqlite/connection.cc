// See connection.h.
#include "server/store/sqlite/connection.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite/sqlite_status.h"

namespace steward::store::sqlite {

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
  if (absl::Status s = ForEachRow(
          *stmt,
          [&](const Statement& row) {
            if (row.Text(0) != "ok") {
              absl::StrAppend(&problems, problems.empty() ? "" : "; ",
                              row.Text(0));
            }
            return absl::OkStatus();
          });
      !s.ok()) {
    return s;
  }
  if (!problems.empty()) {
    return absl::DataLossError(
        absl::StrCat("database integrity check failed: ", problems));
  }
  return absl::OkStatus();
}

}  // namespace steward::store::sqlite
