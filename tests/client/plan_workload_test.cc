// Query plans end to end with a real database: a real stewardd holding the
// shared CRM workload (its policy, its 300 principals, plus principals
// with scoped bindings), the workload's resources as rows of a real SQLite
// file and in a real PostgreSQL (with scopes, and copies missing one
// attribute each, so unknowns occur), and for each (principal, action,
// kind) the plan's WHERE clause run on those rows selects exactly the ids
// BatchCheck allows over the same rows. The plan is rendered by
// steward_plan_sql and, in a second test, by the real `stewardctl plan --sql
// sqlite`.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/plan_sql.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/authorization.grpc.pb.h"
#include "tests/client/workload_table.h"
#include "tests/testing/grpc_workload.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/workload.h"

namespace steward::testing {
namespace {

using ::steward::client::ColumnMap;
using ::steward::client::RenderPlanSql;
using ::steward::client::SqlDialect;
using ::testing::HasSubstr;

constexpr int kRowsPerKind = 150;
// Resources whose copies each lack one attribute.
constexpr int kHoleyPerKind = 10;
const char* const kActions[] = {"read",   "update",        "delete",
                                "export", "refund_create", "refund_approve"};
// Scopes given to the rows in turn: prefixes that are and are not path
// prefixes, and a LIKE wildcard (`LIKE 'acme/eu_/%'` would match
// acme/euX/y).
const char* const kScopes[] = {"",           "acme",       "acme/eu",
                               "acme/eu/fr", "acme/eux",   "acme/us",
                               "acme/eu_",   "acme/euX/y", "other"};

std::string ReadKey(const std::string& data_dir, const std::string& role) {
  std::ifstream in(data_dir + "/dev-" + role + ".key");
  std::string key;
  in >> key;
  return key;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& key) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + key);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

class PlanWorkloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess();
    data_ = new std::string(dir_->path() + "/data");
    ASSERT_THAT(
        server_->Start(STEWARDD_PATH, *data_,
                       {"--dev", "--policy",
                        std::string(STEWARD_WORKLOAD_DIR) + "/crm.policy"}),
        IsOk());
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
    const std::string admin_key = ReadKey(*data_, "admin");
    auto admin = v1::AdminService::NewStub(*channel_);

