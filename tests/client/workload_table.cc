#include "tests/client/workload_table.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"

namespace steward::testing {
namespace {

std::string Quote(const std::string& identifier) {
  return absl::StrCat("\"", absl::StrReplaceAll(identifier, {{"\"", "\"\""}}),
                      "\"");
}

absl::Status SqliteError(sqlite3* db, const std::string& sql) {
  return absl::InternalError(
      absl::StrCat("sqlite: ", sqlite3_errmsg(db), " in: ", sql));
}

// The SQL type of a workload value, in the documented layout.
const char* SqlType(const WorkloadValue& value) {
  if (std::holds_alternative<std::string>(value)) return "TEXT";
  if (std::holds_alternative<int64_t>(value)) return "INTEGER";
  if (std::holds_alternative<bool>(value)) return "INTEGER";
  return "TEXT";  // set<string>: a JSON array
}

absl::Status Bind(sqlite3_stmt* stmt, int index, const WorkloadValue& value) {
  int rc;
  if (const auto* s = std::get_if<std::string>(&value)) {
    rc = sqlite3_bind_text(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT);
  } else if (const auto* n = std::get_if<int64_t>(&value)) {
    rc = sqlite3_bind_int64(stmt, index, *n);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    rc = sqlite3_bind_int64(stmt, index, *b ? 1 : 0);
  } else {
    const std::string json =
        nlohmann::json(std::get<std::vector<std::string>>(value)).dump();
    rc = sqlite3_bind_text(stmt, index, json.data(), json.size(),
                           SQLITE_TRANSIENT);
  }
  return rc == SQLITE_OK ? absl::OkStatus()
                         : absl::InternalError("sqlite: bind failed");
}

}  // namespace

std::map<std::string, std::vector<TableResource>> DistinctResources(
    absl::Span<const WorkloadCheck> checks) {
  std::map<std::string, std::vector<TableResource>> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const WorkloadCheck& check : checks) {
    if (!seen.emplace(check.kind, check.resource_id).second) continue;
    out[check.kind].push_back(
        TableResource{check.resource_id, "", check.attributes});
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> CreateResourceTable(
    sqlite3* db, const std::string& kind,
    absl::Span<const TableResource> resources,
    const std::string& column_prefix) {
  // Attribute -> SQL type, in first-seen order for a readable schema.
  std::vector<std::string> names;
  std::map<std::string, std::pair<const char*, size_t>> types;
  for (const TableResource& resource : resources) {
    for (const auto& [name, value] : resource.attributes) {
      auto [it, inserted] =
          types.emplace(name, std::make_pair(SqlType(value), value.index()));
      if (inserted) {
        names.push_back(name);
      } else if (it->second.second != value.index()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attribute ", name, " of ", kind, " holds values of two types"));
      }
    }
  }
  std::map<std::string, std::string> columns;
  std::vector<std::string> definitions = {"id TEXT PRIMARY KEY",
                                          "scope TEXT NOT NULL"};
  for (const std::string& name : names) {
    columns[name] = column_prefix + name;
    definitions.push_back(
        absl::StrCat(Quote(columns[name]), " ", types[name].first));
  }
  const std::string create =
      absl::StrCat("CREATE TABLE ", Quote(kind), " (",
                   absl::StrJoin(definitions, ", "), ")");
  if (sqlite3_exec(db, create.c_str(), nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db, create);
  }
  std::string placeholders = "?, ?";
  for (size_t i = 0; i < names.size(); ++i) placeholders += ", ?";
  const std::string sql =
      absl::StrCat("INSERT INTO ", Quote(kind), " VALUES (", placeholders, ")");
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  absl::Status status;
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (const TableResource& resource : resources) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);  // absent attributes stay NULL
    sqlite3_bind_text(stmt, 1, resource.id.data(), resource.id.size(),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, resource.scope.data(), resource.scope.size(),
                      SQLITE_TRANSIENT);
    for (const auto& [name, value] : resource.attributes) {
      const int index =
          3 + (std::find(names.begin(), names.end(), name) - names.begin());
      if (status = Bind(stmt, index, value); !status.ok()) break;
    }
    if (!status.ok()) break;
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      status = SqliteError(db, sql);
      break;
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_exec(db, status.ok() ? "COMMIT" : "ROLLBACK", nullptr, nullptr,
               nullptr);
  if (!status.ok()) return status;
  return columns;
}

absl::StatusOr<std::vector<std::string>> SelectIds(sqlite3* db,
                                                   const std::string& kind,
                                                   const std::string& where) {
  const std::string sql =
      absl::StrCat("SELECT id FROM ", Quote(kind), " WHERE ", where);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  std::vector<std::string> ids;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ids.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db, sql);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace steward::testing
