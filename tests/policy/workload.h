// Loader for the shared CRM workload (../shared/workload): the policy,
// principals.jsonl and requests.jsonl, turned into ready-to-evaluate
// Requests. Test/benchmark support only (it reads files, which policy/
// never does). The JSON reader is deliberately minimal: it accepts the
// flat objects these files contain (strings, integers, booleans, nested
// objects, arrays of strings) and nothing more.
#ifndef STEWARD_TESTS_POLICY_WORKLOAD_H_
#define STEWARD_TESTS_POLICY_WORKLOAD_H_

#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::policy::testing {

// A parsed JSON value of the subset above.
struct Json {
  enum class Type { kNull, kString, kInt, kBool, kArray, kObject };
  Type type = Type::kNull;
  std::string string_value;
  int64_t int_value = 0;
  bool bool_value = false;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in file order

  const Json* Find(absl::string_view key) const {
    for (const auto& [k, v] : object) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : text_(text) {}

  absl::StatusOr<Json> Read() {
    Json value;
    if (!ParseValue(&value, 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad JSON at offset ", pos_));
    }
    return value;
  }

 private:
  void Skip() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool ParseString(std::string* out) {
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        const char e = text_[pos_++];
        c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
      }
      out->push_back(c);
    }
    if (pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  bool ParseValue(Json* out, int depth) {
    if (depth > 16) return false;
    Skip();
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '"') {
      out->type = Json::Type::kString;
      return ParseString(&out->string_value);
    }
    if (c == '{') {
      out->type = Json::Type::kObject;
      ++pos_;
      Skip();
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      while (true) {
        Skip();
        std::string key;
        if (!ParseString(&key)) return false;
        Skip();
        if (pos_ >= text_.size() || text_[pos_] != ':') return false;
        ++pos_;
        Json v;
        if (!ParseValue(&v, depth + 1)) return false;
        out->object.emplace_back(std::move(key), std::move(v));
        Skip();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == '}') {
          ++pos_;
          return true;
        }
        return false;
      }
    }
    if (c == '[') {
      out->type = Json::Type::kArray;
      ++pos_;
      Skip();
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      while (true) {
        Json v;
        if (!ParseValue(&v, depth + 1)) return false;
        out->array.push_back(std::move(v));
        Skip();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == ']') {
          ++pos_;
          return true;
        }
        return false;
      }
    }
    if (text_.substr(pos_, 4) == "true" || text_.substr(pos_, 5) == "false") {
      out->type = Json::Type::kBool;
      out->bool_value = text_[pos_] == 't';
      pos_ += out->bool_value ? 4 : 5;
      return true;
    }
    if (text_.substr(pos_, 4) == "null") {
      pos_ += 4;
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      out->type = Json::Type::kInt;
      const bool neg = c == '-';
      if (neg) ++pos_;
      int64_t v = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        v = v * 10 + (text_[pos_++] - '0');
      }
      out->int_value = neg ? -v : v;
      return true;
    }
    return false;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

inline absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline OwnedValue FromJson(const Json& j) {
  switch (j.type) {
    case Json::Type::kString:
      return OwnedValue::String(j.string_value);
    case Json::Type::kInt:
      return OwnedValue::Int(j.int_value);
    case Json::Type::kBool:
      return OwnedValue::Bool(j.bool_value);
    case Json::Type::kArray: {
      std::vector<std::string> s;
      for (const Json& e : j.array) s.push_back(e.string_value);
      return OwnedValue::StringSet(std::move(s));
    }
    default:
      return OwnedValue();
  }
}

// The workload, loaded and resolved against its compiled policy. Owns every
// string the Requests view; not copyable (the views point into it).
class Workload {
 public:
  struct Principal {
    std::string id;
    std::vector<RoleBinding> bindings;
    std::vector<OwnedValue> owned_attributes;  // by principal slot
    std::vector<Value> attributes;
  };
  struct Check {
    std::string principal_id, action, kind, resource_id;
    std::vector<std::pair<std::string, OwnedValue>> owned_attributes;
    std::vector<NamedValue> attributes;
    bool expected_allow = false;
    const Principal* principal = nullptr;
  };

  Workload() = default;
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Directory from STEWARD_WORKLOAD_DIR, else `fallback`.
  static std::string Dir(const std::string& fallback) {
    const char* env = std::getenv("STEWARD_WORKLOAD_DIR");
    return env != nullptr && *env != '\0' ? std::string(env) : fallback;
  }

