// See store.h. Engine selection only; the engines live in subfolders.
#include "server/store/store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/store/postgresql/pg_store.h"
#include "server/store/sqlite/sqlite_store.h"

namespace steward::store {
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& location,
                                                 const Clock& clock,
                                                 const StoreOptions& options) {
  if (IsPostgresqlLocation(location)) {
    absl::StatusOr<std::unique_ptr<postgresql::PgStore>> store =
        postgresql::PgStore::Open(location, clock, options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }
  absl::StatusOr<std::unique_ptr<sqlite::SqliteStore>> store =
      sqlite::SqliteStore::Open(location, clock, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

absl::StatusOr<std::unique_ptr<Store>> InitializeStore(
    const std::string& location, const Clock& clock,
    const StoreOptions& options, bool* created) {
  if (IsPostgresqlLocation(location)) {
    absl::StatusOr<std::unique_ptr<postgresql::PgStore>> store =
        postgresql::PgStore::Initialize(location, clock, options, created);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }
  absl::StatusOr<std::unique_ptr<sqlite::SqliteStore>> store =
      sqlite::SqliteStore::Initialize(location, clock, options, created);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

}  // namespace steward::store
