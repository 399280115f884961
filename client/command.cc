#include "client/command.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace steward::client {
namespace {

// Payload of a status that asks for a specific exit code.
constexpr char kExitCodeUrl[] = "type.steward.dev/stewardctl.ExitCode";

absl::Status WithExitCode(absl::Status status, int exit_code) {
  status.SetPayload(kExitCodeUrl, absl::Cord(absl::StrCat(exit_code)));
  return status;
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  return WithExitCode(absl::InvalidArgumentError(message), kExitUsage);
}

absl::Status Verdict(int exit_code) {
  return WithExitCode(absl::FailedPreconditionError(""), exit_code);
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (absl::optional<absl::Cord> code = status.GetPayload(kExitCodeUrl)) {
    int exit_code = kExitFailure;
    if (absl::SimpleAtoi(std::string(*code), &exit_code)) return exit_code;
  }
  return kExitFailure;
}

absl::Status RpcError(const grpc::Status& status, const std::string& server) {
  static constexpr const char* kCodeNames[] = {"OK",
                                               "CANCELLED",
                                               "UNKNOWN",
                                               "INVALID_ARGUMENT",
                                               "DEADLINE_EXCEEDED",
                                               "NOT_FOUND",
                                               "ALREADY_EXISTS",
                                               "PERMISSION_DENIED",
                                               "RESOURCE_EXHAUSTED",
                                               "FAILED_PRECONDITION",
                                               "ABORTED",
                                               "OUT_OF_RANGE",
                                               "UNIMPLEMENTED",
                                               "INTERNAL",
                                               "UNAVAILABLE",
                                               "DATA_LOSS",
                                               "UNAUTHENTICATED"};
  int code = static_cast<int>(status.error_code());
  const bool known = code >= 0 && code <= 16;
  std::string message = absl::StrCat(known ? kCodeNames[code] : "UNKNOWN", ": ",
                                     status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    absl::StrAppend(&message, " (cannot reach ", server,
                    "; is stewardd running? use --server ADDR)");
  }
  // grpc::StatusCode and absl::StatusCode share their numbering.
  return absl::Status(known && code != 0 ? static_cast<absl::StatusCode>(code)
                                         : absl::StatusCode::kUnknown,
                      message);
}

absl::StatusOr<Connection> Connect(const CommandContext& context) {
  return Connection::Open(context.connection);
}

}  // namespace steward::client
