// RAII SQLite transactions: rolled back on destruction unless committed.
//
// Public: part of the SQLite layer shared by the store's SQLite engine and
// the audit trail (see statement.h).
#ifndef STEWARD_SERVER_STORE_SQLITE_TRANSACTION_H_
#define STEWARD_SERVER_STORE_SQLITE_TRANSACTION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace steward::store::sqlite {

class Connection;

// A transaction on one Connection. Begin() takes the write lock up front
// (BEGIN IMMEDIATE), so a concurrent writer fails fast with kUnavailable
// instead of deadlocking on the upgrade; BeginRead() gives several
// statements one consistent view (BEGIN DEFERRED, WAL snapshot isolation).
// Rolls back on destruction unless committed. Thread-compatible; move-only;
// must not outlive its Connection.
class Transaction {
 public:
  // Errors per sqlite_status.h (kUnavailable when another connection holds
  // the write lock past the busy timeout).
  static absl::StatusOr<Transaction> Begin(Connection& connection);
  static absl::StatusOr<Transaction> BeginRead(Connection& connection);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  // OK: every change since Begin is durable. Otherwise nothing of it is
  // (the transaction is rolled back). REQUIRES: called at most once.
  absl::Status Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;  // null once committed, rolled back or moved
};

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_TRANSACTION_H_
