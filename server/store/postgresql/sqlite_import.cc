// See sqlite_import.h.
#include "server/store/postgresql/sqlite_import.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "migrations/migrations.h"
#include "server/store/migration_check.h"
#include "server/store/postgresql/migration_runner.h"
#include "server/store/sqlite/statement.h"

namespace steward::store::postgresql {
namespace {

void AddOptionalInt(Params& params, std::optional<int64_t> value) {
  if (value.has_value()) {
    params.Int(*value);
  } else {
    params.Null();
  }
}

absl::string_view BlobText(absl::Span<const uint8_t> blob) {
  return absl::string_view(reinterpret_cast<const char*>(blob.data()),
                           blob.size());
}

// Runs a single-value SELECT on the source.
absl::StatusOr<int64_t> SourceInt(sqlite::Connection& source,
                                  absl::string_view sql) {
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("no row from ", sql));
  return stmt->Int(0);
}

absl::Status CopyPolicyVersions(sqlite::Connection& source, Connection& target,
                                StoreImportCounts& counts) {
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(
      "SELECT version, source, sha256, author, message, created_at, active "
      "FROM policy_versions ORDER BY version");
  if (!stmt.ok()) return stmt.status();
  return sqlite::ForEachRow(
      *stmt, [&](const sqlite::Statement& row) -> absl::Status {
        const int64_t version = row.Int(0);
        const bool active = row.Int(6) != 0;
        absl::StatusOr<Result> inserted = target.Exec(
            "copy policy_versions",
            "INSERT INTO policy_versions (version, source, sha256, author, "
            "message, created_at, active) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            Params()
                .Int(version)
                .Text(row.Text(1))
                .Text(row.Text(2))
                .Text(row.Text(3))
                .Text(row.Text(4))
                .Int(row.Int(5))
                .Bool(active));
        if (!inserted.ok()) {
          return absl::Status(inserted.status().code(),
                              absl::StrCat("policy version ", version, ": ",
                                           inserted.status().message()));
        }
        ++counts.policy_versions;
        if (active) counts.active_version = version;
        return absl::OkStatus();
      });
}

absl::Status CopyPrincipals(sqlite::Connection& source, Connection& target,
                            StoreImportCounts& counts) {
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals ORDER BY id");
  if (!stmt.ok()) return stmt.status();
  return sqlite::ForEachRow(
      *stmt, [&](const sqlite::Statement& row) -> absl::Status {
        const bool disabled = row.Int(3) != 0;
        absl::StatusOr<Result> inserted = target.Exec(
            "copy principals",
            "INSERT INTO principals (id, display_name, attributes, disabled, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            Params()
                .Text(row.Text(0))
                .Text(row.Text(1))
                .Text(row.Text(2))
                .Bool(disabled)
                .Int(row.Int(4))
                .Int(row.Int(5)));
        if (!inserted.ok()) {
          return absl::Status(inserted.status().code(),
                              absl::StrCat("principal \"", row.Text(0), "\": ",
                                           inserted.status().message()));
        }
        ++counts.principals;
        if (disabled) ++counts.disabled_principals;
        return absl::OkStatus();
      });
}

absl::Status CopyBindings(sqlite::Connection& source, Connection& target,
                          StoreImportCounts& counts) {
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(
      "SELECT principal, role, scope, granted_by, granted_at, expires_at, "
      "reason FROM role_bindings ORDER BY principal, role, scope");
  if (!stmt.ok()) return stmt.status();
  return sqlite::ForEachRow(
      *stmt, [&](const sqlite::Statement& row) -> absl::Status {
        Params params;
        params.Text(row.Text(0))
            .Text(row.Text(1))
            .Text(row.Text(2))
            .Text(row.Text(3))
            .Int(row.Int(4));
        AddOptionalInt(params, row.OptionalInt(5));
        params.Text(row.Text(6));
        absl::StatusOr<Result> inserted = target.Exec(
            "copy role_bindings",
            "INSERT INTO role_bindings (principal, role, scope, granted_by, "
            "granted_at, expires_at, reason) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7)",
            params);
        if (!inserted.ok()) {
          return absl::Status(
              inserted.status().code(),
              absl::StrCat("binding ", row.Text(0), " ", row.Text(1), " \"",
                           row.Text(2), "\": ", inserted.status().message()));
        }
        ++counts.bindings;
        return absl::OkStatus();
      });
}

absl::Status CopyApiKeys(sqlite::Connection& source, Connection& target,
                         StoreImportCounts& counts) {
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(
      "SELECT id, name, role, key_hash, totp_secret, totp_last_step, "
      "created_by, created_at, revoked_at FROM api_keys ORDER BY id");
  if (!stmt.ok()) return stmt.status();
  absl::Status copied = sqlite::ForEachRow(
      *stmt, [&](const sqlite::Statement& row) -> absl::Status {
        Params params;
        params.Int(row.Int(0))
            .Text(row.Text(1))
            .Text(row.Text(2))
            .Bytes(BlobText(row.Blob(3)));
        if (row.IsNull(4)) {
          params.Null();
        } else {
          params.Text(row.Text(4));
        }
        AddOptionalInt(params, row.OptionalInt(5));
        params.Text(row.Text(6)).Int(row.Int(7));
        AddOptionalInt(params, row.OptionalInt(8));
        // The id is kept (OVERRIDING SYSTEM VALUE): it orders keys the
        // same way in both engines.
        absl::StatusOr<Result> inserted = target.Exec(
            "copy api_keys",
            "INSERT INTO api_keys (id, name, role, key_hash, totp_secret, "
            "totp_last_step, created_by, created_at, revoked_at) "
            "OVERRIDING SYSTEM VALUE "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params);
        if (!inserted.ok()) {
          return absl::Status(inserted.status().code(),
                              absl::StrCat("API key \"", row.Text(1), "\": ",
                                           inserted.status().message()));
        }
        ++counts.api_keys;
        if (!row.IsNull(8)) ++counts.revoked_api_keys;
        return absl::OkStatus();
      });
  if (!copied.ok()) return copied;
  // Keys created later take ids after the copied ones.
  absl::StatusOr<Result> advanced =
      target.Exec("advance api_keys id",
                  "SELECT setval(pg_get_serial_sequence('api_keys', 'id'), "
                  "COALESCE(max(id), 1), max(id) IS NOT NULL) FROM api_keys");
  return advanced.status();
}

absl::Status CopyStoreMeta(sqlite::Connection& source, Connection& target,
                           StoreImportCounts& counts) {
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(
      "SELECT revision, initialized_at FROM store_meta WHERE singleton = 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::FailedPreconditionError(
        "the SQLite store has no store_meta row: not a Steward store");
  }
  Params params;
  params.Int(stmt->Int(0));
  AddOptionalInt(params, stmt->OptionalInt(1));
  // GREATEST: a target whose revision already moved (changes made and
  // undone before the copy) never goes back.
  absl::StatusOr<Result> updated = target.Exec(
      "copy store_meta",
      "UPDATE store_meta SET revision = GREATEST(revision, $1), "
      "initialized_at = COALESCE($2, initialized_at) WHERE singleton = 1 "
      "RETURNING revision",
      params);
  if (!updated.ok()) return updated.status();
  if (updated->rows() != 1) {
    return absl::FailedPreconditionError(
        "the PostgreSQL store has no store_meta row");
  }
  counts.revision = updated->Int(0, 0);
  return absl::OkStatus();
}

