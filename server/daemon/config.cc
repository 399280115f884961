#include "server/daemon/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/store/store.h"

namespace steward::server {
namespace {

absl::Status CheckListenAddress(absl::string_view flag,
                                absl::string_view address) {
  size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": expected HOST:PORT (for example 127.0.0.1:7070), got \"",
        address, "\""));
  }
  return absl::OkStatus();
}

// systemd's StateDirectory= (the first one listed) when stewardd runs as
// a unit that has one, else the working directory; one subdirectory per
// replica name, which ValidateServe has checked is a safe path component,
// so that two replicas on one host never share a lock.
std::string DefaultReplicaDataDir(const ServeConfig& config) {
  const char* state = std::getenv("STATE_DIRECTORY");
  std::string base = state != nullptr && *state != '\0' ? state : ".";
  base = base.substr(0, base.find(':'));
  return absl::StrCat(base, "/stewardd-", config.replica_name);
}

absl::Status ValidateServe(const ServeConfig& config) {
  // A replica's data dir holds only what is local (lock, address file,
  // dev keys, run marker), so it has a default (DefaultReplicaDataDir).
  if (config.data_dir.empty() && !config.postgresql()) {
    return absl::InvalidArgumentError("--data-dir is required");
  }
  if (absl::Status s = CheckListenAddress("--listen", config.listen); !s.ok()) {
    return s;
  }
  if (!config.metrics_listen.empty()) {
    if (absl::Status s =
            CheckListenAddress("--metrics-listen", config.metrics_listen);
        !s.ok()) {
      return s;
    }
  }
  if (!config.http_listen.empty()) {
    if (absl::Status s =
            CheckListenAddress("--http-listen", config.http_listen);
        !s.ok()) {
      return s;
    }
  }
  for (auto [flag, value] :
       {std::pair{"--second-factor-window", config.second_factor_window},
        std::pair{"--second-factor-lockout", config.second_factor_lockout}}) {
    // The store refuses longer ones (its times are int64 microseconds).
    if (value > absl::Hours(24 * 30)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " must be at most 30 days"));
    }
  }
  if (config.http_threads < 1 || config.http_threads > 4096) {
    return absl::InvalidArgumentError(
        "--http-threads must be between 1 and 4096");
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key must be given together");
  }
  if (!config.tls_client_ca.empty() && config.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (config.audit_durability == AuditDurability::kOff && !config.dev) {
    return absl::InvalidArgumentError(
        "--audit-durability off leaves decisions unrecorded; it is for "
        "benchmarks and needs --dev");
  }
  if (config.dev && config.tls()) {
    return absl::InvalidArgumentError(
        "--dev runs without TLS on loopback; drop --tls-cert/--tls-key");
  }
  // Without TLS, credentials and decisions would cross the network in clear:
  // refuse anything but loopback.
  if (!config.tls() && !IsLoopbackAddress(config.listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen ", config.listen,
                     " is not a loopback address; serving without TLS is "
                     "only allowed on loopback (give --tls-cert and "
                     "--tls-key)"));
  }
  if (!config.http_listen.empty() && !config.tls() &&
      !IsLoopbackAddress(config.http_listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen ", config.http_listen,
                     " is not a loopback address; serving without TLS is "
                     "only allowed on loopback (give --tls-cert and "
                     "--tls-key)"));
  }
  if (!config.dev && !config.policy_file.empty()) {
    return absl::InvalidArgumentError(
        "--policy is only for --dev; use `stewardctl policy apply`");
  }
  if (config.tls_reload_seconds < 1) {
    return absl::InvalidArgumentError(
        "--tls-reload-interval must be at least 1 second");
  }
  if (config.max_in_flight < 1) {
    return absl::InvalidArgumentError("--max-in-flight must be at least 1");
  }
  if (config.audit_queue_capacity < 1 ||
      config.audit_queue_capacity > 10'000'000) {
    return absl::InvalidArgumentError(
        "--audit-queue-capacity must be between 1 and 10000000");
  }
  if (config.threads < 0 || config.threads > 256) {
    return absl::InvalidArgumentError("--threads must be between 0 and 256");
  }
  if (config.postgresql() && config.replica_name.empty()) {
    return absl::InvalidArgumentError(
        "--replica-name is required with a PostgreSQL --store (it names "
        "this replica in logs)");
  }
  if (!config.postgresql() && !config.replica_name.empty()) {
    return absl::InvalidArgumentError(
        "--replica-name is only for replicas sharing a PostgreSQL --store");
  }
  if (!config.replica_name.empty()) {
    if (absl::Status s =
            CheckReplicaName("--replica-name", config.replica_name);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckReplicaName(absl::string_view flag, absl::string_view name) {
  const bool valid_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           c == '.' || c == '-';
  });
  if (name.empty() || name.size() > 64 || !valid_chars) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", name,
                     "\": expected 1 to 64 characters of A-Z a-z 0-9 _ . -"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text) {
  if (text.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration \"", text,
                     "\": expected a number and a unit (d, h, m, s, ms)"));
  }
  if (absl::EndsWith(text, "ms")) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(text.substr(0, text.size() - 2), &ms) || ms <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid duration \"", text,
                       "\": expected a positive whole number and a unit"));
    }
    return absl::Milliseconds(ms);
  }
  int64_t amount = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &amount) ||
      amount <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration \"", text,
                     "\": expected a positive whole number and a unit"));
  }
  switch (text.back()) {
    case 'd':
      return absl::Hours(24) * amount;
    case 'h':
      return absl::Hours(amount);
    case 'm':
      return absl::Minutes(amount);
    case 's':
      return absl::Seconds(amount);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("invalid duration \"", text,
                       "\": unit must be one of d, h, m, s, ms"));
  }
}

