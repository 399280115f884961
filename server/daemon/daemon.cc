#include "server/daemon/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/rand.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/audit/audit_queries.h"
#include "server/audit/postgresql/pg_audit_queries.h"
#include "server/audit/postgresql/pg_reader.h"
#include "server/audit/postgresql/pg_retention.h"
#include "server/audit/postgresql/pg_usage.h"
#include "server/audit/postgresql/pg_verify.h"
#include "server/audit/reader.h"
#include "server/audit/retention.h"
#include "server/audit/run_marker.h"
#include "server/audit/signed_checkpoint.h"
#include "server/audit/trail_factory.h"
#include "server/audit/usage.h"
#include "server/audit/verify.h"
#include "server/audit/writer.h"
#include "server/auth/authenticator.h"
#include "server/auth/secret_file.h"
#include "server/auth/tls_reloader.h"
#include "server/daemon/data_dir_lock.h"
#include "server/daemon/dev_mode.h"
#include "server/daemon/protobuf_log.h"
#include "server/daemon/retention_job.h"
#include "server/daemon/shutdown_signal.h"
#include "server/daemon/tls_credentials.h"
#include "server/grpc/admin_service.h"
#include "server/grpc/audit_service.h"
#include "server/grpc/authorization_service.h"
#include "server/grpc/trail_audit_sink.h"
#include "server/http/http_gateway.h"
#include "server/metrics/metrics.h"
#include "server/metrics/metrics_http.h"
#include "server/store/clock.h"
#include "server/store/store.h"

namespace steward::server {
namespace {

// How long in-flight calls may take to finish after SIGTERM.
constexpr auto kDrainTimeout = std::chrono::seconds(10);
// How often the main loop refreshes health and metrics between signals.
constexpr absl::Duration kHousekeepingPeriod = absl::Seconds(1);
// The most HTTP/2 header bytes (HPACK-decoded, 32 bytes of overhead per
// entry) one request may carry; advertised as SETTINGS_MAX_HEADER_LIST_SIZE.
constexpr int kMaxMetadataBytes = 8 * 1024;
// The largest request message gRPC accepts: a BatchCheck of many items.
constexpr int kMaxReceiveMessageBytes = 4 * 1024 * 1024 + 64 * 1024;

const char* DurabilityName(AuditDurability durability) {
  switch (durability) {
    case AuditDurability::kSync:
      return "sync";
    case AuditDurability::kAsync:
      return "async";
    case AuditDurability::kOff:
      return "off";
  }
  return "unknown";
}

absl::Status EnsureDataDir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create data dir ", dir, ": ", error.message()));
  }
  // The directory holds the store and key files: owner only.
  ::chmod(dir.c_str(), 0700);
  return absl::OkStatus();
}

// A configuration error: the operator must fix the command line or files.
absl::Status ConfigError(const absl::Status& status) {
  return absl::InvalidArgumentError(status.message());
}

// A runtime failure while opening `what`; never kInvalidArgument, which
// Daemon::Open reserves for configuration errors.
absl::Status OpenError(absl::string_view what, const absl::Status& status) {
  absl::StatusCode code = status.code() == absl::StatusCode::kInvalidArgument
                              ? absl::StatusCode::kInternal
                              : status.code();
  return absl::Status(code, absl::StrCat(what, ": ", status.ToString()));
}

// Lets tests and scripts started with `--listen HOST:0` find the port.
void WriteAddressFile(const std::string& data_dir, const std::string& name,
                      const std::string& address) {
  std::string path = absl::StrCat(data_dir, "/", name);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address << "\n";
  }
  std::filesystem::rename(tmp, path);
}

// 128 random bits as hex; "" if the generator fails, which only makes the
// audit trail name the HTTP gateway's calls "unknown".
std::string RandomToken() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string HostOf(const std::string& listen) {
  return listen.substr(0, listen.rfind(':'));
}

// Builds the reports' usage aggregate (SQLite's UsageIndex or
// PostgreSQL's PgTrailUsage: the same two calls) and logs its size.
void WarmUsage(audit::TrailUsage& index) {
  const absl::Time start = absl::Now();
  if (absl::Status s = index.Refresh(); !s.ok()) {
    spdlog::warn("usage index for reports not built at start: {}",
                 s.ToString());
    return;
  }
  const audit::DecisionFoldSize size = index.FoldSize();
  spdlog::info(
      "usage index for reports built in {} ms ({} days, {} (day, "
      "principal) deny counts, ~{} MiB)",
      absl::ToInt64Milliseconds(absl::Now() - start), size.days,
      size.deny_entries, size.approximate_bytes >> 20);
}

