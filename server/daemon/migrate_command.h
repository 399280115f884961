// `stewardd migrate-store --from DATA_DIR --to postgresql://...`: moves a
// SQLite deployment to PostgreSQL. Copies the role store
// (store/postgresql/sqlite_import.h) and the audit trail, as a chain of
// its own (audit/postgresql/pg_import.h), into an empty database, in one
// PostgreSQL transaction: either everything is there or nothing is, and a
// failed run can simply be run again.
//
// Daemon wiring. Order of the checks, each a refusal that changes nothing
// in the source: the data dir lock (the one `serve` holds, so a running
// stewardd is detected for real and none can start during the copy), the
// source opened read-only, its schema current, its chain verified; then
// the target's schema brought up to date (as `init --store` does), its
// store_meta row locked and its tables found empty. After commit the
// target's chains are verified (VerifyPgChains) and the copied chain's
// record count compared. docs/deployment.md, "Moving from SQLite".
#ifndef STEWARD_SERVER_DAEMON_MIGRATE_COMMAND_H_
#define STEWARD_SERVER_DAEMON_MIGRATE_COMMAND_H_

#include "server/daemon/config.h"

namespace steward::server {

// Returns the process exit code: 0 copied (or, with --dry-run, copied and
// rolled back), 1 refused or failed (one `stewardd: error:` line on
// stderr saying why; nothing committed unless the message says so), 2 a
// malformed --to URL. Progress goes to stderr, the summary to stdout; the
// URL's password appears in neither.
int RunMigrateStore(const MigrateConfig& config);

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_MIGRATE_COMMAND_H_
