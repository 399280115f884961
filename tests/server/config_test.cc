#include "server/daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace steward::server {
namespace {

using ::steward::testing::IsOk;
using ::steward::testing::StatusIs;
using ::testing::HasSubstr;

struct DurationCase {
  std::string name;
  std::string text;
  bool ok;
  absl::Duration expected;
};

class ParseDurationFlagTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationFlagTest, Parses) {
  const DurationCase& c = GetParam();
  absl::StatusOr<absl::Duration> parsed = ParseDurationFlag(c.text);
  if (c.ok) {
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, c.expected);
  } else {
    EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr(c.text)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseDurationFlagTest,
    ::testing::Values(DurationCase{"Days", "400d", true, absl::Hours(24 * 400)},
                      DurationCase{"Hours", "24h", true, absl::Hours(24)},
                      DurationCase{"Minutes", "90m", true, absl::Minutes(90)},
                      DurationCase{"Seconds", "30s", true, absl::Seconds(30)},
                      DurationCase{"Milliseconds", "250ms", true,
                                   absl::Milliseconds(250)},
                      DurationCase{"ZeroMilliseconds", "0ms", false, {}},
                      DurationCase{"NoUnit", "30", false, {}},
                      DurationCase{"BadUnit", "3w", false, {}},
                      DurationCase{"Zero", "0d", false, {}},
                      DurationCase{"Negative", "-1d", false, {}},
                      DurationCase{"Empty", "", false, {}}),
    [](const auto& info) { return info.param.name; });

struct LoopbackCase {
  std::string name;
  std::string address;
  bool loopback;
};

class IsLoopbackAddressTest : public ::testing::TestWithParam<LoopbackCase> {};

TEST_P(IsLoopbackAddressTest, Classifies) {
  EXPECT_EQ(IsLoopbackAddress(GetParam().address), GetParam().loopback);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IsLoopbackAddressTest,
    ::testing::Values(LoopbackCase{"Ipv4", "127.0.0.1:7070", true},
                      LoopbackCase{"Ipv4Range", "127.8.9.10:1", true},
                      LoopbackCase{"Ipv6", "[::1]:7070", true},
                      LoopbackCase{"Localhost", "localhost:7070", true},
                      LoopbackCase{"AnyAddress", "0.0.0.0:7070", false},
                      LoopbackCase{"Private", "10.0.0.1:7070", false},
                      LoopbackCase{"LookAlike", "127.0.0.1.evil:7070", false},
                      LoopbackCase{"Ipv6Any", "[::]:7070", false}),
    [](const auto& info) { return info.param.name; });

absl::StatusOr<Command> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "stewardd");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(ParseCommandLineTest, ServeDefaults) {
  absl::StatusOr<Command> command = Parse({"serve", "--data-dir", "/tmp/x"});
  ASSERT_THAT(command, IsOk());
  ASSERT_TRUE(command->serve.has_value());
  EXPECT_EQ(command->serve->listen, "127.0.0.1:7070");
  EXPECT_EQ(command->serve->audit_durability, AuditDurability::kSync);
  EXPECT_EQ(command->serve->audit_retention, absl::Hours(24 * 400));
  EXPECT_EQ(command->serve->audit_queue_capacity, 65536);
}

