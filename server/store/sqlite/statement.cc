// See statement.h.
#include "server/store/sqlite/statement.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/sqlite_status.h"

namespace steward::store::sqlite {

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
  bind_status_ = SqliteStatus(rc, connection_->db_,
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

void Statement::BindOptionalTime(int index, std::optional<absl::Time> t) {
  if (t.has_value()) {
    BindTime(index, *t);
  } else {
    BindNull(index);
  }
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int extended = sqlite3_extended_errcode(connection_->db_);
  return SqliteStatus(extended != 0 ? extended : rc, connection_->db_, "step");
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

absl::Status ForEachRow(
    Statement& stmt, absl::FunctionRef<absl::Status(const Statement&)> on_row) {
  while (true) {
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    if (absl::Status s = on_row(stmt); !s.ok()) return s;
  }
}

absl::Status ForEachRowWhile(
    Statement& stmt,
    absl::FunctionRef<absl::StatusOr<bool>(const Statement&)> on_row) {
  while (true) {
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    absl::StatusOr<bool> more = on_row(stmt);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

absl::StatusOr<int64_t> RunWrite(Connection& connection, absl::string_view sql,
                                 absl::FunctionRef<void(Statement&)> bind) {
  absl::StatusOr<Statement> stmt = connection.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  if (absl::Status s = stmt->Run(); !s.ok()) return s;
  return connection.changes();
}

absl::StatusOr<bool> HasRow(Connection& connection, absl::string_view sql,
                            absl::FunctionRef<void(Statement&)> bind) {
  absl::StatusOr<Statement> stmt = connection.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  return stmt->Step();
}

}  // namespace steward::store::sqlite