// What the target holds, read back in the copy's transaction.
absl::StatusOr<StoreImportCounts> ReadTargetCounts(Connection& target) {
  absl::StatusOr<Result> result = target.Exec(
      "count store",
      "SELECT (SELECT count(*) FROM policy_versions), "
      "(SELECT COALESCE(max(version) FILTER (WHERE active), 0) "
      "FROM policy_versions), "
      "(SELECT count(*) FROM principals), "
      "(SELECT count(*) FROM principals WHERE disabled), "
      "(SELECT count(*) FROM role_bindings), "
      "(SELECT count(*) FROM api_keys), "
      "(SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL), "
      "(SELECT revision FROM store_meta WHERE singleton = 1)");
  if (!result.ok()) return result.status();
  StoreImportCounts counts;
  counts.policy_versions = result->Int(0, 0);
  counts.active_version = result->Int(0, 1);
  counts.principals = result->Int(0, 2);
  counts.disabled_principals = result->Int(0, 3);
  counts.bindings = result->Int(0, 4);
  counts.api_keys = result->Int(0, 5);
  counts.revoked_api_keys = result->Int(0, 6);
  counts.revision = result->Int(0, 7);
  return counts;
}

std::string DescribeCounts(const StoreImportCounts& c) {
  return absl::StrCat(c.policy_versions, " policy versions (active ",
                      c.active_version, "), ", c.principals, " principals (",
                      c.disabled_principals, " disabled), ", c.bindings,
                      " bindings, ", c.api_keys, " API keys (",
                      c.revoked_api_keys, " revoked), revision ", c.revision);
}

}  // namespace

