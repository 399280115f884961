// `stewardctl key create|list|revoke`: the service's own API keys, through
// AdminService. A new key's secret (and an admin key's TOTP enrolment URI)
// exist in clear only in the CreateApiKey response, so they are shown once
// here — or written to a 0600 file — and never passed on a command line.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/command.h"
#include "client/output.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

struct KeyOptions {
  std::string name;
  v1::ServiceRole role = v1::SERVICE_ROLE_UNSPECIFIED;
  std::string secret_out;
};

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const std::string candidate = absl::StrCat(dir, "/", program);
    if (::access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Draws `text` as a terminal QR code with qrencode, feeding it on stdin:
// the URI holds the TOTP secret and must not appear in a process's argv.
void PrintQrCode(const std::string& text) {
  std::fflush(stdout);
  FILE* qr = ::popen("qrencode -t ANSIUTF8", "w");
  if (qr == nullptr) return;
  std::fwrite(text.data(), 1, text.size(), qr);
  ::pclose(qr);
}

// Creates `path` with mode 0600, refusing to overwrite: a secret must not
// land in a file others can already read.
bool WriteSecretFile(const std::string& path, const std::string& secret) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return false;
  const std::string line = secret + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) ==
                  static_cast<ssize_t>(line.size());
  return ::close(fd) == 0 && ok;
}

std::vector<std::string> KeyCells(const v1::ApiKey& key) {
  std::string role = v1::ServiceRole_Name(key.role());
  for (char& c : role) c = static_cast<char>(std::tolower(c));
  return {key.name(), role, FormatTimestamp(key.created_at()), key.created_by(),
          FormatTimestamp(key.revoked_at())};
}

std::vector<std::string> KeyHeaders() {
  return {"name", "role", "created_at", "created_by", "revoked_at"};
}

absl::Status RunCreate(CommandContext& context, const KeyOptions& options) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::CreateApiKeyRequest request;
  request.set_name(options.name);
  request.set_role(options.role);
  v1::CreateApiKeyResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->CreateApiKey(rpc, request,
                                                                &response);
                                    });
      !called.ok()) {
    return called;
  }
  std::vector<std::pair<std::string, std::string>> details;
  std::vector<std::string> headers = KeyHeaders();
  std::vector<std::string> cells = KeyCells(response.key());
  for (size_t i = 0; i < headers.size(); ++i) {
    details.emplace_back(headers[i], cells[i]);
  }
  if (!options.secret_out.empty()) {
    if (!WriteSecretFile(options.secret_out, response.secret())) {
      // The key exists now; without its secret it is useless, so say how
      // to clean up rather than print the secret somewhere unexpected.
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", options.secret_out,
                       " (exists or not writable); the key was "
                       "created: revoke it with `stewardctl key "
                       "revoke ",
                       options.name, "`"));
    }
    details.emplace_back("secret",
                         absl::StrCat("written to ", options.secret_out));
    response.clear_secret();
  } else {
    details.emplace_back("secret", response.secret());
  }
  if (!response.totp_uri().empty()) {
    details.emplace_back("totp_uri", response.totp_uri());
  }
  if (context.output == OutputFormat::kJson) {
    if (absl::Status s = PrintJson(response); !s.ok()) return s;
  } else {
    PrintOut(RenderDetails(details, context.output));
    if (!response.totp_uri().empty() &&
        context.output == OutputFormat::kTable && OnPath("qrencode")) {
      PrintOut("\nscan with an authenticator app:\n");
      PrintQrCode(response.totp_uri());
    }
  }
  std::fprintf(stderr,
               "note: the secret%s cannot be shown again; store %s now\n",
               response.totp_uri().empty() ? "" : " and TOTP URI",
               response.totp_uri().empty() ? "it" : "them");
  return absl::OkStatus();
}

absl::Status RunList(CommandContext& context) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::ListApiKeysRequest request;
  v1::ListApiKeysResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->ListApiKeys(rpc, request,
                                                               &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  Table table(KeyHeaders());
  for (const v1::ApiKey& key : response.keys()) table.AddRow(KeyCells(key));
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

absl::Status RunRevoke(CommandContext& context, const KeyOptions& options) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::RevokeApiKeyRequest request;
  request.set_name(options.name);
  v1::RevokeApiKeyResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->RevokeApiKey(rpc, request,
                                                                &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  std::vector<std::pair<std::string, std::string>> details;
  std::vector<std::string> headers = KeyHeaders();
  std::vector<std::string> cells = KeyCells(response.key());
  for (size_t i = 0; i < headers.size(); ++i) {
    details.emplace_back(headers[i], cells[i]);
  }
  PrintOut(RenderDetails(details, context.output));
  return absl::OkStatus();
}

}  // namespace

void RegisterKeyCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<KeyOptions>();
  CLI::App* key = app.add_subcommand(
      "key",
      "manage the server's API keys\n"
      "  example: stewardctl key create crm-backend --role client");
  key->require_subcommand(1);

  CLI::App* create = key->add_subcommand(
      "create",
      "create a key; its secret (and an admin's TOTP URI) is shown once\n"
      "  example: stewardctl key create ops-alice --role admin");
  create->add_option("NAME", options->name, "key name")->required();
  std::map<std::string, v1::ServiceRole> roles{
      {"client", v1::CLIENT}, {"auditor", v1::AUDITOR}, {"admin", v1::ADMIN}};
  create->add_option("--role", options->role, "client, auditor or admin")
      ->required()
      ->transform(CLI::CheckedTransformer(roles, CLI::ignore_case));
  create->add_option("--secret-out", options->secret_out,
                     "write the secret to this new file (mode 0600) instead "
                     "of stdout");
  create->callback(
      [&context, options] { context.result = RunCreate(context, *options); });

  CLI::App* list = key->add_subcommand("list",
                                       "list keys (never their secrets)\n"
                                       "  example: stewardctl key list");
  list->callback([&context] { context.result = RunList(context); });

  CLI::App* revoke =
      key->add_subcommand("revoke",
                          "revoke a key; calls with it fail from now on\n"
                          "  example: stewardctl key revoke crm-backend");
  revoke->add_option("NAME", options->name, "key name")->required();
  revoke->callback(
      [&context, options] { context.result = RunRevoke(context, *options); });
}

}  // namespace steward::client
