// One SQLite connection with Steward's settings and a prepared-statement
// cache.
//
// Public: the entry point of the SQLite layer (with statement.h and
// transaction.h) that the store's SQLite engine and the audit trail
// (server/audit) use; no sqlite3 type appears in it. A Connection applies
// the pragmas every Steward connection needs (WAL, foreign keys, busy
// timeout, secure_delete, synchronous=FULL), hands out cached prepared
// statements (parameters are always bound; SQL text is constant) and runs
// transactions. Every sqlite3_* result is checked and mapped through
// sqlite_status.h.
#ifndef STEWARD_SERVER_STORE_SQLITE_CONNECTION_H_
#define STEWARD_SERVER_STORE_SQLITE_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/store/sqlite/statement.h"
#include "server/store/sqlite/transaction.h"

struct sqlite3;
struct sqlite3_stmt;

namespace steward::store::sqlite {

struct ConnectionOptions {
  bool create_if_missing = false;
  bool read_only = false;
  // How long a statement waits for another connection's lock before
  // failing with kUnavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
};

// An open database connection. Owns the sqlite3 handle and its statement
// cache. Thread-compatible: the owner serializes access (the store's
// repositories do so with their mutex). Not movable, because Statements
// point back at it.
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

 private:
  friend class Statement;
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  // Keyed by SQL text. Entries are finalized in the destructor.
  absl::flat_hash_map<std::string, std::unique_ptr<CachedStatement>> cache_;
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_CONNECTION_H_
