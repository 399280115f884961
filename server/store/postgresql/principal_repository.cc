// See principal_repository.h.
#include "server/store/postgresql/principal_repository.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/attributes.h"
#include "server/store/repository_support.h"

namespace steward::store::postgresql {
namespace {

absl::StatusOr<Principal> ReadPrincipal(const Result& r, int row) {
  // Columns: id, display_name, attributes, disabled, created_at, updated_at.
  Principal p;
  p.id = std::string(r.Text(row, 0));
  p.display_name = std::string(r.Text(row, 1));
  absl::StatusOr<AttributeMap> attributes = ParseAttributesJson(r.Text(row, 2));
  if (!attributes.ok()) {
    return absl::DataLossError(
        absl::StrCat("principal \"", p.id,
                     "\": stored attributes: ", attributes.status().message()));
  }
  p.attributes = *std::move(attributes);
  p.disabled = r.Bool(row, 3);
  p.created_at = r.Time(row, 4);
  p.updated_at = r.Time(row, 5);
  return p;
}

Binding ReadBinding(const Result& r, int row) {
  Binding b;
  b.principal = std::string(r.Text(row, 0));
  b.role = std::string(r.Text(row, 1));
  b.scope = std::string(r.Text(row, 2));
  b.granted_by = std::string(r.Text(row, 3));
  b.granted_at = r.Time(row, 4);
  b.expires_at = r.OptionalTime(row, 5);
  b.reason = std::string(r.Text(row, 6));
  return b;
}

absl::Status ChangedOnePrincipal(const absl::StatusOr<Result>& changed,
                                 absl::string_view id) {
  if (!changed.ok()) return changed.status();
  if (changed->affected() == 0) {
    return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> PgPrincipalRepository::PublishedLocked(
    absl::string_view principal, absl::StatusOr<int64_t> revision) {
  if (!revision.ok()) return revision.status();
  if (absl::Status s = publisher_->PublishPrincipalLocked(principal, *revision);
      !s.ok()) {
    return s;
  }
  return revision;
}

absl::StatusOr<UpsertPrincipalResult> PgPrincipalRepository::UpsertPrincipal(
    absl::string_view id, absl::string_view display_name,
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
  absl::StatusOr<int64_t> revision =
      CommitChange(c, ChangeSubject::Principal(id), [&]() -> absl::Status {
        // xmax = 0 only on a freshly inserted row: created vs. updated in the
        // same statement.
        absl::StatusOr<Result> row = c.Exec(
            "upsert principal",
            "INSERT INTO principals "
            "(id, display_name, attributes, disabled, created_at, updated_at) "
            "VALUES ($1, $2, $3, false, $4, $4) "
            "ON CONFLICT (id) DO UPDATE SET display_name = "
            "excluded.display_name, attributes = excluded.attributes, "
            "updated_at = GREATEST(excluded.updated_at, principals.created_at) "
            "RETURNING id, display_name, attributes, disabled, created_at, "
            "updated_at, xmax = 0",
            Params().Text(id).Text(display_name).Text(*json).Time(now));
        if (!row.ok()) return row.status();
        if (row->rows() != 1)
          return absl::InternalError("upsert returned no row");
        absl::StatusOr<Principal> p = ReadPrincipal(*row, 0);
        if (!p.ok()) return p.status();
        result.principal = *std::move(p);
        result.created = row->Bool(0, 6);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  if (absl::Status s =
          publisher_->PublishPrincipalLocked(id, result.store_revision);
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<Principal> PgPrincipalRepository::GetPrincipal(
    absl::string_view id) {
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "get principal",
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals WHERE id = $1",
      Params().Text(id));
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no principal \"", id, "\""));
  }
  return ReadPrincipal(*rows, 0);
}

absl::StatusOr<PrincipalPage> PgPrincipalRepository::ListPrincipals(
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
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "list principals",
      "SELECT id, display_name, attributes, disabled, created_at, updated_at "
      "FROM principals WHERE id > $1 ORDER BY id LIMIT $2",
      // One more row tells whether a next page exists.
      Params().Text(after).Int(limit + 1));
  if (!rows.ok()) return rows.status();
  PrincipalPage page;
  for (int i = 0; i < rows->rows() && i < limit; ++i) {
    absl::StatusOr<Principal> p = ReadPrincipal(*rows, i);
    if (!p.ok()) return p.status();
    page.principals.push_back(*std::move(p));
  }
  if (rows->rows() > limit) {
    page.next_page_token =
        internal::EncodePageToken({page.principals.back().id});
  }
  return page;
}

absl::StatusOr<int64_t> PgPrincipalRepository::SetPrincipalDisabled(
    absl::string_view id, bool disabled) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision =
      CommitChange(c, ChangeSubject::Principal(id), [&]() -> absl::Status {
        return ChangedOnePrincipal(
            c.Exec("set principal disabled",
                   "UPDATE principals SET disabled = $1, "
                   "updated_at = GREATEST($2, created_at) WHERE id = $3",
                   Params().Bool(disabled).Time(db_->clock.Now()).Text(id)),
            id);
      });
  return PublishedLocked(id, revision);
}

absl::StatusOr<int64_t> PgPrincipalRepository::DeletePrincipal(
    absl::string_view id) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision =
      CommitChange(c, ChangeSubject::Principal(id), [&]() -> absl::Status {
        // Bindings go with it (ON DELETE CASCADE).
        return ChangedOnePrincipal(
            c.Exec("delete principal", "DELETE FROM principals WHERE id = $1",
                   Params().Text(id)),
            id);
      });
  return PublishedLocked(id, revision);
}

absl::StatusOr<GrantResult> PgPrincipalRepository::Grant(
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
  absl::StatusOr<int64_t> revision = CommitChange(
      c, ChangeSubject::Principal(request.principal), [&]() -> absl::Status {
        absl::StatusOr<Result> exists = c.Exec(
            "grant: find principal", "SELECT 1 FROM principals WHERE id = $1",
            Params().Text(request.principal));
        if (!exists.ok()) return exists.status();
        if (exists->rows() == 0) {
          return absl::NotFoundError(
              absl::StrCat("no principal \"", request.principal, "\""));
        }
        // Separation of duties against every other binding of the principal;
        // read under the revision lock, so no concurrent grant slips past.
        absl::StatusOr<Result> others =
            c.Exec("grant: read bindings",
                   "SELECT role, scope, expires_at FROM role_bindings "
                   "WHERE principal = $1 ORDER BY role, scope",
                   Params().Text(request.principal));
        if (!others.ok()) return others.status();
        for (int i = 0; i < others->rows(); ++i) {
          if (absl::Status s = internal::CheckGrantAgainstBinding(
                  request, *role, *program, others->Text(i, 0),
                  others->Text(i, 1), others->OptionalTime(i, 2), now);
              !s.ok()) {
            return s;
          }
        }
        return c
            .Exec("grant: insert binding",
                  "INSERT INTO role_bindings (principal, role, scope, "
                  "granted_by, "
                  "granted_at, expires_at, reason) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                  Params()
                      .Text(request.principal)
                      .Text(request.role)
                      .Text(request.scope)
                      .Text(request.granted_by)
                      .Time(now)
                      .OptionalTime(request.expires_at)
                      .Text(request.reason))
            .status();
      });
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
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

absl::StatusOr<int64_t> PgPrincipalRepository::Revoke(
    absl::string_view principal, absl::string_view role,
    absl::string_view scope) {
  absl::MutexLock lock(&db_->mu);
  Connection& c = *db_->connection;
  absl::StatusOr<int64_t> revision = CommitChange(
      c, ChangeSubject::Principal(principal), [&]() -> absl::Status {
        absl::StatusOr<Result> changed =
            c.Exec("revoke binding",
                   "DELETE FROM role_bindings "
                   "WHERE principal = $1 AND role = $2 AND scope = $3",
                   Params().Text(principal).Text(role).Text(scope));
        if (!changed.ok()) return changed.status();
        if (changed->affected() == 0) {
          return absl::NotFoundError(
              absl::StrCat("principal \"", principal, "\" holds no role \"",
                           role, "\" in scope \"", scope, "\""));
        }
        return absl::OkStatus();
      });
  return PublishedLocked(principal, revision);
}

absl::StatusOr<BindingPage> PgPrincipalRepository::ListBindings(
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
  // One constant statement: an empty filter matches everything, and the
  // keyset term is off on the first page. The planner picks the primary
  // key or role_bindings_by_role per execution (generic plans are not
  // cached for unnamed statements).
  absl::MutexLock lock(&db_->mu);
  absl::StatusOr<Result> rows = db_->connection->Exec(
      "list bindings",
      "SELECT principal, role, scope, granted_by, granted_at, expires_at, "
      "reason FROM role_bindings "
      "WHERE ($1 = '' OR principal = $1) AND ($2 = '' OR role = $2) "
      "AND (NOT $3::boolean OR (principal, role, scope) > ($4, $5, $6)) "
      "ORDER BY principal, role, scope LIMIT $7",
      Params()
          .Text(filter.principal)
          .Text(filter.role)
          .Bool(has_after)
          .Text(after[0])
          .Text(after[1])
          .Text(after[2])
          .Int(limit + 1));
  if (!rows.ok()) return rows.status();
  BindingPage page;
  for (int i = 0; i < rows->rows() && i < limit; ++i) {
    page.bindings.push_back(ReadBinding(*rows, i));
  }
  if (rows->rows() > limit) {
    const Binding& last = page.bindings.back();
    page.next_page_token =
        internal::EncodePageToken({last.principal, last.role, last.scope});
  }
  return page;
}

}  // namespace steward::store::postgresql
