// Helpers shared by the audit tests: a fresh migrated database in a temp
// directory, record builders, and raw access for tampering. Test-only.
#ifndef STEWARD_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
#define STEWARD_TESTS_AUDIT_AUDIT_TEST_UTIL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "migrations/migrations.h"
#include "server/audit/reader.h"
#include "server/audit/record.h"
#include "server/audit/rows.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/migration_runner.h"
#include "tests/testing/subprocess.h"

namespace steward::audit::testing {

inline const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01

// Opens a connection to `path` (creating it when asked).
inline std::unique_ptr<store::sqlite::Connection> OpenRaw(
    const std::string& path, bool create = false) {
  store::sqlite::ConnectionOptions options;
  options.create_if_missing = create;
  auto connection = store::sqlite::Connection::Open(path, options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  return connection.ok() ? *std::move(connection) : nullptr;
}

// A temp directory holding a freshly migrated steward.db.
class TestDb {
 public:
  TestDb() : path_(dir_.path() + "/steward.db") {
    auto connection = OpenRaw(path_, /*create=*/true);
    auto migrated =
        store::sqlite::RunMigrations(*connection, migrations::All(), kT0);
    EXPECT_TRUE(migrated.ok()) << migrated.status();
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  steward::testing::TempDir dir_;
  std::string path_;
};

// VerifyChain of the trail at `path` through a fresh AuditReader; a test
// failure (and an empty result) when it cannot be read.
inline VerifyResult VerifyTrail(const std::string& path) {
  absl::StatusOr<std::unique_ptr<AuditReader>> reader = AuditReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return VerifyResult{};
  absl::StatusOr<VerifyResult> result = (*reader)->VerifyChain();
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : VerifyResult{};
}

inline AuditRecord Decision(int i, absl::string_view principal = "u1") {
  AuditRecord r;
  r.time = kT0 + absl::Seconds(i);
  r.kind = RecordKind::kDecision;
  r.decision_id = absl::StrCat("d-", i);
  r.caller = "crm-backend";
  r.principal = std::string(principal);
  r.action = "read";
  r.resource_kind = "customer";
  r.resource_id = absl::StrCat("c", i % 10);
  r.resource_scope = "acme/eu";
  r.effect = i % 3 == 0 ? RecordEffect::kDeny : RecordEffect::kAllow;
  r.reason = i % 3 == 0 ? "NO_MATCHING_RULE" : "ALLOWED_BY_RULE";
  r.rule_id = i % 3 == 0 ? "" : "support_agent/1";
  r.policy_version = 3;
  r.store_revision = 17;
  r.request_id = absl::StrCat("req-", i);
  r.fields = {"name"};
  r.purpose = i % 2 == 0 ? "support_case" : "";
  return r;
}

// Every record matching `filter`, newest first, following page tokens;
// checks each page holds at most `page_size` records.
inline std::vector<AuditRecord> QueryAllPages(AuditReader& reader,
                                              const QueryFilter& filter,
                                              int page_size) {
  std::vector<AuditRecord> out;
  std::string token;
  int pages = 0;
  do {
    auto page = reader.Query(filter, page_size, token);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_LE(static_cast<int>(page->records.size()), page_size);
    for (auto& r : page->records) out.push_back(std::move(r));
    token = page->next_page_token;
  } while (!token.empty() && ++pages < 10000);
  return out;
}

// What an insider with write access to the file does after editing,
// deleting or renumbering rows: recomputes every prev_hash and hash in seq
// order from the chain start, so the chain verifies again on its own.
inline void RehashChain(store::sqlite::Connection& connection) {
  std::vector<std::pair<int64_t, std::string>> rows;  // seq, canonical
  {
    auto stmt = connection.Prepare(absl::StrCat(
        "SELECT ", internal::kRowColumns, " FROM audit_log ORDER BY seq"));
    ASSERT_TRUE(stmt.ok()) << stmt.status();
    while (true) {
      auto more = stmt->Step();
      ASSERT_TRUE(more.ok()) << more.status();
      if (!*more) break;
      auto row = internal::ReadRow(*stmt);
      ASSERT_TRUE(row.ok()) << row.status();
      rows.emplace_back(row->row.seq, internal::CanonicalEncoding(row->row));
    }
  }
  Hash prev = kZeroHash;
  for (const auto& [seq, canonical] : rows) {
    const Hash hash = ChainHash(prev, canonical);
    auto update = connection.Prepare(
        "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?");
    ASSERT_TRUE(update.ok()) << update.status();
    update->BindBlob(1, absl::Span<const uint8_t>(prev.data(), prev.size()));
    update->BindBlob(2, absl::Span<const uint8_t>(hash.data(), hash.size()));
    update->BindInt(3, seq);
    ASSERT_TRUE(update->Run().ok());
    prev = hash;
  }
}

// The tampering modes an insider with write access can use to rewrite a
// 10-record trail so that the chain alone still verifies.
enum class Tamper {
  kEditAndRehash,      // change record 6, recompute every later hash
  kDeleteAndRenumber,  // delete record 4, renumber 5..10 down, rehash
  kCutTail,            // delete records 7..10, lower sqlite_sequence
  kDeleteEveryRow,     // delete every record, reset sqlite_sequence
};

inline const char* TamperName(Tamper tamper) {
  switch (tamper) {
    case Tamper::kEditAndRehash:
      return "EditAndRehash";
    case Tamper::kDeleteAndRenumber:
      return "DeleteAndRenumber";
    case Tamper::kCutTail:
      return "CutTail";
    case Tamper::kDeleteEveryRow:
      return "DeleteEveryRow";
  }
  return "";
}

// Applies `tamper` to the trail in `connection` (which holds seqs 1..10).
inline void ApplyTamper(store::sqlite::Connection& connection, Tamper tamper) {
  auto exec = [&connection](const char* sql) {
    absl::Status s = connection.Exec(sql);
    ASSERT_TRUE(s.ok()) << sql << ": " << s;
  };
  switch (tamper) {
    case Tamper::kEditAndRehash:
      exec("UPDATE audit_log SET principal = 'someone-else' WHERE seq = 6");
      RehashChain(connection);
      break;
    case Tamper::kDeleteAndRenumber:
      exec("DELETE FROM audit_log WHERE seq = 4");
      exec("UPDATE audit_log SET seq = seq + 1000 WHERE seq > 4");
      exec("UPDATE audit_log SET seq = seq - 1001 WHERE seq > 1000");
      exec("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'audit_log'");
      RehashChain(connection);
      break;
    case Tamper::kCutTail:
      exec("DELETE FROM audit_log WHERE seq >= 7");
      exec("UPDATE sqlite_sequence SET seq = 6 WHERE name = 'audit_log'");
      break;
    case Tamper::kDeleteEveryRow:
      exec("DELETE FROM audit_log");
      exec("DELETE FROM sqlite_sequence WHERE name = 'audit_log'");
      break;
  }
}

}  // namespace steward::audit::testing

#endif  // STEWARD_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
