#include "server/serve_command.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/admin_service.h"
#include "server/audit/reader.h"
#include "server/audit/writer.h"
#include "server/audit_service.h"
#include "server/authenticator.h"
#include "server/authorization_service.h"
#include "server/data_dir_lock.h"
#include "server/metrics.h"
#include "server/metrics_http.h"
#include "server/protobuf_log.h"
#include "server/retention_job.h"
#include "server/secret_file.h"
#include "server/shutdown_signal.h"
#include "server/store/clock.h"
#include "server/store/store.h"
#include "server/tls_reloader.h"
#include "server/trail_audit_sink.h"

namespace steward::server {
namespace {

// How long in-flight calls may take to finish after SIGTERM.
constexpr auto kDrainTimeout = std::chrono::seconds(10);
// How often the main loop refreshes health and metrics between signals.
constexpr absl::Duration kHousekeepingPeriod = absl::Seconds(1);

bool EnsureDataDir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    spdlog::error("cannot create data dir {}: {}", dir, error.message());
    return false;
  }
  // The directory holds the store and key files: owner only.
  ::chmod(dir.c_str(), 0700);
  return true;
}

// Lets tests and scripts started with `--listen HOST:0` find the port.
void WriteAddressFile(const std::string& data_dir, const std::string& address) {
  std::string path = absl::StrCat(data_dir, "/stewardd.addr");
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address << "\n";
  }
  std::filesystem::rename(tmp, path);
}

