// See transaction.h.
#include "server/store/sqlite/transaction.h"

#include <utility>

#include "server/store/sqlite/connection.h"

namespace steward::store::sqlite {

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

}  // namespace steward::store::sqlite
