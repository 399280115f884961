// See database.h.
#include "server/store/postgresql/database.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace steward::store::postgresql {
namespace {

// Attempts of one change when PostgreSQL aborts it (kAborted).
constexpr int kMaxAttempts = 3;

absl::StatusOr<int64_t> CommitOnce(Connection& connection,
                                   absl::FunctionRef<absl::Status()> change,
                                   const ChangeSubject& subject) {
  absl::StatusOr<Transaction> txn =
      Transaction::Begin(connection, Transaction::Mode::kWrite);
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Result> locked = connection.Exec(
      "lock store revision",
      "SELECT revision FROM store_meta WHERE singleton = 1 FOR UPDATE");
  if (!locked.ok()) return locked.status();
  if (locked->rows() != 1)
    return absl::DataLossError("store_meta row is missing");
  if (absl::Status s = change(); !s.ok()) return s;
  absl::StatusOr<Result> bumped = connection.Exec(
      "bump store revision",
      "UPDATE store_meta SET revision = revision + 1 WHERE singleton = 1 "
      "RETURNING revision");
  if (!bumped.ok()) return bumped.status();
  const int64_t revision = bumped->Int(0, 0);
  absl::StatusOr<Result> notified = connection.Exec(
      "notify store revision", "SELECT pg_notify('steward_revision', $1)",
      Params().Text(EncodeRevisionNotice(revision, subject)));
  if (!notified.ok()) return notified.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return revision;
}

}  // namespace

std::string EncodeRevisionNotice(int64_t revision,
                                 const ChangeSubject& subject) {
  switch (subject.kind) {
    case ChangeSubject::Kind::kPrincipal:
      return absl::StrCat(revision, " p ", subject.principal);
    case ChangeSubject::Kind::kKeys:
      return absl::StrCat(revision, " k");
    case ChangeSubject::Kind::kWhole:
      break;
  }
  return absl::StrCat(revision);
}

RevisionNotice DecodeRevisionNotice(absl::string_view payload) {
  RevisionNotice notice;
  const size_t space = payload.find(' ');
  if (!absl::SimpleAtoi(payload.substr(0, space), &notice.revision) ||
      notice.revision <= 0) {
    return RevisionNotice{};
  }
  if (space == absl::string_view::npos) return notice;
  absl::string_view rest = payload.substr(space + 1);
  if (rest == "k") {
    notice.subject = ChangeSubject::Keys();
  } else if (absl::ConsumePrefix(&rest, "p ") && !rest.empty()) {
    notice.subject = ChangeSubject::Principal(rest);
  }
  return notice;
}

absl::StatusOr<int64_t> CommitChange(Connection& connection,
                                     const ChangeSubject& subject,
                                     absl::FunctionRef<absl::Status()> change) {
  absl::StatusOr<int64_t> revision;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    revision = CommitOnce(connection, change, subject);
    if (revision.status().code() != absl::StatusCode::kAborted) break;
  }
  return revision;
}

absl::StatusOr<int64_t> ReadRevision(Connection& connection) {
  absl::StatusOr<Result> row =
      connection.Exec("read store revision",
                      "SELECT revision FROM store_meta WHERE singleton = 1");
  if (!row.ok()) return row.status();
  if (row->rows() != 1) return absl::DataLossError("store_meta row is missing");
  return row->Int(0, 0);
}

}  // namespace steward::store::postgresql
