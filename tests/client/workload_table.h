// The shared workload's resources as rows of a real SQLite table, the way
// an application stores what it lists: one table per resource kind, one
// row per distinct resource, one column per attribute (NULL when the
// resource lacks it) in the layout docs/query-plans.md assumes: strings
// TEXT, ints INTEGER, bools INTEGER 0/1, sets a JSON array in TEXT; and the
// same in PostgreSQL (text, bigint, boolean, text[]). For the end-to-end
// tests of query plans (plan_workload_test.cc). Test-only.
#ifndef STEWARD_TESTS_CLIENT_WORKLOAD_TABLE_H_
#define STEWARD_TESTS_CLIENT_WORKLOAD_TABLE_H_

#include <libpq-fe.h>
#include <sqlite3.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tests/testing/workload.h"

namespace steward::testing {

// One row: a resource as the workload's checks describe it, plus a scope.
struct TableResource {
  std::string id;
  std::string scope;
  WorkloadAttributes attributes;  // absent attributes are NULL columns
};

// The distinct resources (by id; the first check naming one wins) of
// `checks`, by kind, in first-seen order.
std::map<std::string, std::vector<TableResource>> DistinctResources(
    absl::Span<const WorkloadCheck> checks);

// Creates table `kind` in `db` with columns id (TEXT PRIMARY KEY), scope
// (TEXT NOT NULL) and `column_prefix + attribute` for every attribute any
// of `resources` has, typed by its values, and inserts `resources`.
// Returns attribute -> column. InvalidArgument when one attribute holds
// values of two types; Internal on a SQLite error, naming it.
absl::StatusOr<std::map<std::string, std::string>> CreateResourceTable(
    sqlite3* db, const std::string& kind,
    absl::Span<const TableResource> resources,
    const std::string& column_prefix);

// The ids of table `kind` for which `where` is TRUE, sorted. Internal on a
// SQLite error (a broken WHERE expression included), with the statement.
absl::StatusOr<std::vector<std::string>> SelectIds(sqlite3* db,
                                                   const std::string& kind,
                                                   const std::string& where);

// The same two for a PostgreSQL connection: table `kind` with columns id
// (text PRIMARY KEY), scope (text NOT NULL) and one per attribute (text,
// bigint, boolean, text[]). Errors as above, with PostgreSQL's message.
absl::StatusOr<std::map<std::string, std::string>> CreateResourceTable(
    PGconn* db, const std::string& kind,
    absl::Span<const TableResource> resources,
    const std::string& column_prefix);
absl::StatusOr<std::vector<std::string>> SelectIds(PGconn* db,
                                                   const std::string& kind,
                                                   const std::string& where);

}  // namespace steward::testing

#endif  // STEWARD_TESTS_CLIENT_WORKLOAD_TABLE_H_