    absl::StatusOr<std::vector<WorkloadPrincipal>> principals =
        ReadWorkloadPrincipals(STEWARD_WORKLOAD_DIR);
    ASSERT_THAT(principals, IsOk());
    PrincipalLoadOptions options;
    options.admin_key = admin_key;
    grpc::Status loaded = LoadPrincipals(*admin, *principals, options);
    ASSERT_TRUE(loaded.ok()) << loaded.error_message();
    // One principal per distinct set of roles.
    principal_ids_ = new std::vector<std::string>();
    std::set<std::vector<std::string>> role_sets;
    for (const WorkloadPrincipal& p : *principals) {
      std::vector<std::string> roles = p.roles;
      std::sort(roles.begin(), roles.end());
      if (role_sets.insert(roles).second) principal_ids_->push_back(p.id);
    }
    // Scoped bindings, so plans carry IN_SCOPE; mfa false so the admin's
    // deny on customer_pii export applies.
    struct Scoped {
      std::string id, role, scope;
    };
    for (const Scoped& s :
         std::vector<Scoped>{{"scoped-1", "sales_rep", "acme/eu"},
                             {"scoped-1", "account_manager", "acme/us"},
                             {"scoped-1", "finance_approver", "acme"},
                             {"scoped-2", "admin", "acme/eu"},
                             {"scoped-2", "support_agent", "acme/eu_"}}) {
      v1::UpsertPrincipalRequest upsert;
      upsert.mutable_principal()->set_id(s.id);
      (*upsert.mutable_principal()->mutable_attributes())["region"]
          .set_string_value("emea");
      (*upsert.mutable_principal()->mutable_attributes())["mfa"].set_bool_value(
          false);
      v1::UpsertPrincipalResponse upserted;
      grpc::Status status =
          admin->UpsertPrincipal(Context(admin_key).get(), upsert, &upserted);
      ASSERT_TRUE(status.ok()) << status.error_message();
      v1::GrantRequest grant;
      grant.set_principal_id(s.id);
      grant.set_role(s.role);
      grant.set_scope(s.scope);
      v1::GrantResponse granted;
      status = admin->Grant(Context(admin_key).get(), grant, &granted);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    principal_ids_->push_back("scoped-1");
    principal_ids_->push_back("scoped-2");

    // The rows.
    absl::StatusOr<std::vector<WorkloadCheck>> checks =
        ReadWorkloadChecks(STEWARD_WORKLOAD_DIR);
    ASSERT_THAT(checks, IsOk());
    rows_ = new std::map<std::string, std::vector<TableResource>>();
    int n = 0;
    for (auto& [kind, resources] : DistinctResources(*checks)) {
      std::vector<TableResource>& rows = (*rows_)[kind];
      for (int i = 0;
           i < kRowsPerKind && i < static_cast<int>(resources.size()); ++i) {
        TableResource row = resources[i];
        row.scope = kScopes[n++ % std::size(kScopes)];
        rows.push_back(row);
        if (i >= kHoleyPerKind) continue;
        for (size_t drop = 0; drop < row.attributes.size(); ++drop) {
          TableResource holey = row;
          holey.id = absl::StrCat(row.id, "~no-", row.attributes[drop].first);
          holey.attributes.erase(holey.attributes.begin() + drop);
          rows.push_back(holey);
        }
      }
    }
    ASSERT_EQ(rows_->size(), 5u);
    db_path_ = new std::string(dir_->path() + "/resources.db");
    ASSERT_EQ(sqlite3_open(db_path_->c_str(), &db_), SQLITE_OK);
    columns_ = new std::map<std::string, ColumnMap>();
    for (const auto& [kind, rows] : *rows_) {
      absl::StatusOr<std::map<std::string, std::string>> attributes =
          CreateResourceTable(db_, kind, rows, "attr_");
      ASSERT_THAT(attributes, IsOk());
      ColumnMap& columns = (*columns_)[kind];
      columns.id_column = "id";
      columns.scope_column = "scope";
      columns.attributes = *attributes;
    }
  }

  static void TearDownTestSuite() {
    sqlite3_close(db_);
    delete columns_;
    delete db_path_;
    delete rows_;
    delete principal_ids_;
    delete channel_;
    delete server_;
    delete data_;
    delete dir_;
  }

  // The ids of `kind`'s rows (only those in `scope` when it is set) that
  // Check allows, sorted.
  static std::vector<std::string> AllowedIds(const std::string& principal,
                                             const std::string& action,
                                             const std::string& kind,
                                             const std::string* scope) {
    auto authz = v1::AuthorizationService::NewStub(*channel_);
    const std::string key = ReadKey(*data_, "client");
    std::vector<std::string> allowed;
    v1::BatchCheckRequest batch;
    const std::vector<TableResource>& rows = rows_->at(kind);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (scope != nullptr && rows[i].scope != *scope) continue;
      v1::CheckRequest* item = batch.add_items();
      item->set_principal_id(principal);
      item->set_action(action);
      item->mutable_resource()->set_kind(kind);
      item->mutable_resource()->set_id(rows[i].id);
      item->mutable_resource()->set_scope(rows[i].scope);
      for (const auto& [name, value] : rows[i].attributes) {
        (*item->mutable_resource()->mutable_attributes())[name] =
            ToProtoValue(value);
      }
    }
    EXPECT_GT(batch.items_size(), 0) << "no rows in " << *scope;
    if (batch.items_size() == 0) return allowed;
    v1::BatchCheckResponse response;
    grpc::Status status =
        authz->BatchCheck(Context(key).get(), batch, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (int i = 0; i < response.items_size(); ++i) {
      if (response.items(i).effect() == v1::ALLOW) {
        allowed.push_back(batch.items(i).resource().id());
      }
    }
    std::sort(allowed.begin(), allowed.end());
    return allowed;
  }

