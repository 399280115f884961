// How audit records are inserted into PostgreSQL's audit_records: one
// INSERT of many rows, each column travelling as one array parameter.
//
// Internal to server/audit/postgresql: PgTrailWriter appends its batches
// with it and ImportSqliteTrail (pg_import.h) copies a SQLite trail with
// it, so both store a row's columns exactly as record.h hashes them.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_INSERT_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_INSERT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/audit/record.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit::internal {

// One INSERT per batch (or per max_rows_per_insert rows): the chain as $1
// and each other column as one array parameter ($2..$26, PgInsertArrays),
// unnested into rows. The statement text is constant whatever the batch
// size, so PostgreSQL parses and plans 26 parameters instead of 26 per row
// (a VALUES list of placeholders cost about 100 us a row at 137-row
// batches).
extern const char kPgInsertSql[];

// A hash as the bytes a bytea parameter takes.
absl::string_view HashBytes(const Hash& hash);

// One array literal in PostgreSQL's text input form of arrays: elements
// separated by commas inside braces; every text element double-quoted with
// `"` and `\` backslash-escaped, so any bytes round-trip exactly; NULL
// unquoted. Thread-compatible.
class PgArrayBuilder {
 public:
  void Text(absl::string_view value);
  void OptionalText(const std::optional<std::string>& value);
  void Int(int64_t value);
  void OptionalInt(const std::optional<int64_t>& value);
  // bytea's hex input form.
  void Bytes(absl::string_view value);
  void OptionalBytes(const std::optional<std::string>& value);
  void Null();
  // The literal; the builder is empty afterwards.
  std::string Finish();

 private:
  void Separator() { out_ += out_.empty() ? '{' : ','; }
  std::string out_;
};

// The 25 array parameters of kPgInsertSql for some rows, built row by row.
// Thread-compatible.
class PgInsertArrays {
 public:
  // Appends one row with its chain values.
  void Add(const StoredRow& row, const Hash& prev_hash, const Hash& hash);
  size_t rows() const { return rows_; }
  // Appends the 25 arrays to `params` (after the chain, $1) and empties
  // this.
  void AppendTo(store::postgresql::Params& params);

 private:
  PgArrayBuilder seq_, time_, kind_, decision_id_, caller_, principal_, action_,
      resource_kind_, resource_id_, resource_scope_, effect_, reason_, rule_id_,
      policy_version_, store_revision_, request_id_, fields_, purpose_,
      justification_, attributes_, key_id_, details_, totp_verified_,
      prev_hash_, hash_;
  size_t rows_ = 0;
};

// PostgreSQL text cannot hold a NUL byte (libpq would cut the value at
// it), so the stored row would differ from the hashed one.
// kInvalidArgument naming the column when a text column holds one.
absl::Status CheckPgStorableText(const StoredRow& row);

}  // namespace steward::audit::internal

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_INSERT_H_
