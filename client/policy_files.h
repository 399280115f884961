// Reading policy source files from disk for stewardctl: the offline
// `policy validate|test` commands compile them with steward_policy, the
// online ones send them to the server. Also prints compiler diagnostics the
// way every policy command shows them.
#ifndef STEWARD_CLIENT_POLICY_FILES_H_
#define STEWARD_CLIENT_POLICY_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/compiler.h"
#include "policy/diagnostic.h"

namespace steward::client {

// Reads each path whole. InvalidArgument naming the first unreadable file.
// A path is kept as given, so diagnostics read `crm.policy:3:7: …` the way
// the user typed it.
absl::StatusOr<std::vector<policy::SourceFile>> ReadPolicyFiles(
    const std::vector<std::string>& paths);

// Writes each diagnostic (`FILE:LINE:COL: error: …`, the source line and a
// caret) to stderr.
void PrintDiagnostics(const std::vector<policy::Diagnostic>& diagnostics);

// Number of error-severity diagnostics.
int CountErrors(const std::vector<policy::Diagnostic>& diagnostics);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_POLICY_FILES_H_
