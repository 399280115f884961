// See pg_verify.h.
#include "server/audit/postgresql/pg_verify.h"

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/audit/postgresql/pg_rows.h"
#include "server/audit/record.h"
#include "server/audit/run_marker.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;
using store::postgresql::Transaction;

// Rows per page of the keyset scan: bounds memory whatever a chain holds.
constexpr int kPageRows = 5000;

const std::string& ScanSqlText() {
  static const std::string* sql = new std::string(absl::StrCat(
      "SELECT ", internal::kPgRowColumns,
      " FROM audit_records WHERE chain = $1 AND seq >= $2 ORDER BY seq "
      "LIMIT $3"));
  return *sql;
}

using internal::PgHash;
using internal::PgStoredRow;

void Break(VerifyResult& result, int64_t seq, std::string message) {
  if (!result.ok) return;  // the first break is the one reported
  result.ok = false;
  result.first_bad_seq = seq;
  result.message = std::move(message);
}

// Where a verification starts: after record `seq`, whose hash is `hash`.
struct ChainStart {
  int64_t seq = 0;
  Hash hash = kZeroHash;
};

// Verifies `chain` up to its head. From `from` when given (the signed-tail
// check), else from the chain's newest retention anchor or its start.
absl::StatusOr<VerifyResult> VerifyOneChain(
    Connection& c, const std::string& chain, int64_t head_seq,
    const Hash& head_hash, const std::optional<ChainStart>& from = {}) {
  VerifyResult result;
  // Where the retained chain starts.
  int64_t start_seq = 0;
  Hash prev = kZeroHash;
  if (from.has_value()) {
    start_seq = from->seq;
    prev = from->hash;
  } else {
    absl::StatusOr<Result> anchor = c.Exec(
        "audit verify anchor",
        "SELECT seq, hash FROM audit_retention_checkpoints WHERE chain = $1 "
        "ORDER BY seq DESC LIMIT 1",
        Params().Text(chain));
    if (!anchor.ok()) return anchor.status();
    if (anchor->rows() == 1) {
      start_seq = anchor->Int(0, 0);
      std::optional<Hash> h = PgHash(anchor->Bytes(0, 1));
      if (!h.has_value()) {
        Break(result, start_seq, "the retention anchor's hash is not 32 bytes");
        return result;
      }
      prev = *h;
    }
  }
  // Signed checkpoints by seq, and the chain's hash at each once scanned.
  std::map<int64_t, CheckpointCheck> checks;
  absl::StatusOr<Result> signed_rows =
      c.Exec("audit verify signed checkpoints",
             "SELECT seq, head, time, key_id, signature FROM "
             "audit_signed_checkpoints WHERE chain = $1 ORDER BY seq",
             Params().Text(chain));
  if (!signed_rows.ok()) return signed_rows.status();
  for (int i = 0; i < signed_rows->rows(); ++i) {
    CheckpointCheck check;
    check.checkpoint.seq = signed_rows->Int(i, 0);
    check.checkpoint.head =
        PgHash(signed_rows->Bytes(i, 1)).value_or(kZeroHash);
    check.checkpoint.time_micros = signed_rows->Int(i, 2);
    check.checkpoint.key_id = std::string(signed_rows->Text(i, 3));
    check.checkpoint.signature = signed_rows->Bytes(i, 4);
    const int64_t seq = check.checkpoint.seq;
    if (seq < start_seq) {
      check.state = CheckpointState::kPurged;
    } else if (seq == start_seq) {
      check.state = check.checkpoint.head == prev ? CheckpointState::kMatches
                                                  : CheckpointState::kMismatch;
    }
    checks.emplace(seq, std::move(check));
  }
  result.first_seq = start_seq + 1;
  int64_t expected = start_seq + 1;
  while (result.ok) {
    absl::StatusOr<Result> page =
        c.Exec("audit verify scan", ScanSqlText().c_str(),
               Params().Text(chain).Int(expected).Int(kPageRows));
    if (!page.ok()) return page.status();
    for (int i = 0; i < page->rows() && result.ok; ++i) {
      internal::StoredRow row = PgStoredRow(*page, i);
      const int64_t seq = row.seq;
      if (seq != expected) {
        Break(result, expected,
              absl::StrCat("chain ", chain, ": records ", expected, "..",
                           seq - 1, " are missing"));
        break;
      }
      const std::optional<Hash> stored_prev = PgHash(page->Bytes(i, 23));
      const std::optional<Hash> stored_hash = PgHash(page->Bytes(i, 24));
      if (!stored_prev.has_value() || *stored_prev != prev) {
        Break(result, seq,
              absl::StrCat("chain ", chain, ": record ", seq,
                           " does not link to its predecessor (prev_hash)"));
        break;
      }
      const Hash computed = ChainHash(prev, internal::CanonicalEncoding(row));
      if (!stored_hash.has_value() || *stored_hash != computed) {
        Break(result, seq,
              absl::StrCat("chain ", chain, ": record ", seq,
                           " does not match its hash: it was changed"));
        break;
      }
      if (auto it = checks.find(seq); it != checks.end()) {
        it->second.state = it->second.checkpoint.head == computed
                               ? CheckpointState::kMatches
                               : CheckpointState::kMismatch;
      }
      // As on SQLite (verify.cc): an async run of this replica that
      // stopped uncleanly may have answered decisions it never wrote.
      if (row.kind == "system" && row.action == kUncleanStopAction &&
          UncleanStopMayHaveLostRecords(row.details.value_or(""))) {
        result.possible_gaps.push_back(seq);
      }
      prev = computed;
      result.last_seq = seq;
      ++result.records_checked;
      ++expected;
    }
    if (page->rows() < kPageRows) break;
  }
  if (result.ok && (expected - 1 != head_seq || prev != head_hash)) {
    Break(result, expected,
          expected - 1 < head_seq
              ? absl::StrCat("chain ", chain, ": ends at record ", expected - 1,
                             " but its head is record ", head_seq,
                             ": records were removed")
              : absl::StrCat("chain ", chain,
                             ": does not end at the head its writer "
                             "recorded (record ",
                             head_seq, ")"));
  }
  for (auto& [seq, check] : checks) {
    if (result.ok && seq > expected - 1) {
      check.state = CheckpointState::kBeyondTrail;
      Break(result, expected,
            absl::StrCat("chain ", chain, ": ends at record ", expected - 1,
                         " but a signed checkpoint covers record ", seq,
                         ": the chain was cut"));
    }
    if (result.ok && check.state == CheckpointState::kMismatch) {
      Break(result, seq,
            absl::StrCat("chain ", chain, ": the signed checkpoint at record ",
                         seq,
                         " does not match the chain: history was "
                         "rewritten"));
    }
    result.checkpoints.push_back(std::move(check));
  }
  if (result.ok) {
    result.message = absl::StrCat(
        "chain ", chain, " verified: ", result.records_checked, " records (",
        result.first_seq, "..", result.last_seq, ")");
    if (!result.possible_gaps.empty()) {
      absl::StrAppend(&result.message, "; ", result.possible_gaps.size(),
                      " unclean stop(s) of an async run: answered decisions "
                      "may be missing before record(s) ",
                      absl::StrJoin(result.possible_gaps, ", "));
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<PgVerifyResult> VerifyPgChains(Connection& connection) {
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(connection, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Result> chains = connection.Exec(
      "audit verify chains",
      "SELECT chain, last_seq, last_hash FROM audit_chains ORDER BY chain");
  if (!chains.ok()) return chains.status();
  PgVerifyResult out;
  int64_t records = 0;
  for (int i = 0; i < chains->rows(); ++i) {
    ChainVerifyResult chain;
    chain.chain = std::string(chains->Text(i, 0));
    const std::optional<Hash> head = PgHash(chains->Bytes(i, 2));
    if (!head.has_value()) {
      chain.result.ok = false;
      chain.result.message = absl::StrCat("chain ", chain.chain,
                                          ": its head hash is not 32 bytes");
    } else {
      absl::StatusOr<VerifyResult> one =
          VerifyOneChain(connection, chain.chain, chains->Int(i, 1), *head);
      if (!one.ok()) return one.status();
      chain.result = *std::move(one);
    }
    records += chain.result.records_checked;
    if (!chain.result.ok && out.ok) {
      out.ok = false;
      out.message = chain.result.message;
    }
    out.chains.push_back(std::move(chain));
  }
  // Rows of a chain without a head row were not written by a writer.
  absl::StatusOr<Result> orphans = connection.Exec(
      "audit verify orphans",
      // A loose index scan over the primary key's leading column: one
      // probe per distinct chain and partition, not a scan of the records.
      "WITH RECURSIVE chains (chain) AS ("
      "  SELECT min(chain) FROM audit_records"
      "  UNION ALL"
      "  SELECT (SELECT min(r.chain) FROM audit_records r"
      "          WHERE r.chain > chains.chain)"
      "  FROM chains WHERE chains.chain IS NOT NULL) "
      "SELECT chain FROM chains WHERE chain IS NOT NULL AND NOT EXISTS "
      "(SELECT 1 FROM audit_chains c WHERE c.chain = chains.chain) LIMIT 1");
  if (!orphans.ok()) return orphans.status();
  if (orphans->rows() > 0 && out.ok) {
    out.ok = false;
    out.message = absl::StrCat("records of chain ", orphans->Text(0, 0),
                               ", which has no head: not written by stewardd");
  }
  if (out.ok) {
    out.message = absl::StrCat(out.chains.size(), " chains verified: ", records,
                               " records");
  }
  return out;
}

absl::StatusOr<VerifyResult> VerifyPgChainTail(const std::string& conninfo,
                                               const std::string& chain,
                                               const CheckpointPublicKey& key) {
  absl::StatusOr<std::unique_ptr<Connection>> opened =
      Connection::Open(conninfo, internal::ReaderSessionOptions());
  if (!opened.ok()) return opened.status();
  Connection& c = **opened;
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(c, Transaction::Mode::kReadSnapshot);
  if (!txn.ok()) return txn.status();
  VerifyResult result;
  absl::StatusOr<Result> head =
      c.Exec("audit tail head",
             "SELECT last_seq, last_hash FROM audit_chains WHERE chain = $1",
             Params().Text(chain));
  if (!head.ok()) return head.status();
  absl::StatusOr<Result> newest = c.Exec(
      "audit tail checkpoint",
      "SELECT seq, head, time, key_id, signature FROM "
      "audit_signed_checkpoints WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
      Params().Text(chain));
  if (!newest.ok()) return newest.status();
  if (head->rows() == 0 || newest->rows() == 0) {
    result.message = absl::StrCat(
        "chain ", chain,
        head->rows() == 0 ? " is new" : " has no signed checkpoint yet");
    return result;
  }
  const std::optional<Hash> head_hash = PgHash(head->Bytes(0, 1));
  SignedCheckpoint checkpoint;
  checkpoint.seq = newest->Int(0, 0);
  checkpoint.head = PgHash(newest->Bytes(0, 1)).value_or(kZeroHash);
  checkpoint.time_micros = newest->Int(0, 2);
  checkpoint.key_id = std::string(newest->Text(0, 3));
  checkpoint.signature = newest->Bytes(0, 4);
  if (!head_hash.has_value()) {
    Break(result, checkpoint.seq,
          absl::StrCat("chain ", chain, ": its head hash is not 32 bytes"));
    return result;
  }
  if (!key.Verify(checkpoint)) {
    Break(
        result, checkpoint.seq,
        absl::StrCat("chain ", chain, ": its newest signed checkpoint (record ",
                     checkpoint.seq, ", key ", checkpoint.key_id,
                     ") is not validly signed by the signing key (key ",
                     key.key_id(), "): forged, or signed by another key"));
    return result;
  }
  // Start just before the checkpoint's record, from the hash that record
  // names as its predecessor: the scan then recomputes that record's hash
  // and compares it with the signed head. A retention anchor at or past
  // the checkpoint leaves nothing signed to check against.
  std::optional<ChainStart> from;
  absl::StatusOr<Result> anchor = c.Exec(
      "audit tail anchor",
      "SELECT seq, hash FROM audit_retention_checkpoints WHERE chain = $1 "
      "ORDER BY seq DESC LIMIT 1",
      Params().Text(chain));
  if (!anchor.ok()) return anchor.status();
  if (checkpoint.seq == 0) {
    from = ChainStart{};
  } else if (anchor->rows() == 0 || anchor->Int(0, 0) < checkpoint.seq) {
    absl::StatusOr<Result> signed_record = c.Exec(
        "audit tail record",
        "SELECT prev_hash FROM audit_records WHERE chain = $1 AND seq = $2",
        Params().Text(chain).Int(checkpoint.seq));
    if (!signed_record.ok()) return signed_record.status();
    if (signed_record->rows() == 0) {
      Break(result, checkpoint.seq,
            absl::StrCat("chain ", chain, ": record ", checkpoint.seq,
                         ", which the newest signed checkpoint covers, is "
                         "missing: the chain was cut"));
      return result;
    }
    from = ChainStart{checkpoint.seq - 1,
                      PgHash(signed_record->Bytes(0, 0)).value_or(kZeroHash)};
  }
  absl::StatusOr<VerifyResult> tail =
      VerifyOneChain(c, chain, head->Int(0, 0), *head_hash, from);
  if (!tail.ok()) return tail.status();
  if (tail->ok) {
    tail->message = absl::StrCat("chain ", chain,
                                 " verified from its newest signed "
                                 "checkpoint (record ",
                                 checkpoint.seq, ") to its head (record ",
                                 tail->last_seq, ")");
  }
  return tail;
}

absl::StatusOr<PgVerifyResult> VerifyPgChains(const std::string& conninfo) {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, internal::ReaderSessionOptions());
  if (!connection.ok()) return connection.status();
  return VerifyPgChains(**connection);
}

}  // namespace steward::audit
