// A prepared SQLite statement borrowed for one execution, and ForEachRow,
// the one loop that steps a statement through its rows.
//
// Public: part of the SQLite layer (connection.h, statement.h,
// transaction.h) that the SQLite engine of the store and the audit trail
// (server/audit) share. No sqlite3 type appears in this interface; SQL text
// is constant and values are always bound. Every SQLite result is checked
// and mapped through sqlite_status.h.
#ifndef STEWARD_SERVER_STORE_SQLITE_STATEMENT_H_
#define STEWARD_SERVER_STORE_SQLITE_STATEMENT_H_

#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

struct sqlite3_stmt;

namespace steward::store::sqlite {

class Connection;

// A prepared statement borrowed from a Connection's cache for one use.
// Destruction resets it and clears its bindings, so the cached statement is
// ready for the next user. Bind errors are remembered and returned by the
// next Step(), so call sites check one status per execution.
// Thread-compatible; must not outlive its Connection. Move-only.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Parameter indexes are 1-based, as in SQLite.
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::Span<const uint8_t> value);
  void BindInt(int index, int64_t value);
  void BindNull(int index);
  void BindOptionalInt(int index, std::optional<int64_t> value);
  void BindTime(int index, absl::Time t);  // unix microseconds
  void BindOptionalTime(int index, std::optional<absl::Time> t);
  // BindText / BindBlob without SQLite's private copy, for hot inserts:
  // `value` must stay valid and unchanged until this Statement is destroyed
  // (the destructor clears the bindings).
  void BindTextUnowned(int index, absl::string_view value);
  void BindBlobUnowned(int index, absl::Span<const uint8_t> value);

  // Advances. OK(true): a row is available; OK(false): done. An error
  // (including a deferred bind error) leaves the statement unusable until
  // destroyed.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows (or whose rows are ignored).
  absl::Status Run();

  // Column accessors for the current row; 0-based. The views are valid
  // until the next Step() or destruction.
  bool IsNull(int column) const;
  int64_t Int(int column) const;
  absl::string_view Text(int column) const;
  absl::Span<const uint8_t> Blob(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  absl::Time Time(int column) const;  // from unix microseconds
  std::optional<absl::Time> OptionalTime(int column) const;

 private:
  friend class Connection;
  Statement(Connection* connection, sqlite3_stmt* stmt, bool* in_use,
            absl::string_view sql);
  void RecordBindResult(int rc, int index);

  Connection* connection_;
  sqlite3_stmt* stmt_;  // owned by the connection's cache
  bool* in_use_;        // the cache entry's flag; cleared on destruction
  absl::string_view sql_;
  absl::Status bind_status_;
};

// Steps `stmt` through all its rows, calling `on_row` with each (the
// column views are valid only during the call). OK once the rows are
// exhausted; otherwise the first error from stepping (codes per
// sqlite_status.h) or the first non-OK status `on_row` returns, after which
// no more rows are read.
absl::Status ForEachRow(
    Statement& stmt, absl::FunctionRef<absl::Status(const Statement&)> on_row);

// As ForEachRow, for scans that end on a condition rather than at the last
// row: `on_row` returns OK(true) to go on, OK(false) to stop (the result is
// then OK) or an error, which is returned.
absl::Status ForEachRowWhile(
    Statement& stmt,
    absl::FunctionRef<absl::StatusOr<bool>(const Statement&)> on_row);

// Prepares `sql` on `connection`, lets `bind` bind its parameters and runs
// it to completion. Returns how many rows it inserted, updated or deleted.
absl::StatusOr<int64_t> RunWrite(Connection& connection, absl::string_view sql,
                                 absl::FunctionRef<void(Statement&)> bind);

// Whether `sql`, with parameters bound by `bind`, returns a row.
absl::StatusOr<bool> HasRow(Connection& connection, absl::string_view sql,
                            absl::FunctionRef<void(Statement&)> bind);

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_STATEMENT_H_
