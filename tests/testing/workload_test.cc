// The shared-workload reader: the real files as published, and the errors
// a damaged file gets (each naming the file, line and field).
#include "tests/testing/workload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace steward::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(WorkloadReaderTest, ReadsThePublishedWorkload) {
  const std::string dir = WorkloadDir(STEWARD_WORKLOAD_DIR);
  absl::StatusOr<std::string> policy = ReadWorkloadPolicy(dir);
  ASSERT_THAT(policy, IsOk());
  EXPECT_THAT(*policy, HasSubstr("resource customer"));

  absl::StatusOr<std::vector<WorkloadPrincipal>> principals =
      ReadWorkloadPrincipals(dir);
  ASSERT_THAT(principals, IsOk());
  ASSERT_EQ(principals->size(), 300u);
  const WorkloadPrincipal& first = principals->front();
  EXPECT_EQ(first.id, "u0001");
  EXPECT_THAT(first.roles, ElementsAre("finance_clerk"));
  // In file order, typed.
  EXPECT_THAT(first.attributes,
              ElementsAre(Pair("region", WorkloadValue(std::string("apac"))),
                          Pair("mfa", WorkloadValue(true))));

  absl::StatusOr<std::vector<WorkloadCheck>> checks = ReadWorkloadChecks(dir);
  ASSERT_THAT(checks, IsOk());
  ASSERT_EQ(checks->size(), 10000u);
  const WorkloadCheck& check = checks->front();
  EXPECT_EQ(check.principal_id, "u0084");
  EXPECT_EQ(check.action, "update");
  EXPECT_EQ(check.kind, "customer");
  EXPECT_EQ(check.resource_id, "customer-8471");
  EXPECT_THAT(check.attributes,
              ElementsAre(Pair("owner", WorkloadValue(std::string("u0014"))),
                          Pair("region", WorkloadValue(std::string("amer"))),
                          Pair("tier", WorkloadValue(std::string("free")))));
  EXPECT_FALSE(check.expect_allow);
  // Integers stay integers.
  bool saw_int = false;
  for (const WorkloadCheck& c : *checks) {
    for (const auto& [name, value] : c.attributes) {
      saw_int |= std::holds_alternative<int64_t>(value);
    }
  }
  EXPECT_TRUE(saw_int);
}

class DamagedWorkloadTest : public ::testing::Test {
 protected:
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_.path() + "/" + file) << text;
  }
  TempDir dir_;
};

TEST_F(DamagedWorkloadTest, MissingFilesAreNotFound) {
  EXPECT_THAT(ReadWorkloadPolicy(dir_.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("crm.policy")));
  EXPECT_THAT(
      ReadWorkloadPrincipals(dir_.path()),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("principals.jsonl")));
  EXPECT_THAT(
      ReadWorkloadChecks(dir_.path()),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("requests.jsonl")));
}

TEST_F(DamagedWorkloadTest, SkipsEmptyLines) {
  Write("principals.jsonl",
        "\n{\"id\":\"a\",\"roles\":[\"r\"],\"attributes\":{\"tags\":[\"x\"]}}"
        "\n\n{\"id\":\"b\"}\n");
  absl::StatusOr<std::vector<WorkloadPrincipal>> principals =
      ReadWorkloadPrincipals(dir_.path());
  ASSERT_THAT(principals, IsOk());
  ASSERT_EQ(principals->size(), 2u);
  EXPECT_THAT(
      (*principals)[0].attributes,
      ElementsAre(Pair("tags", WorkloadValue(std::vector<std::string>{"x"}))));
  EXPECT_EQ((*principals)[1].id, "b");
  EXPECT_TRUE((*principals)[1].roles.empty());
}

struct DamagedLine {
  const char* name;
  const char* file;
  const char* line;  // the file's second line, after a good one
  const char* message;
};

class DamagedLineTest : public DamagedWorkloadTest,
                        public ::testing::WithParamInterface<DamagedLine> {};

TEST_P(DamagedLineTest, IsInvalidArgumentNamingFileLineAndField) {
  const DamagedLine& c = GetParam();
  const bool principals = std::string(c.file) == "principals.jsonl";
  const char* good =
      principals ? "{\"id\":\"good\"}"
                 : "{\"principal_id\":\"u\",\"action\":\"read\",\"resource\":"
                   "{\"kind\":\"k\",\"id\":\"1\"},\"expected\":\"DENY\"}";
  Write(c.file, absl::StrCat(good, "\n", c.line, "\n"));
  const absl::Status status = principals
                                  ? ReadWorkloadPrincipals(dir_.path()).status()
                                  : ReadWorkloadChecks(dir_.path()).status();
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr(absl::StrCat(c.file, ":2: ")),
                                        HasSubstr(c.message))));
}

INSTANTIATE_TEST_SUITE_P(
    Lines, DamagedLineTest,
    ::testing::Values(
        DamagedLine{"NotJson", "principals.jsonl", "{\"id\":", "not JSON"},
        DamagedLine{"NotAnObject", "principals.jsonl", "[1]",
                    "not a JSON object"},
        DamagedLine{"NoId", "principals.jsonl", "{\"roles\":[]}", "\"id\""},
        DamagedLine{"RoleNotAString", "principals.jsonl",
                    "{\"id\":\"x\",\"roles\":[1]}", "\"roles\""},
        DamagedLine{"FloatAttribute", "principals.jsonl",
                    "{\"id\":\"x\",\"attributes\":{\"level\":1.5}}",
                    "attribute \"level\""},
        DamagedLine{"NullAttribute", "principals.jsonl",
                    "{\"id\":\"x\",\"attributes\":{\"level\":null}}",
                    "attribute \"level\""},
        DamagedLine{"MixedArray", "principals.jsonl",
                    "{\"id\":\"x\",\"attributes\":{\"tags\":[\"a\",1]}}",
                    "attribute \"tags\""},
        DamagedLine{"NoResource", "requests.jsonl",
                    "{\"principal_id\":\"u\",\"action\":\"read\","
                    "\"expected\":\"DENY\"}",
                    "\"resource\""},
        DamagedLine{"NoKind", "requests.jsonl",
                    "{\"principal_id\":\"u\",\"action\":\"read\",\"resource\":"
                    "{\"id\":\"1\"},\"expected\":\"DENY\"}",
                    "\"kind\""},
        DamagedLine{"NoExpected", "requests.jsonl",
                    "{\"principal_id\":\"u\",\"action\":\"read\",\"resource\":"
                    "{\"kind\":\"k\",\"id\":\"1\"}}",
                    "\"expected\""},
        DamagedLine{"BadExpected", "requests.jsonl",
                    "{\"principal_id\":\"u\",\"action\":\"read\",\"resource\":"
                    "{\"kind\":\"k\",\"id\":\"1\"},\"expected\":\"MAYBE\"}",
                    "\"expected\" must be \"ALLOW\" or \"DENY\""}),
    [](const ::testing::TestParamInfo<DamagedLine>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace steward::testing
