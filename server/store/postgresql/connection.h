// One libpq connection, its query results and transactions: the thin
// PostgreSQL layer the store's PostgreSQL engine is written on.
//
// Internal to server/store (the PostgreSQL engine); no libpq type appears
// in this interface. SQL text is always constant and values always travel
// as parameters (PQexecParams), never spliced into the text; the only
// parameterless path, ExecScript, runs embedded migration files. Every
// libpq result is checked and failures are mapped through pg_status.h.
// Connection strings are libpq's (URL or key=value, including sslmode for
// TLS to the server); errors and logs only ever show them redacted
// (RedactStoreLocation in store.h).
#ifndef STEWARD_SERVER_STORE_POSTGRESQL_CONNECTION_H_
#define STEWARD_SERVER_STORE_POSTGRESQL_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace steward::store::postgresql {

// Parameters of one statement ($1, $2, ... in the order added). Values are
// sent as text, except Bytes (binary, for bytea). Times are unix
// microseconds, as the schema stores them.
class Params {
 public:
  Params& Text(absl::string_view value);
  Params& Int(int64_t value);
  Params& Bool(bool value);
  Params& Time(absl::Time value);
  Params& OptionalTime(std::optional<absl::Time> value);
  Params& Bytes(absl::string_view value);
  Params& Null();

 private:
  friend class Connection;
  void Add(std::optional<std::string> value, bool binary);
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
};

// The rows of one successful statement. Owns the PGresult. Move-only.
// Accessors take 0-based row and column; columns come back as text
// (booleans 't'/'f', bytea as \x hex).
class Result {
 public:
  explicit Result(pg_result* result) : result_(result) {}
  Result(Result&& other) noexcept : result_(other.result_) {
    other.result_ = nullptr;
  }
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  ~Result();

  int rows() const;
  // The command tag ("COMMIT", "ROLLBACK", "INSERT 0 1", ...).
  absl::string_view command() const;
  // Rows an INSERT/UPDATE/DELETE changed.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  absl::string_view Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  bool Bool(int row, int column) const;
  absl::Time Time(int row, int column) const;
  std::optional<absl::Time> OptionalTime(int row, int column) const;
  std::optional<int64_t> OptionalInt(int row, int column) const;
  // A bytea column's raw bytes.
  std::string Bytes(int row, int column) const;

 private:
  pg_result* result_;
};

struct ConnectionOptions {
  // How long a statement waits for a row lock (another writer's revision
  // lock) before failing with kUnavailable (lock_timeout).
  absl::Duration lock_timeout = absl::Seconds(5);
  // For owners that keep no state in the session (no advisory lock, no
  // LISTEN, no settings of their own): a statement outside a transaction
  // that finds the session dead (a server restart or failover closed it
  // while idle) is run once more on a new session, if it is a SELECT or a
  // BEGIN. Neither has had an effect when the session was already gone,
  // so the caller sees the restart only as latency. REQUIRES of the
  // owner: every SELECT it runs is free of side effects outside its
  // session. Writes outside a transaction and COMMIT are never re-run:
  // the first may have landed.
  bool rerun_reads_on_new_session = false;
};

// An open connection. Owns the PGconn. Thread-compatible: the owner
// serializes access (the store's repositories do so with their mutex).
class Connection {
 public:
  // Connects with a libpq connection string. kInvalidArgument: the string
  // does not parse (libpq's reason, never the string). kUnavailable: the
  // server cannot be reached or refuses the login (libpq's reason, which
  // names host and database, never the password).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& conninfo, const ConnectionOptions& options);

  // Use Open().
  Connection(pg_conn* conn, ConnectionOptions options)
      : conn_(conn), options_(options) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs constant `sql` with `params` bound to $1... `context` names the
  // operation in errors. A connection lost outside a transaction is
  // re-established once before the statement runs.
  absl::StatusOr<Result> Exec(absl::string_view context, const char* sql,
                              const Params& params = Params());
  // Runs embedded, constant, possibly multi-statement SQL that takes no
  // parameters (migration files). REQUIRES: `sql` contains no user data.
  absl::Status ExecScript(absl::string_view context, const std::string& sql);

  bool in_transaction() const { return in_transaction_; }

  // Subscribes this session to notifications on 'steward_revision' (the
  // channel CommitChange notifies; the only one we use, so it is constant
  // SQL). A reconnect drops the subscription: call it again after one.
  absl::Status ListenForRevisions();
  // Waits up to `timeout` for notifications on a listening connection
  // (poll() on the socket, no busy loop) and consumes every one that has
  // arrived; returns their payloads in arrival order (PostgreSQL delivers
  // them in commit order), empty when none came. kUnavailable: the
  // connection is broken (the caller opens a new one).
  absl::StatusOr<std::vector<std::string>> WaitForNotifications(
      absl::Duration timeout);

 private:
  friend class Transaction;
  absl::StatusOr<Result> ExecOnce(absl::string_view context, const char* sql,
                                  const Params& params);
  absl::Status ApplySessionSettings();
  absl::Status EnsureConnected();
  absl::StatusOr<Result> Check(pg_result* result, absl::string_view context);

  pg_conn* conn_;
  ConnectionOptions options_;
  bool in_transaction_ = false;
};

// A transaction on one Connection; rolled back on destruction unless
// committed. Move-only; must not outlive its Connection.
class Transaction {
 public:
  enum class Mode {
    // READ COMMITTED: each statement sees every commit made before it.
    // Writers serialize on the store_meta row lock (database.h).
    kWrite,
    // REPEATABLE READ, READ ONLY: one consistent view for several
    // statements (snapshot loads).
    kReadSnapshot,
  };
  static absl::StatusOr<Transaction> Begin(Connection& connection, Mode mode);

  Transaction(Transaction&& other) noexcept : connection_(other.connection_) {
    other.connection_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  // OK: every change since Begin is durable. REQUIRES: called at most once.
  absl::Status Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;  // null once committed, rolled back or moved
};

}  // namespace steward::store::postgresql

#endif  // STEWARD_SERVER_STORE_POSTGRESQL_CONNECTION_H_
