// See publisher.h.
#include "server/store/postgresql/publisher.h"

#include <optional>
#include <utility>

#include "server/store/entry_assembler.h"

namespace steward::store::postgresql {
namespace {

// The whole database as a snapshot, from one consistent view (the
// revision included, so the snapshot names exactly the state it holds).
absl::StatusOr<std::shared_ptr<const Snapshot>> LoadSnapshot(
    Connection& c, std::shared_ptr<const policy::Program> program,
    int64_t policy_version) {
  absl::StatusOr<Transaction> read =
      Transaction::Begin(c, Transaction::Mode::kReadSnapshot);
  if (!read.ok()) return read.status();
  absl::StatusOr<int64_t> revision = ReadRevision(c);
  if (!revision.ok()) return revision.status();
  absl::StatusOr<Result> principals =
      c.Exec("snapshot: principals",
             "SELECT id, disabled, attributes FROM principals ORDER BY id");
  if (!principals.ok()) return principals.status();
  absl::StatusOr<Result> bindings =
      c.Exec("snapshot: bindings",
             "SELECT principal, role, scope, expires_at FROM role_bindings "
             "ORDER BY principal, role, scope");
  if (!bindings.ok()) return bindings.status();
  if (absl::Status s = read->Commit(); !s.ok()) return s;

  LoadStats stats;
  internal::EntryAssembler assembler(program.get(), &stats);
  SnapshotBuilder builder(program, policy_version,
                          static_cast<size_t>(principals->rows()));
  // A merge of the two scans, both in id order (COLLATE "C" on both).
  int b = 0;
  for (int p = 0; p < principals->rows(); ++p) {
    const absl::string_view id = principals->Text(p, 0);
    assembler.Start();
    for (; b < bindings->rows() && bindings->Text(b, 0) <= id; ++b) {
      if (bindings->Text(b, 0) != id) continue;  // cannot happen (FK)
      assembler.AddBinding(bindings->Text(b, 1), bindings->Text(b, 2),
                           bindings->OptionalInt(b, 3));
    }
    const internal::EntryAssembler::Parts parts =
        assembler.Finish(principals->Text(p, 2));
    builder.Add(id, principals->Bool(p, 1), parts.bindings, parts.attributes);
  }
  return std::move(builder).Build(*revision);
}

// One principal's entry, or null when it does not exist.
absl::StatusOr<std::shared_ptr<const PrincipalEntry>> LoadPrincipalEntry(
    Connection& c, const policy::Program* program, absl::string_view id) {
  absl::StatusOr<Transaction> read =
      Transaction::Begin(c, Transaction::Mode::kReadSnapshot);
  if (!read.ok()) return read.status();
  absl::StatusOr<Result> bindings =
      c.Exec("snapshot: principal bindings",
             "SELECT role, scope, expires_at FROM role_bindings "
             "WHERE principal = $1 ORDER BY role, scope",
             Params().Text(id));
  if (!bindings.ok()) return bindings.status();
  absl::StatusOr<Result> principal =
      c.Exec("snapshot: principal",
             "SELECT id, disabled, attributes FROM principals WHERE id = $1",
             Params().Text(id));
  if (!principal.ok()) return principal.status();
  if (absl::Status s = read->Commit(); !s.ok()) return s;
  if (principal->rows() == 0) return std::shared_ptr<const PrincipalEntry>();
  LoadStats stats;
  internal::EntryAssembler assembler(program, &stats);
  assembler.Start();
  for (int i = 0; i < bindings->rows(); ++i) {
    assembler.AddBinding(bindings->Text(i, 0), bindings->Text(i, 1),
                         bindings->OptionalInt(i, 2));
  }
  const internal::EntryAssembler::Parts parts =
      assembler.Finish(principal->Text(0, 2));
  return PrincipalEntry::Create(principal->Text(0, 0), principal->Bool(0, 1),
                                parts.bindings, parts.attributes);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Snapshot>> PgPublisher::LoadAllLocked(
    std::shared_ptr<const policy::Program> program, int64_t policy_version) {
  return LoadSnapshot(*db_->connection, std::move(program), policy_version);
}

absl::StatusOr<std::shared_ptr<const PrincipalEntry>>
PgPublisher::LoadEntryLocked(const policy::Program* program,
                             absl::string_view id) {
  return LoadPrincipalEntry(*db_->connection, program, id);
}

}  // namespace steward::store::postgresql
