// See pg_retention.h.
#include "server/audit/postgresql/pg_retention.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/audit/retention_record.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;
using store::postgresql::Transaction;

// One purge at a time across replicas; held until each transaction ends.
constexpr char kTryLockSql[] =
    "SELECT pg_try_advisory_xact_lock("
    "hashtextextended('steward.audit.retention', 0))";

// The monthly partitions wholly before $1, oldest first. Bounds are read
// back from the catalog, so a partition created by hand with other bounds
// is judged by its own; MINVALUE/MAXVALUE bounds match nothing and are
// never dropped.
constexpr char kExpiredPartitionsSql[] =
    "SELECT oid, name, b[1]::bigint, b[2]::bigint FROM ("
    " SELECT c.oid::bigint AS oid, c.oid::regclass::text AS name,"
    "  regexp_match(pg_get_expr(c.relpartbound, c.oid),"
    "   '^FOR VALUES FROM \\(''?(-?[0-9]+)''?\\) TO \\(''?(-?[0-9]+)''?\\)$')"
    "   AS b"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'audit_records'::regclass) p"
    " WHERE b IS NOT NULL AND b[2]::bigint <= $1 ORDER BY b[1]::bigint";

// Every chain with the seq its newest retention checkpoint covers.
constexpr char kChainsSql[] =
    "SELECT c.chain, COALESCE((SELECT max(r.seq) FROM "
    "audit_retention_checkpoints r WHERE r.chain = c.chain), 0) "
    "FROM audit_chains c ORDER BY c.chain";

constexpr char kAnchorSql[] =
    "SELECT COALESCE(max(seq), 0) FROM audit_retention_checkpoints "
    "WHERE chain = $1";

// The first record of chain $1 after seq $2 that stays: in a partition
// starting at or after $3 (the kept ones; the dropped ones are pruned by
// the time bound), or in DEFAULT at or after the cutoff $4.
constexpr char kFirstKeptSql[] =
    "SELECT min(seq) FROM audit_records WHERE chain = $1 AND seq > $2 "
    "AND time >= $3 "
    "AND (tableoid <> 'audit_records_default'::regclass OR time >= $4)";

constexpr char kLastSeqSql[] =
    "SELECT max(seq) FROM audit_records WHERE chain = $1";

// The newest seq of chain $1 in one partition's range [$2, $3).
constexpr char kMaxInRangeSql[] =
    "SELECT max(seq) FROM audit_records WHERE chain = $1 AND time >= $2 "
    "AND time < $3";

constexpr char kRecordSql[] =
    "SELECT hash, time FROM audit_records WHERE chain = $1 AND seq = $2";

constexpr char kDeleteDefaultSql[] =
    "DELETE FROM audit_records_default WHERE chain = $1 AND seq > $2 "
    "AND seq <= $3";

constexpr char kDefaultBatchSql[] =
    "SELECT seq, hash, time FROM audit_records_default WHERE chain = $1 "
    "AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4";

constexpr char kCheckpointSql[] =
    "INSERT INTO audit_retention_checkpoints "
    "(chain, seq, hash, time, purged_count, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)";

constexpr char kLockPartitionSql[] =
    "SELECT steward_audit_lock_partition($1::bigint::oid::regclass)";
constexpr char kDropPartitionSql[] =
    "SELECT steward_audit_drop_partition($1::bigint::oid::regclass)";

struct Partition {
  int64_t oid = 0;
  std::string name;
  int64_t lo = 0;
  int64_t hi = 0;
};

struct Chain {
  std::string name;
  int64_t anchor = 0;      // seq its newest checkpoint covers
  int64_t prefix_end = 0;  // the last seq that may go
  int64_t dropped_to = 0;  // the last seq the partition drops remove
};

absl::StatusOr<std::optional<int64_t>> OptionalInt(Connection& c,
                                                   absl::string_view context,
                                                   const char* sql,
                                                   const Params& params) {
  absl::StatusOr<Result> r = c.Exec(context, sql, params);
  if (!r.ok()) return r.status();
  if (r->rows() == 0 || r->IsNull(0, 0)) return std::optional<int64_t>();
  return std::optional<int64_t>(r->Int(0, 0));
}

// Advances `chain`'s checkpoint to record `seq` (read in this transaction)
// for `purged` records removed with it.
absl::Status WriteCheckpoint(Connection& c, const std::string& chain,
                             int64_t seq, int64_t purged, absl::Time now) {
  absl::StatusOr<Result> record =
      c.Exec("audit retention checkpoint record", kRecordSql,
             Params().Text(chain).Int(seq));
  if (!record.ok()) return record.status();
  if (record->rows() != 1) {
    return absl::DataLossError(
        absl::StrCat("audit retention: chain ", chain, " has no record ", seq));
  }
  const std::string hash = record->Bytes(0, 0);
  return c
      .Exec("audit retention checkpoint", kCheckpointSql,
            Params()
                .Text(chain)
                .Int(seq)
                .Bytes(hash)
                .Int(record->Int(0, 1))
                .Int(purged)
                .Time(now))
      .status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgRetentionPurger>> PgRetentionPurger::Open(
    const std::string& conninfo, const store::Clock& clock, TrailWriter& writer,
    const PgRetentionOptions& options) {
  if (absl::Status s = internal::CheckRetentionLimits(options); !s.ok()) {
    return s;
  }
  store::postgresql::ConnectionOptions copts;
  copts.lock_timeout = options.lock_timeout;
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, copts);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<PgRetentionPurger>(
      new PgRetentionPurger(*std::move(connection), clock, writer, options));
}

