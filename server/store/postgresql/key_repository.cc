// See key_repository.h.
#include "server/store/postgresql/key_repository.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/repository_support.h"

namespace steward::store::postgresql {
namespace {

absl::StatusOr<ServiceRole> StoredRole(absl::string_view text) {
  std::optional<ServiceRole> role = ParseServiceRole(text);
  if (!role.has_value()) {
    return absl::DataLossError(absl::StrCat("unknown service role ", text));
  }
  return *role;
}

}  // namespace

absl::Status PgKeyRepository::ReloadKeysLocked() {
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "read API keys",
      "SELECT name, role, key_hash, totp_secret, revoked_at IS NOT NULL "
      "FROM api_keys");
  if (!rows.ok()) return rows.status();
  internal::KeyIndexHolder::Builder index;
  for (int i = 0; i < rows->rows(); ++i) {
    absl::StatusOr<ServiceRole> role = StoredRole(rows->Text(i, 1));
    if (!role.ok()) return role.status();
    if (absl::Status s = index.Add(
            rows->Bytes(i, 2),
            AuthenticatedKey{std::string(rows->Text(i, 0)), *role,
                             std::string(rows->Text(i, 3)), rows->Bool(i, 4)});
        !s.ok()) {
      return s;
    }
  }
  keys_.Publish(std::move(index));
  return absl::OkStatus();
}

absl::StatusOr<NewApiKey> PgKeyRepository::CreateApiKey(
    absl::string_view name, ServiceRole role, absl::string_view created_by) {
  std::string hash;
  absl::StatusOr<NewApiKey> minted =
      internal::MintApiKey(name, created_by, role, &hash);
  if (!minted.ok()) return minted.status();
  NewApiKey result = *std::move(minted);

  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  const absl::Time now = db_->clock.Now();
  absl::StatusOr<int64_t> revision =
      CommitChange(c, ChangeSubject::Keys(), [&]() -> absl::Status {
        absl::StatusOr<Result> exists = c.Exec(
            "create API key: find name",
            "SELECT 1 FROM api_keys WHERE name = $1", Params().Text(name));
        if (!exists.ok()) return exists.status();
        if (exists->rows() != 0) return internal::ApiKeyNameTaken(name);
        Params params;
        params.Text(name).Text(ServiceRoleName(role)).Bytes(hash);
        if (result.totp_secret.empty()) {
          params.Null();
        } else {
          params.Text(result.totp_secret);
        }
        params.Text(created_by).Time(now);
        return c
            .Exec("create API key",
                  "INSERT INTO api_keys (name, role, key_hash, totp_secret, "
                  "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                  params)
            .status();
      });
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  result.info = ApiKeyInfo{std::string(name), role, std::string(created_by),
                           now, std::nullopt};
  publisher_->PublishRevisionLocked(result.store_revision);
  if (absl::Status s = ReloadKeysLocked(); !s.ok()) return s;
  return result;
}

absl::StatusOr<std::vector<ApiKeyInfo>> PgKeyRepository::ListApiKeys() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "list API keys",
      "SELECT name, role, created_by, created_at, revoked_at FROM api_keys "
      "ORDER BY name");
  if (!rows.ok()) return rows.status();
  std::vector<ApiKeyInfo> keys;
  for (int i = 0; i < rows->rows(); ++i) {
    absl::StatusOr<ServiceRole> role = StoredRole(rows->Text(i, 1));
    if (!role.ok()) return role.status();
    keys.push_back(ApiKeyInfo{std::string(rows->Text(i, 0)), *role,
                              std::string(rows->Text(i, 2)), rows->Time(i, 3),
                              rows->OptionalTime(i, 4)});
  }
  return keys;
}

