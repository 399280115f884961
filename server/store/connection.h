// One SQLite connection with the store's settings and a prepared-statement
// cache.
//
// Internal to server/store: no sqlite3 type leaves this folder. A Connection
// applies the pragmas every Steward connection needs (WAL, foreign keys,
// busy timeout, secure_delete, synchronous=FULL), hands out cached prepared
// statements through the RAII Statement handle (parameters are always
// bound; SQL text is constant) and runs transactions. Every sqlite3_* result
// is checked and mapped through sqlite_status.h.
#ifndef STEWARD_SERVER_STORE_CONNECTION_H_
#define STEWARD_SERVER_STORE_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

struct sqlite3;
struct sqlite3_stmt;

namespace steward::store::internal {

struct ConnectionOptions {
  bool create_if_missing = false;
  bool read_only = false;
  // How long a statement waits for another connection's lock before
  // failing with kUnavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
};

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

// An open database connection. Owns the sqlite3 handle and its statement
// cache. Thread-compatible: the owner serializes access (Store does so with
// its mutex). Not movable, because Statements point back at it.
class Connection {
 public:
  // Opens `path` and applies the standard pragmas. kNotFound when the file
  // does not exist and !create_if_missing; kDataLoss when it is not an
  // SQLite database; other codes per sqlite_status.h.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, const ConnectionOptions& options);

  // Only Open() can name PrivateTag; use Open().
  struct PrivateTag {};
  Connection(PrivateTag, sqlite3* db) : db_(db) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs constant SQL text that takes no parameters (pragmas, DDL,
  // migration scripts). REQUIRES: `sql` contains no user data.
  absl::Status Exec(const char* sql);

  // A cached prepared statement for `sql` (constant text with ? params).
  // kInternal if the same statement is already in use (nested use is a
  // programming error) or the SQL does not compile.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);

  // Number of rows the last INSERT/UPDATE/DELETE changed.
  int64_t changes() const;

  // Runs `PRAGMA integrity_check` and returns kDataLoss listing the
  // problems when it does not answer "ok".
  absl::Status CheckIntegrity();

  sqlite3* raw() const { return db_; }

 private:
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  // Keyed by SQL text. Entries are finalized in the destructor.
  absl::flat_hash_map<std::string, std::unique_ptr<CachedStatement>> cache_;
};

// A write transaction (BEGIN IMMEDIATE, so the write lock is taken up front
// and a concurrent writer fails fast with kUnavailable instead of
// deadlocking on upgrade). Rolls back on destruction unless committed.
// Move-only; must not outlive its Connection.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(Connection& connection);
  // A read transaction (BEGIN DEFERRED): several statements see one
  // consistent state of the database (WAL snapshot isolation).
  static absl::StatusOr<Transaction> BeginRead(Connection& connection);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  absl::Status Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;  // null once committed, rolled back or moved
};

}  // namespace steward::store::internal

#endif  // STEWARD_SERVER_STORE_CONNECTION_H_
