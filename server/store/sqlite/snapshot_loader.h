// Reads principals and bindings from SQLite into Snapshot form.
//
// Internal to server/store (the SQLite engine). The full load (store open,
// policy activation, ReloadSnapshot) scans `principals` and `role_bindings`
// once each, both in id order (both tables are clustered that way), and
// merges them, so the cost is two sequential scans regardless of size.
// Large loads copy the rows out in batches and build the entries on a
// second thread, so the scan and the building overlap (LoadOptions). Role
// names are resolved against the Program; bindings to roles it lacks and
// attributes it does not declare (or declares with another type) are left
// out (policy_repository.h explains why that is safe).
#ifndef STEWARD_SERVER_STORE_SQLITE_SNAPSHOT_LOADER_H_
#define STEWARD_SERVER_STORE_SQLITE_SNAPSHOT_LOADER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/program.h"
#include "server/store/entry_assembler.h"
#include "server/store/snapshot.h"
#include "server/store/sqlite/connection.h"

namespace steward::store::sqlite {

using store::LoadStats;

// How LoadSnapshot splits its work; the defaults suit production, tests
// shrink them to exercise the threaded path on small stores.
struct LoadOptions {
  // From this many principals on, entries are built on a second thread
  // while the calling thread scans SQLite (the two halves of a full build
  // overlap on two cores).
  int64_t min_principals_for_worker = 50000;
  // Principals per batch handed from the scan to the builder thread.
  size_t batch_principals = 4096;
};

// Builds a complete snapshot of the database's current state. `program`
// may be null (no active policy): principals are indexed without bindings
// or attributes. Runs its scans in one read transaction. `stats`, when not
// null, is added to.
absl::StatusOr<std::shared_ptr<const Snapshot>> LoadSnapshot(
    Connection& connection, std::shared_ptr<const policy::Program> program,
    int64_t policy_version, int64_t store_revision, LoadStats* stats,
    const LoadOptions& options = LoadOptions());

// One principal's entry, or null when the principal does not exist.
absl::StatusOr<std::shared_ptr<const PrincipalEntry>> LoadPrincipalEntry(
    Connection& connection, const policy::Program* program,
    absl::string_view id);

}  // namespace steward::store::sqlite

#endif  // STEWARD_SERVER_STORE_SQLITE_SNAPSHOT_LOADER_H_