// What the start-up check of the signed tail decides, for either engine:
// refuse a trail that does not verify, or with --audit-start-new-segment
// go on and set `new_segment_failure` to what the new segment's first
// record must state.
absl::Status ActOnSignedTail(const audit::VerifyResult& tail,
                             const ServeConfig& config,
                             const std::string& key_id,
                             std::string& new_segment_failure) {
  if (tail.ok) {
    spdlog::info("audit trail signed with key {}: {}", key_id, tail.message);
    return absl::OkStatus();
  }
  if (!config.audit_start_new_segment) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the audit trail does not verify: ", tail.message,
        ". Refusing to append to it. Investigate with `stewardctl audit "
        "verify --public-key`, restore a good copy, or start with "
        "--audit-start-new-segment to continue in a new segment that "
        "records this failure"));
  }
  spdlog::warn(
      "the audit trail does not verify: {}; starting a new segment "
      "(--audit-start-new-segment)",
      tail.message);
  new_segment_failure = tail.message;
  return absl::OkStatus();
}

// The trail's reader (kept in `reader`), its reports' usage aggregate on
// a connection of its own (so a long report does not hold up
// QueryDecisions), and the queries over the reader, for one engine.
template <typename Reader, typename Usage, typename Queries>
absl::Status OpenTrailReaders(const std::string& location,
                              std::unique_ptr<Reader>& reader,
                              std::unique_ptr<audit::TrailUsage>& usage,
                              std::unique_ptr<audit::AuditQueries>& queries) {
  absl::StatusOr<std::unique_ptr<Reader>> opened_reader =
      Reader::Open(location);
  if (!opened_reader.ok()) {
    return OpenError("cannot open the audit trail for reading",
                     opened_reader.status());
  }
  absl::StatusOr<std::unique_ptr<Usage>> opened_usage = Usage::Open(location);
  if (!opened_usage.ok()) {
    return OpenError("cannot open the audit trail for reports",
                     opened_usage.status());
  }
  reader = std::move(*opened_reader);
  usage = std::move(*opened_usage);
  queries = std::make_unique<Queries>(reader.get());
  return absl::OkStatus();
}

}  // namespace

// Everything Run() serves with, in construction order (destroyed in
// reverse: services before what they borrow).
struct Daemon::Parts {
  // Carried from OpenConfiguration and OpenRoleStore to OpenServices.
  std::optional<audit::AuditKey> audit_key;
  absl::Duration snapshot_build_time;

  std::unique_ptr<DataDirLock> lock;
  std::unique_ptr<TlsReloader> tls;
  store::RealClock clock;
  std::unique_ptr<store::Store> store;
  // Replicas on PostgreSQL only; stopped before the store closes.
  std::unique_ptr<store::StoreFollower> follower;
  absl::Time follower_started;
  // The trail's writer, whichever engine holds it; sqlite_writer is the
  // same object with a SQLite trail and null with a PostgreSQL one.
  std::unique_ptr<audit::TrailWriter> writer;
  audit::AuditWriter* sqlite_writer = nullptr;
  std::unique_ptr<RetentionJob> retention;
  Metrics metrics;
  std::unique_ptr<TrailAuditSink> audit_sink;
  std::unique_ptr<Authenticator> authenticator;
  std::unique_ptr<AuthorizationServiceImpl> authorization;
  std::unique_ptr<AdminServiceImpl> admin;
  std::unique_ptr<audit::AuditReader> reader;       // SQLite trail only
  std::unique_ptr<audit::PgAuditReader> pg_reader;  // PostgreSQL trail only
  std::unique_ptr<audit::TrailUsage> usage;
  std::unique_ptr<audit::AuditQueries> queries;
  std::unique_ptr<AuditServiceImpl> audit_service;
  std::unique_ptr<MetricsHttpServer> metrics_http;
  // Shared by the Authenticator and the HTTP gateway only (authenticator.h).
  std::string forwarded_peer_token = RandomToken();
};

Daemon::Daemon(const ServeConfig& config)
    : config_(config), parts_(std::make_unique<Parts>()) {}