absl::Status CheckSqliteSourceSchema(sqlite::Connection& source) {
  absl::StatusOr<int64_t> has_table = SourceInt(
      source,
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
      "'schema_migrations'");
  if (!has_table.ok()) return has_table.status();
  if (*has_table == 0) {
    return absl::FailedPreconditionError(
        "not a Steward store: it has no schema_migrations table");
  }
  absl::StatusOr<sqlite::Statement> stmt = source.Prepare(
      "SELECT version, name, checksum FROM schema_migrations ORDER BY "
      "version");
  if (!stmt.ok()) return stmt.status();
  std::vector<internal::AppliedMigration> applied;
  absl::Status read = sqlite::ForEachRow(
      *stmt, [&](const sqlite::Statement& row) -> absl::Status {
        applied.push_back({static_cast<int>(row.Int(0)),
                           std::string(row.Text(1)), std::string(row.Text(2))});
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  const absl::Span<const migrations::Migration> known = migrations::All();
  if (absl::Status s = internal::CheckAppliedMigrations(applied, known);
      !s.ok()) {
    return s;
  }
  if (applied.size() != known.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the SQLite store's schema is version ",
        applied.empty() ? 0 : applied.back().version, ", older than this ",
        "stewardd's (", known.back().version,
        "): start this stewardd on the data dir once (`stewardd serve "
        "--data-dir DIR` upgrades it), stop it, then migrate"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connection>> OpenImportTarget(
    const std::string& conninfo, absl::Time now) {
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(conninfo, ConnectionOptions());
  if (!connection.ok()) return connection.status();
  absl::StatusOr<MigrationResult> migrated =
      RunMigrations(**connection, migrations::AllPostgresql(), now,
                    /*create=*/true);
  if (!migrated.ok()) return migrated.status();
  return connection;
}

absl::Status LockStoreForImport(Connection& target) {
  absl::StatusOr<Result> locked = target.Exec(
      "lock store_meta",
      "SELECT revision FROM store_meta WHERE singleton = 1 FOR UPDATE");
  if (!locked.ok()) return locked.status();
  if (locked->rows() != 1) {
    return absl::FailedPreconditionError(
        "the PostgreSQL store has no store_meta row");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DescribeStoreContents(
    Connection& target) {
  absl::StatusOr<StoreImportCounts> counts = ReadTargetCounts(target);
  if (!counts.ok()) return counts.status();
  std::vector<std::string> held;
  auto add = [&held](int64_t n, absl::string_view one, absl::string_view many) {
    if (n > 0) held.push_back(absl::StrCat(n, " ", n == 1 ? one : many));
  };
  add(counts->policy_versions, "policy version", "policy versions");
  add(counts->principals, "principal", "principals");
  add(counts->bindings, "role binding", "role bindings");
  add(counts->api_keys, "API key", "API keys");
  return held;
}

absl::StatusOr<StoreImportCounts> ImportSqliteStore(sqlite::Connection& source,
                                                    Connection& target) {
  StoreImportCounts copied;
  for (auto copy : {CopyPolicyVersions, CopyPrincipals, CopyBindings,
                    CopyApiKeys, CopyStoreMeta}) {
    if (absl::Status s = copy(source, target, copied); !s.ok()) return s;
  }
  absl::StatusOr<StoreImportCounts> held = ReadTargetCounts(target);
  if (!held.ok()) return held.status();
  if (DescribeCounts(*held) != DescribeCounts(copied)) {
    return absl::DataLossError(absl::StrCat(
        "after the copy the PostgreSQL store holds ", DescribeCounts(*held),
        " but ", DescribeCounts(copied), " were read from SQLite"));
  }
  return *held;
}

}  // namespace steward::store::postgresql
