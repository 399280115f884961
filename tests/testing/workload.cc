#include "tests/testing/workload.h"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace steward::testing {
namespace {

// ordered_json keeps attributes in file order, as the files list them.
using Json = nlohmann::ordered_json;

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Where a line is, for errors: "DIR/requests.jsonl:12".
struct Line {
  const std::string& path;
  int number;
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", number, ": ", what));
  }
};

absl::Status ForEachJsonLine(
    const std::string& path,
    const std::function<absl::Status(const Json&, const Line&)>& fn) {
  absl::StatusOr<std::string> text = ReadText(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    const Line where{path, number};
    if (json.is_discarded()) return where.Error("not JSON");
    if (!json.is_object()) return where.Error("not a JSON object");
    absl::Status s = fn(json, where);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status GetString(const Json& object, const char* key, const Line& where,
                       std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return where.Error(absl::StrCat("\"", key, "\" must be a string"));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetAttributes(const Json& object, const Line& where,
                           WorkloadAttributes* out) {
  auto it = object.find("attributes");
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_object()) return where.Error("\"attributes\" must be an object");
  for (const auto& [name, value] : it->items()) {
    if (value.is_string()) {
      out->emplace_back(name, value.get<std::string>());
    } else if (value.is_boolean()) {
      out->emplace_back(name, value.get<bool>());
    } else if (value.is_number_integer()) {
      out->emplace_back(name, value.get<int64_t>());
    } else if (value.is_array()) {
      std::vector<std::string> elements;
      for (const Json& element : value) {
        if (!element.is_string()) {
          return where.Error(absl::StrCat("attribute \"", name,
                                          "\": arrays may hold strings only"));
        }
        elements.push_back(element.get<std::string>());
      }
      out->emplace_back(name, std::move(elements));
    } else {
      return where.Error(
          absl::StrCat("attribute \"", name,
                       "\": must be a string, integer, bool or string array"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string WorkloadDir(const std::string& fallback) {
  const char* env = std::getenv("STEWARD_WORKLOAD_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : fallback;
}

absl::StatusOr<std::string> ReadWorkloadPolicy(const std::string& dir) {
  return ReadText(dir + "/crm.policy");
}

absl::StatusOr<std::vector<WorkloadPrincipal>> ReadWorkloadPrincipals(
    const std::string& dir) {
  std::vector<WorkloadPrincipal> principals;
  absl::Status s = ForEachJsonLine(
      dir + "/principals.jsonl",
      [&](const Json& json, const Line& where) -> absl::Status {
        WorkloadPrincipal p;
        if (absl::Status status = GetString(json, "id", where, &p.id);
            !status.ok()) {
          return status;
        }
        if (auto roles = json.find("roles"); roles != json.end()) {
          if (!roles->is_array()) {
            return where.Error("\"roles\" must be an array of strings");
          }
          for (const Json& role : *roles) {
            if (!role.is_string()) {
              return where.Error("\"roles\" must be an array of strings");
            }
            p.roles.push_back(role.get<std::string>());
          }
        }
        if (absl::Status status = GetAttributes(json, where, &p.attributes);
            !status.ok()) {
          return status;
        }
        principals.push_back(std::move(p));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return principals;
}

absl::StatusOr<std::vector<WorkloadCheck>> ReadWorkloadChecks(
    const std::string& dir) {
  std::vector<WorkloadCheck> checks;
  absl::Status s = ForEachJsonLine(
      dir + "/requests.jsonl",
      [&](const Json& json, const Line& where) -> absl::Status {
        WorkloadCheck c;
        std::string expected;
        auto resource = json.find("resource");
        if (resource == json.end() || !resource->is_object()) {
          return where.Error("\"resource\" must be an object");
        }
        for (const absl::Status& status :
             {GetString(json, "principal_id", where, &c.principal_id),
              GetString(json, "action", where, &c.action),
              GetString(*resource, "kind", where, &c.kind),
              GetString(*resource, "id", where, &c.resource_id),
              GetAttributes(*resource, where, &c.attributes),
              GetString(json, "expected", where, &expected)}) {
          if (!status.ok()) return status;
        }
        if (expected != "ALLOW" && expected != "DENY") {
          return where.Error("\"expected\" must be \"ALLOW\" or \"DENY\"");
        }
        c.expect_allow = expected == "ALLOW";
        checks.push_back(std::move(c));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return checks;
}

}  // namespace steward::testing
