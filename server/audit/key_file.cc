#include "server/audit/key_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace steward::audit::internal {

absl::StatusOr<std::string> ReadKeyFile(const std::string& path,
                                        absl::string_view what, bool owner_only,
                                        size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat(what, " ", path, " does not exist"));
    }
    return absl::InternalError(absl::StrCat("cannot open ", what, " ", path,
                                            ": ", std::strerror(err)));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat("cannot stat ", what, " ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " ", path, " is not a regular file"));
  }
  if (owner_only && (st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s %s is accessible by group or others (mode %04o); run chmod 600 "
        "on it",
        what, path, st.st_mode & 07777));
  }
  // One byte more than allowed tells a file that is too long from one
  // that fits exactly.
  std::string contents(max_bytes + 1, '\0');
  size_t size = 0;
  while (size < contents.size()) {
    const ssize_t n =
        ::read(fd, contents.data() + size, contents.size() - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      OPENSSL_cleanse(contents.data(), contents.size());
      return absl::InternalError(absl::StrCat("cannot read ", what, " ", path));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  if (size > max_bytes) {
    OPENSSL_cleanse(contents.data(), contents.size());
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is longer than ", max_bytes, " bytes"));
  }
  contents.resize(size);
  return contents;
}

}  // namespace steward::audit::internal
