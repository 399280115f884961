// See pg_import.h.
#include "server/audit/postgresql/pg_import.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "server/audit/postgresql/pg_insert.h"
#include "server/audit/rows.h"
#include "server/store/sqlite/statement.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;

// The most monthly partitions one copy creates (50 years); months beyond
// land in the DEFAULT partition, which is correct, only less prunable.
constexpr int64_t kMaxPartitionMonths = 600;

absl::string_view BlobText(absl::Span<const uint8_t> blob) {
  return absl::string_view(reinterpret_cast<const char*>(blob.data()),
                           blob.size());
}

// Creates the monthly partitions the copied records fall into, so they
// land where records written by a replica in those months would.
absl::Status EnsurePartitions(store::sqlite::Connection& source,
                              Connection& target) {
  absl::StatusOr<store::sqlite::Statement> stmt =
      source.Prepare("SELECT min(time), max(time) FROM audit_log");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row || stmt->IsNull(0)) return absl::OkStatus();
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth first =
      absl::ToCivilMonth(absl::FromUnixMicros(stmt->Int(0)), utc);
  const absl::CivilMonth last =
      absl::ToCivilMonth(absl::FromUnixMicros(stmt->Int(1)), utc);
  const int64_t months =
      std::min<int64_t>(last - first + 1, kMaxPartitionMonths);
  absl::StatusOr<Result> created = target.Exec(
      "audit partitions", "SELECT steward_audit_ensure_partitions($1, $2)",
      Params().Int(stmt->Int(0)).Int(months));
  return created.status();
}

absl::Status InsertBatch(Connection& target, const std::string& chain,
                         internal::PgInsertArrays& arrays) {
  if (arrays.rows() == 0) return absl::OkStatus();
  Params params;
  params.Text(chain);
  arrays.AppendTo(params);
  absl::StatusOr<Result> inserted =
      target.Exec("copy audit records", internal::kPgInsertSql, params);
  return inserted.status();
}

