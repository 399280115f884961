// See principal_repository.h.
#include "server/store/sqlite/principal_repository.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/steward/v1/validation.h"
#include "server/store/attributes.h"
#include "server/store/repository_support.h"
#include "server/store/scope.h"

namespace steward::store::sqlite {
namespace {

absl::StatusOr<Principal> ReadPrincipal(const Statement& stmt) {
  // Columns: id, display_name, attributes, disabled, created_at, updated_at.
  Principal p;
  p.id = std::string(stmt.Text(0));
  p.display_name = std::string(stmt.Text(1));
  absl::StatusOr<AttributeMap> attributes = ParseAttributesJson(stmt.Text(2));
  if (!attributes.ok()) {
    return absl::DataLossError(
        absl::StrCat("principal \"", p.id,
                     "\": stored attributes: ", attributes.status().message()));
  }
  p.attributes = *std::move(attributes);
  p.disabled = stmt.Int(3) != 0;
  p.created_at = stmt.Time(4);
  p.updated_at = stmt.Time(5);
  return p;
}

Binding ReadBinding(const Statement& stmt) {
  // Columns: principal, role, scope, granted_by, granted_at, expires_at,
  // reason.
  Binding b;
  b.principal = std::string(stmt.Text(0));
  b.role = std::string(stmt.Text(1));
  b.scope = std::string(stmt.Text(2));
  b.granted_by = std::string(stmt.Text(3));
  b.granted_at = stmt.Time(4);
  b.expires_at = stmt.OptionalTime(5);
  b.reason = std::string(stmt.Text(6));
  return b;
}

// The outcome of a write that must change exactly principal `id`'s row.
absl::Status ChangedOnePrincipal(const absl::StatusOr<int64_t>& changed,
                                 absl::string_view id) {
  if (!changed.ok()) return changed.status();
  if (*changed == 0) {
    return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> SqlitePrincipalRepository::PublishedLocked(
    absl::string_view principal, absl::StatusOr<int64_t> revision) {
  if (!revision.ok()) return revision.status();
  if (absl::Status s = publisher_->PublishPrincipalLocked(principal, *revision);
      !s.ok()) {
    return s;
  }
  return revision;
}

absl::StatusOr<UpsertPrincipalResult>
SqlitePrincipalRepository::UpsertPrincipal(absl::string_view id,
                                           absl::string_view display_name,
                                           const AttributeMap& attributes) {
  std::shared_ptr<const Snapshot> current = publisher_->snapshot();
  absl::StatusOr<std::string> json = internal::ValidateUpsertPrincipal(
      id, display_name, attributes, current->program().get());
  if (!json.ok()) return json.status();

  absl::MutexLock lock(&db_->mu);
  // The policy may have changed while we validated without the lock.
  if (publisher_->snapshot()->program() != current->program() &&
      !attributes.empty()) {
    if (absl::Status s =
            ValidateAttributes(*publisher_->snapshot()->program(), attributes);
        !s.ok()) {
      return s;
    }
  }
  Connection& c = *db_->connection;
  const absl::Time now = db_->clock.Now();
  UpsertPrincipalResult result;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("SELECT 1 FROM principals WHERE id = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, id);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      result.created = !*row;
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO principals "
          "(id, display_name, attributes, disabled, created_at, updated_at) "
          "VALUES (?1, ?2, ?3, 0, ?4, ?4) "
          "ON CONFLICT (id) DO UPDATE SET display_name = "
          "excluded.display_name, "
          "attributes = excluded.attributes, "
          "updated_at = max(excluded.updated_at, principals.created_at) "
          "RETURNING id, display_name, attributes, disabled, created_at, "
          "updated_at");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, id);
      stmt->BindText(2, display_name);
      stmt->BindText(3, *json);
      stmt->BindTime(4, now);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::InternalError("upsert returned no row");
      absl::StatusOr<Principal> p = ReadPrincipal(*stmt);
      if (!p.ok()) return p.status();
      result.principal = *std::move(p);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  if (absl::Status s =
          publisher_->PublishPrincipalLocked(id, result.store_revision);
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<Principal> SqlitePrincipalRepository::GetPrincipal(
    absl::string_view id) {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals WHERE id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, id);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
  }
  return ReadPrincipal(*stmt);
}

absl::StatusOr<PrincipalPage> SqlitePrincipalRepository::ListPrincipals(
    int page_size, absl::string_view page_token) {
  const int limit = internal::ClampPageSize(page_size);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts =
        internal::DecodePageToken(page_token, 1);
    if (!parts.ok()) return parts.status();
    after = (*parts)[0];
  }
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals WHERE id > ? ORDER BY id LIMIT ?");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, after);
  stmt->BindInt(2, limit + 1);  // one more tells whether a next page exists
  PrincipalPage page;
  absl::Status read =
      ForEachRowWhile(*stmt, [&](const Statement& row) -> absl::StatusOr<bool> {
        // The extra row only says that another page exists.
        if (static_cast<int>(page.principals.size()) == limit) {
          const absl::string_view last = page.principals.back().id;
          page.next_page_token = internal::EncodePageToken({last});
          return false;
        }
        absl::StatusOr<Principal> p = ReadPrincipal(row);
        if (!p.ok()) return p.status();
        page.principals.push_back(*std::move(p));
        return true;
      });
  if (!read.ok()) return read;
  return page;
}

absl::StatusOr<int64_t> SqlitePrincipalRepository::SetPrincipalDisabled(
    absl::string_view id, bool disabled) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision = CommitChange(c, [&]() -> absl::Status {
    absl::StatusOr<int64_t> changed =
        RunWrite(c,
                 "UPDATE principals SET disabled = ?, "
                 "updated_at = max(?, created_at) WHERE id = ?",
                 [&](Statement& stmt) {
                   stmt.BindInt(1, disabled ? 1 : 0);
                   stmt.BindTime(2, db_->clock.Now());
                   stmt.BindText(3, id);
                 });
    return ChangedOnePrincipal(changed, id);
  });
  return PublishedLocked(id, revision);
}

absl::StatusOr<int64_t> SqlitePrincipalRepository::DeletePrincipal(
    absl::string_view id) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision = CommitChange(c, [&]() -> absl::Status {
    // Bindings go with it (ON DELETE CASCADE); audit_log rows stay.
    absl::StatusOr<int64_t> changed =
        RunWrite(c, "DELETE FROM principals WHERE id = ?",
                 [&](Statement& stmt) { stmt.BindText(1, id); });
    return ChangedOnePrincipal(changed, id);
  });
  return PublishedLocked(id, revision);
}

