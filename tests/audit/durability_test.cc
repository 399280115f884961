// Durability: a child process submits decisions in sync mode and reports
// each acknowledged (committed) decision over a pipe; the parent SIGKILLs it
// mid-stream. After reopening, every acknowledged decision is in the trail
// and the chain verifies. Also: PII never reaches the database file in
// clear.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/minimize.h"
#include "server/audit/reader.h"
#include "server/audit/writer.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace steward::audit {
namespace {

using ::steward::audit::testing::Decision;
using ::steward::audit::testing::TestDb;
using ::steward::testing::IsOk;

// The child: submits forever from 4 threads; each commit callback writes
// "<n>\n" to `fd`. Never returns.
[[noreturn]] void RunChild(const std::string& path, int fd) {
  auto writer = AuditWriter::Open(path);
  if (!writer.ok()) ::_exit(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        const int n = i * 4 + t;
        absl::Status s = (*writer)->Submit(
            Decision(n), [fd, n](absl::StatusOr<int64_t> seq) {
              if (!seq.ok()) return;
              const std::string line = absl::StrCat(n, "\n");
              // A pipe write of < PIPE_BUF bytes is atomic.
              if (::write(fd, line.data(), line.size()) < 0) ::_exit(4);
            });
        if (!s.ok()) ::_exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST(DurabilityTest, AcknowledgedRecordsSurviveSigkill) {
  TestDb db;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    RunChild(db.path(), fds[1]);
  }
  ::close(fds[1]);

  // Read acknowledgements until a few thousand arrived, then kill.
  std::string buffer;
  std::set<int> acked;
  auto consume = [&] {
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      int n = 0;
      ASSERT_TRUE(absl::SimpleAtoi(buffer.substr(start, nl - start), &n));
      acked.insert(n);
    }
    buffer.erase(0, start);
  };
  char chunk[4096];
  while (acked.size() < 2000) {
    const ssize_t got = ::read(fds[0], chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    ASSERT_GT(got, 0) << "child exited early";
    buffer.append(chunk, static_cast<size_t>(got));
    consume();
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  // Acknowledgements already in the pipe count too.
  while (true) {
    const ssize_t got = ::read(fds[0], chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    buffer.append(chunk, static_cast<size_t>(got));
  }
  consume();
  ::close(fds[0]);

  auto reader = AuditReader::Open(db.path());
  ASSERT_THAT(reader, IsOk());
  int missing = 0;
  for (int n : acked) {
    if (!(*reader)->FindDecision(absl::StrCat("d-", n)).ok()) ++missing;
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged";
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  EXPECT_GE(verified->records_checked, static_cast<int64_t>(acked.size()));

  // The trail continues after the crash.
  auto writer = AuditWriter::Open(db.path());
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->SubmitAndWait(Decision(-1)), IsOk());
  verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(PiiTest, PiiNeverReachesTheDatabaseFileInClear) {
  TestDb db;
  MinimizationPlan plan;
  plan.SetResourceAttribute("customer", "owner", AttributeTreatment::kKeep);
  plan.SetResourceAttribute("customer", "email", AttributeTreatment::kPii);
  const std::string pii = "zelda.pii.marker@example.com";
  std::vector<policy::NamedValue> attrs = {
      {"owner", policy::Value::String("owner-marker")},
      {"email", policy::Value::String(pii)}};
  auto key = AuditKey::Parse(std::string(64, 'c'));
  ASSERT_THAT(key, IsOk());
  {
    auto writer = AuditWriter::Open(db.path());
    ASSERT_THAT(writer, IsOk());
    const std::vector<const AuditKey*> keys = {nullptr, &*key};
    for (const AuditKey* k : keys) {
      for (int i = 0; i < 50; ++i) {
        auto m = MinimizeAttributes(plan, "customer", attrs, {}, k);
        ASSERT_THAT(m, IsOk());
        AuditRecord r = Decision(i + (k ? 1000 : 0));
        r.attributes = m->json;
        r.key_id = m->key_id;
        ASSERT_THAT((*writer)->Submit(std::move(r)), IsOk());
      }
    }
    ASSERT_THAT((*writer)->Shutdown(), IsOk());
  }
  std::string bytes = ReadAll(db.path()) + ReadAll(db.path() + "-wal");
  EXPECT_TRUE(absl::StrContains(bytes, "owner-marker"));  // sanity: readable
  EXPECT_FALSE(absl::StrContains(bytes, pii));
  EXPECT_FALSE(absl::StrContains(bytes, "zelda"));

  // The auditor with the key gets it back.
  auto reader = AuditReader::Open(db.path());
  ASSERT_THAT(reader, IsOk());
  // Records written in multi-row batches keep their own attributes.
  auto verified = (*reader)->VerifyChain();
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok) << verified->message;
  for (int i = 0; i < 50; ++i) {
    auto plain = (*reader)->FindDecision(absl::StrCat("d-", i));
    ASSERT_THAT(plain, IsOk());
    ASSERT_TRUE(plain->attributes.has_value()) << i;
    EXPECT_TRUE(absl::StrContains(*plain->attributes, "owner-marker")) << i;
    EXPECT_EQ(plain->key_id, "") << i;
    auto encrypted = (*reader)->FindDecision(absl::StrCat("d-", 1000 + i));
    ASSERT_THAT(encrypted, IsOk());
    ASSERT_TRUE(encrypted->attributes.has_value()) << i;
    EXPECT_EQ(encrypted->key_id, key->key_id()) << i;
  }
  auto record = (*reader)->FindDecision("d-1000");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->key_id, key->key_id());
  auto clear = DecryptAttributes(*key, *record->attributes);
  ASSERT_THAT(clear, IsOk());
  EXPECT_TRUE(absl::StrContains(*clear, pii));
}

}  // namespace
}  // namespace steward::audit