std::string HostOf(const std::string& listen) {
  return listen.substr(0, listen.rfind(':'));
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// --dev: one key per service role in DIR/dev-<role>.key, reused across
// restarts while the file still authenticates.
absl::Status EnsureDevKeys(store::KeyRepository& store,
                           const std::string& data_dir) {
  absl::StatusOr<std::vector<store::ApiKeyInfo>> existing = store.ListApiKeys();
  if (!existing.ok()) return existing.status();
  for (store::ServiceRole role :
       {store::ServiceRole::kAdmin, store::ServiceRole::kAuditor,
        store::ServiceRole::kClient}) {
    std::string role_name(store::ServiceRoleName(role));
    std::string path = absl::StrCat(data_dir, "/dev-", role_name, ".key");
    if (absl::StatusOr<std::string> key = ReadSecretFile(path); key.ok()) {
      absl::StatusOr<store::AuthenticatedKey> found =
          store.AuthenticateApiKey(*key);
      if (found.ok() && !found->revoked && found->role == role) continue;
    }
    std::string name = absl::StrCat("dev-", role_name);
    for (int n = 2; std::any_of(existing->begin(), existing->end(),
                                [&](const auto& k) { return k.name == name; });
         ++n) {
      name = absl::StrCat("dev-", role_name, "-", n);
    }
    absl::StatusOr<store::NewApiKey> created =
        store.CreateApiKey(name, role, "stewardd --dev");
    if (!created.ok()) return created.status();
    if (absl::Status s = WriteSecretFile(path, created->key); !s.ok()) {
      return s;
    }
    existing->push_back(created->info);
    spdlog::warn("--dev: {} key \"{}\" written to {}", role_name, name, path);
  }
  return absl::OkStatus();
}

// Applies `file` unless a policy is already active; `*build_time` is how
// long the store took to apply it and build the new snapshot.
absl::Status ApplyDevPolicy(store::PolicyRepository& store,
                            const store::SnapshotPublisher& snapshots,
                            const std::string& file,
                            std::optional<absl::Duration>* build_time) {
  if (snapshots.snapshot()->program() != nullptr) {
    spdlog::info(
        "--dev: a policy is already active (version {}); {} not "
        "applied",
        snapshots.snapshot()->policy_version(), file);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> text = ReadTextFile(file);
  if (!text.ok()) return text.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<store::ApplyPolicyResult> applied = store.ApplyPolicy(
      {policy::SourceFile{file, *text}}, "stewardd --dev", "--dev --policy");
  if (!applied.ok()) return applied.status();
  *build_time = absl::Now() - start;
  spdlog::info("--dev: applied {} as policy version {}", file,
               applied->version.version);
  return absl::OkStatus();
}

// gRPC watches the reloader's staged copy of the certificate files, which
// only ever holds a validated pair (tls_reloader.h): a renewed certificate
// is picked up by new handshakes without a restart and without dropping
// connections, and a broken renewal cannot take the listener down.
std::shared_ptr<grpc::ServerCredentials> Credentials(
    const ServeConfig& config, const TlsReloader* reloader) {
  if (reloader == nullptr) return grpc::InsecureServerCredentials();
  const auto refresh = static_cast<unsigned int>(config.tls_reload_seconds);
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (config.tls_client_ca.empty()) {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            reloader->staged_key(), reloader->staged_cert(), refresh);
  } else {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            reloader->staged_key(), reloader->staged_cert(),
            reloader->staged_client_ca(), refresh);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.tls_client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// SIGHUP checks the files at once (rather than at the next poll) so the
// operator learns whether the renewal will take, and when.
void ReportTlsReload(const ServeConfig& config, TlsReloader* reloader) {
  if (reloader == nullptr) {
    spdlog::info("SIGHUP: TLS is off; nothing to reload");
    return;
  }
  absl::StatusOr<std::string> files = reloader->CheckNow();
  if (!files.ok()) {
    spdlog::error("SIGHUP: {}; new handshakes keep the last good certificate",
                  std::string(files.status().message()));
    return;
  }
  spdlog::info(
      "SIGHUP: TLS files are valid ({}); new handshakes use them within {} s, "
      "open connections stay up",
      *files, config.tls_reload_seconds);
}

void UpdateHealth(grpc::Server& server, const store::SnapshotPublisher& store,
                  bool* serving) {
  // Serving means decisions can be made: the store is open and a policy is
  // active. Before that every Check would be a NO_ACTIVE_POLICY deny.
  bool now_serving = store.snapshot()->program() != nullptr;
  if (now_serving == *serving) return;
  *serving = now_serving;
  server.GetHealthCheckService()->SetServingStatus(now_serving);
  spdlog::info("health: {}",
               now_serving ? "SERVING" : "NOT_SERVING (no active policy)");
}

}  // namespace

int RunServe(const ServeConfig& config) {
  // Logs are diagnostics: stderr, so stdout stays free for scripts.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("stewardd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l stewardd %v",
                      spdlog::pattern_time_type::utc);
  RouteProtobufLogs();
  // Before anything is logged: a refused second instance says one line.
  if (!EnsureDataDir(config.data_dir)) return 1;
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Acquire(config.data_dir);
  if (!lock.ok()) {
    std::fprintf(stderr, "stewardd: error: %s\n",
                 std::string(lock.status().message()).c_str());
    return 2;
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
  std::unique_ptr<TlsReloader> tls;
  if (config.tls()) {
    TlsReloader::Options tls_options;
    tls_options.cert_file = config.tls_cert;
    tls_options.key_file = config.tls_key;
    tls_options.client_ca_file = config.tls_client_ca;
    tls_options.staging_dir = absl::StrCat(config.data_dir, "/tls");
    tls_options.poll_interval = absl::Seconds(config.tls_reload_seconds);
    absl::StatusOr<std::unique_ptr<TlsReloader>> started =
        TlsReloader::Start(std::move(tls_options));
    if (!started.ok()) {
      std::fprintf(stderr, "stewardd: error: %s\n",
                   std::string(started.status().message()).c_str());
      return 2;
    }
    tls = std::move(*started);
    spdlog::info("TLS certificate: {}", tls->description());
  }

  store::RealClock clock;
  std::string db_path = absl::StrCat(config.data_dir, "/steward.db");
  store::Store::Options store_options;
  absl::StatusOr<std::unique_ptr<store::Store>> opened;
  // Opening builds the first snapshot; the store does not time its builds,
  // so the metric gets the time of the whole call that made it.
  const absl::Time open_start = absl::Now();
  if (config.dev) {
    bool created = false;
    opened = store::InitializeStore(db_path, clock, store_options, &created);
  } else {
    opened = store::OpenStore(db_path, clock, store_options);
    if (!opened.ok() && opened.status().code() == absl::StatusCode::kNotFound) {
      spdlog::error("no store in {}: run `stewardd init --data-dir {}` first",
                    config.data_dir, config.data_dir);
      return 1;
    }
  }
  if (!opened.ok()) {
    spdlog::error("cannot open the store {}: {}", db_path,
                  opened.status().ToString());
    return 1;
  }
  std::unique_ptr<store::Store> store = std::move(*opened);
  absl::Duration snapshot_build_time = absl::Now() - open_start;
  if (config.dev) {
    if (!config.policy_file.empty()) {
      std::optional<absl::Duration> applied;
      absl::Status s = ApplyDevPolicy(store->policies(), store->publisher(),
                                      config.policy_file, &applied);
      if (applied.has_value()) snapshot_build_time = *applied;
      if (!s.ok()) {
        spdlog::error("--policy {}: {}", config.policy_file, s.ToString());
        return 1;
      }
    }
    if (absl::Status s = EnsureDevKeys(store->keys(), config.data_dir);
        !s.ok()) {
      spdlog::error("--dev keys: {}", s.ToString());
      return 1;
    }
  }

  std::optional<audit::AuditKey> audit_key;
  if (!config.audit_key_file.empty()) {
    absl::StatusOr<audit::AuditKey> key =
        audit::AuditKey::LoadFile(config.audit_key_file);
    if (!key.ok()) {
      spdlog::error("--audit-key-file: {}", key.status().ToString());
      return 2;
    }
    audit_key = std::move(*key);
  }
  audit::WriterOptions writer_options;
  writer_options.queue_capacity =
      static_cast<size_t>(config.audit_queue_capacity);
  absl::StatusOr<std::unique_ptr<audit::AuditWriter>> writer =
      audit::AuditWriter::Open(db_path, writer_options);
  if (!writer.ok()) {
    spdlog::error("cannot open the audit trail: {}",
                  writer.status().ToString());
    return 1;
  }

  audit::RetentionOptions retention_options;
  retention_options.retention = config.audit_retention;
  absl::StatusOr<std::unique_ptr<audit::RetentionPurger>> purger =
      audit::RetentionPurger::Open(db_path, clock, **writer, retention_options);
  if (!purger.ok()) {
    spdlog::error("cannot open the audit retention job: {}",
                  purger.status().ToString());
    return 1;
  }
  RetentionJob retention(std::move(*purger), absl::Hours(1));

  Metrics metrics;
  metrics.RecordSnapshotBuild(snapshot_build_time);
  metrics.SetAuditWriterProbe([w = writer->get()] { return w->metrics(); });
  TrailAuditSink audit_sink(writer->get(), &clock, config.audit_durability,
                            std::move(audit_key));
  Authenticator::Options auth_options;
  auth_options.require_totp = !config.dev;
  Authenticator authenticator(
      &store->keys(), &clock, &metrics, auth_options,
      [&audit_sink](const std::string& peer, const std::string& key,
                    const std::string& reason) {
        audit_sink.RecordAuthFailure(peer, key, reason);
      });
  AuthorizationServiceImpl::Options authorization_options;
  authorization_options.max_in_flight = config.max_in_flight;
  AuthorizationServiceImpl authorization(&store->publisher().snapshots(),
                                         &authenticator, &audit_sink, &metrics,
                                         &clock, authorization_options);
  AdminServiceImpl admin(&store->policies(), &store->principals(),
                         &store->keys(), &store->publisher(), &authenticator,
                         &audit_sink, &metrics);
  absl::StatusOr<std::unique_ptr<audit::AuditReader>> reader =
      audit::AuditReader::Open(db_path);
  if (!reader.ok()) {
    spdlog::error("cannot open the audit trail for reading: {}",
                  reader.status().ToString());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<audit::UsageIndex>> usage =
      audit::UsageIndex::Open(db_path);
  if (!usage.ok()) {
    spdlog::error("cannot open the audit trail for reports: {}",
                  usage.status().ToString());
    return 1;
  }
  AuditServiceImpl audit_service(&store->principals(), &store->publisher(),
                                 reader->get(), &authenticator, &clock,
                                 usage->get());

  std::shared_ptr<grpc::ServerCredentials> credentials =
      Credentials(config, tls.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen, credentials, &selected_port);
  builder.RegisterService(&authorization);
  builder.RegisterService(&admin);
  builder.RegisterService(&audit_service);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024 + 64 * 1024);
  if (config.threads > 0) {
    grpc::ResourceQuota quota("stewardd");
    quota.SetMaxThreads(config.threads + 2);
    builder.SetResourceQuota(quota);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    spdlog::error("cannot listen on {}", config.listen);
    return 1;
  }
  bool serving = true;
  UpdateHealth(*server, store->publisher(), &serving);

  std::unique_ptr<MetricsHttpServer> metrics_http;
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> started =
        MetricsHttpServer::Start(config.metrics_listen, &metrics);
    if (!started.ok()) {
      spdlog::error("{}", started.status().ToString());
      server->Shutdown();
      return 1;
    }
    metrics_http = std::move(*started);
    spdlog::info("metrics on http://{}/metrics", metrics_http->address());
  }

  std::string address = absl::StrCat(HostOf(config.listen), ":", selected_port);
  WriteAddressFile(config.data_dir, address);
  spdlog::info("listening on {} ({}; data dir {}; policy version {})", address,
               config.tls() ? "TLS" : "plaintext, loopback", config.data_dir,
               store->publisher().snapshot()->policy_version());

  // The reports' usage aggregate is built by one read of the whole trail
  // (seconds on millions of records); do it now rather than in the first
  // auditor's UnusedGrants or DecisionSummary call. Reports asked
  // meanwhile wait for it.
  std::thread warm_usage([index = usage->get()] {
    const absl::Time start = absl::Now();
    if (absl::Status s = index->Refresh(); !s.ok()) {
      spdlog::warn("usage index for reports not built at start: {}",
                   s.ToString());
      return;
    }
    const audit::DecisionFoldSize size = index->FoldSize();
    spdlog::info(
        "usage index for reports built in {} ms ({} days, {} (day, "
        "principal) deny counts, ~{} MiB)",
        absl::ToInt64Milliseconds(absl::Now() - start), size.days,
        size.deny_entries, size.approximate_bytes >> 20);
  });

  while (true) {
    Signal signal = WaitForSignal(kHousekeepingPeriod);
    if (signal == Signal::kShutdown) break;
    if (signal == Signal::kReload) ReportTlsReload(config, tls.get());
    UpdateHealth(*server, store->publisher(), &serving);
    std::shared_ptr<const store::Snapshot> snapshot =
        store->publisher().snapshot();
    metrics.SetSnapshot(snapshot->policy_version(), snapshot->store_revision());
  }
  spdlog::info("shutting down: draining in-flight calls");
  server->GetHealthCheckService()->Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server->Wait();
  warm_usage.join();
  retention.Stop();
  if (absl::Status s = (*writer)->Shutdown(); !s.ok()) {
    spdlog::error("audit flush failed: {}", s.ToString());
    return 1;
  }
  if (metrics_http) metrics_http->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace steward::server