Daemon::~Daemon() {
  http_.reset();
  if (server_ != nullptr) server_->Shutdown();
  // Opened but never run: nothing was answered, so this is no unclean stop.
  if (!ran_ && parts_->writer != nullptr) {
    (void)audit::RemoveRunMarker(config_.data_dir);
  }
  if (warm_usage_.joinable()) warm_usage_.join();
  if (parts_->retention != nullptr) parts_->retention->Stop();
  if (parts_->metrics_http != nullptr) parts_->metrics_http->Stop();
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Open(
    const ServeConfig& config) {
  std::unique_ptr<Daemon> daemon(new Daemon(config));
  if (absl::Status s = daemon->OpenParts(); !s.ok()) return s;
  if (absl::Status s = daemon->StartListeners(); !s.ok()) return s;
  return daemon;
}

// Says in the trail when the previous run on this data dir did not stop
// cleanly (in async mode it may have answered decisions it never wrote),
// then marks this run as in progress.
absl::Status Daemon::RecordPreviousRun(const ServeConfig& config, Parts& p) {
  absl::StatusOr<std::optional<audit::RunMarker>> previous =
      audit::ReadRunMarker(config.data_dir);
  if (!previous.ok()) return OpenError("run marker", previous.status());
  if (previous->has_value()) {
    const audit::RunMarker& run = **previous;
    absl::StatusOr<int64_t> seq =
        p.writer->SubmitAndWait(audit::UncleanStopRecord(p.clock.Now(), run));
    if (!seq.ok()) {
      return OpenError("cannot record the previous unclean stop", seq.status());
    }
    spdlog::warn(
        "the previous stewardd (pid {}, audit durability {}) did not stop "
        "cleanly; recorded as audit record {}{}",
        run.pid, run.durability, *seq,
        run.durability == "sync"
            ? ""
            : absl::StrCat(": up to ", run.at_risk_bound,
                           " answered decisions may be missing before it"));
  }
  audit::RunMarker marker;
  marker.pid = ::getpid();
  marker.durability = DurabilityName(config.audit_durability);
  // Queued records plus a batch being committed (a batch is at most what
  // the queue held).
  marker.at_risk_bound =
      config.audit_durability == AuditDurability::kSync
          ? 0
          : 2 * static_cast<int64_t>(config.audit_queue_capacity);
  return audit::WriteRunMarker(config.data_dir, marker);
}

absl::Status Daemon::OpenParts() {
  if (absl::Status s = OpenConfiguration(); !s.ok()) return s;
  if (absl::Status s = OpenRoleStore(); !s.ok()) return s;
  if (absl::Status s = OpenTrail(); !s.ok()) return s;
  return OpenServices();
}

// The data dir lock, then everything the operator configures in files
// (TLS, the audit key): errors here are configuration errors.
absl::Status Daemon::OpenConfiguration() {
  const ServeConfig& config = config_;
  Parts& p = *parts_;
  // Before anything is logged: a refused second instance says one line.
  if (absl::Status s = EnsureDataDir(config.data_dir); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Acquire(config.data_dir);
  if (!lock.ok()) return ConfigError(lock.status());
  p.lock = std::move(*lock);
  if (config.postgresql()) {
    spdlog::info("replica {}: local data dir {}", config.replica_name,
                 config.data_dir);
  }
  if (config.dev) {
    spdlog::warn(
        "DEVELOPMENT MODE: no TLS, no TOTP second factor, loopback only; "
        "never use --dev with real data");
  } else if (!config.tls()) {
    spdlog::warn("TLS is off: listening on loopback {} only", config.listen);
  }
  if (config.audit_durability == AuditDurability::kOff) {
    spdlog::warn(
        "--audit-durability off: decisions are NOT recorded (benchmarks "
        "only); admin changes and authentication failures still are");
  }

  // TLS files are checked before anything else opens: a bad certificate is
  // a configuration error, reported like the others.
  if (config.tls()) {
    TlsReloader::Options tls_options;
    tls_options.cert_file = config.tls_cert;
    tls_options.key_file = config.tls_key;
    tls_options.client_ca_file = config.tls_client_ca;
    tls_options.staging_dir = absl::StrCat(config.data_dir, "/tls");
    tls_options.poll_interval = absl::Seconds(config.tls_reload_seconds);
    absl::StatusOr<std::unique_ptr<TlsReloader>> started =
        TlsReloader::Start(std::move(tls_options));
    if (!started.ok()) return ConfigError(started.status());
    p.tls = std::move(*started);
    spdlog::info("TLS certificate: {}", p.tls->description());
  }
  if (!config.audit_key_file.empty()) {
    absl::StatusOr<audit::AuditKey> key =
        audit::AuditKey::LoadFile(config.audit_key_file);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--audit-key-file: ", key.status().message()));
    }
    p.audit_key = std::move(*key);
  }

  return absl::OkStatus();
}

// The role store (and, in --dev, the example policy and the dev keys):
// the SQLite file in the data dir, or the PostgreSQL database the replicas
// share, which this one then follows.
absl::Status Daemon::OpenRoleStore() {
  const ServeConfig& config = config_;
  Parts& p = *parts_;
  const std::string location =
      config.postgresql() ? config.store
                          : absl::StrCat(config.data_dir, "/steward.db");
  // The only form of the location that may reach a log or a message.
  const std::string shown = store::RedactStoreLocation(location);
  store::Store::Options store_options;
  absl::StatusOr<std::unique_ptr<store::Store>> opened;
  // Opening builds the first snapshot; the store does not time its builds,
  // so the metric gets the time of the whole call that made it.
  const absl::Time open_start = absl::Now();
  if (config.dev) {
    bool created = false;
    opened = store::InitializeStore(location, p.clock, store_options, &created);
  } else {
    opened = store::OpenStore(location, p.clock, store_options);
    if (!opened.ok() && opened.status().code() == absl::StatusCode::kNotFound) {
      const std::string init =
          config.postgresql()
              ? absl::StrCat("stewardd init --data-dir ", config.data_dir,
                             " --store ", shown)
              : absl::StrCat("stewardd init --data-dir ", config.data_dir);
      return absl::NotFoundError(absl::StrCat(
          "no store in ", config.postgresql() ? shown : config.data_dir,
          ": run `", init, "` first"));
    }
  }
  if (!opened.ok()) {
    return OpenError(absl::StrCat("cannot open the store ", shown),
                     opened.status());
  }
  p.store = std::move(*opened);
  if (config.postgresql()) {
    spdlog::info(
        "replica \"{}\": role store {} (shared; following its changes, "
        "revision poll every {} ms)",
        config.replica_name, shown,
        absl::ToInt64Milliseconds(config.store_poll_interval));
  }
  p.snapshot_build_time = absl::Now() - open_start;
  if (config.dev) {
    if (!config.policy_file.empty()) {
      std::optional<absl::Duration> applied;
      absl::Status s = ApplyDevPolicy(p.store->policies(), p.store->publisher(),
                                      config.policy_file, &applied);
      if (applied.has_value()) p.snapshot_build_time = *applied;
      if (!s.ok())
        return OpenError(absl::StrCat("--policy ", config.policy_file), s);
    }
    if (absl::Status s = EnsureDevKeys(p.store->keys(), config.data_dir,
                                       config.postgresql());
        !s.ok()) {
      return OpenError("--dev keys", s);
    }
  }
  // Started only after --dev's own changes, which the store published
  // itself; from here on other replicas' changes arrive through it.
  store::FollowOptions follow_options;
  follow_options.poll_interval = config.store_poll_interval;
  absl::StatusOr<std::unique_ptr<store::StoreFollower>> follower =
      p.store->Follow(follow_options);
  if (!follower.ok()) {
    return OpenError("cannot follow the store", follower.status());
  }
  p.follower = std::move(*follower);
  p.follower_started = absl::Now();

  return absl::OkStatus();
}

// Where the trail lives: with a SQLite store, in steward.db beside it;
// with a PostgreSQL store, in the same database, where each replica
// appends its own chain (named by --replica-name) and the auditor queries
// read every chain. Everything that decides where the trail lives is here.
std::string Daemon::TrailLocation() const {
  if (config_.postgresql()) return config_.store;
  return absl::StrCat(config_.data_dir, "/steward.db");
}

// The audit trail: its signed tail checked, the writer, the records of a
// new segment or of an unclean stop, and the retention job.
absl::Status Daemon::OpenTrail() {
  const ServeConfig& config = config_;
  Parts& p = *parts_;
  if (config.postgresql()) return OpenPgTrail();
  const std::string db_path = TrailLocation();
  spdlog::info("audit trail: {}", db_path);
  // The signed tail is checked before anything is appended: appending to
  // a rewritten or cut trail would bless it with fresh signatures.
  std::shared_ptr<const audit::CheckpointSigningKey> signing_key;
  std::string new_segment_failure;
  int64_t writer_min_next_seq = 0;
  const std::string witness_path =
      absl::StrCat(config.data_dir, "/audit-witness.log");
  if (!config.audit_signing_key.empty()) {
    absl::StatusOr<audit::CheckpointSigningKey> key =
        audit::CheckpointSigningKey::LoadFile(config.audit_signing_key);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--audit-signing-key: ", key.status().message()));
    }
    signing_key =
        std::make_shared<const audit::CheckpointSigningKey>(*std::move(key));
    absl::StatusOr<std::optional<audit::SignedCheckpoint>> witness =
        audit::LatestWitness(witness_path);
    if (!witness.ok()) {
      return OpenError("cannot read the audit witness file", witness.status());
    }
    absl::StatusOr<audit::VerifyResult> tail =
        audit::VerifySignedTail(db_path, signing_key->public_key(), *witness);
    if (!tail.ok()) {
      return OpenError("cannot check the audit trail", tail.status());
    }
    if (witness->has_value()) {
      writer_min_next_seq = (*witness)->seq + 1;
    }
    if (absl::Status s = ActOnSignedTail(*tail, config, signing_key->key_id(),
                                         new_segment_failure);
        !s.ok()) {
      return s;
    }
  } else {
    spdlog::info(
        "audit trail is unsigned (no --audit-signing-key): its history can be "
        "rewritten by anyone who can write the database");
  }

  audit::WriterOptions writer_options;
  writer_options.queue_capacity =
      static_cast<size_t>(config.audit_queue_capacity);
  writer_options.signing_key = signing_key;
  writer_options.min_next_seq = writer_min_next_seq;
  writer_options.signed_checkpoint_records = config.audit_checkpoint_records;
  writer_options.signed_checkpoint_interval = config.audit_checkpoint_interval;
  writer_options.on_signed_checkpoint =
      [witness_path](const audit::SignedCheckpoint& checkpoint) {
        // The log line is the witness that leaves the machine with the
        // logs; the file is the one stewardd checks at its next start.
        const std::string line = audit::WitnessLine(checkpoint);
        spdlog::info("{}", line);
        if (absl::Status s = audit::AppendWitness(witness_path, checkpoint);
            !s.ok()) {
          spdlog::error("{}", std::string(s.message()));
        }
      };
  absl::StatusOr<std::unique_ptr<audit::AuditWriter>> writer =
      audit::AuditWriter::Open(db_path, writer_options);
  if (!writer.ok()) {
    return OpenError("cannot open the audit trail", writer.status());
  }
  p.sqlite_writer = writer->get();
  p.writer = std::move(*writer);
  if (!new_segment_failure.empty()) {
    absl::StatusOr<int64_t> seq =
        p.writer->SubmitAndWait(audit::NewSegmentRecord(
            p.clock.Now(), new_segment_failure, signing_key->key_id()));
    if (!seq.ok()) {
      return OpenError("cannot record the new audit segment", seq.status());
    }
    p.sqlite_writer->RequestSignedCheckpoint();
    spdlog::warn("new audit segment starts at record {}", *seq);
  }
  if (absl::Status s = RecordPreviousRun(config, p); !s.ok()) return s;
  audit::RetentionOptions retention_options;
  retention_options.retention = config.audit_retention;
  absl::StatusOr<std::unique_ptr<audit::RetentionPurger>> purger =
      audit::RetentionPurger::Open(db_path, p.clock, *p.sqlite_writer,
                                   retention_options);
  if (!purger.ok()) {
    return OpenError("cannot open the audit retention job", purger.status());
  }
  p.retention =
      std::make_unique<RetentionJob>(std::move(*purger), kRetentionJobPeriod);

  return absl::OkStatus();
}

