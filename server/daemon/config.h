// Command-line configuration of `stewardd`: the `init`, `serve` and
// `migrate-store` subcommands of docs/INTERFACES (shared/design/INTERFACES.md),
// parsed and validated into plain structs before anything starts. Wiring in
// main.cc turns a parse failure into one clear line on stderr and exit code 2.
#ifndef STEWARD_SERVER_DAEMON_CONFIG_H_
#define STEWARD_SERVER_DAEMON_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/grpc/audit_durability.h"

namespace steward::server {

// `stewardd init`: create a new store and bootstrap the first admin key.
struct InitConfig {
  std::string data_dir;
  std::string policy_file;      // optional: applied as version 1
  std::string admin_key_out;    // optional: write the key here (0600)
  std::string totp_secret_out;  // optional: write the otpauth URI here
  // Optional: create an Ed25519 audit signing key here (0600) and print
  // its public key. Works on an existing store too: a key is not part of it.
  std::string create_audit_signing_key;
  // Optional: the role store's location when it is not DATA_DIR/steward.db:
  // a postgresql:// URL (libpq; TLS via sslmode). Shown only redacted
  // (store::RedactStoreLocation).
  std::string store;
};

// `stewardd serve`.
struct ServeConfig {
  std::string data_dir;
  std::string listen = "127.0.0.1:7070";
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string metrics_listen;  // empty: no metrics endpoint
  // The HTTP/JSON API (server/http/http_gateway.h); empty: none. Same TLS
  // and loopback rule as --listen.
  std::string http_listen;
  int http_threads = 64;  // connections served at once
  AuditDurability audit_durability = AuditDurability::kSync;
  absl::Duration audit_retention = absl::Hours(24 * 400);
  std::string audit_key_file;
  // Signed checkpoints (server/audit/signed_checkpoint.h); empty: unsigned.
  std::string audit_signing_key;
  int audit_checkpoint_records = 1000;
  absl::Duration audit_checkpoint_interval = absl::Seconds(10);
  // Append even though the start-up check of the signed tail failed; the
  // failure is recorded in the trail as the start of a new segment.
  bool audit_start_new_segment = false;
  bool dev = false;
  std::string policy_file;  // --dev only: applied when none is active
  int threads = 0;          // 0: one per core
  // Checks waiting for their audit commit beyond which new ones are refused
  // with RESOURCE_EXHAUSTED rather than queued without bound.
  int max_in_flight = 20000;
  // Audit records accepted but not yet committed. With async durability a
  // full queue answers RESOURCE_EXHAUSTED (back-pressure, nothing dropped);
  // it bounds the memory that a slow disk can make the queue take.
  int audit_queue_capacity = 65536;
  // How often TLS certificate and key files are re-read (seconds).
  int tls_reload_seconds = 10;
  // The role store's location when it is not DATA_DIR/steward.db: a
  // postgresql:// URL shared by several replicas. Shown only redacted
  // (store::RedactStoreLocation).
  std::string store;
  // This replica's name (1..64 of [A-Za-z0-9_.-]); required with a
  // PostgreSQL store, where it names the process in logs.
  std::string replica_name;
  // How often a replica reads the store revision besides listening for
  // notifications (the safety net for missed ones).
  absl::Duration store_poll_interval = absl::Seconds(1);
  // How long a replica may go without reaching PostgreSQL before health
  // turns NOT_SERVING.
  absl::Duration store_grace_period = absl::Seconds(10);
  // The longest a Check with min_store_revision waits for this replica to
  // catch up (the call's deadline may cut it shorter).
  absl::Duration min_revision_wait = absl::Seconds(2);
  bool postgresql() const { return !store.empty(); }
  bool tls() const { return !tls_cert.empty(); }
};

// `stewardd migrate-store`: copy a SQLite data dir's store and audit trail
// into an empty PostgreSQL database (migrate_command.h).
struct MigrateConfig {
  std::string from;  // the data dir holding steward.db
  std::string to;    // postgresql:// URL; shown only redacted
  // The audit chain the SQLite trail becomes: a valid --replica-name, so
  // the replica of that name would continue it.
  std::string chain = "migrated";
  bool dry_run = false;  // copy inside the transaction, then roll back
  int batch_records = 5000;
};

// Exactly one of the members is set after a successful parse; `help` holds
// the text to print when the user asked for --help.
struct Command {
  std::optional<InitConfig> init;
  std::optional<ServeConfig> serve;
  std::optional<MigrateConfig> migrate;
  std::string help;
  bool version = false;
};

// Parses argv. InvalidArgument carries a one-line message naming the flag.
absl::StatusOr<Command> ParseCommandLine(int argc, const char* const* argv);

// OK when `name` is a valid --replica-name (and so --chain): 1 to 64
// characters of A-Z a-z 0-9 _ . -; otherwise InvalidArgument naming `flag`.
absl::Status CheckReplicaName(absl::string_view flag, absl::string_view name);

// Parses "400d", "24h", "90m", "30s", "250ms" (one unit, positive
// integer).
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text);

// True when `listen` ("host:port") names a loopback address: 127.0.0.0/8,
// [::1] or localhost.
bool IsLoopbackAddress(absl::string_view listen);

}  // namespace steward::server

#endif  // STEWARD_SERVER_DAEMON_CONFIG_H_
