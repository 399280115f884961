#include "client/connection.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace steward::client {
namespace {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read API key file ", path));
  }
  if ((info.st_mode & 077) != 0) {
    std::fprintf(stderr,
                 "warning: API key file %s is readable by group or others; "
                 "chmod 600 it\n",
                 path.c_str());
  }
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read API key file ", path));
  }
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

absl::StatusOr<Connection> Connection::Open(const ConnectionOptions& options) {
  Connection connection;
  connection.server_ = options.server;
  connection.otp_ = options.otp;
  connection.timeout_ = options.timeout;
  if (!options.api_key_file.empty()) {
    absl::StatusOr<std::string> key = ReadSecretFile(options.api_key_file);
    if (!key.ok()) return key.status();
    connection.api_key_ = *key;
  } else if (const char* env = std::getenv("STEWARD_API_KEY"); env != nullptr) {
    struct stat info;
    if (::stat(env, &info) == 0 && S_ISREG(info.st_mode)) {
      absl::StatusOr<std::string> key = ReadSecretFile(env);
      if (!key.ok()) return key.status();
      connection.api_key_ = *key;
    } else {
      connection.api_key_ = std::string(absl::StripAsciiWhitespace(env));
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!options.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(options.tls_ca);
    if (!ca.ok()) return ca.status();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *ca;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  // The unpaged reports (UnusedGrants, WhoCan) outgrow gRPC's default
  // 4 MiB receive limit at scale: 70,000 unused grants of 100,000
  // principals are 6.7 MB.
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxResponseBytes);
  connection.channel_ =
      grpc::CreateCustomChannel(options.server, credentials, arguments);
  return connection;
}

void Connection::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  if (!api_key_.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", api_key_));
  }
  if (!otp_.empty()) context->AddMetadata("x-steward-otp", otp_);
}

}  // namespace steward::client