bool IsLoopbackAddress(absl::string_view listen) {
  size_t colon = listen.rfind(':');
  absl::string_view host =
      colon == absl::string_view::npos ? listen : listen.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  if (host == "::1" || absl::AsciiStrToLower(host) == "localhost") return true;
  // 127.0.0.0/8: four dotted decimal octets starting with 127.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      parts.emplace_back(host.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 4 || parts[0] != "127") return false;
  for (const std::string& part : parts) {
    uint32_t octet = 0;
    if (!absl::SimpleAtoi(part, &octet) || octet > 255) return false;
  }
  return true;
}

absl::StatusOr<Command> ParseCommandLine(int argc, const char* const* argv) {
  CLI::App app{"stewardd: Steward policy decision service"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");

  InitConfig init;
  CLI::App* init_cmd =
      app.add_subcommand("init", "create a new store and the first admin key");
  init_cmd->add_option(
      "--data-dir", init.data_dir,
      "data directory for the SQLite store (not needed with --store)");
  init_cmd->add_option("--policy", init.policy_file,
                       "policy file applied as version 1");
  init_cmd->add_option("--admin-key-out", init.admin_key_out,
                       "write the admin key to this file (mode 0600)");
  init_cmd->add_option("--totp-secret-out", init.totp_secret_out,
                       "write the TOTP otpauth:// URI to this file (0600)");
  init_cmd->add_option(
      "--create-audit-signing-key", init.create_audit_signing_key,
      "create an Ed25519 audit signing key in this file (0600) and print "
      "its public key");
  init_cmd
      ->add_option("--store", init.store,
                   "store in this PostgreSQL database instead of "
                   "DATA_DIR/steward.db (postgresql://USER@HOST/DB?sslmode=...;"
                   " put the password in ~/.pgpass or PGPASSWORD, not here)")
      ->check(
          [](const std::string& url) -> std::string {
            if (store::IsPostgresqlLocation(url)) return "";
            return "--store takes a postgresql:// URL";
          },
          "URL");

  ServeConfig serve;
  std::string durability = "sync";
  std::string retention = "400d";
  std::string checkpoint_interval = "10s";
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "serve the gRPC API (and, with --http-listen, HTTP/JSON)");
  serve_cmd->add_option(
      "--data-dir", serve.data_dir,
      "data directory; with --store it holds only the lock, address file, "
      "dev keys and run marker, and defaults to "
      "$STATE_DIRECTORY/stewardd-NAME or ./stewardd-NAME");
  serve_cmd->add_option("--listen", serve.listen, "gRPC listen address")
      ->capture_default_str();
  serve_cmd->add_option("--tls-cert", serve.tls_cert, "PEM certificate chain");
  serve_cmd->add_option("--tls-key", serve.tls_key, "PEM private key");
  serve_cmd->add_option("--tls-client-ca", serve.tls_client_ca,
                        "require client certificates signed by this CA");
  serve_cmd->add_option("--metrics-listen", serve.metrics_listen,
                        "Prometheus /metrics address (HOST:PORT)");
  serve_cmd->add_option(
      "--http-listen", serve.http_listen,
      "HTTP/JSON API address (HOST:PORT): POST /v1/check, /v1/batch-check, "
      "/v1/plan-resources; GET /healthz. TLS and loopback rules as --listen");
  serve_cmd
      ->add_option("--http-threads", serve.http_threads,
                   "HTTP connections served at once (one thread each)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--audit-durability", durability,
                   "sync or async (off: --dev benchmarks only)")
      ->check(CLI::IsMember({"sync", "async", "off"}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--audit-retention", retention,
                   "purge audit records older than this (e.g. 400d)")
      ->capture_default_str();
  serve_cmd->add_option("--audit-key-file", serve.audit_key_file,
                        "AES-256 key file for PII values in the audit trail");
  serve_cmd->add_option(
      "--audit-signing-key", serve.audit_signing_key,
      "Ed25519 PEM key (0600) that signs audit chain checkpoints");
  serve_cmd
      ->add_option("--audit-checkpoint-records", serve.audit_checkpoint_records,
                   "sign a checkpoint after this many records")
      ->capture_default_str();
  serve_cmd
      ->add_option("--audit-checkpoint-interval", checkpoint_interval,
                   "sign a checkpoint this often while records arrive")
      ->capture_default_str();
  serve_cmd->add_flag(
      "--audit-start-new-segment", serve.audit_start_new_segment,
      "append to an audit trail that fails its start-up check, recording "
      "why in a new, linked segment");
  serve_cmd->add_flag("--dev", serve.dev,
                      "development mode: loopback only, no TLS, no TOTP");
  serve_cmd->add_option("--policy", serve.policy_file,
                        "--dev only: policy applied when none is active");
  serve_cmd->add_option("--threads", serve.threads,
                        "gRPC worker threads (0: one per core)");
  serve_cmd
      ->add_option("--tls-reload-interval", serve.tls_reload_seconds,
                   "seconds between re-reads of the TLS files")
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-in-flight", serve.max_in_flight,
                   "checks in flight before RESOURCE_EXHAUSTED")
      ->capture_default_str();
  serve_cmd
      ->add_option("--audit-queue-capacity", serve.audit_queue_capacity,
                   "audit records queued before RESOURCE_EXHAUSTED (async)")
      ->capture_default_str();

  std::string poll_interval = "1s";
  std::string grace_period = "10s";
  std::string min_revision_wait = "2s";
  std::string second_factor_window = "1m";
  std::string second_factor_lockout = "1m";
  serve_cmd
      ->add_option("--store", serve.store,
                   "serve from this PostgreSQL database, shared with other "
                   "replicas, instead of DATA_DIR/steward.db "
                   "(postgresql://USER@HOST/DB?sslmode=...; put the password "
                   "in ~/.pgpass or PGPASSWORD, not here)")
      ->check(
          [](const std::string& url) -> std::string {
            if (store::IsPostgresqlLocation(url)) return "";
            return "--store takes a postgresql:// URL";
          },
          "URL");
  serve_cmd->add_option("--replica-name", serve.replica_name,
                        "this replica's name (required with --store)");
  serve_cmd
      ->add_option("--store-poll-interval", poll_interval,
                   "how often a replica reads the store revision besides "
                   "listening for changes (e.g. 1s, 500ms)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--store-grace-period", grace_period,
                   "health turns NOT_SERVING after this long without "
                   "reaching the PostgreSQL store, and stays NOT_SERVING "
                   "this long after each failed audit trail commit")
      ->capture_default_str();
  serve_cmd
      ->add_option("--min-revision-wait", min_revision_wait,
                   "longest wait of a Check with min_store_revision for "
                   "this replica to catch up")
      ->capture_default_str();

  serve_cmd
      ->add_option("--second-factor-window", second_factor_window,
                   "10 failed TOTP codes with one admin key within this "
                   "long lock the key out (counted across replicas)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--second-factor-lockout", second_factor_lockout,
                   "how long such a key is refused (RESOURCE_EXHAUSTED)")
      ->capture_default_str();

  MigrateConfig migrate;
  CLI::App* migrate_cmd = app.add_subcommand(
      "migrate-store",
      "copy a SQLite data dir's store and audit trail into an empty "
      "PostgreSQL database");
  migrate_cmd
      ->add_option("--from", migrate.from,
                   "data dir holding steward.db (no stewardd may be serving "
                   "it)")
      ->required();
  migrate_cmd
      ->add_option("--to", migrate.to,
                   "empty PostgreSQL database (postgresql://USER@HOST/DB?"
                   "sslmode=...; put the password in ~/.pgpass or "
                   "PGPASSWORD, not here)")
      ->required()
      ->check(
          [](const std::string& url) -> std::string {
            if (store::IsPostgresqlLocation(url)) return "";
            return "--to takes a postgresql:// URL";
          },
          "URL");
  migrate_cmd
      ->add_option("--chain", migrate.chain,
                   "audit chain the SQLite trail becomes; `serve "
                   "--replica-name` with this name continues it")
      ->capture_default_str();
  migrate_cmd->add_flag("--dry-run", migrate.dry_run,
                        "copy and check inside the transaction, then roll "
                        "back (the schema is still created)");
  migrate_cmd
      ->add_option("--batch-records", migrate.batch_records,
                   "audit records per INSERT and per progress line")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    Command command;
    command.help = app.help();
    if (*init_cmd) command.help = init_cmd->help();
    if (*serve_cmd) command.help = serve_cmd->help();
    if (*migrate_cmd) command.help = migrate_cmd->help();
    return command;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }

  Command command;
  command.version = version;
  if (version) return command;
  if (*init_cmd) {
    // With --store the store is in PostgreSQL and nothing is written
    // locally but the files the *-out flags name.
    if (init.data_dir.empty() && init.store.empty()) {
      return absl::InvalidArgumentError(
          "--data-dir is required (or --store postgresql://...)");
    }
    command.init = init;
    return command;
  }
  if (*migrate_cmd) {
    if (absl::Status s = CheckReplicaName("--chain", migrate.chain); !s.ok()) {
      return s;
    }
    if (migrate.batch_records < 1 || migrate.batch_records > 1'000'000) {
      return absl::InvalidArgumentError(
          "--batch-records must be between 1 and 1000000");
    }
    command.migrate = migrate;
    return command;
  }
  if (!*serve_cmd) {
    return absl::InvalidArgumentError(
        "a subcommand is required: init, serve or migrate-store (see --help)");
  }
  serve.audit_durability = durability == "async" ? AuditDurability::kAsync
                           : durability == "off" ? AuditDurability::kOff
                                                 : AuditDurability::kSync;
  absl::StatusOr<absl::Duration> parsed_retention =
      ParseDurationFlag(retention);
  if (!parsed_retention.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--audit-retention: ", parsed_retention.status().message()));
  }
  serve.audit_retention = *parsed_retention;
  absl::StatusOr<absl::Duration> parsed_interval =
      ParseDurationFlag(checkpoint_interval);
  if (!parsed_interval.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--audit-checkpoint-interval: ", parsed_interval.status().message()));
  }
  serve.audit_checkpoint_interval = *parsed_interval;
  if (serve.audit_checkpoint_records < 1) {
    return absl::InvalidArgumentError(
        "--audit-checkpoint-records: must be at least 1");
  }
  if (serve.audit_start_new_segment && serve.audit_signing_key.empty()) {
    return absl::InvalidArgumentError(
        "--audit-start-new-segment needs --audit-signing-key");
  }
  for (auto [flag, text, target] :
       {std::tuple{"--store-poll-interval", &poll_interval,
                   &serve.store_poll_interval},
        std::tuple{"--store-grace-period", &grace_period,
                   &serve.store_grace_period},
        std::tuple{"--min-revision-wait", &min_revision_wait,
                   &serve.min_revision_wait},
        std::tuple{"--second-factor-window", &second_factor_window,
                   &serve.second_factor_window},
        std::tuple{"--second-factor-lockout", &second_factor_lockout,
                   &serve.second_factor_lockout}}) {
    absl::StatusOr<absl::Duration> parsed = ParseDurationFlag(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": ", parsed.status().message()));
    }
    *target = *parsed;
  }
  if (absl::Status s = ValidateServe(serve); !s.ok()) return s;
  if (serve.data_dir.empty()) serve.data_dir = DefaultReplicaDataDir(serve);
  command.serve = serve;
  return command;
}

}  // namespace steward::server
