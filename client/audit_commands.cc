// `stewardctl audit query|verify|export`: reading and checking the
// tamper-evident trail through AuditService (auditor or admin key).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/audit_records.h"
#include "client/command.h"
#include "client/output.h"
#include "steward/v1/audit.grpc.pb.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

// Verifying or exporting millions of records takes longer than a
// point-query deadline.
constexpr std::chrono::seconds kLongCallTimeout{600};

struct AuditOptions {
  RecordFilterOptions filter;
  int limit = 100;
  std::string format;
};

absl::Status RunQuery(CommandContext& context, const AuditOptions& options) {
  absl::StatusOr<v1::RecordFilter> filter =
      BuildRecordFilter(options.filter, absl::Now());
  if (!filter.ok()) {
    return UsageError(std::string(filter.status().message()));
  }
  if (options.limit < 1) {
    return UsageError("--limit must be at least 1");
  }
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::QueryDecisionsResponse all;
  std::string token;
  bool more = false;
  do {
    v1::QueryDecisionsRequest request;
    *request.mutable_filter() = *filter;
    request.set_page_size(std::min(10000, options.limit - all.records_size()));
    request.set_page_token(token);
    v1::QueryDecisionsResponse page;
    if (absl::Status called = CallRpc(*connection,
                                      [&](grpc::ClientContext* rpc) {
                                        return stub->QueryDecisions(
                                            rpc, request, &page);
                                      });
        !called.ok()) {
      return called;
    }
    for (v1::AuditRecord& record : *page.mutable_records()) {
      if (all.records_size() >= options.limit) break;
      *all.add_records() = std::move(record);
    }
    if (page.next_page_token() == token) break;
    token = page.next_page_token();
    more = !token.empty();
  } while (more && all.records_size() < options.limit);
  if (context.output == OutputFormat::kJson) {
    all.clear_next_page_token();
    if (absl::Status s = PrintJson(all); !s.ok()) return s;
  } else if (context.output == OutputFormat::kCsv) {
    Table table(RecordExportHeaders());
    for (const v1::AuditRecord& record : all.records()) {
      table.AddRow(RecordExportCells(record));
    }
    PrintOut(table.Render(context.output));
  } else {
    Table table(RecordSummaryHeaders());
    for (const v1::AuditRecord& record : all.records()) {
      table.AddRow(RecordSummaryCells(record));
    }
    PrintOut(table.Render(context.output));
  }
  if (more) {
    std::fprintf(stderr,
                 "note: more than %d records match; raise --limit or use "
                 "`audit export`\n",
                 options.limit);
  }
  return absl::OkStatus();
}

absl::Status RunVerify(CommandContext& context) {
  context.connection.timeout = kLongCallTimeout;
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  v1::VerifyChainRequest request;
  v1::VerifyChainResponse response;
  if (absl::Status called = CallRpc(*connection,
                                    [&](grpc::ClientContext* rpc) {
                                      return stub->VerifyChain(rpc, request,
                                                               &response);
                                    });
      !called.ok()) {
    return called;
  }
  if (context.output == OutputFormat::kJson) {
    if (absl::Status s = PrintJson(response); !s.ok()) return s;
  } else {
    std::vector<std::pair<std::string, std::string>> details = {
        {"ok", response.ok() ? "yes" : "no"},
        {"records_checked", absl::StrCat(response.records_checked())},
        {"first_seq", absl::StrCat(response.first_seq())}};
    if (!response.ok()) {
      details.emplace_back("first_bad_seq",
                           absl::StrCat(response.first_bad_seq()));
      details.emplace_back("message", response.message());
    }
    PrintOut(RenderDetails(details, context.output));
  }
  if (!response.ok()) {
    return absl::DataLossError(absl::StrCat("audit chain broken at seq ",
                                            response.first_bad_seq(), ": ",
                                            response.message()));
  }
  return absl::OkStatus();
}

absl::Status RunExport(CommandContext& context, const AuditOptions& options) {
  absl::StatusOr<v1::RecordFilter> filter =
      BuildRecordFilter(options.filter, absl::Now());
  if (!filter.ok()) {
    return UsageError(std::string(filter.status().message()));
  }
  const bool csv = options.format == "csv";
  absl::StatusOr<Connection> connection = Connect(context);
  if (!connection.ok()) return connection.status();
  auto stub = v1::AuditService::NewStub(connection->channel());
  const bool progress = StderrIsTerminal();
  int64_t exported = 0;
  if (csv) PrintOut(CsvRow(RecordExportHeaders()));
  std::string token;
  do {
    v1::QueryDecisionsRequest request;
    *request.mutable_filter() = *filter;
    request.set_page_size(5000);
    request.set_page_token(token);
    v1::QueryDecisionsResponse page;
    // Each page gets its own deadline: a long export is many short calls.
    if (absl::Status called = CallRpc(*connection,
                                      [&](grpc::ClientContext* rpc) {
                                        return stub->QueryDecisions(
                                            rpc, request, &page);
                                      });
        !called.ok()) {
      if (progress) std::fprintf(stderr, "\n");
      return called;
    }
    std::string chunk;
    for (const v1::AuditRecord& record : page.records()) {
      if (csv) {
        chunk += CsvRow(RecordExportCells(record));
      } else {
        absl::StatusOr<std::string> line = ToJson(record, /*pretty=*/false);
        if (!line.ok()) {
          // What came before this page is out already; stop here, loudly.
          PrintOut(chunk);
          if (progress) std::fprintf(stderr, "\n");
          return line.status();
        }
        absl::StrAppend(&chunk, *line, "\n");
      }
    }
    PrintOut(chunk);
    std::fflush(stdout);
    exported += page.records_size();
    if (progress) {
      std::fprintf(stderr, "\rexported %lld records",
                   static_cast<long long>(exported));
    }
    if (page.next_page_token() == token) break;
    token = page.next_page_token();
  } while (!token.empty());
  if (progress) std::fprintf(stderr, "\n");
  return absl::OkStatus();
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<AuditOptions>();
  CLI::App* audit = app.add_subcommand(
      "audit",
      "query, export and verify the audit trail\n"
      "  example: stewardctl audit query --principal u7 --since 24h");
  audit->require_subcommand(1);

  CLI::App* query = audit->add_subcommand(
      "query",
      "list matching records, newest first\n"
      "  example: stewardctl audit query --effect deny --kind customer "
      "--since 7d --limit 50");
  AddRecordFilterOptions(*query, options->filter);
  query->add_option("--limit", options->limit, "at most N records")
      ->capture_default_str();
  query->callback(
      [&context, options] { context.result = RunQuery(context, *options); });

  CLI::App* verify = audit->add_subcommand(
      "verify",
      "recompute the hash chain; exit 1 naming the first bad record\n"
      "  example: stewardctl audit verify");
  verify->callback([&context] { context.result = RunVerify(context); });

  CLI::App* exporter = audit->add_subcommand(
      "export",
      "stream every matching record to stdout as JSON Lines or CSV\n"
      "  example: stewardctl audit export --format csv --since 30d > "
      "audit.csv");
  exporter->add_option("--format", options->format, "jsonl or csv")
      ->required()
      ->check(CLI::IsMember({"jsonl", "csv"}));
  AddRecordFilterOptions(*exporter, options->filter);
  exporter->callback(
      [&context, options] { context.result = RunExport(context, *options); });
}

}  // namespace steward::client