// The audit trail in PostgreSQL: this replica's chain beside the other
// replicas' in the shared database, and the record of an unclean stop of
// the previous run on this data dir. What reads or rewrites the SQLite
// file (the signed-tail check, a new segment) has no PostgreSQL counterpart
// yet, and the start-up log says so. Retention drops expired monthly
// partitions (pg_retention.h).
absl::Status Daemon::OpenPgTrail() {
  const ServeConfig& config = config_;
  Parts& p = *parts_;
  audit::WriterOptions writer_options;
  writer_options.queue_capacity =
      static_cast<size_t>(config.audit_queue_capacity);
  writer_options.signed_checkpoint_records = config.audit_checkpoint_records;
  writer_options.signed_checkpoint_interval = config.audit_checkpoint_interval;
  std::string new_segment_failure;
  if (!config.audit_signing_key.empty()) {
    absl::StatusOr<audit::CheckpointSigningKey> key =
        audit::CheckpointSigningKey::LoadFile(config.audit_signing_key);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--audit-signing-key: ", key.status().message()));
    }
    writer_options.signing_key =
        std::make_shared<const audit::CheckpointSigningKey>(*std::move(key));
    // Before the writer opens (it signs the head at Open): appending to a
    // rewritten or cut chain would bless it with fresh signatures.
    absl::StatusOr<audit::VerifyResult> tail =
        audit::VerifyPgChainTail(config.store, config.replica_name,
                                 writer_options.signing_key->public_key());
    if (!tail.ok()) {
      return OpenError("cannot check the audit trail", tail.status());
    }
    if (absl::Status s =
            ActOnSignedTail(*tail, config, writer_options.signing_key->key_id(),
                            new_segment_failure);
        !s.ok()) {
      return s;
    }
    // The log line is the witness that leaves the machine with the logs;
    // there is no witness file on a replica: its data dir may be lost with
    // its machine, while the chain's signed checkpoints live on in
    // PostgreSQL and the logs.
    writer_options.on_signed_checkpoint =
        [](const audit::SignedCheckpoint& checkpoint) {
          spdlog::info("{}", audit::WitnessLine(checkpoint));
        };
  }
  absl::StatusOr<std::unique_ptr<audit::TrailWriter>> writer =
      audit::OpenTrailWriter(config.store, config.replica_name, writer_options);
  if (!writer.ok()) {
    return OpenError("cannot open the audit trail", writer.status());
  }
  p.writer = std::move(*writer);
  spdlog::info(
      "audit trail: {} (PostgreSQL, chain \"{}\"; auditor queries read "
      "every replica's chain)",
      store::RedactStoreLocation(config.store), config.replica_name);
  if (!new_segment_failure.empty()) {
    absl::StatusOr<int64_t> seq = p.writer->SubmitAndWait(
        audit::NewSegmentRecord(p.clock.Now(), new_segment_failure,
                                writer_options.signing_key->key_id()));
    if (!seq.ok()) {
      return OpenError("cannot record the new audit segment", seq.status());
    }
    spdlog::warn("new audit segment of chain \"{}\" starts at record {}",
                 config.replica_name, *seq);
  } else if (config.audit_signing_key.empty()) {
    spdlog::info(
        "audit trail is unsigned (no --audit-signing-key): its history can be "
        "rewritten by anyone who can write the database");
  }
  if (absl::Status s = RecordPreviousRun(config, p); !s.ok()) return s;
  // Every replica runs the job; an advisory lock lets one purge at a time
  // (pg_retention.h), so a stopped replica never stops retention.
  audit::PgRetentionOptions retention_options;
  retention_options.retention = config.audit_retention;
  absl::StatusOr<std::unique_ptr<audit::PgRetentionPurger>> purger =
      audit::PgRetentionPurger::Open(config.store, p.clock, *p.writer,
                                     retention_options);
  if (!purger.ok()) {
    return OpenError("cannot open the audit retention job", purger.status());
  }
  p.retention =
      std::make_unique<RetentionJob>(std::move(*purger), kRetentionJobPeriod);
  return absl::OkStatus();
}