// ---- Role bindings.
// ----------------------------------------------------------

absl::StatusOr<GrantResult> SqlitePrincipalRepository::Grant(
    const GrantRequest& request) {
  if (absl::Status s = internal::ValidateGrantRequest(request); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&db_->mu);
  const std::shared_ptr<const Snapshot> current = publisher_->snapshot();
  const policy::Program* program = current->program().get();
  const absl::Time now = db_->clock.Now();
  absl::StatusOr<policy::RoleId> role =
      internal::ValidateGrantAgainstPolicy(request, program, now);
  if (!role.ok()) return role.status();

  Connection& c = *db_->connection;
  GrantResult result;
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(c);
    if (!txn.ok()) return txn.status();
    {
      absl::StatusOr<Statement> stmt =
          c.Prepare("SELECT 1 FROM principals WHERE id = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, request.principal);
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) {
        return absl::NotFoundError(
            absl::StrCat("no principal \"", request.principal, "\""));
      }
    }
    {
      // Separation of duties against every other unexpired binding of the
      // principal whose scope overlaps the new one.
      absl::StatusOr<Statement> stmt = c.Prepare(
          "SELECT role, scope, expires_at FROM role_bindings "
          "WHERE principal = ?");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, request.principal);
      absl::Status checked = ForEachRow(*stmt, [&](const Statement& row) {
        return internal::CheckGrantAgainstBinding(request, *role, *program,
                                                  row.Text(0), row.Text(1),
                                                  row.OptionalTime(2), now);
      });
      if (!checked.ok()) return checked;
    }
    {
      absl::StatusOr<Statement> stmt = c.Prepare(
          "INSERT INTO role_bindings (principal, role, scope, granted_by, "
          "granted_at, expires_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindText(1, request.principal);
      stmt->BindText(2, request.role);
      stmt->BindText(3, request.scope);
      stmt->BindText(4, request.granted_by);
      stmt->BindTime(5, now);
      stmt->BindOptionalTime(6, request.expires_at);
      stmt->BindText(7, request.reason);
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> revision = CommitWithNewRevision(c, *txn);
    if (!revision.ok()) return revision.status();
    result.store_revision = *revision;
  }
  result.binding = Binding{request.principal,  request.role, request.scope,
                           request.granted_by, now,          request.expires_at,
                           request.reason};
  if (absl::Status s = publisher_->PublishPrincipalLocked(
          request.principal, result.store_revision);
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<int64_t> SqlitePrincipalRepository::Revoke(
    absl::string_view principal, absl::string_view role,
    absl::string_view scope) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision = CommitChange(c, [&]() -> absl::Status {
    absl::StatusOr<int64_t> changed =
        RunWrite(c,
                 "DELETE FROM role_bindings "
                 "WHERE principal = ? AND role = ? AND scope = ?",
                 [&](Statement& stmt) {
                   stmt.BindText(1, principal);
                   stmt.BindText(2, role);
                   stmt.BindText(3, scope);
                 });
    if (!changed.ok()) return changed.status();
    if (*changed == 0) {
      return absl::NotFoundError(absl::StrCat("principal \"", principal,
                                              "\" holds no role \"", role,
                                              "\" in scope \"", scope, "\""));
    }
    return absl::OkStatus();
  });
  return PublishedLocked(principal, revision);
}

absl::StatusOr<BindingPage> SqlitePrincipalRepository::ListBindings(
    const BindingFilter& filter, int page_size, absl::string_view page_token) {
  const int limit = internal::ClampPageSize(page_size);
  std::vector<std::string> after = {"", "", ""};
  bool has_after = false;
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> parts =
        internal::DecodePageToken(page_token, 3);
    if (!parts.ok()) return parts.status();
    after = *std::move(parts);
    has_after = true;
  }
  // One statement per combination of filters and first/later page, so
  // each is an index range scan already in (principal, role, scope) order:
  // the primary key when the principal is given or nothing is, else
  // role_bindings_by_role (role, principal, then the key's scope). A form
  // like (?1 = '' OR principal = ?1) cannot use any index and made every
  // page a scan from the start (quadratic paging). The row-value keyset
  // term stays exact; SQLite turns it into the range start (EXPLAIN QUERY
  // PLAN: SEARCH ... USING PRIMARY KEY / INDEX role_bindings_by_role, no
  // temp b-tree, for all eight forms).
  std::string sql =
      "SELECT principal, role, scope, granted_by, granted_at, expires_at, "
      "reason FROM role_bindings";
  const char* glue = " WHERE ";
  if (!filter.principal.empty()) {
    absl::StrAppend(&sql, glue, "principal = ?");
    glue = " AND ";
  }
  if (!filter.role.empty()) {
    absl::StrAppend(&sql, glue, "role = ?");
    glue = " AND ";
  }
  if (has_after) {
    absl::StrAppend(&sql, glue, "(principal, role, scope) > (?, ?, ?)");
  }
  absl::StrAppend(&sql, " ORDER BY principal, role, scope LIMIT ?");
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Statement> stmt = db_->connection->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  int param = 0;
  if (!filter.principal.empty()) stmt->BindText(++param, filter.principal);
  if (!filter.role.empty()) stmt->BindText(++param, filter.role);
  if (has_after) {
    stmt->BindText(++param, after[0]);
    stmt->BindText(++param, after[1]);
    stmt->BindText(++param, after[2]);
  }
  stmt->BindInt(++param, limit + 1);
  BindingPage page;
  absl::Status read =
      ForEachRowWhile(*stmt, [&](const Statement& row) -> absl::StatusOr<bool> {
        // The extra row only says that another page exists.
        if (static_cast<int>(page.bindings.size()) == limit) {
          const Binding& last = page.bindings.back();
          page.next_page_token = internal::EncodePageToken(
              {last.principal, last.role, last.scope});
          return false;
        }
        page.bindings.push_back(ReadBinding(row));
        return true;
      });
  if (!read.ok()) return read;
  return page;
}

}  // namespace steward::store::sqlite
