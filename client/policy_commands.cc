// `stewardctl policy …`: the offline `validate` and `test` commands compile
// policy files with steward_policy itself (no server needed, so CI can run
// them); `apply`, `list`, `show`, `activate` and `diff` go through
// AdminService.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/command.h"
#include "client/output.h"
#include "client/policy_files.h"
#include "policy/compiler.h"
#include "policy/program.h"
#include "policy/test_runner.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

struct PolicyOptions {
  std::vector<std::string> files;
  bool strict = false;
  std::string message;
  std::string version;
  std::vector<std::string> diff_args;
  bool fail_on_new_access = false;
};

std::string DiagnosticsJson(const std::vector<policy::Diagnostic>& list) {
  nlohmann::json array = nlohmann::json::array();
  for (const policy::Diagnostic& d : list) {
    array.push_back(
        {{"severity",
          d.severity == policy::Severity::kError ? "error" : "warning"},
         {"file", d.file},
         {"line", d.line},
         {"column", d.column},
         {"message", d.message}});
  }
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status RunValidate(CommandContext& context,
                         const PolicyOptions& options) {
  absl::StatusOr<std::vector<policy::SourceFile>> files =
      ReadPolicyFiles(options.files);
  if (!files.ok()) {
    return files.status();
  }
  policy::CompileOptions compile_options;
  compile_options.strict = options.strict;
  policy::CompileResult result = policy::Compile(*files, compile_options);
  PrintDiagnostics(result.diagnostics);
  const int errors = CountErrors(result.diagnostics);
  const int warnings = static_cast<int>(result.diagnostics.size()) - errors;
  if (context.output == OutputFormat::kJson) {
    nlohmann::json out = {
        {"ok", result.ok()},
        {"errors", errors},
        {"warnings", warnings},
        {"diagnostics",
         nlohmann::json::parse(DiagnosticsJson(result.diagnostics))}};
    if (result.ok()) {
      out["roles"] = result.program->role_count();
      out["rules"] = result.program->rules().size();
      out["tests"] = result.program->test_count();
    }
    PrintOut(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n");
  } else if (result.ok()) {
    PrintOut(absl::StrCat("ok: ", absl::StrJoin(options.files, ", "), " (",
                          result.program->role_count(), " roles, ",
                          result.program->rules().size(), " rules, ", warnings,
                          " warnings)\n"));
  }
  if (!result.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("policy has ", errors, " error", errors == 1 ? "" : "s"));
  }
  return absl::OkStatus();
}

absl::Status RunTest(CommandContext& context, const PolicyOptions& options) {
  absl::StatusOr<std::vector<policy::SourceFile>> files =
      ReadPolicyFiles(options.files);
  if (!files.ok()) {
    return files.status();
  }
  policy::CompileResult result = policy::Compile(*files);
  PrintDiagnostics(result.diagnostics);
  if (!result.ok()) {
    const int errors = CountErrors(result.diagnostics);
    return absl::FailedPreconditionError(
        absl::StrCat("policy has ", errors, " error", errors == 1 ? "" : "s",
                     "; tests not run"));
  }
  policy::TestReport report = policy::RunTests(*result.program, absl::Now());
  if (context.output == OutputFormat::kJson) {
    nlohmann::json failures = nlohmann::json::array();
    for (const policy::TestFailure& failure : report.failures) {
      failures.push_back({{"file", failure.file},
                          {"line", failure.line},
                          {"message", failure.message}});
    }
    nlohmann::json out = {{"passed", report.passed},
                          {"failed", report.failed},
                          {"failures", failures}};
    PrintOut(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n");
  } else {
    for (const policy::TestFailure& failure : report.failures) {
      PrintOut(failure.ToString() + "\n");
    }
    PrintOut(report.Summary() + "\n");
  }
  if (!report.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(report.failed, " of ", report.passed + report.failed,
                     " policy test expectations failed"));
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> VersionDetails(
    const v1::PolicyVersion& version) {
  return {{"version", absl::StrCat(version.version())},
          {"active", version.active() ? "yes" : "no"},
          {"policy", version.policy_name()},
          {"sha256", version.sha256()},
          {"author", version.author()},
          {"created_at", FormatTimestamp(version.created_at())},
          {"message", version.message()}};
}

std::vector<v1::PolicySource> ToProtoSources(
    const std::vector<policy::SourceFile>& files) {
  std::vector<v1::PolicySource> sources;
  for (const policy::SourceFile& file : files) {
    v1::PolicySource source;
    source.set_path(file.path);
    source.set_text(file.text);
    sources.push_back(std::move(source));
  }
  return sources;
}

absl::Status RunApply(CommandContext& context, const PolicyOptions& options) {
  absl::StatusOr<std::vector<policy::SourceFile>> files =
      ReadPolicyFiles(options.files);
  if (!files.ok()) {
    return files.status();
  }
  // Compile and test locally first: the same library the server runs, and
  // the caret display is better than a status message. The server checks
  // again; it is the authority.
  policy::CompileResult result = policy::Compile(*files);
  if (!result.ok()) {
    PrintDiagnostics(result.diagnostics);
    const int errors = CountErrors(result.diagnostics);
    return absl::FailedPreconditionError(
        absl::StrCat("policy has ", errors, " error", errors == 1 ? "" : "s",
                     "; not applied"));
  }
  policy::TestReport report = policy::RunTests(*result.program, absl::Now());
  if (!report.ok()) {
    for (const policy::TestFailure& failure : report.failures) {
      std::fprintf(stderr, "%s\n", failure.ToString().c_str());
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "policy tests failed (", report.Summary(), "); not applied"));
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  v1::ApplyPolicyRequest request;
  for (v1::PolicySource& source : ToProtoSources(*files)) {
    *request.add_sources() = std::move(source);
  }
  request.set_message(options.message);
  if (StderrIsTerminal()) {
    size_t bytes = 0;
    for (const policy::SourceFile& file : *files) bytes += file.text.size();
    std::fprintf(stderr, "applying %zu file(s), %zu bytes to %s...\n",
                 files->size(), bytes, connection->server().c_str());
  }
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::ApplyPolicyResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->ApplyPolicy(rpc, request,
                                                               &response);
                                    });
      !called.ok()) {
    return called;
  }
  for (const v1::Diagnostic& warning : response.warnings()) {
    std::fprintf(stderr, "%s\n", warning.formatted().c_str());
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  auto details = VersionDetails(response.version());
  details.emplace_back("tests",
                       absl::StrCat(response.tests().passed(), " passed, ",
                                    response.tests().failed(), " failed"));
  details.emplace_back("store_revision",
                       absl::StrCat(response.store_revision()));
  PrintOut(RenderDetails(details, context.output));
  return absl::OkStatus();
}

absl::Status RunList(CommandContext& context) {
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::ListPolicyVersionsResponse all;
  absl::Status fetched = ForEachPage<v1::ListPolicyVersionsResponse>(
      *connection,
      [&](grpc::ClientContext* rpc, const std::string& token,
          v1::ListPolicyVersionsResponse* page) {
        v1::ListPolicyVersionsRequest request;
        request.set_page_size(1000);
        request.set_page_token(token);
        return stub->ListPolicyVersions(rpc, request, page);
      },
      [&](v1::ListPolicyVersionsResponse& page) {
        for (v1::PolicyVersion& version : *page.mutable_versions()) {
          *all.add_versions() = std::move(version);
        }
        return true;
      });
  if (!fetched.ok()) return fetched;
  if (context.output == OutputFormat::kJson) {
    all.clear_next_page_token();
    return PrintJson(all);
  }
  Table table({"version", "active", "created_at", "author", "policy", "sha256",
               "message"});
  for (const v1::PolicyVersion& version : all.versions()) {
    table.AddRow({absl::StrCat(version.version()), version.active() ? "*" : "",
                  FormatTimestamp(version.created_at()), version.author(),
                  version.policy_name(),
                  context.output == OutputFormat::kTable
                      ? version.sha256().substr(0, 12)
                      : version.sha256(),
                  version.message()});
  }
  PrintOut(table.Render(context.output));
  return absl::OkStatus();
}

// `active` or a positive number. 0 stands for the active version in the
// API.
bool ParseVersion(const std::string& text, int64_t* version) {
  if (text.empty() || text == "active") {
    *version = 0;
    return true;
  }
  return absl::SimpleAtoi(text, version) && *version > 0;
}

absl::Status RunShow(CommandContext& context, const PolicyOptions& options) {
  int64_t version = 0;
  if (!ParseVersion(options.version, &version)) {
    return UsageError(
        absl::StrCat("invalid version \"", options.version,
                     "\": expected a positive number or \"active\""));
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::GetPolicyRequest request;
  request.set_version(version);
  v1::GetPolicyResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->GetPolicy(rpc, request,
                                                             &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  if (context.output == OutputFormat::kCsv) {
    Table table({"path", "text"});
    for (const v1::PolicySource& source : response.sources()) {
      table.AddRow({source.path(), source.text()});
    }
    PrintOut(table.Render(context.output));
    return absl::OkStatus();
  }
  // Metadata as DSL comments keeps the output a valid policy, so
  // `stewardctl policy show 3 > old.policy` round-trips.
  const v1::PolicyVersion& v = response.version();
  PrintOut(absl::StrCat("# version ", v.version(),
                        v.active() ? " (active)" : "", ", sha256 ", v.sha256(),
                        ", by ", v.author(), " at ",
                        FormatTimestamp(v.created_at()), "\n"));
  for (const v1::PolicySource& source : response.sources()) {
    PrintOut(absl::StrCat("# --- file: ", source.path(), " ---\n"));
    PrintOut(source.text());
    if (!source.text().empty() && source.text().back() != '\n') PrintOut("\n");
  }
  return absl::OkStatus();
}

absl::Status RunActivate(CommandContext& context,
                         const PolicyOptions& options) {
  int64_t version = 0;
  if (!ParseVersion(options.version, &version) || version == 0) {
    return UsageError(absl::StrCat("invalid version \"", options.version,
                                   "\": expected a positive number"));
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::ActivatePolicyVersionRequest request;
  request.set_version(version);
  v1::ActivatePolicyVersionResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->ActivatePolicyVersion(
                                          rpc, request, &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    return PrintJson(response);
  }
  auto details = VersionDetails(response.version());
  details.emplace_back("store_revision",
                       absl::StrCat(response.store_revision()));
  PrintOut(RenderDetails(details, context.output));
  return absl::OkStatus();
}

std::string FieldsText(const v1::PermissionChange& change) {
  std::vector<std::string> fields;
  for (const std::string& field : change.fields()) {
    bool pii = false;
    for (const std::string& p : change.pii_fields()) pii = pii || p == field;
    fields.push_back(pii ? absl::StrCat(field, " (pii)") : field);
  }
  return absl::StrJoin(fields, ", ");
}

absl::Status RunDiff(CommandContext& context, const PolicyOptions& options) {
  const std::vector<std::string>& args = options.diff_args;
  int64_t from = 0;
  if (args.size() < 2 || !ParseVersion(args[0], &from)) {
    return UsageError(
        "usage: policy diff FROM_VERSION (TO_VERSION | FILE...); FROM is a "
        "version number or \"active\"");
  }
  v1::DiffPolicyVersionsRequest request;
  request.set_from_version(from);
  int64_t to = 0;
  std::vector<std::string> paths(args.begin() + 1, args.end());
  // A lone number names a stored version unless a file of that name exists.
  if (paths.size() == 1 && absl::SimpleAtoi(paths[0], &to) && to > 0 &&
      !ReadPolicyFiles(paths).ok()) {
    request.set_to_version(to);
  } else {
    absl::StatusOr<std::vector<policy::SourceFile>> files =
        ReadPolicyFiles(paths);
    if (!files.ok()) {
      return files.status();
    }
    for (v1::PolicySource& source : ToProtoSources(*files)) {
      *request.mutable_to_sources()->add_sources() = std::move(source);
    }
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AdminService::NewStub(connection->channel());
  v1::DiffPolicyVersionsResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->DiffPolicyVersions(
                                          rpc, request, &response);
                                    });
      !called.ok()) {
    return called;
  }
  int added = 0;
  int removed = 0;
  if (context.output == OutputFormat::kJson) {
    if (absl::Status s = PrintJson(response); !s.ok()) return s;
  } else {
    Table table({"change", "role", "kind", "action", "effect", "purposes",
                 "condition", "fields"});
    for (const v1::PermissionChange& change : response.changes()) {
      const bool is_added = change.change() == v1::PermissionChange::ADDED;
      table.AddRow({is_added ? "+ added" : "- removed", change.role(),
                    change.kind(), change.action(), change.effect(),
                    change.purposes().empty()
                        ? "any"
                        : absl::StrJoin(change.purposes(), ", "),
                    change.condition().empty() ? "always" : change.condition(),
                    FieldsText(change)});
    }
    PrintOut(table.Render(context.output));
  }
  for (const v1::PermissionChange& change : response.changes()) {
    (change.change() == v1::PermissionChange::ADDED ? added : removed)++;
  }
  if (context.output == OutputFormat::kTable) {
    PrintOut(absl::StrCat(added, " added, ", removed, " removed; new access: ",
                          response.new_access() ? "yes" : "no", "\n"));
  }
  if (options.fail_on_new_access && response.new_access()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the change grants new access (", added, " permissions added)"));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterPolicyCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<PolicyOptions>();
  CLI::App* policy =
      app.add_subcommand("policy",
                         "validate, test, apply and inspect policies\n"
                         "  example: stewardctl policy validate crm.policy");
  policy->require_subcommand(1);

  CLI::App* validate = policy->add_subcommand(
      "validate",
      "compile policy files offline and report errors as FILE:LINE:COL\n"
      "  example: stewardctl policy validate crm.policy extra.policy");
  validate->add_option("FILE", options->files, "policy files")
      ->required()
      ->check(CLI::ExistingFile);
  validate->add_flag("--strict", options->strict,
                     "treat least-privilege lint warnings as errors");
  validate->callback(
      [&context, options] { context.result = RunValidate(context, *options); });

  CLI::App* test =
      policy->add_subcommand("test",
                             "run the test blocks of policy files offline\n"
                             "  example: stewardctl policy test crm.policy");
  test->add_option("FILE", options->files, "policy files")
      ->required()
      ->check(CLI::ExistingFile);
  test->callback(
      [&context, options] { context.result = RunTest(context, *options); });

  CLI::App* apply = policy->add_subcommand(
      "apply",
      "validate, test and store policy files as the new active version\n"
      "  example: stewardctl policy apply crm.policy -m \"JIRA-12: refunds\"");
  apply->add_option("FILE", options->files, "policy files")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("-m,--message", options->message, "why (recorded)")
      ->required();
  apply->callback(
      [&context, options] { context.result = RunApply(context, *options); });

  CLI::App* list =
      policy->add_subcommand("list",
                             "list stored policy versions, newest first\n"
                             "  example: stewardctl policy list");
  list->callback([&context] { context.result = RunList(context); });

  CLI::App* show = policy->add_subcommand(
      "show",
      "print the sources of a version (default: the active one)\n"
      "  example: stewardctl policy show 3 > v3.policy");
  show->add_option("VERSION", options->version, "version number or active");
  show->callback(
      [&context, options] { context.result = RunShow(context, *options); });

  CLI::App* activate = policy->add_subcommand(
      "activate",
      "make a stored version active (rollback or roll forward)\n"
      "  example: stewardctl policy activate 2");
  activate->add_option("VERSION", options->version, "version number")
      ->required();
  activate->callback(
      [&context, options] { context.result = RunActivate(context, *options); });

  CLI::App* diff = policy->add_subcommand(
      "diff",
      "show who gains or loses which permission between two policies\n"
      "  example: stewardctl policy diff active candidate.policy "
      "--fail-on-new-access");
  diff->add_option("FROM_TO", options->diff_args,
                   "FROM version (or active), then a TO version or files")
      ->required();
  diff->add_flag("--fail-on-new-access", options->fail_on_new_access,
                 "exit 1 when any role gains access (CI gate)");
  diff->callback(
      [&context, options] { context.result = RunDiff(context, *options); });
}

}  // namespace steward::client
