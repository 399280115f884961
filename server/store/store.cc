// See store.h. Engine selection only; the engines live in subfolders.
#include "server/store/store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/store/sqlite/sqlite_store.h"

namespace steward::store {
namespace {

// A location naming an engine by URL scheme; anything else is a file path
// for the SQLite engine.
absl::Status CheckEngine(const std::string& location) {
  if (absl::StartsWith(location, "postgresql://") ||
      absl::StartsWith(location, "postgres://")) {
    return absl::UnimplementedError(
        "this stewardd has no PostgreSQL store engine");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& location,
                                                 const Clock& clock,
                                                 const StoreOptions& options) {
  if (absl::Status s = CheckEngine(location); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<sqlite::SqliteStore>> store =
      sqlite::SqliteStore::Open(location, clock, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

absl::StatusOr<std::unique_ptr<Store>> InitializeStore(
    const std::string& location, const Clock& clock,
    const StoreOptions& options, bool* created) {
  if (absl::Status s = CheckEngine(location); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<sqlite::SqliteStore>> store =
      sqlite::SqliteStore::Initialize(location, clock, options, created);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

}  // namespace steward::store
