// See key_repository.h.
#include "server/store/sqlite/key_repository.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/store/repository_support.h"
#include "server/store/secrets.h"

namespace steward::store::sqlite {

namespace {

absl::StatusOr<ServiceRole> RoleFromColumn(absl::string_view text) {
  std::optional<ServiceRole> role = ParseServiceRole(text);
  if (!role.has_value()) {
    return absl::DataLossError(absl::StrCat("unknown service role ", text));
  }
  return *role;
}

}  // namespace

SqliteKeyRepository::SqliteKeyRepository(Database* db,
                                         SqlitePublisher* publisher)
    : db_(db), publisher_(publisher) {}

SqliteKeyRepository::~SqliteKeyRepository() = default;

absl::Status SqliteKeyRepository::ReloadKeysLocked() {
  internal::KeyIndexHolder::Builder index;
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT name, role, key_hash, totp_secret, revoked_at FROM api_keys");
  if (!stmt.ok()) return stmt.status();
  absl::Status read = ForEachRow(*stmt, [&](const Statement& row) {
    absl::StatusOr<ServiceRole> role = RoleFromColumn(row.Text(1));
    if (!role.ok()) return role.status();
    absl::Span<const uint8_t> hash = row.Blob(2);
    return index.Add(
        absl::string_view(reinterpret_cast<const char*>(hash.data()),
                          hash.size()),
        AuthenticatedKey{std::string(row.Text(0)), *role,
                         std::string(row.Text(3)), !row.IsNull(4)});
  });
  if (!read.ok()) return read;
  keys_.Publish(std::move(index));
  return absl::OkStatus();
}

absl::StatusOr<NewApiKey> SqliteKeyRepository::CreateApiKey(
    absl::string_view name, ServiceRole role, absl::string_view created_by) {
  std::string hash;
  absl::StatusOr<NewApiKey> minted =
      internal::MintApiKey(name, created_by, role, &hash);
  if (!minted.ok()) return minted.status();
  NewApiKey result = *std::move(minted);

  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  const absl::Time now = db_->clock.Now();
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("SELECT 1 FROM api_keys WHERE name = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, name);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (*row) {
        return internal::ApiKeyNameTaken(name);
      }
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO api_keys (name, role, key_hash, totp_secret, "
          "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, name);
      stmt->BindText(2, ServiceRoleName(role));
      stmt->BindBlob(
          3, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(hash.data()),
                                 hash.size()));
      if (result.totp_secret.empty()) {
        stmt->BindNull(4);
      } else {
        stmt->BindText(4, result.totp_secret);
      }
      stmt->BindText(5, created_by);
      stmt->BindTime(6, now);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  result.info = ApiKeyInfo{std::string(name), role, std::string(created_by),
                           now, std::nullopt};
  publisher_->PublishRevisionLocked(result.store_revision);
  if (absl::Status s = ReloadKeysLocked(); !s.ok()) return s;
  return result;
}

absl::StatusOr<std::vector<ApiKeyInfo>> SqliteKeyRepository::ListApiKeys() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT name, role, created_by, created_at, revoked_at FROM api_keys "
      "ORDER BY name");
  if (!stmt.ok()) return stmt.status();
  std::vector<ApiKeyInfo> keys;
  absl::Status read = ForEachRow(*stmt, [&](const Statement& row) {
    absl::StatusOr<ServiceRole> role = RoleFromColumn(row.Text(1));
    if (!role.ok()) return role.status();
    keys.push_back(ApiKeyInfo{std::string(row.Text(0)), *role,
                              std::string(row.Text(2)), row.Time(3),
                              row.OptionalTime(4)});
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return keys;
}

absl::StatusOr<int64_t> SqliteKeyRepository::RevokeApiKey(
    absl::string_view name) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision = CommitChange(c, [&]() -> absl::Status {
    absl::StatusOr<int64_t> changed =
        RunWrite(c,
                 "UPDATE api_keys SET revoked_at = max(?, created_at) "
                 "WHERE name = ? AND revoked_at IS NULL",
                 [&](Statement& stmt) {
                   stmt.BindTime(1, db_->clock.Now());
                   stmt.BindText(2, name);
                 });
    if (!changed.ok()) return changed.status();
    if (*changed == 1) return absl::OkStatus();
    absl::StatusOr<bool> exists =
        HasRow(c, "SELECT 1 FROM api_keys WHERE name = ?",
               [&](Statement& stmt) { stmt.BindText(1, name); });
    if (!exists.ok()) return exists.status();
    if (!*exists) {
      return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("API key \"", name, "\" is already revoked"));
  });
  if (!revision.ok()) return revision.status();
  publisher_->PublishRevisionLocked(*revision);
  if (absl::Status s = ReloadKeysLocked(); !s.ok()) return s;
  return revision;
}

