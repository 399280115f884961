#include "server/serve_command.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/shutdown_signal.h"

namespace steward::server {
namespace {

// How long in-flight calls may take to finish after SIGTERM.
constexpr auto kDrainTimeout = std::chrono::seconds(10);

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

}  // namespace

int RunServe(const ServeConfig& config) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l stewardd %v",
                      spdlog::pattern_time_type::utc);
  if (config.dev) {
    spdlog::warn(
        "DEVELOPMENT MODE: no TLS, no TOTP second factor, loopback only; "
        "never use --dev with real data");
  } else if (!config.tls()) {
    spdlog::warn("TLS is off: listening on loopback {} only", config.listen);
  }
  if (!EnsureDataDir(config.data_dir)) return 1;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(),
                           &selected_port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    spdlog::error("cannot listen on {}", config.listen);
    return 1;
  }
  std::string address = absl::StrCat(HostOf(config.listen), ":", selected_port);
  WriteAddressFile(config.data_dir, address);
  spdlog::info("listening on {} (data dir {})", address, config.data_dir);

  while (WaitForSignal() != Signal::kShutdown) {
    spdlog::info("SIGHUP: nothing to reload");
  }
  spdlog::info("shutting down: draining in-flight calls");
  server->GetHealthCheckService()->Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server->Wait();
  spdlog::info("stopped");
  return 0;
}

}  // namespace steward::server
