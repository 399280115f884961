// `stewardctl audit query|verify|export`: reading and checking the
// tamper-evident trail through AuditService (auditor or admin key).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/audit_records.h"
#include "client/checkpoint_signature.h"
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

struct VerifyOptions {
  std::vector<std::string> public_keys;
  std::string witness;
};

std::string SeqOf(const v1::SignedCheckpoint& c) {
  return absl::StrCat("record ", c.seq());
}

// Checks the signed checkpoints the server reported against the auditor's
// public keys and the newest witnessed checkpoint. Returns what is wrong
// (empty: nothing) and sets `summary` to the one-line signature status.
absl::StatusOr<std::vector<std::string>> CheckSignatures(
    const v1::VerifyChainResponse& response, const VerifyOptions& options,
    std::string& summary) {
  std::vector<std::string> problems;
  const auto& checkpoints = response.checkpoints();
  std::vector<CheckpointVerifier> keys;
  for (const std::string& path : options.public_keys) {
    absl::StatusOr<CheckpointVerifier> key = CheckpointVerifier::LoadFile(path);
    if (!key.ok()) {
      return UsageError(absl::StrCat("--public-key: ", key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  auto verify = [&keys](const v1::SignedCheckpoint& c) -> std::string {
    for (const CheckpointVerifier& key : keys) {
      if (key.key_id() == c.key_id()) {
        return key.Verify(c) ? ""
                             : absl::StrCat("the checkpoint at ", SeqOf(c),
                                            " has an invalid signature "
                                            "(forged or altered)");
      }
    }
    return absl::StrCat("the checkpoint at ", SeqOf(c), " is signed by key ",
                        c.key_id(), ", which no --public-key names");
  };
  // One chain (a single node's trail, chain "") or one per replica.
  std::vector<std::string> chains;
  for (const v1::ChainVerification& chain : response.chains()) {
    chains.push_back(chain.chain());
  }
  if (chains.empty()) chains.push_back("");
  auto named = [](const std::string& chain) {
    return chain.empty() ? std::string() : absl::StrCat("chain ", chain, ": ");
  };
  if (keys.empty()) {
    summary = checkpoints.empty()
                  ? "unsigned: no signed checkpoints; history can be "
                    "rewritten by anyone who can write the database"
                  : absl::StrCat("not checked: ", checkpoints.size(),
                                 " signed checkpoints (pass --public-key)");
  } else {
    for (const v1::SignedCheckpoint& c : checkpoints) {
      if (std::string bad = verify(c); !bad.empty()) {
        problems.push_back(absl::StrCat(named(c.chain()), bad));
      }
    }
    std::vector<std::string> parts;
    for (const std::string& chain : chains) {
      const v1::SignedCheckpoint* newest = nullptr;
      for (const v1::SignedCheckpoint& c : checkpoints) {
        if (c.chain() == chain) newest = &c;  // by seq within a chain
      }
      int64_t last_seq = response.last_seq();
      for (const v1::ChainVerification& v : response.chains()) {
        if (v.chain() == chain) last_seq = v.last_seq();
      }
      if (newest == nullptr) {
        problems.push_back(absl::StrCat(
            named(chain),
            "no signed checkpoint: the trail was never signed, or its "
            "checkpoints were removed"));
        parts.push_back(absl::StrCat(named(chain), "missing"));
        continue;
      }
      parts.push_back(
          absl::StrCat(named(chain), "newest at record ", newest->seq(),
                       last_seq > newest->seq()
                           ? absl::StrCat("; records ", newest->seq() + 1, "..",
                                          last_seq, " not signed yet")
                           : ""));
    }
    summary = checkpoints.empty()
                  ? "missing"
                  : absl::StrCat(problems.empty() ? "valid: " : "INVALID: ",
                                 checkpoints.size(), " signed checkpoints, ",
                                 absl::StrJoin(parts, "; "));
  }
  if (!options.witness.empty()) {
    absl::StatusOr<std::optional<v1::SignedCheckpoint>> witness =
        LatestWitness(options.witness);
    if (!witness.ok()) {
      return UsageError(
          absl::StrCat("--witness: ", witness.status().message()));
    }
    if (!witness->has_value()) {
      return UsageError(absl::StrCat("--witness: ", options.witness,
                                     " holds no audit checkpoint line"));
    }
    const v1::SignedCheckpoint& w = **witness;
    if (keys.empty()) {
      return UsageError("--witness needs --public-key");
    }
    if (std::string bad = verify(w); !bad.empty()) {
      problems.push_back(absl::StrCat("witness: ", bad));
    }
    bool present = false;
    for (const v1::SignedCheckpoint& c : checkpoints) {
      present = present || (c.seq() == w.seq() && c.head() == w.head());
    }
    if (!present) {
      problems.push_back(absl::StrCat(
          "the witnessed checkpoint at ", SeqOf(w),
          " is not in the trail: records or checkpoints were removed (the "
          "trail was cut or emptied) or rewritten"));
    }
  }
  return problems;
}

absl::Status RunVerify(CommandContext& context, const VerifyOptions& options) {
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
  std::string signatures;
  absl::StatusOr<std::vector<std::string>> problems =
      CheckSignatures(response, options, signatures);
  if (!problems.ok()) return problems.status();
  if (context.output == OutputFormat::kJson) {
    if (absl::Status s = PrintJson(response); !s.ok()) return s;
  } else {
    std::vector<std::pair<std::string, std::string>> details = {
        {"ok", response.ok() && problems->empty() ? "yes" : "no"},
        {"records_checked", absl::StrCat(response.records_checked())},
        {"first_seq", absl::StrCat(response.first_seq())},
        {"signatures", signatures}};
    for (const v1::ChainVerification& chain : response.chains()) {
      details.emplace_back(
          absl::StrCat("chain ", chain.chain()),
          chain.ok()
              ? absl::StrCat(
                    chain.records_checked(), " records (", chain.first_seq(),
                    "..", chain.last_seq(), ") verified",
                    chain.possible_gap_seqs_size() == 0
                        ? ""
                        : absl::StrCat(
                              "; possible gaps: ",
                              chain.possible_gap_seqs_size(),
                              " unclean stop(s) of an async run: "
                              "answered decisions may be missing "
                              "before record(s) ",
                              absl::StrJoin(chain.possible_gap_seqs(), ", ")))
              : absl::StrCat("BROKEN at seq ", chain.first_bad_seq(), ": ",
                             chain.message()));
    }
    if (response.possible_gap_seqs_size() > 0) {
      details.emplace_back(
          "possible_gaps",
          absl::StrCat(response.possible_gap_seqs_size(),
                       " unclean stop(s) of an async run: answered decisions "
                       "may be missing before record(s) ",
                       absl::StrJoin(response.possible_gap_seqs(), ", ")));
    }
    if (!response.ok()) {
      details.emplace_back("first_bad_seq",
                           absl::StrCat(response.first_bad_seq()));
      details.emplace_back("message", response.message());
    }
    for (const std::string& problem : *problems) {
      details.emplace_back("problem", problem);
    }
    PrintOut(RenderDetails(details, context.output));
  }
  if (!response.ok()) {
    return absl::DataLossError(absl::StrCat("audit chain broken at seq ",
                                            response.first_bad_seq(), ": ",
                                            response.message()));
  }
  if (!problems->empty()) {
    return absl::DataLossError(
        absl::StrCat("audit trail signatures: ", problems->front()));
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

  auto verify_options = std::make_shared<VerifyOptions>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "recompute the hash chain and check its signed checkpoints; exit 1 "
      "naming the first bad record\n"
      "  example: stewardctl audit verify --public-key audit-signing.pub "
      "--witness audit-witness.log");
  verify->add_option("--public-key", verify_options->public_keys,
                     "PEM Ed25519 public key that signs the checkpoints "
                     "(repeat for keys used before a rotation)");
  verify->add_option("--witness", verify_options->witness,
                     "witness file or server log: its newest checkpoint must "
                     "still be in the trail");
  verify->callback([&context, verify_options] {
    context.result = RunVerify(context, *verify_options);
  });

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
