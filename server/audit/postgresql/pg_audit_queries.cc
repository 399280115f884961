#include "server/audit/postgresql/pg_audit_queries.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/audit/reader.h"

namespace steward::audit {

absl::StatusOr<QueryPage> PgAuditQueries::Query(const QueryFilter& filter,
                                                int page_size,
                                                absl::string_view page_token) {
  absl::StatusOr<PgQueryPage> page =
      reader_->Query(filter, page_size, page_token);
  if (!page.ok()) return page.status();
  QueryPage out;
  out.records.reserve(page->records.size());
  for (ChainRecord& record : page->records) {
    out.records.push_back(std::move(record.record));
  }
  out.next_page_token = std::move(page->next_page_token);
  return out;
}

absl::StatusOr<QueryPage> PgAuditQueries::SubjectAccess(
    absl::string_view resource_kind, absl::string_view resource_id,
    std::optional<absl::Time> since, std::optional<absl::Time> until,
    int page_size, absl::string_view page_token) {
  absl::StatusOr<QueryFilter> filter =
      SubjectAccessFilter(resource_kind, resource_id, since, until);
  if (!filter.ok()) return filter.status();
  return Query(*filter, page_size, page_token);
}

absl::StatusOr<VerifyResult> PgAuditQueries::VerifyChain() {
  absl::StatusOr<PgVerifyResult> chains = reader_->VerifyChains();
  if (!chains.ok()) return chains.status();
  return FoldPgVerifyResult(*chains);
}

VerifyResult FoldPgVerifyResult(const PgVerifyResult& chains) {
  VerifyResult out;
  out.ok = chains.ok;
  for (const ChainVerifyResult& chain : chains.chains) {
    out.records_checked += chain.result.records_checked;
  }
  out.message = chains.message;
  for (const ChainVerifyResult& chain : chains.chains) {
    const VerifyResult& r = chain.result;
    out.chains.push_back({chain.chain, r.ok, r.records_checked, r.first_seq,
                          r.last_seq, r.first_bad_seq, r.message,
                          r.possible_gaps});
    for (CheckpointCheck check : r.checkpoints) {
      check.chain = chain.chain;
      out.checkpoints.push_back(std::move(check));
    }
  }
  if (chains.ok) return out;
  // The first broken chain in name order is the one reported (as
  // VerifyPgChains reports its message); rows of a chain without a head
  // break no chain's seq, so first_bad_seq then stays 0.
  for (const ChainVerifyResult& chain : chains.chains) {
    if (chain.result.ok) continue;
    out.first_bad_seq = chain.result.first_bad_seq;
    const std::string prefix = absl::StrCat("chain ", chain.chain);
    out.message = absl::StartsWith(chain.result.message, prefix)
                      ? chain.result.message
                      : absl::StrCat(prefix, ": ", chain.result.message);
    break;
  }
  return out;
}

}  // namespace steward::audit