absl::StatusOr<AuthenticatedKey> SqliteKeyRepository::AuthenticateApiKey(
    absl::string_view key) const {
  return keys_.Authenticate(key);
}

absl::Status SqliteKeyRepository::RecordTotpStep(absl::string_view name,
                                                 int64_t step) {
  if (step < 0) return absl::InvalidArgumentError("negative TOTP step");
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  {
    // A single conditional UPDATE is atomic: two concurrent uses of one
    // code cannot both succeed.
    absl::StatusOr<Statement> stmt = c.Prepare(
        "UPDATE api_keys SET totp_last_step = ?2 WHERE name = ?1 "
        "AND role = 'admin' AND revoked_at IS NULL "
        "AND (totp_last_step IS NULL OR totp_last_step < ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, name);
    stmt->BindInt(2, step);
    if (absl::Status s = stmt->Run(); !s.ok()) return s;
    if (c.changes() == 1) return absl::OkStatus();
  }
  absl::StatusOr<Statement> stmt = c.Prepare(
      "SELECT role, revoked_at IS NOT NULL FROM api_keys WHERE name = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, name);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  return internal::TotpStepRefused(name, stmt->Text(0), stmt->Int(1) != 0);
}

absl::StatusOr<SecondFactorFailures>
SqliteKeyRepository::RecordSecondFactorFailure(
    absl::string_view name, absl::Time now, const SecondFactorLimits& limits) {
  if (absl::Status s = internal::ValidateSecondFactorLimits(limits); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  // SET expressions all read the row as it was, so the new count is spelled
  // out again where locked_until needs it. ?2 now, ?3 window, ?4 limit,
  // ?5 lockout (microseconds). A later lockout is never shortened.
  absl::StatusOr<Statement> stmt = c.Prepare(
      "UPDATE api_keys SET "
      "totp_failures = CASE WHEN totp_window_start IS NULL "
      "  OR ?2 - totp_window_start > ?3 THEN 1 ELSE totp_failures + 1 END, "
      "totp_window_start = CASE WHEN totp_window_start IS NULL "
      "  OR ?2 - totp_window_start > ?3 THEN ?2 ELSE totp_window_start END, "
      "totp_locked_until = CASE WHEN (CASE WHEN totp_window_start IS NULL "
      "  OR ?2 - totp_window_start > ?3 THEN 1 ELSE totp_failures + 1 END) "
      "  >= ?4 THEN max(coalesce(totp_locked_until, 0), ?2 + ?5) "
      "  ELSE totp_locked_until END "
      "WHERE name = ?1 "
      "RETURNING totp_failures, totp_window_start, totp_locked_until");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, name);
  stmt->BindTime(2, now);
  stmt->BindInt(3, absl::ToInt64Microseconds(limits.failure_window));
  stmt->BindInt(4, limits.max_failures);
  stmt->BindInt(5, absl::ToInt64Microseconds(limits.lockout));
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  SecondFactorFailures result{static_cast<int>(stmt->Int(0)), stmt->Time(1),
                              stmt->OptionalTime(2)};
  // RETURNING's row comes before the statement is done; step it to the end
  // so the autocommit transaction commits here.
  absl::StatusOr<bool> done = stmt->Step();
  if (!done.ok()) return done.status();
  return result;
}

absl::StatusOr<std::optional<absl::Time>>
SqliteKeyRepository::SecondFactorLockedUntil(absl::string_view name) {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT totp_locked_until FROM api_keys WHERE name = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, name);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  return stmt->OptionalTime(0);
}

absl::StatusOr<bool> SqliteKeyRepository::HasAnyAdminKey() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
      "LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

}  // namespace steward::store::sqlite
