// Certificate renewal without a restart, and without trusting the renewal.
//
// gRPC's file-watching certificate provider serves whatever the watched
// files hold when it next reads them: an emptied file aborts the process,
// and a garbage or mismatched pair makes every new handshake fail. So
// stewardd never points gRPC at the operator's files. A TlsReloader polls
// them, validates each new version fully (InspectTls: parses, key matches,
// valid now), and only then stages it into a directory of its own that
// gRPC watches. A pair is staged as a whole: both files go into a new
// directory and one symlink rename publishes them, so gRPC never reads a
// new key with an old certificate. Anything invalid leaves the last good
// pair in use and is logged once per change of the files.
//
// Used by the daemon wiring only.
#ifndef STEWARD_SERVER_AUTH_TLS_RELOADER_H_
#define STEWARD_SERVER_AUTH_TLS_RELOADER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/tls_files.h"

namespace steward::server {

// Owns the staging directory's contents and the polling thread; the
// destructor stops and joins the thread. Thread-safe.
class TlsReloader {
 public:
  struct Options {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;  // "" = no client certificates
    // Created (mode 0700) if missing; stewardd uses DATA_DIR/tls.
    std::string staging_dir;
    absl::Duration poll_interval = absl::Seconds(10);
  };

  // Validates and stages the current files, then starts polling.
  // INVALID_ARGUMENT (naming the flag, file and problem) when the files
  // are not a valid pair now; INTERNAL when the staging directory cannot
  // be written.
  static absl::StatusOr<std::unique_ptr<TlsReloader>> Start(Options options);

  ~TlsReloader();
  TlsReloader(const TlsReloader&) = delete;
  TlsReloader& operator=(const TlsReloader&) = delete;

  // The paths gRPC's provider should watch; they always hold a validated
  // pair. staged_client_ca() is "" without a client CA.
  std::string staged_cert() const;
  std::string staged_key() const;
  std::string staged_client_ca() const;

  // "subject CN=…, expires …" of the pair in use.
  std::string description() const;

  // Checks the operator's files at once (SIGHUP) and stages them when they
  // changed and are valid. OK with the description of the pair now staged,
  // or the problem that keeps the last good pair in use.
  absl::StatusOr<std::string> CheckNow();

 private:
  explicit TlsReloader(Options options);
  // Writes `pem` as the next generation and switches `current` to it.
  absl::Status StageLocked(const TlsPem& pem)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One poll: reads the files; on a change, validates and stages them or
  // logs (once per distinct problem) why the last good pair stays.
  absl::StatusOr<std::string> PollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  const Options options_;
  mutable absl::Mutex mu_;
  TlsPem last_seen_ ABSL_GUARDED_BY(mu_);  // the files at the last poll
  TlsPem staged_ ABSL_GUARDED_BY(mu_);     // the pair gRPC serves
  absl::Status last_problem_ ABSL_GUARDED_BY(mu_);
  std::string description_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_AUTH_TLS_RELOADER_H_