absl::StatusOr<int64_t> PgKeyRepository::RevokeApiKey(absl::string_view name) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision =
      CommitChange(c, ChangeSubject::Keys(), [&]() -> absl::Status {
        absl::StatusOr<Result> changed =
            c.Exec("revoke API key",
                   "UPDATE api_keys SET revoked_at = GREATEST($1, created_at) "
                   "WHERE name = $2 AND revoked_at IS NULL",
                   Params().Time(db_->clock.Now()).Text(name));
        if (!changed.ok()) return changed.status();
        if (changed->affected() == 1) return absl::OkStatus();
        absl::StatusOr<Result> exists = c.Exec(
            "revoke API key: find name",
            "SELECT 1 FROM api_keys WHERE name = $1", Params().Text(name));
        if (!exists.ok()) return exists.status();
        if (exists->rows() == 0) {
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

absl::Status PgKeyRepository::RecordTotpStep(absl::string_view name,
                                             int64_t step) {
  if (step < 0) return absl::InvalidArgumentError("negative TOTP step");
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  // A single conditional UPDATE is atomic: two concurrent uses of one code,
  // from this or another stewardd, cannot both succeed.
  absl::StatusOr<Result> updated =
      c.Exec("record TOTP step",
             "UPDATE api_keys SET totp_last_step = $2 WHERE name = $1 "
             "AND role = 'admin' AND revoked_at IS NULL "
             "AND (totp_last_step IS NULL OR totp_last_step < $2)",
             Params().Text(name).Int(step));
  if (!updated.ok()) return updated.status();
  if (updated->affected() == 1) return absl::OkStatus();
  absl::StatusOr<Result> key = c.Exec(
      "record TOTP step: read key",
      "SELECT role, revoked_at IS NOT NULL FROM api_keys WHERE name = $1",
      Params().Text(name));
  if (!key.ok()) return key.status();
  if (key->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  return internal::TotpStepRefused(name, key->Text(0, 0), key->Bool(0, 1));
}

absl::StatusOr<SecondFactorFailures> PgKeyRepository::RecordSecondFactorFailure(
    absl::string_view name, absl::Time now, const SecondFactorLimits& limits) {
  if (absl::Status s = internal::ValidateSecondFactorLimits(limits); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&db_->mu);
  // READ COMMITTED: an UPDATE that waited for another replica's UPDATE of
  // the row re-evaluates its SET on the committed version, so no failure is
  // lost. SET expressions read the row as it was, hence the new count
  // spelled out again for locked_until. $2 now, $3 window, $4 limit,
  // $5 lockout (microseconds). A later lockout is never shortened (the
  // replicas' clocks may differ a little).
  absl::StatusOr<Result> updated = db_->connection->Exec(
      "record second-factor failure",
      "UPDATE api_keys SET "
      "totp_failures = CASE WHEN totp_window_start IS NULL "
      "  OR $2::bigint - totp_window_start > $3::bigint THEN 1 "
      "  ELSE totp_failures + 1 END, "
      "totp_window_start = CASE WHEN totp_window_start IS NULL "
      "  OR $2::bigint - totp_window_start > $3::bigint THEN $2::bigint "
      "  ELSE totp_window_start END, "
      "totp_locked_until = CASE WHEN (CASE WHEN totp_window_start IS NULL "
      "  OR $2::bigint - totp_window_start > $3::bigint THEN 1 "
      "  ELSE totp_failures + 1 END) >= $4::int "
      "  THEN GREATEST(totp_locked_until, $2::bigint + $5::bigint) "
      "  ELSE totp_locked_until END "
      "WHERE name = $1 "
      "RETURNING totp_failures, totp_window_start, totp_locked_until",
      Params()
          .Text(name)
          .Time(now)
          .Int(absl::ToInt64Microseconds(limits.failure_window))
          .Int(limits.max_failures)
          .Int(absl::ToInt64Microseconds(limits.lockout)));
  if (!updated.ok()) return updated.status();
  if (updated->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  return SecondFactorFailures{static_cast<int>(updated->Int(0, 0)),
                              updated->Time(0, 1), updated->OptionalTime(0, 2)};
}

absl::StatusOr<std::optional<absl::Time>>
PgKeyRepository::SecondFactorLockedUntil(absl::string_view name) {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "read second-factor lockout",
      "SELECT totp_locked_until FROM api_keys WHERE name = $1",
      Params().Text(name));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no API key \"", name, "\""));
  }
  return rows->OptionalTime(0, 0);
}

absl::StatusOr<bool> PgKeyRepository::HasAnyAdminKey() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "find admin key",
      "SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
      "LIMIT 1");
  if (!rows.ok()) return rows.status();
  return rows->rows() != 0;
}

}  // namespace steward::store::postgresql
