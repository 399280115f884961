// See key_repository.h.
#include "server/store/sqlite/key_repository.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/store/repository_support.h"
#include "server/store/secrets.h"

namespace steward::store::sqlite {

// The API keys by SHA-256 of the key, for AuthenticateApiKey. Immutable
// once published.
struct KeyIndex {
  struct Entry {
    internal::Sha256Digest hash;
    AuthenticatedKey key;
  };
  absl::flat_hash_map<std::string, Entry> by_hash;  // raw digest bytes
};

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
  auto index = std::make_shared<KeyIndex>();
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT name, role, key_hash, totp_secret, revoked_at FROM api_keys");
  if (!stmt.ok()) return stmt.status();
  absl::Status read = ForEachRow(*stmt, [&](const Statement& row) {
    absl::StatusOr<ServiceRole> role = RoleFromColumn(row.Text(1));
    if (!role.ok()) return role.status();
    absl::Span<const uint8_t> hash = row.Blob(2);
    KeyIndex::Entry entry;
    if (hash.size() != entry.hash.size()) {
      return absl::DataLossError("api_keys.key_hash has the wrong length");
    }
    std::copy(hash.begin(), hash.end(), entry.hash.begin());
    entry.key.name = std::string(row.Text(0));
    entry.key.role = *role;
    entry.key.totp_secret = std::string(row.Text(3));
    entry.key.revoked = !row.IsNull(4);
    std::string key(reinterpret_cast<const char*>(hash.data()), hash.size());
    index->by_hash.emplace(std::move(key), std::move(entry));
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  keys_.store(std::move(index), std::memory_order_release);
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
  // Built only on failure: a Status with a message allocates.
  auto unknown = [] { return absl::UnauthenticatedError("unknown API key"); };
  if (key.size() > 256) return unknown();
  // A client sends the same key on every call; remembering the last key's
  // digest per thread saves a SHA-256 (several percent of a Check). The
  // comparison is constant-time, so it reveals at most the key's length.
  thread_local std::string last_key;
  thread_local internal::Sha256Digest last_digest;
  internal::Sha256Digest hash;
  if (!last_key.empty() && last_key.size() == key.size() &&
      CRYPTO_memcmp(last_key.data(), key.data(), key.size()) == 0) {
    hash = last_digest;
  } else {
    hash = internal::Sha256(key);
    last_key.assign(key.data(), key.size());
    last_digest = hash;
  }
  std::shared_ptr<const KeyIndex> index = keys_.load(std::memory_order_acquire);
  if (index == nullptr) return unknown();
  auto it = index->by_hash.find(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
  // The lookup is keyed by a hash of the secret, so its timing reveals
  // nothing useful about the key; the final comparison is constant-time
  // all the same.
  if (it == index->by_hash.end() ||
      !internal::DigestsEqual(it->second.hash, hash)) {
    return unknown();
  }
  return it->second.key;
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

absl::StatusOr<bool> SqliteKeyRepository::HasAnyAdminKey() {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL "
      "LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

}  // namespace steward::store::sqlite