// Metrics, the audit sink, authentication and the three services.
absl::Status Daemon::OpenServices() {
  const ServeConfig& config = config_;
  Parts& p = *parts_;
  const std::string db_path = TrailLocation();
  p.metrics.RecordSnapshotBuild(p.snapshot_build_time);
  p.metrics.SetAuditWriterProbe([w = p.writer.get()] { return w->metrics(); });
  // Defaults: one minute per summary, 4096 peers tracked (docs/operations.md).
  AuthFailureAggregator::Options auth_failure_options;
  p.audit_sink = std::make_unique<TrailAuditSink>(
      p.writer.get(), &p.clock, &p.metrics, config.audit_durability,
      std::move(p.audit_key), auth_failure_options);
  Authenticator::Options auth_options;
  auth_options.require_totp = !config.dev;
  auth_options.forwarded_peer_token = p.forwarded_peer_token;
  auth_options.limits.failure_window = config.second_factor_window;
  auth_options.limits.lockout = config.second_factor_lockout;
  p.authenticator = std::make_unique<Authenticator>(
      &p.store->keys(), &p.clock, &p.metrics, auth_options,
      [sink = p.audit_sink.get()](const AuthFailure& failure) {
        sink->RecordAuthFailure(failure);
      });
  AuthorizationServiceImpl::Options authorization_options;
  authorization_options.max_in_flight = config.max_in_flight;
  authorization_options.min_revision_wait = config.min_revision_wait;
  p.authorization = std::make_unique<AuthorizationServiceImpl>(
      &p.store->publisher().snapshots(), p.authenticator.get(),
      p.audit_sink.get(), &p.metrics, &p.clock, authorization_options);
  p.admin = std::make_unique<AdminServiceImpl>(
      &p.store->policies(), &p.store->principals(), &p.store->keys(),
      &p.store->publisher(), p.authenticator.get(), p.audit_sink.get(),
      &p.metrics);
  absl::Status opened =
      config.postgresql()
          ? OpenTrailReaders<audit::PgAuditReader, audit::PgTrailUsage,
                             audit::PgAuditQueries>(db_path, p.pg_reader,
                                                    p.usage, p.queries)
          : OpenTrailReaders<audit::AuditReader, audit::UsageIndex,
                             audit::SqliteAuditQueries>(db_path, p.reader,
                                                        p.usage, p.queries);
  if (!opened.ok()) return opened;
  p.audit_service = std::make_unique<AuditServiceImpl>(
      &p.store->principals(), &p.store->publisher(), p.queries.get(),
      p.authenticator.get(), &p.clock, p.usage.get());
  return absl::OkStatus();
}

