// See trail_factory.h.
#include "server/audit/trail_factory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/audit/postgresql/pg_trail_writer.h"
#include "server/store/store.h"

namespace steward::audit {

absl::StatusOr<std::unique_ptr<TrailWriter>> OpenTrailWriter(
    const std::string& location, absl::string_view replica_name,
    const WriterOptions& options) {
  if (!store::IsPostgresqlLocation(location)) {
    if (!replica_name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replica name \"", replica_name,
          "\" given for a SQLite audit trail: replica names name the "
          "chains of a PostgreSQL trail"));
    }
    absl::StatusOr<std::unique_ptr<AuditWriter>> writer =
        AuditWriter::Open(location, options);
    if (!writer.ok()) return writer.status();
    return std::unique_ptr<TrailWriter>(*std::move(writer));
  }
  if (replica_name.empty()) {
    return absl::InvalidArgumentError(
        "a PostgreSQL audit trail needs a replica name (one chain per "
        "replica)");
  }
  PgWriterOptions pg;
  pg.conninfo = location;
  pg.chain = std::string(replica_name);
  pg.queue_capacity = options.queue_capacity;
  pg.max_batch_records = options.max_batch_records;
  pg.signing_key = options.signing_key;
  pg.signed_checkpoint_records = options.signed_checkpoint_records;
  pg.signed_checkpoint_interval = options.signed_checkpoint_interval;
  pg.on_signed_checkpoint = options.on_signed_checkpoint;
  absl::StatusOr<std::unique_ptr<PgTrailWriter>> writer =
      PgTrailWriter::Open(pg);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<TrailWriter>(*std::move(writer));
}

}  // namespace steward::audit
