// See verify.h.
#include "server/audit/verify.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/audit/rows.h"

namespace steward::audit::internal {
namespace {

using store::sqlite::Connection;
using store::sqlite::ForEachRowWhile;
using store::sqlite::Statement;
using store::sqlite::Transaction;

VerifyResult Broken(VerifyResult result, int64_t seq, std::string message) {
  result.ok = false;
  result.first_bad_seq = seq;
  result.message = std::move(message);
  return result;
}

}  // namespace

absl::StatusOr<VerifyResult> VerifyChain(Connection& connection) {
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(connection);
  if (!txn.ok()) return txn.status();

  int64_t checkpoint_seq = 0;
  Hash running = kZeroHash;
  {
    absl::StatusOr<Statement> stmt = connection.Prepare(
        "SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      checkpoint_seq = stmt->Int(0);
      absl::StatusOr<Hash> h = ToHash(stmt->Blob(1));
      if (!h.ok()) {
        VerifyResult r;
        return Broken(r, checkpoint_seq + 1,
                      absl::StrCat("checkpoint at record ", checkpoint_seq,
                                   " has a malformed hash"));
      }
      running = *h;
    }
  }

  VerifyResult result;
  int64_t expected = checkpoint_seq + 1;
  // Anyone can copy a row's prev_hash into a forged checkpoint after
  // deleting the rows before it; a real purge is also recorded in the chain
  // (retention.h), so the newest checkpoint must be confirmed by a retained
  // retention_purge record naming it.
  bool checkpoint_confirmed = false;
  {
    absl::StatusOr<Statement> stmt = connection.Prepare(
        absl::StrCat("SELECT ", kRowColumns, " FROM audit_log ORDER BY seq"));
    if (!stmt.ok()) return stmt.status();
    // The first break found ends the scan; it is the result.
    std::optional<VerifyResult> broken;
    auto stop = [&broken](VerifyResult r) {
      broken = std::move(r);
      return false;
    };
    absl::Status scanned = ForEachRowWhile(
        *stmt, [&](const Statement& record) -> absl::StatusOr<bool> {
          const int64_t seq = record.Int(0);
          absl::StatusOr<ChainedRow> row = ReadRow(record);
          if (!row.ok())
            return stop(
                Broken(result, seq, std::string(row.status().message())));
          if (result.first_seq == 0) result.first_seq = seq;
          if (seq <= checkpoint_seq) {
            return stop(Broken(
                result, seq,
                absl::StrCat("record ", seq,
                             " precedes the retention checkpoint at ",
                             checkpoint_seq, " (inserted after a purge?)")));
          }
          if (seq != expected) {
            return stop(Broken(
                result, expected,
                expected + 1 == seq
                    ? absl::StrCat("record ", expected,
                                   " is missing (removed); the next record is ",
                                   seq)
                    : absl::StrCat(
                          "records ", expected, "..", seq - 1,
                          " are missing (removed); the next record is ", seq)));
          }
          if (row->prev_hash != running) {
            return stop(Broken(
                result, seq,
                absl::StrCat(
                    "record ", seq, ": prev_hash does not match the hash of ",
                    seq - 1 == checkpoint_seq && checkpoint_seq > 0
                        ? absl::StrCat("the checkpoint at ", checkpoint_seq)
                        : absl::StrCat("record ", seq - 1),
                    " (a preceding record or hash was altered)")));
          }
          const Hash computed =
              audit::ChainHash(running, CanonicalEncoding(row->row));
          ++result.records_checked;
          if (computed != row->hash) {
            return stop(
                Broken(result, seq,
                       absl::StrCat("record ", seq,
                                    " does not match its hash (its content or "
                                    "hash was altered)")));
          }
          if (checkpoint_seq > 0 && !checkpoint_confirmed &&
              row->row.kind == "system" &&
              row->row.action == "retention_purge" &&
              row->row.details.has_value()) {
            const nlohmann::json details = nlohmann::json::parse(
                *row->row.details, nullptr, /*allow_exceptions=*/false);
            const auto it = details.is_object() ? details.find("checkpoint_seq")
                                                : details.end();
            checkpoint_confirmed = it != details.end() &&
                                   it->is_number_integer() &&
                                   it->get<int64_t>() == checkpoint_seq;
          }
          running = computed;
          result.last_seq = seq;
          ++expected;
          return true;
        });
    if (!scanned.ok()) return scanned;
    if (broken.has_value()) return *std::move(broken);
  }
  {
    // The tail: AUTOINCREMENT remembers the highest seq ever used, so
    // deleting the newest records leaves a trace.
    absl::StatusOr<Statement> stmt = connection.Prepare(
        "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'");
    if (stmt.ok()) {
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (*row && stmt->Int(0) >= expected) {
        const int64_t high = stmt->Int(0);
        return Broken(result, expected,
                      absl::StrCat("records ", expected, "..", high,
                                   " are missing (removed from the end)"));
      }
    }
  }
  if (checkpoint_seq > 0 && !checkpoint_confirmed) {
    return Broken(
        result, checkpoint_seq + 1,
        absl::StrCat("the retention checkpoint at record ", checkpoint_seq,
                     " is not confirmed by a retention_purge record "
                     "in the trail: records up to ",
                     checkpoint_seq,
                     " may have been removed outside a purge (or a "
                     "purge was interrupted before it was recorded)"));
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  result.message =
      result.records_checked == 0
          ? std::string("chain verified: no records")
          : absl::StrCat("chain verified: ", result.records_checked,
                         " records (", result.first_seq, "..", result.last_seq,
                         ")");
  return result;
}

}  // namespace steward::audit::internal
