// See pg_rows.h.
#include "server/audit/postgresql/pg_rows.h"

#include <cstring>

namespace steward::audit::internal {
namespace {

using store::postgresql::Result;

std::optional<std::string> OptionalText(const Result& r, int row, int col) {
  if (r.IsNull(row, col)) return std::nullopt;
  return std::string(r.Text(row, col));
}

}  // namespace

StoredRow PgStoredRow(const Result& r, int row) {
  StoredRow s;
  s.seq = r.Int(row, 0);
  s.time_micros = r.Int(row, 1);
  s.kind = std::string(r.Text(row, 2));
  s.decision_id = OptionalText(r, row, 3);
  s.caller = std::string(r.Text(row, 4));
  s.principal = std::string(r.Text(row, 5));
  s.action = std::string(r.Text(row, 6));
  s.resource_kind = std::string(r.Text(row, 7));
  s.resource_id = std::string(r.Text(row, 8));
  s.resource_scope = std::string(r.Text(row, 9));
  s.effect = std::string(r.Text(row, 10));
  s.reason = std::string(r.Text(row, 11));
  s.rule_id = std::string(r.Text(row, 12));
  s.policy_version = r.OptionalInt(row, 13);
  s.store_revision = r.OptionalInt(row, 14);
  s.request_id = std::string(r.Text(row, 15));
  s.fields_json = std::string(r.Text(row, 16));
  s.purpose = std::string(r.Text(row, 17));
  s.justification = std::string(r.Text(row, 18));
  if (!r.IsNull(row, 19)) s.attributes = r.Bytes(row, 19);
  s.key_id = OptionalText(r, row, 20);
  s.details = OptionalText(r, row, 21);
  s.totp_verified = r.OptionalInt(row, 22);
  return s;
}

std::optional<Hash> PgHash(const std::string& bytes) {
  Hash hash;
  if (bytes.size() != hash.size()) return std::nullopt;
  std::memcpy(hash.data(), bytes.data(), hash.size());
  return hash;
}

}  // namespace steward::audit::internal
