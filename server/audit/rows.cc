// See rows.h.
#include "server/audit/rows.h"

#include <algorithm>
#include <array>
#include <string>

#include "absl/strings/str_cat.h"

namespace steward::audit::internal {
namespace {

using store::sqlite::Connection;
using store::sqlite::Statement;

std::optional<std::string> OptionalText(const Statement& stmt, int column) {
  if (stmt.IsNull(column)) return std::nullopt;
  return std::string(stmt.Text(column));
}

absl::Span<const uint8_t> HashSpan(const Hash& h) {
  return absl::Span<const uint8_t>(h.data(), h.size());
}

}  // namespace

absl::StatusOr<Hash> ToHash(absl::Span<const uint8_t> blob) {
  if (blob.size() != 32) {
    return absl::DataLossError("audit hash is not 32 bytes");
  }
  Hash h;
  std::copy(blob.begin(), blob.end(), h.begin());
  return h;
}

absl::StatusOr<ChainedRow> ReadRow(const Statement& stmt) {
  ChainedRow out;
  StoredRow& r = out.row;
  r.seq = stmt.Int(0);
  r.time_micros = stmt.Int(1);
  r.kind = std::string(stmt.Text(2));
  r.decision_id = OptionalText(stmt, 3);
  r.caller = std::string(stmt.Text(4));
  r.principal = std::string(stmt.Text(5));
  r.action = std::string(stmt.Text(6));
  r.resource_kind = std::string(stmt.Text(7));
  r.resource_id = std::string(stmt.Text(8));
  r.resource_scope = std::string(stmt.Text(9));
  r.effect = std::string(stmt.Text(10));
  r.reason = std::string(stmt.Text(11));
  r.rule_id = std::string(stmt.Text(12));
  r.policy_version = stmt.OptionalInt(13);
  r.store_revision = stmt.OptionalInt(14);
  r.request_id = std::string(stmt.Text(15));
  r.fields_json = std::string(stmt.Text(16));
  r.purpose = std::string(stmt.Text(17));
  r.justification = std::string(stmt.Text(18));
  if (!stmt.IsNull(19)) {
    absl::Span<const uint8_t> blob = stmt.Blob(19);
    r.attributes = std::string(blob.begin(), blob.end());
  }
  r.key_id = OptionalText(stmt, 20);
  r.details = OptionalText(stmt, 21);
  r.totp_verified = stmt.OptionalInt(22);
  absl::StatusOr<Hash> prev = ToHash(stmt.Blob(23));
  absl::StatusOr<Hash> hash = ToHash(stmt.Blob(24));
  if (!prev.ok() || !hash.ok()) {
    return absl::DataLossError(
        absl::StrCat("audit record ", r.seq, " has a malformed hash column"));
  }
  out.prev_hash = *prev;
  out.hash = *hash;
  return out;
}

// Binds one row's 25 values at parameters base+1 .. base+25, without
// copies: the caller keeps `r` and the hashes alive until the statement is
// destroyed.
void BindRow(Statement& stmt_ref, int base, const StoredRow& r,
             const Hash& prev_hash, const Hash& hash) {
  Statement* stmt = &stmt_ref;
  stmt->BindInt(base + 1, r.seq);
  stmt->BindInt(base + 2, r.time_micros);
  stmt->BindTextUnowned(base + 3, r.kind);
  if (r.decision_id.has_value()) {
    stmt->BindTextUnowned(base + 4, *r.decision_id);
  } else {
    stmt->BindNull(base + 4);
  }
  stmt->BindTextUnowned(base + 5, r.caller);
  stmt->BindTextUnowned(base + 6, r.principal);
  stmt->BindTextUnowned(base + 7, r.action);
  stmt->BindTextUnowned(base + 8, r.resource_kind);
  stmt->BindTextUnowned(base + 9, r.resource_id);
  stmt->BindTextUnowned(base + 10, r.resource_scope);
  stmt->BindTextUnowned(base + 11, r.effect);
  stmt->BindTextUnowned(base + 12, r.reason);
  stmt->BindTextUnowned(base + 13, r.rule_id);
  stmt->BindOptionalInt(base + 14, r.policy_version);
  stmt->BindOptionalInt(base + 15, r.store_revision);
  stmt->BindTextUnowned(base + 16, r.request_id);
  stmt->BindTextUnowned(base + 17, r.fields_json);
  stmt->BindTextUnowned(base + 18, r.purpose);
  stmt->BindTextUnowned(base + 19, r.justification);
  if (r.attributes.has_value()) {
    stmt->BindBlobUnowned(
        base + 20, absl::Span<const uint8_t>(
                       reinterpret_cast<const uint8_t*>(r.attributes->data()),
                       r.attributes->size()));
  } else {
    stmt->BindNull(base + 20);
  }
  if (r.key_id.has_value()) {
    stmt->BindTextUnowned(base + 21, *r.key_id);
  } else {
    stmt->BindNull(base + 21);
  }
  if (r.details.has_value()) {
    stmt->BindTextUnowned(base + 22, *r.details);
  } else {
    stmt->BindNull(base + 22);
  }
  stmt->BindOptionalInt(base + 23, r.totp_verified);
  stmt->BindBlobUnowned(base + 24, HashSpan(prev_hash));
  stmt->BindBlobUnowned(base + 25, HashSpan(hash));
}

absl::Status InsertRow(Connection& connection, const StoredRow& r,
                       const Hash& prev_hash, const Hash& hash) {
  const RowToInsert row{&r, prev_hash, hash};
  return InsertRows(connection, absl::MakeConstSpan(&row, 1));
}

namespace {

// The INSERT text for n rows, n in [1, kRowsPerInsert]: built once per
// process, so a batch neither rebuilds a 3 KiB string per chunk nor
// re-hashes a fresh one for the statement cache lookup more than needed.
const std::string& InsertSql(size_t n) {
  static const std::array<std::string, kRowsPerInsert + 1>* const kSql = [] {
    auto* sql = new std::array<std::string, kRowsPerInsert + 1>();
    for (size_t rows = 1; rows <= kRowsPerInsert; ++rows) {
      std::string& text = (*sql)[rows];
      text =
          "INSERT INTO audit_log (seq, time, kind, decision_id, caller, "
          "principal, action, resource_kind, resource_id, resource_scope, "
          "effect, reason, rule_id, policy_version, store_revision, "
          "request_id, fields, purpose, justification, attributes, key_id, "
          "details, totp_verified, prev_hash, hash) VALUES ";
      for (size_t i = 0; i < rows; ++i) {
        absl::StrAppend(&text, i == 0 ? "" : ", ",
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?)");
      }
    }
    return sql;
  }();
  return (*kSql)[n];
}

}  // namespace

absl::Status InsertRows(Connection& connection,
                        absl::Span<const RowToInsert> rows) {
  for (size_t begin = 0; begin < rows.size(); begin += kRowsPerInsert) {
    const size_t n = std::min(kRowsPerInsert, rows.size() - begin);
    // One statement per chunk: AUTOINCREMENT's sqlite_sequence update and
    // the statement setup are paid once per chunk instead of per row. At
    // most kRowsPerInsert distinct SQL texts end up in the cache.
    absl::StatusOr<Statement> stmt = connection.Prepare(InsertSql(n));
    if (!stmt.ok()) return stmt.status();
    for (size_t i = 0; i < n; ++i) {
      const RowToInsert& row = rows[begin + i];
      BindRow(*stmt, static_cast<int>(i) * 25, *row.row, row.prev_hash,
              row.hash);
    }
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<ChainTail> LoadChainTail(Connection& connection) {
  ChainTail tail;
  {
    absl::StatusOr<Statement> stmt = connection.Prepare(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      absl::StatusOr<Hash> h = ToHash(stmt->Blob(1));
      if (!h.ok()) return h.status();
      tail.last_seq = stmt->Int(0);
      tail.last_hash = *h;
    }
  }
  if (tail.last_seq == 0) {
    absl::StatusOr<Statement> stmt = connection.Prepare(
        "SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      absl::StatusOr<Hash> h = ToHash(stmt->Blob(1));
      if (!h.ok()) return h.status();
      tail.last_seq = stmt->Int(0);
      tail.last_hash = *h;
    }
  }
  int64_t high_water = tail.last_seq;
  {
    // sqlite_sequence exists once any AUTOINCREMENT table got a row.
    absl::StatusOr<Statement> stmt = connection.Prepare(
        "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'");
    if (stmt.ok()) {
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (*row) high_water = std::max(high_water, stmt->Int(0));
    }
  }
  tail.next_seq = high_water + 1;
  return tail;
}

}  // namespace steward::audit::internal
