// See verify.h.
#include "server/audit/verify.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "server/audit/rows.h"
#include "server/audit/run_marker.h"
#include "server/audit/signed_checkpoint.h"

namespace steward::audit {
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

// What is missing at the end when the chain ends just before `expected`:
// AUTOINCREMENT keeps the highest seq ever handed out in sqlite_sequence,
// so deleting the newest records leaves a trace. "" when nothing is.
absl::StatusOr<std::string> CutFromTheEnd(Connection& connection,
                                          int64_t expected) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'");
  if (!stmt.ok()) return std::string();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row || stmt->Int(0) < expected) return std::string();
  return absl::StrCat("records ", expected, "..", stmt->Int(0),
                      " are missing (removed from the end)");
}

}  // namespace

namespace internal {

absl::StatusOr<std::optional<CheckpointRow>> NewestRetentionCheckpoint(
    Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<CheckpointRow>();
  absl::Span<const uint8_t> hash = stmt->Blob(1);
  return std::optional<CheckpointRow>(
      CheckpointRow{stmt->Int(0), {hash.begin(), hash.end()}});
}

absl::StatusOr<VerifyResult> VerifyChain(Connection& connection) {
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(connection);
  if (!txn.ok()) return txn.status();

  int64_t checkpoint_seq = 0;
  Hash running = kZeroHash;
  {
    absl::StatusOr<std::optional<CheckpointRow>> newest =
        NewestRetentionCheckpoint(connection);
    if (!newest.ok()) return newest.status();
    if (newest->has_value()) {
      checkpoint_seq = (*newest)->seq;
      absl::StatusOr<Hash> h = ToHash((*newest)->hash);
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
  {
    absl::StatusOr<std::vector<SignedCheckpoint>> signed_checkpoints =
        LoadSignedCheckpoints(connection);
    if (!signed_checkpoints.ok()) return signed_checkpoints.status();
    for (SignedCheckpoint& c : *signed_checkpoints) {
      result.checkpoints.push_back(
          CheckpointCheck{std::move(c), CheckpointState::kNotReached, ""});
    }
  }
  // Signed checkpoints at or before the retention checkpoint: their
  // records are gone, except that the retention checkpoint (or the empty
  // trail, seq 0) keeps the hash at its own seq.
  size_t next_signed = 0;
  int64_t last_matched = checkpoint_seq;
  for (; next_signed < result.checkpoints.size() &&
         result.checkpoints[next_signed].checkpoint.seq <= checkpoint_seq;
       ++next_signed) {
    CheckpointCheck& check = result.checkpoints[next_signed];
    if (check.checkpoint.seq < checkpoint_seq) {
      check.state = CheckpointState::kPurged;
    } else if (check.checkpoint.head == running) {
      check.state = CheckpointState::kMatches;
    } else {
      check.state = CheckpointState::kMismatch;
      return Broken(result, checkpoint_seq + 1,
                    absl::StrCat("the chain start (record ", checkpoint_seq,
                                 ") does not match its signed checkpoint: "
                                 "history was rewritten"));
    }
  }
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
          if (next_signed < result.checkpoints.size() &&
              result.checkpoints[next_signed].checkpoint.seq == seq) {
            CheckpointCheck& check = result.checkpoints[next_signed++];
            if (check.checkpoint.head != computed) {
              check.state = CheckpointState::kMismatch;
              return stop(Broken(
                  result, last_matched + 1,
                  absl::StrCat("records ", last_matched + 1, "..", seq,
                               " were rewritten: the chain no longer reaches "
                               "the head signed at record ",
                               seq, " (history edited and rehashed)")));
            }
            check.state = CheckpointState::kMatches;
            last_matched = seq;
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
          if (row->row.kind == "system" &&
              row->row.action == kUncleanStopAction &&
              UncleanStopMayHaveLostRecords(row->row.details.value_or(""))) {
            result.possible_gaps.push_back(seq);
          }
          running = computed;
          result.last_seq = seq;
          ++expected;
          return true;
        });
    if (!scanned.ok()) return scanned;
    if (broken.has_value()) return *std::move(broken);
  }
  if (next_signed < result.checkpoints.size()) {
    // A signed checkpoint names records the trail no longer holds: the
    // tail was cut, whatever sqlite_sequence says now.
    const int64_t last =
        result.records_checked > 0 ? result.last_seq : checkpoint_seq;
    const int64_t covered = result.checkpoints.back().checkpoint.seq;
    for (size_t i = next_signed; i < result.checkpoints.size(); ++i) {
      result.checkpoints[i].state = CheckpointState::kBeyondTrail;
    }
    return Broken(
        result, last + 1,
        result.records_checked == 0
            ? absl::StrCat("the trail is empty but a signed checkpoint "
                           "covers records up to ",
                           covered, ": every record was removed")
            : absl::StrCat("the trail ends at record ", last,
                           " but a signed checkpoint covers records up to ",
                           covered, ": records ", last + 1, "..", covered,
                           " were removed from the end"));
  }
  {
    // The tail: AUTOINCREMENT remembers the highest seq ever used, so
    // deleting the newest records leaves a trace.
    absl::StatusOr<std::string> cut = CutFromTheEnd(connection, expected);
    if (!cut.ok()) return cut.status();
    if (!cut->empty()) return Broken(result, expected, *cut);
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
  if (!result.possible_gaps.empty()) {
    absl::StrAppend(&result.message, "; ", result.possible_gaps.size(),
                    " unclean stop(s) of an async run: answered decisions "
                    "may be missing before record(s) ",
                    absl::StrJoin(result.possible_gaps, ", "));
  }
  return result;
}

}  // namespace internal

absl::StatusOr<VerifyResult> VerifySignedTail(
    const std::string& db_path, const CheckpointPublicKey& key,
    const std::optional<SignedCheckpoint>& witness) {
  store::sqlite::ConnectionOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<Connection>> opened =
      Connection::Open(db_path, options);
  if (!opened.ok()) return opened.status();
  Connection& connection = **opened;
  absl::StatusOr<Transaction> txn = Transaction::BeginRead(connection);
  if (!txn.ok()) return txn.status();

  VerifyResult result;
  absl::StatusOr<std::vector<SignedCheckpoint>> checkpoints =
      internal::LoadSignedCheckpoints(connection);
  if (!checkpoints.ok()) return checkpoints.status();
  if (witness.has_value()) {
    const SignedCheckpoint* stored = nullptr;
    for (const SignedCheckpoint& c : *checkpoints) {
      if (c.seq == witness->seq) stored = &c;
    }
    if (stored == nullptr || stored->head != witness->head) {
      return Broken(
          result, witness->seq,
          absl::StrCat(
              "the witness names a signed checkpoint at record ", witness->seq,
              " that the trail ",
              stored == nullptr ? "no longer holds" : "holds with another head",
              ": records or checkpoints were removed or rewritten"));
    }
  }
  if (checkpoints->empty()) {
    result.message = "no signed checkpoint yet: the trail was never signed";
    return result;
  }
  const SignedCheckpoint& last = checkpoints->back();
  if (last.key_id != key.key_id()) {
    return Broken(result, last.seq,
                  absl::StrCat("the newest signed checkpoint (record ",
                               last.seq, ") was made with key ", last.key_id,
                               ", not the configured key ", key.key_id()));
  }
  if (!key.Verify(last)) {
    return Broken(
        result, last.seq,
        absl::StrCat("the newest signed checkpoint (record ", last.seq,
                     ") has an invalid signature (forged or "
                     "altered)"));
  }

  // Where the scan starts: the record the checkpoint names must still hash
  // to its head. A checkpoint older than a retention purge can no longer
  // be checked; the scan then starts at the purge's checkpoint.
  int64_t retention_seq = 0;
  Hash running = kZeroHash;
  {
    absl::StatusOr<std::optional<internal::CheckpointRow>> newest =
        internal::NewestRetentionCheckpoint(connection);
    if (!newest.ok()) return newest.status();
    if (newest->has_value()) {
      absl::StatusOr<Hash> h = internal::ToHash((*newest)->hash);
      if (!h.ok()) return h.status();
      retention_seq = (*newest)->seq;
      running = *h;
    }
  }
  int64_t start = retention_seq;
  if (last.seq > retention_seq) {
    absl::StatusOr<Statement> stmt = connection.Prepare(absl::StrCat(
        "SELECT ", internal::kRowColumns, " FROM audit_log WHERE seq = ?"));
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, last.seq);
    absl::StatusOr<bool> found = stmt->Step();
    if (!found.ok()) return found.status();
    if (!*found) {
      return Broken(result, last.seq,
                    absl::StrCat("record ", last.seq,
                                 ", named by the newest signed checkpoint, "
                                 "is missing: the trail was cut or emptied"));
    }
    absl::StatusOr<internal::ChainedRow> row = internal::ReadRow(*stmt);
    if (!row.ok()) {
      return Broken(result, last.seq, std::string(row.status().message()));
    }
    if (row->hash != last.head ||
        audit::ChainHash(row->prev_hash, CanonicalEncoding(row->row)) !=
            last.head) {
      return Broken(result, last.seq,
                    absl::StrCat("record ", last.seq,
                                 " no longer matches the head signed for it: "
                                 "history was rewritten"));
    }
    start = last.seq;
    running = last.head;
    result.first_seq = last.seq;
    result.last_seq = last.seq;
  } else if (last.seq == retention_seq && last.head != running) {
    return Broken(result, last.seq,
                  absl::StrCat("the chain start (record ", last.seq,
                               ") does not match its signed checkpoint"));
  }