TEST(ParseCommandLineTest, RefusesPlaintextOnNonLoopback) {
  EXPECT_THAT(Parse({"serve", "--data-dir", "d", "--listen", "0.0.0.0:7070"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a loopback address")));
}

TEST(ParseCommandLineTest, AllowsNonLoopbackWithTls) {
  absl::StatusOr<Command> command =
      Parse({"serve", "--data-dir", "d", "--listen", "0.0.0.0:7070",
             "--tls-cert", "c.pem", "--tls-key", "k.pem"});
  ASSERT_THAT(command, IsOk());
  EXPECT_TRUE(command->serve->tls());
}

TEST(ParseCommandLineTest, HttpListenFollowsTheLoopbackRuleOfListen) {
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--http-listen", "0.0.0.0:8080"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--http-listen 0.0.0.0:8080 is not a "
                         "loopback address")));
  absl::StatusOr<Command> tls =
      Parse({"serve", "--data-dir", "d", "--http-listen", "0.0.0.0:8080",
             "--tls-cert", "c.pem", "--tls-key", "k.pem"});
  ASSERT_THAT(tls, IsOk());
  EXPECT_EQ(tls->serve->http_listen, "0.0.0.0:8080");
  absl::StatusOr<Command> loopback =
      Parse({"serve", "--data-dir", "d", "--http-listen", "127.0.0.1:0"});
  ASSERT_THAT(loopback, IsOk());
  EXPECT_EQ(loopback->serve->http_threads, 64);
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--http-listen", "nocolon"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--http-listen")));
  EXPECT_THAT(Parse({"serve", "--data-dir", "d", "--http-threads", "0"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--http-threads")));
}

TEST(ParseCommandLineTest, NamesTheBadFlag) {
  EXPECT_THAT(Parse({"serve", "--data-dir", "d", "--audit-retention", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--audit-retention")));
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--tls-cert", "c.pem"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-key")));
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--listen", "nocolon"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--listen")));
  EXPECT_THAT(Parse({"serve", "--data-dir", "d", "--audit-durability", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--audit-durability")));
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--audit-queue-capacity", "0"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--audit-queue-capacity")));
  EXPECT_THAT(Parse({"serve"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("--data-dir")));
  EXPECT_THAT(Parse({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("subcommand")));
}

TEST(ParseCommandLineTest, ReplicaOnPostgresql) {
  absl::StatusOr<Command> command =
      Parse({"serve", "--data-dir", "d", "--store", "postgresql://u@h/db",
             "--replica-name", "replica-a.1", "--store-poll-interval", "250ms",
             "--store-grace-period", "3s", "--min-revision-wait", "500ms"});
  ASSERT_THAT(command, IsOk());
  EXPECT_TRUE(command->serve->postgresql());
  EXPECT_EQ(command->serve->replica_name, "replica-a.1");
  EXPECT_EQ(command->serve->store_poll_interval, absl::Milliseconds(250));
  EXPECT_EQ(command->serve->store_grace_period, absl::Seconds(3));
  EXPECT_EQ(command->serve->min_revision_wait, absl::Milliseconds(500));

  absl::StatusOr<Command> defaults = Parse({"serve", "--data-dir", "d"});
  ASSERT_THAT(defaults, IsOk());
  EXPECT_FALSE(defaults->serve->postgresql());
  EXPECT_EQ(defaults->serve->store_poll_interval, absl::Seconds(1));
  EXPECT_EQ(defaults->serve->store_grace_period, absl::Seconds(10));
  EXPECT_EQ(defaults->serve->min_revision_wait, absl::Seconds(2));
}

// A replica's data dir holds only local files, so it may be left out:
// one per replica name, under systemd's StateDirectory= when set.
TEST(ParseCommandLineTest, ReplicaDataDirHasADefault) {
  ::unsetenv("STATE_DIRECTORY");
  absl::StatusOr<Command> command = Parse(
      {"serve", "--store", "postgresql://u@h/db", "--replica-name", "r-1"});
  ASSERT_THAT(command, IsOk());
  EXPECT_EQ(command->serve->data_dir, "./stewardd-r-1");
  ::setenv("STATE_DIRECTORY", "/var/lib/steward:/var/lib/other", 1);
  command = Parse(
      {"serve", "--store", "postgresql://u@h/db", "--replica-name", "r-1"});
  ::unsetenv("STATE_DIRECTORY");
  ASSERT_THAT(command, IsOk());
  EXPECT_EQ(command->serve->data_dir, "/var/lib/steward/stewardd-r-1");
  // Given, it is used as is; without --store it stays required.
  command = Parse({"serve", "--data-dir", "d", "--store", "postgresql://u@h/db",
                   "--replica-name", "r-1"});
  ASSERT_THAT(command, IsOk());
  EXPECT_EQ(command->serve->data_dir, "d");
  EXPECT_THAT(Parse({"serve", "--dev"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--data-dir is required")));
}

TEST(ParseCommandLineTest, ReplicaFlagsAreChecked) {
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--store", "postgresql://u@h/db"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--replica-name is required")));
  EXPECT_THAT(Parse({"serve", "--data-dir", "d", "--replica-name", "a"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--replica-name is only for")));
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--store", "/tmp/x.db",
             "--replica-name", "a"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postgresql://")));
  for (const std::string& bad :
       {std::string("has space"), std::string("slash/no"), std::string(65, 'a'),
        std::string("")}) {
    EXPECT_THAT(Parse({"serve", "--data-dir", "d", "--store",
                       "postgresql://u@h/db", "--replica-name", bad}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("--replica-name")))
        << bad;
  }
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--store", "postgresql://u@h/db",
             "--replica-name", std::string(64, 'a')}),
      IsOk());
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--store-poll-interval", "fast"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--store-poll-interval")));
}

TEST(ParseCommandLineTest, AuditOffIsForDevBenchmarksOnly) {
  EXPECT_THAT(
      Parse({"serve", "--data-dir", "d", "--audit-durability", "off"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs --dev")));
  absl::StatusOr<Command> command =
      Parse({"serve", "--data-dir", "d", "--dev", "--audit-durability", "off"});
  ASSERT_THAT(command, IsOk());
  EXPECT_EQ(command->serve->audit_durability, AuditDurability::kOff);
}

}  // namespace
}  // namespace steward::server
