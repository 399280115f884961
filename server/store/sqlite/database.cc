// See database.h.
#include "server/store/sqlite/database.h"

namespace steward::store::sqlite {
namespace {

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

}  // namespace

absl::StatusOr<int64_t> CommitWithNewRevision(Connection& connection,
                                              Transaction& txn) {
  absl::StatusOr<int64_t> revision = BumpRevision(connection);
  if (!revision.ok()) return revision.status();
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return revision;
}

absl::StatusOr<int64_t> CommitChange(Connection& connection,
                                     absl::FunctionRef<absl::Status()> change) {
  absl::StatusOr<Transaction> txn = Transaction::Begin(connection);
  if (!txn.ok()) return txn.status();
  if (absl::Status s = change(); !s.ok()) return s;
  return CommitWithNewRevision(connection, *txn);
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

}  // namespace steward::store::sqlite