  int64_t expected = start + 1;
  std::optional<VerifyResult> broken;
  {
    absl::StatusOr<Statement> stmt = connection.Prepare(
        absl::StrCat("SELECT ", internal::kRowColumns,
                     " FROM audit_log WHERE seq > ? ORDER BY seq"));
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, start);
    absl::Status scanned = ForEachRowWhile(
        *stmt, [&](const Statement& record) -> absl::StatusOr<bool> {
          const int64_t seq = record.Int(0);
          absl::StatusOr<internal::ChainedRow> row = internal::ReadRow(record);
          if (!row.ok()) {
            broken = Broken(result, seq, std::string(row.status().message()));
            return false;
          }
          if (seq != expected) {
            broken = Broken(result, expected,
                            absl::StrCat("records ", expected, "..", seq - 1,
                                         " are missing (removed)"));
            return false;
          }
          const Hash computed =
              audit::ChainHash(running, CanonicalEncoding(row->row));
          if (row->prev_hash != running || computed != row->hash) {
            broken = Broken(result, seq,
                            absl::StrCat("record ", seq,
                                         " does not follow the chain (its "
                                         "content or hash was altered)"));
            return false;
          }
          ++result.records_checked;
          if (result.first_seq == 0) result.first_seq = seq;
          result.last_seq = seq;
          running = computed;
          ++expected;
          return true;
        });
    if (!scanned.ok()) return scanned;
  }
  if (broken.has_value()) return *std::move(broken);
  {
    absl::StatusOr<std::string> cut = CutFromTheEnd(connection, expected);
    if (!cut.ok()) return cut.status();
    if (!cut->empty()) return Broken(result, expected, *cut);
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  result.message =
      absl::StrCat("tail verified from the checkpoint signed at record ",
                   last.seq, ": ", result.records_checked, " later records");
  return result;
}

}  // namespace steward::audit