absl::Status Daemon::StartListeners() {
  const ServeConfig& config = config_;
  Parts& p = *parts_;
  std::shared_ptr<grpc::ServerCredentials> credentials =
      Credentials(config, p.tls.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen, credentials, &selected_port);
  builder.RegisterService(p.authorization.get());
  builder.RegisterService(p.admin.get());
  builder.RegisterService(p.audit_service.get());
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  // Our own metadata (an API key, a TOTP code, gRPC's headers) is well under
  // 1 KiB. Stated here rather than left to the library's default, so the
  // limit we advertise and document cannot change under us. gRPC 1.51
  // enforces it only once a client has acknowledged our SETTINGS, and only
  // after reading each header whole; releases with the absolute limit check
  // it while reading (docs/operations.md, "HTTP/2 header limits").
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
#ifdef GRPC_ARG_ABSOLUTE_MAX_METADATA_SIZE
  builder.AddChannelArgument(GRPC_ARG_ABSOLUTE_MAX_METADATA_SIZE,
                             2 * kMaxMetadataBytes);
#endif
  if (config.threads > 0) {
    grpc::ResourceQuota quota("stewardd");
    quota.SetMaxThreads(config.threads + 2);
    builder.SetResourceQuota(quota);
  }
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || selected_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen));
  }
  Housekeep();

  if (!config.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> started =
        MetricsHttpServer::Start(config.metrics_listen, &p.metrics);
    if (!started.ok()) return started.status();
    p.metrics_http = std::move(*started);
    spdlog::info("metrics on http://{}/metrics", p.metrics_http->address());
  }

  if (!config.http_listen.empty()) {
    HttpGatewayOptions http_options;
    http_options.listen = config.http_listen;
    http_options.threads = config.http_threads;
    http_options.forwarded_peer_token = p.forwarded_peer_token;
    if (p.tls != nullptr) {
      http_options.tls_cert = p.tls->staged_cert();
      http_options.tls_key = p.tls->staged_key();
      http_options.tls_client_ca = p.tls->staged_client_ca();
    }
    // JSON spends up to a few bytes per byte of the wire form; the limits
    // on the messages themselves are gRPC's and the service's.
    http_options.max_message_bytes = kMaxReceiveMessageBytes;
    http_options.max_body_bytes =
        4 * AuthorizationServiceImpl::Options().limits.max_request_bytes;
    http_options.max_batch_body_bytes = 4 * kMaxReceiveMessageBytes;
    absl::StatusOr<std::unique_ptr<HttpGateway>> started =
        HttpGateway::Start(http_options, server_.get());
    if (!started.ok()) return started.status();
    http_ = std::move(*started);
    spdlog::info("HTTP/JSON API on {}://{}/v1/",
                 config.tls() ? "https" : "http", http_->address());
  }

  std::string address = absl::StrCat(HostOf(config.listen), ":", selected_port);
  // stewardd.addr last: whoever waits for it finds the HTTP address too.
  if (http_ != nullptr) {
    WriteAddressFile(config.data_dir, "stewardd.http-addr", http_->address());
  }
  WriteAddressFile(config.data_dir, "stewardd.addr", address);
  spdlog::info("listening on {} ({}; data dir {}; policy version {})", address,
               config.tls() ? "TLS" : "plaintext, loopback", config.data_dir,
               p.store->publisher().snapshot()->policy_version());
  return absl::OkStatus();
}

