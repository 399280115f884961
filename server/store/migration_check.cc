// See migration_check.h.
#include "server/store/migration_check.h"

#include "absl/strings/str_cat.h"

namespace steward::store::internal {

absl::Status CheckAppliedMigrations(
    absl::Span<const AppliedMigration> applied,
    absl::Span<const migrations::Migration> known) {
  const int latest_known = known.empty() ? 0 : known.back().version;
  for (const AppliedMigration& a : applied) {
    if (a.version > latest_known) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database schema version ", applied.back().version,
          " is newer than this stewardd (knows up to ", latest_known,
          "); upgrade stewardd or restore a backup"));
    }
  }
  // A migration that sorts below one already applied but was never applied
  // itself was inserted out of order; applying it now would run it after
  // its successors, which its author never tested.
  if (!applied.empty()) {
    for (const migrations::Migration& m : known) {
      if (m.version >= applied.back().version) break;
      bool recorded = false;
      for (const AppliedMigration& a : applied) {
        recorded = recorded || a.version == m.version;
      }
      if (!recorded) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", m.name, " sorts before the already applied ",
            applied.back().name,
            " but was never applied: new migrations must be appended with a "
            "higher number"));
      }
    }
  }
  for (const AppliedMigration& a : applied) {
    const migrations::Migration* match = nullptr;
    for (const migrations::Migration& m : known) {
      if (m.version == a.version) match = &m;
    }
    if (match == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("database records migration ", a.name, " (version ",
                       a.version, ") which this stewardd does not have"));
    }
    if (match->name != a.name || match->sha256 != a.checksum) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration ", match->name, " differs from the one applied to this ",
          "database as ", a.name, " (recorded checksum ", a.checksum,
          ", this stewardd has ", match->sha256,
          "): a migration must never be edited after it is applied"));
    }
  }
  return absl::OkStatus();
}

}  // namespace steward::store::internal
