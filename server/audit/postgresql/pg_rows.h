// The columns of a PostgreSQL audit_records row as the readers select them,
// and their decoding into the stored form record.h hashes.
//
// Internal to server/audit/postgresql: pg_verify and pg_reader share it so
// both read a row the same way, and open their sessions the same way.
#ifndef STEWARD_SERVER_AUDIT_POSTGRESQL_PG_ROWS_H_
#define STEWARD_SERVER_AUDIT_POSTGRESQL_PG_ROWS_H_

#include <optional>
#include <string>

#include "server/audit/record.h"
#include "server/store/postgresql/connection.h"

namespace steward::audit::internal {

// Columns 0..22 are the canonical values in record.h's order (seq first),
// 23 prev_hash, 24 hash, 25 chain.
inline constexpr char kPgRowColumns[] =
    "seq, time, kind, decision_id, caller, principal, action, "
    "resource_kind, resource_id, resource_scope, effect, reason, rule_id, "
    "policy_version, store_revision, request_id, fields, purpose, "
    "justification, attributes, key_id, details, totp_verified, prev_hash, "
    "hash, chain";

// Row `row` of a result selecting kPgRowColumns.
StoredRow PgStoredRow(const store::postgresql::Result& result, int row);

// A 32-byte bytea as a Hash; nullopt for any other length.
std::optional<Hash> PgHash(const std::string& bytes);

// The readers' sessions: they keep no session state and their SELECTs
// have no side effects, so a session a server restart closed is replaced
// on the next query instead of failing it.
inline store::postgresql::ConnectionOptions ReaderSessionOptions() {
  store::postgresql::ConnectionOptions options;
  options.rerun_reads_on_new_session = true;
  return options;
}

}  // namespace steward::audit::internal

#endif  // STEWARD_SERVER_AUDIT_POSTGRESQL_PG_ROWS_H_