absl::StatusOr<int64_t> CopyRetentionCheckpoints(
    store::sqlite::Connection& source, Connection& target,
    const std::string& chain) {
  absl::StatusOr<store::sqlite::Statement> stmt = source.Prepare(
      "SELECT seq, hash, time, purged_count, created_at FROM "
      "audit_checkpoints ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  int64_t copied = 0;
  absl::Status s = store::sqlite::ForEachRow(
      *stmt, [&](const store::sqlite::Statement& row) -> absl::Status {
        absl::StatusOr<Result> inserted = target.Exec(
            "copy audit retention checkpoint",
            "INSERT INTO audit_retention_checkpoints (chain, seq, hash, time, "
            "purged_count, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            Params()
                .Text(chain)
                .Int(row.Int(0))
                .Bytes(BlobText(row.Blob(1)))
                .Int(row.Int(2))
                .Int(row.Int(3))
                .Int(row.Int(4)));
        if (!inserted.ok()) return inserted.status();
        ++copied;
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return copied;
}

absl::StatusOr<int64_t> CopySignedCheckpoints(store::sqlite::Connection& source,
                                              Connection& target,
                                              const std::string& chain) {
  absl::StatusOr<store::sqlite::Statement> stmt = source.Prepare(
      "SELECT seq, head, time, key_id, signature FROM "
      "audit_signed_checkpoints ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  int64_t copied = 0;
  absl::Status s = store::sqlite::ForEachRow(
      *stmt, [&](const store::sqlite::Statement& row) -> absl::Status {
        absl::StatusOr<Result> inserted = target.Exec(
            "copy audit signed checkpoint",
            "INSERT INTO audit_signed_checkpoints (chain, seq, head, time, "
            "key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)",
            Params()
                .Text(chain)
                .Int(row.Int(0))
                .Bytes(BlobText(row.Blob(1)))
                .Int(row.Int(2))
                .Text(row.Text(3))
                .Bytes(BlobText(row.Blob(4))));
        if (!inserted.ok()) return inserted.status();
        ++copied;
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return copied;
}

}  // namespace

absl::StatusOr<VerifyResult> VerifySqliteTrail(
    store::sqlite::Connection& source) {
  return internal::VerifyChain(source);
}

absl::StatusOr<std::vector<std::string>> DescribeTrailContents(
    Connection& target) {
  absl::StatusOr<Result> result = target.Exec(
      "count audit trail",
      "SELECT (SELECT count(*) FROM audit_chains), "
      "(SELECT COALESCE(string_agg(chain, ', ' ORDER BY chain), '') FROM "
      "(SELECT chain FROM audit_chains ORDER BY chain LIMIT 5) AS c), "
      "(SELECT count(*) FROM audit_records)");
  if (!result.ok()) return result.status();
  std::vector<std::string> held;
  const int64_t chains = result->Int(0, 0);
  if (chains > 0) {
    held.push_back(
        absl::StrCat(chains, chains == 1 ? " audit chain (" : " audit chains (",
                     result->Text(0, 1), chains > 5 ? ", ..." : "", ")"));
  }
  const int64_t records = result->Int(0, 2);
  if (records > 0) {
    held.push_back(absl::StrCat(
        records, records == 1 ? " audit record" : " audit records"));
  }
  return held;
}

absl::StatusOr<TrailImportResult> ImportSqliteTrail(
    store::sqlite::Connection& source, Connection& target,
    const TrailImportOptions& options) {
  TrailImportResult result;
  absl::StatusOr<std::optional<internal::CheckpointRow>> anchor =
      internal::NewestRetentionCheckpoint(source);
  if (!anchor.ok()) return anchor.status();
  int64_t expected_seq = 1;
  Hash prev = kZeroHash;
  if (anchor->has_value()) {
    absl::StatusOr<Hash> h = internal::ToHash((*anchor)->hash);
    if (!h.ok()) return h.status();
    prev = *h;
    expected_seq = (*anchor)->seq + 1;
  }
  absl::StatusOr<internal::ChainTail> tail = internal::LoadChainTail(source);
  if (!tail.ok()) return tail.status();
  int64_t total = 0;
  {
    absl::StatusOr<store::sqlite::Statement> stmt =
        source.Prepare("SELECT count(*) FROM audit_log");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    total = stmt->Int(0);
  }
  if (absl::Status s = EnsurePartitions(source, target); !s.ok()) return s;

  // The head first: the checkpoint tables refer to it. It is what the
  // source says its tail is; the scan below proves the records reach it.
  const int64_t now = absl::ToUnixMicros(options.now);
  absl::StatusOr<Result> chain_row = target.Exec(
      "create audit chain",
      "INSERT INTO audit_chains (chain, last_seq, last_hash, created_at, "
      "updated_at) VALUES ($1, $2, $3, $4, $4)",
      Params()
          .Text(options.chain)
          .Int(tail->last_seq)
          .Bytes(internal::HashBytes(tail->last_hash))
          .Int(now));
  if (!chain_row.ok()) return chain_row.status();

  absl::StatusOr<store::sqlite::Statement> stmt = source.Prepare(absl::StrCat(
      "SELECT ", internal::kRowColumns, " FROM audit_log ORDER BY seq"));
  if (!stmt.ok()) return stmt.status();
  internal::PgInsertArrays arrays;
  const size_t batch = std::max<size_t>(options.batch_records, 1);
  absl::Status scanned = store::sqlite::ForEachRow(
      *stmt, [&](const store::sqlite::Statement& row) -> absl::Status {
        absl::StatusOr<internal::ChainedRow> chained = internal::ReadRow(row);
        if (!chained.ok()) return chained.status();
        const int64_t seq = chained->row.seq;
        const Hash computed =
            ChainHash(prev, internal::CanonicalEncoding(chained->row));
        if (seq != expected_seq || chained->prev_hash != prev ||
            chained->hash != computed) {
          return absl::DataLossError(absl::StrCat(
              "source audit record ", seq, " does not continue the chain (",
              seq != expected_seq
                  ? absl::StrCat("expected record ", expected_seq)
                  : "its hash does not match",
              "): the trail changed after it was verified"));
        }
        if (absl::Status s = internal::CheckPgStorableText(chained->row);
            !s.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("audit record ", seq, ": ", s.message()));
        }
        arrays.Add(chained->row, prev, computed);
        if (result.first_seq == 0) result.first_seq = seq;
        prev = computed;
        ++expected_seq;
        ++result.records;
        if (arrays.rows() >= batch) {
          if (absl::Status s = InsertBatch(target, options.chain, arrays);
              !s.ok()) {
            return s;
          }
          if (options.progress) options.progress(result.records, total);
        }
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  if (absl::Status s = InsertBatch(target, options.chain, arrays); !s.ok()) {
    return s;
  }
  if (options.progress) options.progress(result.records, total);
  if (expected_seq - 1 != tail->last_seq || prev != tail->last_hash) {
    return absl::DataLossError(
        absl::StrCat("the source trail ends at record ", expected_seq - 1,
                     " but its tail is record ", tail->last_seq,
                     ": the trail changed after it was verified"));
  }
  result.last_seq = tail->last_seq;
  result.head = tail->last_hash;

  absl::StatusOr<int64_t> retention =
      CopyRetentionCheckpoints(source, target, options.chain);
  if (!retention.ok()) return retention.status();
  result.retention_checkpoints = *retention;
  absl::StatusOr<int64_t> signed_checkpoints =
      CopySignedCheckpoints(source, target, options.chain);
  if (!signed_checkpoints.ok()) return signed_checkpoints.status();
  result.signed_checkpoints = *signed_checkpoints;

  absl::StatusOr<Result> held = target.Exec(
      "count copied audit records",
      "SELECT count(*), COALESCE(min(seq), 0), COALESCE(max(seq), 0) FROM "
      "audit_records WHERE chain = $1",
      Params().Text(options.chain));
  if (!held.ok()) return held.status();
  const int64_t held_last =
      result.records == 0 ? result.last_seq : held->Int(0, 2);
  if (held->Int(0, 0) != result.records ||
      held->Int(0, 1) != result.first_seq || held_last != result.last_seq) {
    return absl::DataLossError(
        absl::StrCat("after the copy chain ", options.chain, " holds ",
                     held->Int(0, 0), " records (", held->Int(0, 1), "..",
                     held->Int(0, 2), ") but ", result.records, " (",
                     result.first_seq, "..", result.last_seq, ") were copied"));
  }
  return result;
}

}  // namespace steward::audit