void Daemon::Housekeep() {
  // Serving means decisions can be made: the store is open and a policy is
  // active. Before that every Check would be a NO_ACTIVE_POLICY deny.
  std::shared_ptr<const store::Snapshot> snapshot =
      parts_->store->publisher().snapshot();
  parts_->metrics.SetSnapshot(snapshot->policy_version(),
                              snapshot->store_revision());
  bool now_serving = snapshot->program() != nullptr;
  std::string why = "no active policy";
  // A replica that has not reached PostgreSQL for the grace period may be
  // missing changes (a revoked key, a removed grant): load balancers
  // should prefer the others. It keeps answering from its snapshot.
  if (store::StoreFollower* follower = parts_->follower.get()) {
    const absl::Time contact =
        std::max(follower->last_contact(), parts_->follower_started);
    const bool reachable = absl::Now() - contact <= config_.store_grace_period;
    if (reachable != store_reachable_) {
      store_reachable_ = reachable;
      if (reachable) {
        spdlog::info("replica \"{}\": PostgreSQL store reachable again",
                     config_.replica_name);
      } else {
        spdlog::error(
            "replica \"{}\": PostgreSQL store unreachable for {} s: {}",
            config_.replica_name,
            absl::ToInt64Seconds(config_.store_grace_period),
            std::string(follower->last_error().message()));
      }
    }
    if (!reachable) {
      now_serving = false;
      why = "PostgreSQL store unreachable";
    }
  }
  // A trail that cannot take records means every sync decision is
  // refused: load balancers should send calls elsewhere. The writer only
  // learns it recovered from a batch that commits, which needs calls, so
  // the replica reports NOT_SERVING for a grace period after each failed
  // batch rather than until a success: drained, it turns SERVING again,
  // and the next calls either succeed or fail it once more (a circuit
  // breaker's half-open state, driven by the balancer's retries).
  const audit::WriterMetrics trail = parts_->writer->metrics();
  if (trail.batches_failed != trail_batches_failed_) {
    trail_batches_failed_ = trail.batches_failed;
    trail_last_failure_ = absl::Now();
  }
  if (now_serving && trail.failing &&
      absl::Now() - trail_last_failure_ <= config_.store_grace_period) {
    now_serving = false;
    why = "audit trail commits failing";
  }
  if (now_serving == serving_) return;
  serving_ = now_serving;
  server_->GetHealthCheckService()->SetServingStatus(now_serving);
  spdlog::info("health: {}", now_serving
                                 ? std::string("SERVING")
                                 : absl::StrCat("NOT_SERVING (", why, ")"));
}

