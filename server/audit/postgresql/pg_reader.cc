// See pg_reader.h.
#include "server/audit/postgresql/pg_reader.h"

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/audit/postgresql/pg_rows.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit {
namespace {

using store::postgresql::Connection;
using store::postgresql::Params;
using store::postgresql::Result;

// The keyset position after the last record of a page.
struct Cursor {
  int64_t time = 0;
  std::string chain;
  int64_t seq = 0;
};

// "pg1.TIME.SEQ.HEXCHAIN": versioned, so a token of the SQLite reader (or
// of a later format) is refused as malformed rather than misread.
std::string EncodeToken(const Cursor& c) {
  return absl::StrCat("pg1.", c.time, ".", c.seq, ".",
                      absl::BytesToHexString(c.chain));
}

absl::StatusOr<Cursor> DecodeToken(absl::string_view token) {
  const absl::Status bad = absl::InvalidArgumentError("malformed page token");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 4 || parts[0] != "pg1") return bad;
  Cursor c;
  if (!absl::SimpleAtoi(parts[1], &c.time) || c.time < 0 ||
      !absl::SimpleAtoi(parts[2], &c.seq) || c.seq < 1 ||
      parts[3].size() % 2 != 0 || parts[3].empty()) {
    return bad;
  }
  for (char ch : parts[3]) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(ch))) return bad;
  }
  c.chain = absl::HexStringToBytes(parts[3]);
  return c;
}

// One statement for every filter: a parameter per filter, '' (or an empty
// array, or no cursor) meaning "any".
const std::string& QuerySql() {
  static const std::string* sql = new std::string(absl::StrCat(
      "SELECT ", internal::kPgRowColumns,
      " FROM audit_records WHERE time >= $1 AND time < $2"
      " AND ($3 = '' OR principal = $3)"
      " AND ($4 = '' OR action = $4)"
      " AND ($5 = '' OR resource_kind = $5)"
      " AND ($6 = '' OR resource_id = $6)"
      " AND ($7 = '' OR effect = $7)"
      " AND ($8 = '' OR rule_id = $8)"
      " AND ($9 = '' OR purpose = $9)"
      " AND ($10 = '' OR caller = $10)"
      " AND (cardinality($11::text[]) = 0 OR kind = ANY($11::text[]))"
      " AND (NOT $12::boolean OR (time, chain, seq) < ($13, $14::text, $15))"
      " ORDER BY time DESC, chain DESC, seq DESC LIMIT $16"));
  return *sql;
}

absl::StatusOr<ChainRecord> ToChainRecord(const Result& r, int row) {
  internal::StoredRow stored = internal::PgStoredRow(r, row);
  const std::optional<Hash> prev = internal::PgHash(r.Bytes(row, 23));
  const std::optional<Hash> hash = internal::PgHash(r.Bytes(row, 24));
  if (!prev.has_value() || !hash.has_value()) {
    return absl::DataLossError(
        absl::StrCat("audit record ", stored.seq, " has a malformed hash"));
  }
  absl::StatusOr<AuditRecord> record =
      internal::FromStoredRow(stored, *prev, *hash);
  if (!record.ok()) return record.status();
  return ChainRecord{std::string(r.Text(row, 25)), *std::move(record)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgAuditReader>> PgAuditReader::Open(
    const std::string& conninfo) {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, internal::ReaderSessionOptions());
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<PgAuditReader>(
      new PgAuditReader(*std::move(connection)));
}

PgAuditReader::PgAuditReader(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

PgAuditReader::~PgAuditReader() = default;

absl::StatusOr<PgQueryPage> PgAuditReader::Query(const QueryFilter& filter,
                                                 int page_size,
                                                 absl::string_view page_token) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size must be between 0 and ", kMaxPageSize));
  }
  if (page_size == 0) page_size = kDefaultPageSize;
  if (filter.since.has_value() && filter.until.has_value() &&
      *filter.since >= *filter.until) {
    return absl::InvalidArgumentError("since must be before until");
  }
  std::optional<Cursor> cursor;
  if (!page_token.empty()) {
    absl::StatusOr<Cursor> decoded = DecodeToken(page_token);
    if (!decoded.ok()) return decoded.status();
    cursor = *std::move(decoded);
  }
  std::string kinds = "{";
  for (size_t i = 0; i < filter.kinds.size(); ++i) {
    absl::StrAppend(&kinds, i == 0 ? "" : ",", RecordKindName(filter.kinds[i]));
  }
  kinds += "}";
  Params params;
  params
      .Int(filter.since.has_value()
               ? std::max<int64_t>(0, absl::ToUnixMicros(*filter.since))
               : 0)
      .Int(filter.until.has_value() ? absl::ToUnixMicros(*filter.until)
                                    : std::numeric_limits<int64_t>::max())
      .Text(filter.principal)
      .Text(filter.action)
      .Text(filter.resource_kind)
      .Text(filter.resource_id)
      .Text(filter.effect.has_value() ? RecordEffectName(*filter.effect) : "")
      .Text(filter.rule_id)
      .Text(filter.purpose)
      .Text(filter.caller)
      .Text(kinds)
      .Bool(cursor.has_value())
      .Int(cursor.has_value() ? cursor->time : 0)
      .Text(cursor.has_value() ? cursor->chain : "")
      .Int(cursor.has_value() ? cursor->seq : 0)
      .Int(page_size + 1);
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Result> rows =
      connection_->Exec("audit query", QuerySql().c_str(), params);
  if (!rows.ok()) return rows.status();
  PgQueryPage page;
  const int n = std::min(rows->rows(), page_size);
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<ChainRecord> record = ToChainRecord(*rows, i);
    if (!record.ok()) return record.status();
    page.records.push_back(*std::move(record));
  }
  if (rows->rows() > page_size) {
    const ChainRecord& last = page.records.back();
    page.next_page_token = EncodeToken(
        {absl::ToUnixMicros(last.record.time), last.chain, last.record.seq});
  }
  return page;
}

absl::StatusOr<ChainRecord> PgAuditReader::FindDecision(
    absl::string_view decision_id) {
  static const std::string* sql =
      new std::string(absl::StrCat("SELECT ", internal::kPgRowColumns,
                                   " FROM audit_records WHERE decision_id = $1 "
                                   "ORDER BY time, chain, seq LIMIT 1"));
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Result> rows = connection_->Exec(
      "audit find decision", sql->c_str(), Params().Text(decision_id));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("no audit record for decision ", decision_id));
  }
  return ToChainRecord(*rows, 0);
}

absl::StatusOr<PgVerifyResult> PgAuditReader::VerifyChains() {
  absl::MutexLock lock(&mu_);
  return VerifyPgChains(*connection_);
}

}  // namespace steward::audit
