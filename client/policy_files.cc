// Policy file reading and diagnostics printing (see policy_files.h).
#include "client/policy_files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace steward::client {

absl::StatusOr<std::vector<policy::SourceFile>> ReadPolicyFiles(
    const std::vector<std::string>& paths) {
  std::vector<policy::SourceFile> files;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
    }
    files.push_back(policy::SourceFile{path, buffer.str()});
  }
  return files;
}

void PrintDiagnostics(const std::vector<policy::Diagnostic>& diagnostics) {
  for (const policy::Diagnostic& diagnostic : diagnostics) {
    std::fprintf(stderr, "%s\n", diagnostic.ToString().c_str());
  }
}

int CountErrors(const std::vector<policy::Diagnostic>& diagnostics) {
  int errors = 0;
  for (const policy::Diagnostic& diagnostic : diagnostics) {
    if (diagnostic.severity == policy::Severity::kError) ++errors;
  }
  return errors;
}

}  // namespace steward::client