  static v1::PlanResourcesResponse Plan(const std::string& principal,
                                        const std::string& action,
                                        const std::string& kind,
                                        const std::string* scope = nullptr) {
    auto authz = v1::AuthorizationService::NewStub(*channel_);
    v1::PlanResourcesRequest request;
    request.set_principal_id(principal);
    request.set_action(action);
    request.set_resource_kind(kind);
    // Absent, not empty: the scope is unknown.
    if (scope != nullptr) request.set_scope(*scope);
    v1::PlanResourcesResponse response;
    grpc::Status status = authz->PlanResources(
        Context(ReadKey(*data_, "client")).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string* data_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::vector<std::string>* principal_ids_;
  static std::map<std::string, std::vector<TableResource>>* rows_;
  static std::string* db_path_;
  static sqlite3* db_;
  static std::map<std::string, ColumnMap>* columns_;
};

TempDir* PlanWorkloadTest::dir_ = nullptr;
ServerProcess* PlanWorkloadTest::server_ = nullptr;
std::string* PlanWorkloadTest::data_ = nullptr;
std::shared_ptr<grpc::Channel>* PlanWorkloadTest::channel_ = nullptr;
std::vector<std::string>* PlanWorkloadTest::principal_ids_ = nullptr;
std::map<std::string, std::vector<TableResource>>* PlanWorkloadTest::rows_ =
    nullptr;
std::string* PlanWorkloadTest::db_path_ = nullptr;
sqlite3* PlanWorkloadTest::db_ = nullptr;
std::map<std::string, ColumnMap>* PlanWorkloadTest::columns_ = nullptr;

// Both engines in one pass: one plan and one BatchCheck per triple, the
// rows in SQLite and in PostgreSQL (the throwaway cluster of
// postgres_cluster.h, started by this test only).
TEST_F(PlanWorkloadTest, WhereClauseSelectsExactlyWhatCheckAllows) {
  absl::StatusOr<PostgresCluster*> cluster = PostgresCluster::Shared();
  ASSERT_THAT(cluster, IsOk());
  absl::StatusOr<std::string> url = (*cluster)->CreateDatabase();
  ASSERT_THAT(url, IsOk());
  std::unique_ptr<PGconn, void (*)(PGconn*)> pg(PQconnectdb(url->c_str()),
                                                PQfinish);
  ASSERT_EQ(PQstatus(pg.get()), CONNECTION_OK) << PQerrorMessage(pg.get());
  std::map<std::string, ColumnMap> pg_columns;
  for (const auto& [kind, rows] : *rows_) {
    absl::StatusOr<std::map<std::string, std::string>> attributes =
        CreateResourceTable(pg.get(), kind, rows, "attr_");
    ASSERT_THAT(attributes, IsOk());
    pg_columns[kind] = columns_->at(kind);
    pg_columns[kind].attributes = *attributes;
  }
  std::map<v1::PlanKind, int> kinds;
  int allowed_rows = 0, denied_rows = 0, in_scope_plans = 0;
  for (const std::string& principal : *principal_ids_) {
    for (const auto& [kind, rows] : *rows_) {
      for (const char* action : kActions) {
        const v1::PlanResourcesResponse plan = Plan(principal, action, kind);
        ++kinds[plan.kind()];
        absl::StatusOr<std::string> where =
            RenderPlanSql(plan, SqlDialect::kSqlite, columns_->at(kind));
        ASSERT_THAT(where, IsOk()) << plan.ShortDebugString();
        if (where->find("substr(\"scope\"") != std::string::npos) {
          ++in_scope_plans;
        }
        absl::StatusOr<std::vector<std::string>> selected =
            SelectIds(db_, kind, *where);
        ASSERT_THAT(selected, IsOk());
        const std::vector<std::string> expected =
            AllowedIds(principal, action, kind, nullptr);
        ASSERT_EQ(*selected, expected) << principal << " " << action << " "
                                       << kind << "\nwhere " << *where;
        absl::StatusOr<std::string> pg_where =
            RenderPlanSql(plan, SqlDialect::kPostgres, pg_columns.at(kind));
        ASSERT_THAT(pg_where, IsOk());
        absl::StatusOr<std::vector<std::string>> pg_selected =
            SelectIds(pg.get(), kind, *pg_where);
        ASSERT_THAT(pg_selected, IsOk());
        ASSERT_EQ(*pg_selected, expected) << principal << " " << action << " "
                                          << kind << "\nwhere " << *pg_where;
        allowed_rows += expected.size();
        denied_rows += rows.size() - expected.size();
      }
    }
  }
  // The comparison means something only if every kind of answer occurred.
  EXPECT_GT(kinds[v1::ALWAYS_ALLOWED], 10);
  EXPECT_GT(kinds[v1::ALWAYS_DENIED], 10);
  EXPECT_GT(kinds[v1::CONDITIONAL], 10);
  EXPECT_GT(in_scope_plans, 3);
  EXPECT_GT(allowed_rows, 1000);
  EXPECT_GT(denied_rows, 1000);
}

// With a scope in the request, resource.scope is known and folds away; the
// plan holds for the rows of that scope.
TEST_F(PlanWorkloadTest, KnownScopePlansHoldForThatScope) {
  for (const std::string scope :
       {"acme/eu", "acme/eu/fr", "acme/eux", "acme/eu_", "acme/us", ""}) {
    for (const std::string principal : {"scoped-1", "scoped-2"}) {
      for (const auto& [kind, rows] : *rows_) {
        for (const char* action : kActions) {
          const v1::PlanResourcesResponse plan =
              Plan(principal, action, kind, &scope);
          absl::StatusOr<std::string> where =
              RenderPlanSql(plan, SqlDialect::kSqlite, columns_->at(kind));
          ASSERT_THAT(where, IsOk()) << plan.ShortDebugString();
          EXPECT_THAT(*where, ::testing::Not(HasSubstr("\"scope\"")));
          absl::StatusOr<std::vector<std::string>> selected = SelectIds(
              db_, kind,
              absl::StrCat("scope = '", scope, "' AND (", *where, ")"));
          ASSERT_THAT(selected, IsOk());
          ASSERT_EQ(*selected, AllowedIds(principal, action, kind, &scope))
              << principal << " " << action << " " << kind << " in " << scope
              << "\nwhere " << *where;
        }
      }
    }
  }
}

// The real CLI: `stewardctl plan … --sql sqlite` prints a WHERE expression
// that, run as is, selects what Check allows.
TEST_F(PlanWorkloadTest, StewardctlOutputIsTheWhereClause) {
  struct Case {
    std::string principal, action, kind;
  };
  const std::string key_file = *data_ + "/dev-client.key";
  int conditional = 0;
  for (const std::string& principal : *principal_ids_) {
    for (const Case& c :
         std::vector<Case>{{principal, "read", "customer"},
                           {principal, "update", "customer"},
                           {principal, "refund_approve", "refund"},
                           {principal, "export", "customer_pii"}}) {
      std::vector<std::string> args = {STEWARDCTL_PATH,
                                       "--server",
                                       server_->address(),
                                       "--api-key-file",
                                       key_file,
                                       "plan",
                                       c.principal,
                                       c.action,
                                       c.kind,
                                       "--sql",
                                       "sqlite",
                                       "--id-column",
                                       "id",
                                       "--scope-column",
                                       "scope"};
      for (const auto& [attribute, column] : columns_->at(c.kind).attributes) {
        args.push_back("--column");
        args.push_back(absl::StrCat(attribute, "=", column));
      }
      CommandResult r = RunCommand(args, {"NO_COLOR=1"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      ASSERT_FALSE(r.out.empty());
      ASSERT_EQ(r.out.back(), '\n');
      const std::string where = r.out.substr(0, r.out.size() - 1);
      if (where != "0" && where != "1") ++conditional;
      absl::StatusOr<std::vector<std::string>> selected =
          SelectIds(db_, c.kind, where);
      ASSERT_THAT(selected, IsOk());
      EXPECT_EQ(*selected, AllowedIds(c.principal, c.action, c.kind, nullptr))
          << c.principal << " " << c.action << " " << c.kind << "\nwhere "
          << where;
    }
  }
  EXPECT_GT(conditional, 5);

  // --scope makes the scope known ("" included): the scoped bindings fold.
  for (const std::string scope : {"acme/us", "acme/euX/y", ""}) {
    std::vector<std::string> args = {STEWARDCTL_PATH,
                                     "--server",
                                     server_->address(),
                                     "--api-key-file",
                                     key_file,
                                     "plan",
                                     "scoped-1",
                                     "update",
                                     "customer",
                                     "--scope",
                                     scope,
                                     "--sql",
                                     "sqlite",
                                     "--column",
                                     "region=attr_region",
                                     "--column",
                                     "owner=attr_owner"};
    CommandResult r = RunCommand(args, {"NO_COLOR=1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string where = r.out.substr(0, r.out.size() - 1);
    absl::StatusOr<std::vector<std::string>> selected =
        SelectIds(db_, "customer",
                  absl::StrCat("scope = '", scope, "' AND (", where, ")"));
    ASSERT_THAT(selected, IsOk());
    EXPECT_EQ(*selected, AllowedIds("scoped-1", "update", "customer", &scope))
        << scope << "\nwhere " << where;
    // Only acme/us is covered by a binding of scoped-1 that allows update.
    EXPECT_EQ(where == "0", scope != "acme/us") << scope << ": " << where;
  }
}

// What `stewardctl -o json plan` prints is what `--plan-file` reads: a
// saved plan renders to the same WHERE clause as asking the server, and
// the table form shows the condition.
TEST_F(PlanWorkloadTest, SavedPlanRendersLikeALiveOne) {
  const std::vector<std::string> server = {STEWARDCTL_PATH, "--server",
                                           server_->address(), "--api-key-file",
                                           *data_ + "/dev-client.key"};
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), server.begin(), server.end());
    return RunCommand(args, {"NO_COLOR=1"});
  };
  const std::vector<std::string> sql = {"--sql",    "postgres",
                                        "--column", "region=attr_region",
                                        "--column", "owner=attr_owner"};
  std::vector<std::string> live = {"plan", "scoped-1", "update", "customer"};
  CommandResult table = ctl(live);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("kind            CONDITIONAL\n"));
  EXPECT_THAT(table.out,
              HasSubstr("condition       ((in_scope(resource.scope, "
                        "\"acme/us\") OR in_scope(resource.scope, "
                        "\"acme/eu\")) AND resource.owner = \"scoped-1\") OR "
                        "(in_scope(resource.scope, \"acme/us\") AND "
                        "resource.region = \"emea\")\n"));
  CommandResult json =
      ctl({"-o", "json", "plan", "scoped-1", "update", "customer"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::string saved = dir_->path() + "/plan.json";
  std::ofstream(saved) << json.out;
  std::vector<std::string> from_file = {"plan", "--plan-file", saved,
                                        "--scope-column", "scope"};
  from_file.insert(from_file.end(), sql.begin(), sql.end());
  CommandResult offline = RunCommand(
      [&] {
        std::vector<std::string> args = {STEWARDCTL_PATH};
        args.insert(args.end(), from_file.begin(), from_file.end());
        return args;
      }(),
      {"NO_COLOR=1"});
  live.push_back("--scope-column");
  live.push_back("scope");
  live.insert(live.end(), sql.begin(), sql.end());
  CommandResult online = ctl(live);
  ASSERT_EQ(online.exit_code, 0) << online.err;
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(offline.out, online.out);
  // sales_rep (scope acme/eu, acme/us through account_manager) allows by
  // owner; account_manager (acme/us) by region.
  EXPECT_EQ(online.out,
            "(((\"scope\" = 'acme/us' OR starts_with(\"scope\", 'acme/us/')) "
            "OR (\"scope\" = 'acme/eu' OR starts_with(\"scope\", "
            "'acme/eu/'))) AND \"attr_owner\" = 'scoped-1') OR ((\"scope\" = "
            "'acme/us' OR starts_with(\"scope\", 'acme/us/')) AND "
            "\"attr_region\" = 'emea')\n");
}

}  // namespace
}  // namespace steward::testing