  absl::Status Load(const std::string& dir) {
    absl::StatusOr<std::string> policy = ReadFile(dir + "/crm.policy");
    if (!policy.ok()) return policy.status();
    policy_text_ = *policy;
    const SourceFile file{"crm.policy", policy_text_};
    CompileResult r = Compile({&file, 1});
    if (!r.ok()) {
      std::string msg;
      for (const Diagnostic& d : r.diagnostics) {
        absl::StrAppend(&msg, d.ToString(), "\n");
      }
      return absl::InvalidArgumentError(msg);
    }
    program_ = r.program;
    absl::Status s = LoadPrincipals(dir + "/principals.jsonl");
    if (!s.ok()) return s;
    return LoadRequests(dir + "/requests.jsonl");
  }

  const Program& program() const { return *program_; }
  std::shared_ptr<const Program> shared_program() const { return program_; }
  const std::deque<Check>& checks() const { return checks_; }

  Request MakeRequest(const Check& c, absl::Time now) const {
    Request r;
    r.principal_id = c.principal_id;
    r.principal_known = c.principal != nullptr;
    if (c.principal != nullptr) {
      r.bindings = c.principal->bindings;
      r.principal_attributes = c.principal->attributes;
    }
    r.action = c.action;
    r.kind = c.kind;
    r.resource_id = c.resource_id;
    r.resource_attributes = c.attributes;
    r.now = now;
    return r;
  }

 private:
  static absl::Status ForEachLine(
      const std::string& path,
      const std::function<absl::Status(const Json&)>& fn) {
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) return text.status();
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      absl::StatusOr<Json> j = JsonReader(line).Read();
      if (!j.ok()) return j.status();
      absl::Status s = fn(*j);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status LoadPrincipals(const std::string& path) {
    return ForEachLine(path, [this](const Json& j) -> absl::Status {
      Principal& p = principals_.emplace_back();
      p.id = j.Find("id")->string_value;
      if (const Json* roles = j.Find("roles")) {
        for (const Json& role : roles->array) {
          std::optional<RoleId> id = program_->FindRole(role.string_value);
          if (!id.has_value()) {
            return absl::InvalidArgumentError(
                absl::StrCat("unknown role ", role.string_value));
          }
          p.bindings.push_back(RoleBinding{*id, ""});
        }
      }
      p.owned_attributes.resize(program_->principal_attributes().size());
      if (const Json* attrs = j.Find("attributes")) {
        for (const auto& [name, value] : attrs->object) {
          std::optional<int> slot = program_->FindPrincipalAttribute(name);
          if (slot.has_value()) p.owned_attributes[*slot] = FromJson(value);
        }
      }
      for (const OwnedValue& v : p.owned_attributes) {
        p.attributes.push_back(v.view());
      }
      return absl::OkStatus();
    });
  }

  absl::Status LoadRequests(const std::string& path) {
    std::map<std::string, const Principal*> by_id;
    for (const Principal& p : principals_) by_id[p.id] = &p;
    return ForEachLine(path, [&](const Json& j) -> absl::Status {
      Check& c = checks_.emplace_back();
      c.principal_id = j.Find("principal_id")->string_value;
      c.action = j.Find("action")->string_value;
      const Json* res = j.Find("resource");
      c.kind = res->Find("kind")->string_value;
      c.resource_id = res->Find("id")->string_value;
      if (const Json* attrs = res->Find("attributes")) {
        for (const auto& [name, value] : attrs->object) {
          c.owned_attributes.emplace_back(name, FromJson(value));
        }
      }
      for (const auto& [name, value] : c.owned_attributes) {
        c.attributes.push_back(NamedValue{name, value.view()});
      }
      c.expected_allow = j.Find("expected")->string_value == "ALLOW";
      auto it = by_id.find(c.principal_id);
      c.principal = it == by_id.end() ? nullptr : it->second;
      return absl::OkStatus();
    });
  }

  std::string policy_text_;
  std::shared_ptr<const Program> program_;
  std::deque<Principal> principals_;  // deque: stable addresses
  std::deque<Check> checks_;
};

}  // namespace steward::policy::testing

#endif  // STEWARD_TESTS_POLICY_WORKLOAD_H_
