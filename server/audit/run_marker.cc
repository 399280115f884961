#include "server/audit/run_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace steward::audit {
namespace {

std::string MarkerPath(const std::string& data_dir) {
  return absl::StrCat(data_dir, "/stewardd.running");
}

}  // namespace

absl::StatusOr<std::optional<RunMarker>> ReadRunMarker(
    const std::string& data_dir) {
  std::ifstream in(MarkerPath(data_dir));
  if (!in) {
    if (!std::filesystem::exists(MarkerPath(data_dir))) {
      return std::optional<RunMarker>();
    }
    return absl::InternalError(
        absl::StrCat("cannot read ", MarkerPath(data_dir)));
  }
  std::stringstream text;
  text << in.rdbuf();
  RunMarker marker;
  marker.durability = "unknown";
  const nlohmann::json json =
      nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    marker.pid = json.value("pid", int64_t{0});
    marker.durability = json.value("durability", std::string("unknown"));
    marker.at_risk_bound = json.value("at_risk_bound", int64_t{0});
  }
  return std::optional<RunMarker>(std::move(marker));
}

absl::Status WriteRunMarker(const std::string& data_dir,
                            const RunMarker& marker) {
  const std::string path = MarkerPath(data_dir);
  const std::string tmp = path + ".tmp";
  const std::string text = nlohmann::json{
      {"pid", marker.pid},
      {"durability", marker.durability},
      {"at_risk_bound",
       marker.at_risk_bound}}.dump();
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  }
  const bool written = ::write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status RemoveRunMarker(const std::string& data_dir) {
  std::error_code error;
  std::filesystem::remove(MarkerPath(data_dir), error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot remove ", MarkerPath(data_dir), ": ", error.message()));
  }
  return absl::OkStatus();
}

AuditRecord UncleanStopRecord(absl::Time time, const RunMarker& previous) {
  AuditRecord record;
  record.time = time;
  record.kind = RecordKind::kRetentionPurge;  // "system"
  record.caller = "stewardd";
  record.action = kUncleanStopAction;
  record.effect = RecordEffect::kOk;
  record.reason = previous.durability == "sync"
                      ? "UNCLEAN_STOP"
                      : "UNCLEAN_STOP_RECORDS_AT_RISK";
  record.details = nlohmann::json{{"previous_pid", previous.pid},
                                  {"durability", previous.durability},
                                  {"at_risk_bound", previous.at_risk_bound}}
                       .dump();
  return record;
}

bool UncleanStopMayHaveLostRecords(absl::string_view details) {
  const nlohmann::json json =
      nlohmann::json::parse(details, nullptr, /*allow_exceptions=*/false);
  // A marker that could not be read may have come from an async run.
  return !json.is_object() || json.value("durability", std::string()) != "sync";
}

}  // namespace steward::audit