PgRetentionPurger::PgRetentionPurger(std::unique_ptr<Connection> connection,
                                     const store::Clock& clock,
                                     TrailWriter& writer,
                                     const PgRetentionOptions& options)
    : connection_(std::move(connection)),
      clock_(clock),
      writer_(writer),
      options_(options) {}

PgRetentionPurger::~PgRetentionPurger() = default;

absl::StatusOr<PurgeResult> PgRetentionPurger::PurgeExpired() {
  Connection& c = *connection_;
  const absl::Time now = clock_.Now();
  PurgeResult result;
  result.cutoff = now - options_.retention;
  const int64_t cutoff_us = absl::ToUnixMicros(result.cutoff);
  std::vector<Partition> dropped;
  std::vector<Chain> chains;
  absl::Status failure;

  // Phase 1: the expired partitions, in one short transaction.
  [&] {
    absl::StatusOr<Transaction> txn =
        Transaction::Begin(c, Transaction::Mode::kWrite);
    if (!txn.ok()) {
      failure = txn.status();
      return;
    }
    absl::StatusOr<Result> locked = c.Exec("audit retention lock", kTryLockSql);
    if (!locked.ok()) {
      failure = locked.status();
      return;
    }
    if (!locked->Bool(0, 0)) {
      result.skipped = true;
      return;
    }
    absl::StatusOr<Result> parts =
        c.Exec("audit retention partitions", kExpiredPartitionsSql,
               Params().Int(cutoff_us));
    if (!parts.ok()) {
      failure = parts.status();
      return;
    }
    std::vector<Partition> expired;
    for (int i = 0; i < parts->rows(); ++i) {
      expired.push_back(Partition{parts->Int(i, 0),
                                  std::string(parts->Text(i, 1)),
                                  parts->Int(i, 2), parts->Int(i, 3)});
      // No insert lands in it while we decide (a writer whose clock is far
      // behind); readers go on.
      if (absl::Status s =
              c.Exec("audit retention lock partition", kLockPartitionSql,
                     Params().Int(expired.back().oid))
                  .status();
          !s.ok()) {
        failure = s;
        return;
      }
    }
    absl::StatusOr<Result> heads = c.Exec("audit retention chains", kChainsSql);
    if (!heads.ok()) {
      failure = heads.status();
      return;
    }
    for (int i = 0; i < heads->rows(); ++i) {
      chains.push_back(Chain{std::string(heads->Text(i, 0)), heads->Int(i, 1)});
    }
    // Shrink the set of partitions to drop until every record in it is in
    // its chain's purgeable prefix.
    while (true) {
      const int64_t kept_from = expired.empty() ? 0 : expired.back().hi;
      for (Chain& chain : chains) {
        absl::StatusOr<std::optional<int64_t>> first_kept =
            OptionalInt(c, "audit retention first kept", kFirstKeptSql,
                        Params()
                            .Text(chain.name)
                            .Int(chain.anchor)
                            .Int(kept_from)
                            .Int(cutoff_us));
        if (!first_kept.ok()) {
          failure = first_kept.status();
          return;
        }
        if (first_kept->has_value()) {
          chain.prefix_end = **first_kept - 1;
        } else {
          absl::StatusOr<std::optional<int64_t>> last =
              OptionalInt(c, "audit retention last seq", kLastSeqSql,
                          Params().Text(chain.name));
          if (!last.ok()) {
            failure = last.status();
            return;
          }
          chain.prefix_end = last->value_or(chain.anchor);
        }
        chain.dropped_to = chain.anchor;
      }
      size_t good = 0;
      for (; good < expired.size(); ++good) {
        bool fits = true;
        for (Chain& chain : chains) {
          absl::StatusOr<std::optional<int64_t>> max_seq =
              OptionalInt(c, "audit retention partition seqs", kMaxInRangeSql,
                          Params()
                              .Text(chain.name)
                              .Int(expired[good].lo)
                              .Int(expired[good].hi));
          if (!max_seq.ok()) {
            failure = max_seq.status();
            return;
          }
          if (!max_seq->has_value()) continue;
          if (**max_seq > chain.prefix_end) {
            fits = false;
            break;
          }
          chain.dropped_to = std::max(chain.dropped_to, **max_seq);
        }
        if (!fits) break;
      }
      if (good == expired.size()) break;
      expired.resize(good);
    }
    if (expired.empty()) {
      failure = txn->Commit();
      return;
    }
    // Checkpoints first, while the records they name still exist; then the
    // DEFAULT rows of the same prefixes; then the drops, last, so the
    // ACCESS EXCLUSIVE lock DETACH takes is held only until COMMIT.
    int64_t purged = 0;
    for (Chain& chain : chains) {
      if (chain.dropped_to <= chain.anchor) continue;
      const int64_t n = chain.dropped_to - chain.anchor;
      if (absl::Status s =
              WriteCheckpoint(c, chain.name, chain.dropped_to, n, now);
          !s.ok()) {
        failure = s;
        return;
      }
      if (absl::Status s = c.Exec("audit retention delete", kDeleteDefaultSql,
                                  Params()
                                      .Text(chain.name)
                                      .Int(chain.anchor)
                                      .Int(chain.dropped_to))
                               .status();
          !s.ok()) {
        failure = s;
        return;
      }
      purged += n;
    }
    for (const Partition& part : expired) {
      if (absl::Status s = c.Exec("audit retention drop partition",
                                  kDropPartitionSql, Params().Int(part.oid))
                               .status();
          !s.ok()) {
        failure = s;
        return;
      }
    }
    if (absl::Status s = txn->Commit(); !s.ok()) {
      failure = s;
      return;
    }
    for (Chain& chain : chains) {
      chain.anchor = std::max(chain.anchor, chain.dropped_to);
    }
    dropped = std::move(expired);
    result.purged += purged;
    result.partitions_dropped = static_cast<int64_t>(dropped.size());
    ++result.batches;
  }();
  if (result.skipped) return result;

  // Phase 2: what remains of each prefix in DEFAULT, oldest first, in
  // bounded transactions.
  for (Chain& chain : chains) {
    // Nothing of this chain's prefix is left (the usual case): no
    // transaction.
    if (chain.prefix_end <= chain.anchor) continue;
    while (failure.ok()) {
      absl::StatusOr<Transaction> txn =
          Transaction::Begin(c, Transaction::Mode::kWrite);
      if (!txn.ok()) {
        failure = txn.status();
        break;
      }
      absl::StatusOr<Result> locked =
          c.Exec("audit retention lock", kTryLockSql);
      if (!locked.ok()) {
        failure = locked.status();
        break;
      }
      if (!locked->Bool(0, 0)) break;  // another replica took over
      // Another replica may have advanced the checkpoint meanwhile.
      absl::StatusOr<std::optional<int64_t>> anchor = OptionalInt(
          c, "audit retention anchor", kAnchorSql, Params().Text(chain.name));
      if (!anchor.ok()) {
        failure = anchor.status();
        break;
      }
      chain.anchor = anchor->value_or(0);
      if (chain.anchor >= chain.prefix_end) break;
      absl::StatusOr<Result> rows =
          c.Exec("audit retention batch", kDefaultBatchSql,
                 Params()
                     .Text(chain.name)
                     .Int(chain.anchor)
                     .Int(chain.prefix_end)
                     .Int(options_.batch_rows));
      if (!rows.ok()) {
        failure = rows.status();
        break;
      }
      if (rows->rows() == 0) break;
      // The batch continues the chain from its checkpoint without a gap,
      // or the checkpoint would skip records that are still there.
      const int64_t last = rows->Int(rows->rows() - 1, 0);
      if (rows->Int(0, 0) != chain.anchor + 1 ||
          last - chain.anchor != rows->rows()) {
        failure = absl::DataLossError(
            absl::StrCat("audit retention: chain ", chain.name,
                         " is not contiguous after ", "record ", chain.anchor,
                         " in the DEFAULT partition; run "
                         "`audit verify`"));
        break;
      }
      if (absl::Status s =
              WriteCheckpoint(c, chain.name, last, rows->rows(), now);
          !s.ok()) {
        failure = s;
        break;
      }
      absl::StatusOr<Result> deleted =
          c.Exec("audit retention delete", kDeleteDefaultSql,
                 Params().Text(chain.name).Int(chain.anchor).Int(last));
      if (!deleted.ok()) {
        failure = deleted.status();
        break;
      }
      if (absl::Status s = txn->Commit(); !s.ok()) {
        failure = s;
        break;
      }
      chain.anchor = last;
      result.purged += deleted->affected();
      ++result.batches;
    }
  }

  nlohmann::json details = nlohmann::json::object();
  nlohmann::json parts = nlohmann::json::array();
  for (const Partition& part : dropped) parts.push_back(part.name);
  details["partitions_dropped"] = parts;
  nlohmann::json checkpoints = nlohmann::json::object();
  for (const Chain& chain : chains) {
    if (chain.anchor > 0) checkpoints[chain.name] = chain.anchor;
  }
  details["checkpoints"] = checkpoints;
  return internal::FinishRetentionRun(writer_, now, options_.retention, failure,
                                      details, std::move(result));
}

}  // namespace steward::audit
