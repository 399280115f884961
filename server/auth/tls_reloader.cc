#include "server/auth/tls_reloader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace steward::server {
namespace {

constexpr char kCurrent[] = "current";

std::string GenerationDir(int generation) {
  return absl::StrCat("gen-", generation);
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat("TLS staging: ", what, " ", path,
                                          ": ", std::strerror(errno)));
}

// Owner-only, created fresh: the staged key is as secret as the original.
absl::Status WritePrivateFile(const std::string& path,
                              const std::string& text) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const absl::Status status = Errno("cannot write", path);
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Errno("cannot write", path);
  return absl::OkStatus();
}

bool SamePem(const TlsPem& a, const TlsPem& b) {
  return a.cert == b.cert && a.key == b.key && a.client_ca == b.client_ca;
}

}  // namespace

TlsReloader::TlsReloader(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<TlsReloader>> TlsReloader::Start(
    Options options) {
  absl::StatusOr<TlsPem> pem =
      ReadTlsFiles(options.cert_file, options.key_file, options.client_ca_file);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::string> description = InspectTls(*pem, absl::Now());
  if (!description.ok()) return description.status();

  // Generations of an earlier run are stale: start from an empty directory.
  std::error_code ec;
  std::filesystem::remove_all(options.staging_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(
        "TLS staging: cannot clear ", options.staging_dir, ": ", ec.message()));
  }
  if (::mkdir(options.staging_dir.c_str(), 0700) != 0) {
    return Errno("cannot create", options.staging_dir);
  }

  std::unique_ptr<TlsReloader> reloader(new TlsReloader(std::move(options)));
  {
    absl::MutexLock lock(&reloader->mu_);
    absl::Status staged = reloader->StageLocked(*pem);
    if (!staged.ok()) return staged;
    reloader->last_seen_ = *pem;
    reloader->staged_ = *std::move(pem);
    reloader->description_ = *std::move(description);
  }
  reloader->thread_ = std::thread([r = reloader.get()] { r->Run(); });
  return reloader;
}

TlsReloader::~TlsReloader() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::string TlsReloader::staged_cert() const {
  return absl::StrCat(options_.staging_dir, "/", kCurrent, "/cert.pem");
}
std::string TlsReloader::staged_key() const {
  return absl::StrCat(options_.staging_dir, "/", kCurrent, "/key.pem");
}
std::string TlsReloader::staged_client_ca() const {
  if (options_.client_ca_file.empty()) return "";
  return absl::StrCat(options_.staging_dir, "/", kCurrent, "/client_ca.pem");
}

std::string TlsReloader::description() const {
  absl::MutexLock lock(&mu_);
  return description_;
}

absl::StatusOr<std::string> TlsReloader::CheckNow() {
  absl::MutexLock lock(&mu_);
  return PollLocked();
}

absl::Status TlsReloader::StageLocked(const TlsPem& pem) {
  const int next = generation_ + 1;
  const std::string dir =
      absl::StrCat(options_.staging_dir, "/", GenerationDir(next));
  if (::mkdir(dir.c_str(), 0700) != 0) return Errno("cannot create", dir);
  absl::Status s = WritePrivateFile(dir + "/cert.pem", pem.cert);
  if (s.ok()) s = WritePrivateFile(dir + "/key.pem", pem.key);
  if (s.ok() && !options_.client_ca_file.empty()) {
    s = WritePrivateFile(dir + "/client_ca.pem", pem.client_ca);
  }
  if (!s.ok()) return s;
  // One rename switches every file at once.
  const std::string link = absl::StrCat(options_.staging_dir, "/", kCurrent);
  const std::string temp = link + ".new";
  ::unlink(temp.c_str());
  if (::symlink(GenerationDir(next).c_str(), temp.c_str()) != 0) {
    return Errno("cannot link", temp);
  }
  if (::rename(temp.c_str(), link.c_str()) != 0) {
    return Errno("cannot publish", link);
  }
  generation_ = next;
  // The previous generation may still be open in gRPC's reader; the one
  // before it is not.
  if (next > 2) {
    std::error_code ec;
    std::filesystem::remove_all(
        absl::StrCat(options_.staging_dir, "/", GenerationDir(next - 2)), ec);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TlsReloader::PollLocked() {
  absl::StatusOr<TlsPem> pem = ReadTlsFiles(
      options_.cert_file, options_.key_file, options_.client_ca_file);
  if (pem.ok() && last_problem_.ok() && SamePem(*pem, last_seen_)) {
    return description_;
  }
  absl::StatusOr<std::string> description =
      pem.ok() ? InspectTls(*pem, absl::Now())
               : absl::StatusOr<std::string>(pem.status());
  if (pem.ok()) last_seen_ = *pem;
  if (!description.ok()) {
    if (description.status() != last_problem_) {
      spdlog::warn(
          "TLS files changed but cannot be used: {}; the last good "
          "certificate ({}) stays in use",
          std::string(description.status().message()), description_);
    }
    last_problem_ = description.status();
    return description.status();
  }
  last_problem_ = absl::OkStatus();
  if (SamePem(*pem, staged_)) return description_;  // a broken edit undone
  absl::Status staged = StageLocked(*pem);
  if (!staged.ok()) {
    spdlog::error("{}; the last good certificate stays in use",
                  std::string(staged.message()));
    return staged;
  }
  staged_ = *std::move(pem);
  description_ = *std::move(description);
  // gRPC re-reads the staged files on the same interval.
  spdlog::info(
      "TLS: renewed certificate accepted ({}); new handshakes use "
      "it within {} s",
      description_, 2 * absl::ToInt64Seconds(options_.poll_interval));
  return description_;
}

void TlsReloader::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll_interval);
    if (stopping_) break;
    (void)PollLocked();
  }
}

}  // namespace steward::server