absl::Status Daemon::Run() {
  Parts& p = *parts_;
  ran_ = true;
  // The reports' usage aggregate is built by one read of the whole trail
  // (seconds on millions of records); do it now rather than in the first
  // auditor's UnusedGrants or DecisionSummary call. Reports asked
  // meanwhile wait for it.
  warm_usage_ = std::thread([index = p.usage.get()] { WarmUsage(*index); });

  while (true) {
    Signal signal = WaitForSignal(kHousekeepingPeriod);
    if (signal == Signal::kShutdown) break;
    if (signal == Signal::kReload) ReportTlsReload(config_, p.tls.get());
    Housekeep();
  }
  spdlog::info("shutting down: draining in-flight calls");
  server_->GetHealthCheckService()->Shutdown();
  // HTTP first: its requests in progress are gRPC calls, which finish
  // while the server still runs.
  if (http_ != nullptr) http_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server_->Wait();
  if (warm_usage_.joinable()) warm_usage_.join();
  if (p.retention != nullptr) p.retention->Stop();
  p.audit_sink->Shutdown();
  absl::Status flushed = p.writer->Shutdown();
  // Only a flushed trail makes this a clean stop (run_marker.h).
  if (flushed.ok()) {
    if (absl::Status s = audit::RemoveRunMarker(config_.data_dir); !s.ok()) {
      spdlog::error("{}", std::string(s.message()));
    }
  }
  if (p.metrics_http) p.metrics_http->Stop();
  if (!flushed.ok()) {
    return absl::Status(flushed.code(), absl::StrCat("audit flush failed: ",
                                                     flushed.ToString()));
  }
  spdlog::info("stopped");
  return absl::OkStatus();
}

int RunServe(const ServeConfig& config) {
  // Logs are diagnostics: stderr, so stdout stays free for scripts.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("stewardd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l stewardd %v",
                      spdlog::pattern_time_type::utc);
  RouteProtobufLogs();
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Open(config);
  if (!daemon.ok()) {
    if (daemon.status().code() == absl::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "stewardd: error: %s\n",
                   std::string(daemon.status().message()).c_str());
      return 2;
    }
    spdlog::error("{}", std::string(daemon.status().message()));
    return 1;
  }
  if (absl::Status s = (*daemon)->Run(); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return 1;
  }
  return 0;
}

}  // namespace steward::server
