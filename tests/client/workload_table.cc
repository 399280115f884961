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

// An attribute of a kind's resources: its name and SQL type, in first-seen
// order for a readable schema.
struct Attribute {
  std::string name;
  const char* sql_type;
};

absl::StatusOr<std::vector<Attribute>> FindAttributes(
    const std::string& kind, absl::Span<const TableResource> resources,
    const char* (*sql_type)(const WorkloadValue&)) {
  std::vector<Attribute> out;
  std::map<std::string, size_t> seen;  // name -> variant index
  for (const TableResource& resource : resources) {
    for (const auto& [name, value] : resource.attributes) {
      auto [it, inserted] = seen.emplace(name, value.index());
      if (inserted) {
        out.push_back({name, sql_type(value)});
      } else if (it->second != value.index()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attribute ", name, " of ", kind, " holds values of two types"));
      }
    }
  }
  return out;
}

const char* PostgresType(const WorkloadValue& value) {
  if (std::holds_alternative<std::string>(value)) return "text";
  if (std::holds_alternative<int64_t>(value)) return "bigint";
  if (std::holds_alternative<bool>(value)) return "boolean";
  return "text[]";
}

// A value in PostgreSQL's text input format.
std::string PostgresText(const WorkloadValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* n = std::get_if<int64_t>(&value)) return absl::StrCat(*n);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  std::vector<std::string> items;
  for (const std::string& e : std::get<std::vector<std::string>>(value)) {
    items.push_back(absl::StrCat(
        "\"", absl::StrReplaceAll(e, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\""));
  }
  return absl::StrCat("{", absl::StrJoin(items, ","), "}");
}

absl::Status PostgresError(PGresult* result, const std::string& sql) {
  absl::Status status = absl::InternalError(
      absl::StrCat("postgresql: ", PQresultErrorMessage(result), " in: ", sql));
  PQclear(result);
  return status;
}

// The SQL type of a workload value, in the documented layout.
const char* SqliteType(const WorkloadValue& value) {
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
  absl::StatusOr<std::vector<Attribute>> found =
      FindAttributes(kind, resources, SqliteType);
  if (!found.ok()) return found.status();
  std::vector<std::string> names;
  std::map<std::string, std::string> columns;
  std::vector<std::string> definitions = {"id TEXT PRIMARY KEY",
                                          "scope TEXT NOT NULL"};
  for (const Attribute& a : *found) {
    names.push_back(a.name);
    columns[a.name] = column_prefix + a.name;
    definitions.push_back(
        absl::StrCat(Quote(columns[a.name]), " ", a.sql_type));
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

absl::StatusOr<std::map<std::string, std::string>> CreateResourceTable(
    PGconn* db, const std::string& kind,
    absl::Span<const TableResource> resources,
    const std::string& column_prefix) {
  absl::StatusOr<std::vector<Attribute>> attributes =
      FindAttributes(kind, resources, PostgresType);
  if (!attributes.ok()) return attributes.status();
  std::map<std::string, std::string> columns;
  std::map<std::string, int> position;
  std::vector<std::string> definitions = {"id text PRIMARY KEY",
                                          "scope text NOT NULL"};
  std::string placeholders = "$1, $2";
  for (const Attribute& a : *attributes) {
    columns[a.name] = column_prefix + a.name;
    position[a.name] = 2 + position.size();
    definitions.push_back(
        absl::StrCat(Quote(columns[a.name]), " ", a.sql_type));
    absl::StrAppend(&placeholders, ", $", position.size() + 2);
  }
  const std::string create =
      absl::StrCat("CREATE TABLE ", Quote(kind), " (",
                   absl::StrJoin(definitions, ", "), ")");
  PGresult* r = PQexec(db, create.c_str());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) return PostgresError(r, create);
  PQclear(r);
  const std::string insert =
      absl::StrCat("INSERT INTO ", Quote(kind), " VALUES (", placeholders, ")");
  for (const TableResource& resource : resources) {
    std::vector<std::string> text(2 + attributes->size());
    std::vector<const char*> values(text.size(), nullptr);  // NULL if absent
    text[0] = resource.id;
    text[1] = resource.scope;
    values[0] = text[0].c_str();
    values[1] = text[1].c_str();
    for (const auto& [name, value] : resource.attributes) {
      const int i = position[name];
      text[i] = PostgresText(value);
      values[i] = text[i].c_str();
    }
    r = PQexecParams(db, insert.c_str(), values.size(), nullptr, values.data(),
                     nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return PostgresError(r, insert);
    PQclear(r);
  }
  return columns;
}

absl::StatusOr<std::vector<std::string>> SelectIds(PGconn* db,
                                                   const std::string& kind,
                                                   const std::string& where) {
  const std::string sql =
      absl::StrCat("SELECT id FROM ", Quote(kind), " WHERE ", where);
  PGresult* r = PQexec(db, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) return PostgresError(r, sql);
  std::vector<std::string> ids;
  for (int i = 0; i < PQntuples(r); ++i) ids.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace steward::testing
