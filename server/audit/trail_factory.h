// OpenTrailWriter: the audit trail writer for a store location, whichever
// engine holds it.
//
// Public; the seam the daemon's wiring uses (`stewardd serve --store`):
// a file path opens the SQLite trail's AuditWriter (writer.h) on that
// database; a postgresql:// or postgres:// URL opens this replica's
// PgTrailWriter (postgresql/pg_trail_writer.h), whose chain is the
// replica name. The caller keeps using the returned TrailWriter for the
// sink, the metrics probe and shutdown; nothing above it knows the engine.
#ifndef STEWARD_SERVER_AUDIT_TRAIL_FACTORY_H_
#define STEWARD_SERVER_AUDIT_TRAIL_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/audit/trail_writer.h"
#include "server/audit/writer.h"

namespace steward::audit {

// Opens the writer for `location`. For PostgreSQL, `replica_name` names the
// chain (required) and of `options` the queue and batch bounds and the
// signed checkpoint settings apply (the SQLite-only ones, such as WAL and
// index settings or min_next_seq, do not); for SQLite `replica_name` must
// be empty, since that trail has one chain. kInvalidArgument: a replica
// name for SQLite, a missing or malformed one for PostgreSQL. Otherwise
// the codes of AuditWriter::Open or PgTrailWriter::Open; messages never
// show a password.
absl::StatusOr<std::unique_ptr<TrailWriter>> OpenTrailWriter(
    const std::string& location, absl::string_view replica_name,
    const WriterOptions& options);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_TRAIL_FACTORY_H_
