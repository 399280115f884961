// See connection.h.
#include "server/store/postgresql/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/store/postgresql/pg_status.h"

namespace steward::store::postgresql {
namespace {

// libpq's messages end in a newline; ours do not.
std::string TrimMessage(const char* message) {
  if (message == nullptr) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(message));
}

// NOTICEs (e.g. from CREATE ... IF NOT EXISTS) are not errors and would
// otherwise go to stderr.
void IgnoreNotice(void*, const char*) {}

}  // namespace

// ---- Params.

void Params::Add(std::optional<std::string> value, bool binary) {
  values_.push_back(std::move(value));
  formats_.push_back(binary ? 1 : 0);
}
Params& Params::Text(absl::string_view value) {
  Add(std::string(value), false);
  return *this;
}
Params& Params::Int(int64_t value) {
  Add(absl::StrCat(value), false);
  return *this;
}
Params& Params::Bool(bool value) {
  Add(value ? "true" : "false", false);
  return *this;
}
Params& Params::Time(absl::Time value) {
  return Int(absl::ToUnixMicros(value));
}
Params& Params::OptionalTime(std::optional<absl::Time> value) {
  return value.has_value() ? Time(*value) : Null();
}
Params& Params::Bytes(absl::string_view value) {
  Add(std::string(value), true);
  return *this;
}
Params& Params::Null() {
  Add(std::nullopt, false);
  return *this;
}

// ---- Result.

Result::~Result() { PQclear(result_); }

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

int Result::rows() const { return PQntuples(result_); }

absl::string_view Result::command() const { return PQcmdStatus(result_); }

int64_t Result::affected() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_), &n) ? n : 0;
}

bool Result::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

absl::string_view Result::Text(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column),
                           PQgetlength(result_, row, column));
}

int64_t Result::Int(int row, int column) const {
  int64_t value = 0;
  // The columns read this way are bigint/integer by schema; a NULL reads 0.
  if (!absl::SimpleAtoi(Text(row, column), &value)) return 0;
  return value;
}

bool Result::Bool(int row, int column) const {
  return Text(row, column) == "t";
}

absl::Time Result::Time(int row, int column) const {
  return absl::FromUnixMicros(Int(row, column));
}

std::optional<absl::Time> Result::OptionalTime(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Time(row, column);
}

std::optional<int64_t> Result::OptionalInt(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Int(row, column);
}

std::string Result::Bytes(int row, int column) const {
  absl::string_view text = Text(row, column);
  // bytea_output = hex (set per session): "\x" then two digits a byte.
  if (!absl::ConsumePrefix(&text, "\\x")) return "";
  return absl::HexStringToBytes(text);
}

// ---- Connection.

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& conninfo, const ConnectionOptions& options) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string reason = parse_error != nullptr ? TrimMessage(parse_error)
                                                : std::string("out of memory");
    PQfreemem(parse_error);
    return absl::InvalidArgumentError(
        absl::StrCat("bad PostgreSQL connection string: ", reason));
  }
  PQconninfoFree(parsed);
  // Our defaults come first and the operator's string last: libpq keeps
  // the last value of a repeated keyword, so the URL overrides each one.
  // Without them a PostgreSQL host that vanishes without a reset (a
  // partition, a dead machine) would hold a session, and with it the
  // trail writer and every sync Check, for the kernel's ~15 minutes of
  // TCP retransmissions; with them the connection fails within about
  // tcp_user_timeout and the writer reconnects.
  static constexpr const char* kKeywords[] = {
      "connect_timeout",     "keepalives",       "keepalives_idle",
      "keepalives_interval", "keepalives_count", "tcp_user_timeout",
      "application_name",    "dbname",           nullptr};
  const char* values[] = {"10",   "1",     "10",       "5",
                          "3",    "20000", "stewardd", conninfo.c_str(),
                          nullptr};
  PGconn* conn = PQconnectdbParams(kKeywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("postgresql: out of memory");
  }
  auto connection = std::make_unique<Connection>(conn, options);
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "postgresql: cannot connect: ", TrimMessage(PQerrorMessage(conn))));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  if (absl::Status s = connection->ApplySessionSettings(); !s.ok()) return s;
  return connection;
}

Connection::~Connection() { PQfinish(conn_); }

absl::Status Connection::ApplySessionSettings() {
  // Values through set_config's parameters, like every other value.
  absl::StatusOr<Result> set =
      Exec("session settings",
           "SELECT set_config('lock_timeout', $1, false), "
           "set_config('bytea_output', 'hex', false), "
           "set_config('client_min_messages', 'warning', false), "
           // A committed admin change or trail batch is one we answered
           // for: never weaker than a local flush, whatever the server's
           // default; stronger settings (remote_apply, ...) are kept.
           "CASE WHEN current_setting('synchronous_commit') = 'off' "
           "THEN set_config('synchronous_commit', 'on', false) END",
           Params().Text(absl::StrCat(
               absl::ToInt64Milliseconds(options_.lock_timeout), "ms")));
  return set.status();
}

absl::Status Connection::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  // Inside a transaction its work is gone with the connection: the caller
  // must see the failure, not a silently half-replayed change.
  if (in_transaction_) {
    return absl::UnavailableError(
        "postgresql: connection lost during a transaction");
  }
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "postgresql: cannot reconnect: ", TrimMessage(PQerrorMessage(conn_))));
  }
  return ApplySessionSettings();
}

absl::StatusOr<Result> Connection::Check(PGresult* result,
                                         absl::string_view context) {
  Result owned(result);
  if (result == nullptr) {
    // No result at all: out of memory or the connection is gone.
    return absl::UnavailableError(absl::StrCat(
        "postgresql: ", context, ": ", TrimMessage(PQerrorMessage(conn_))));
  }
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return owned;
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  if (sqlstate == nullptr) {
    // libpq's own failure (e.g. the server closed the connection).
    return absl::UnavailableError(
        absl::StrCat("postgresql: ", context, ": ",
                     TrimMessage(PQresultErrorMessage(result))));
  }
  return PgStatus(sqlstate, primary != nullptr ? primary : PQresStatus(status),
                  context);
}

namespace {

bool IsReadOrBegin(const char* sql) {
  const absl::string_view text(sql);
  return absl::StartsWith(text, "SELECT ") || absl::StartsWith(text, "BEGIN");
}

}  // namespace

absl::StatusOr<Result> Connection::Exec(absl::string_view context,
                                        const char* sql, const Params& params) {
  absl::StatusOr<Result> result = ExecOnce(context, sql, params);
  if (!result.ok() && options_.rerun_reads_on_new_session && !in_transaction_ &&
      PQstatus(conn_) == CONNECTION_BAD && IsReadOrBegin(sql)) {
    return ExecOnce(context, sql, params);  // EnsureConnected resets first
  }
  return result;
}

absl::StatusOr<Result> Connection::ExecOnce(absl::string_view context,
                                            const char* sql,
                                            const Params& params) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  const int n = static_cast<int>(params.values_.size());
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (int i = 0; i < n; ++i) {
    const std::optional<std::string>& v = params.values_[i];
    values[i] = v.has_value() ? v->data() : nullptr;
    lengths[i] = v.has_value() ? static_cast<int>(v->size()) : 0;
  }
  return Check(
      PQexecParams(conn_, sql, n, /*paramTypes=*/nullptr, values.data(),
                   lengths.data(), params.formats_.data(), /*resultFormat=*/0),
      context);
}

absl::Status Connection::ExecScript(absl::string_view context,
                                    const std::string& sql) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  return Check(PQexec(conn_, sql.c_str()), context).status();
}

absl::Status Connection::ListenForRevisions() {
  return Exec("listen for store revisions", "LISTEN steward_revision").status();
}

absl::StatusOr<std::vector<std::string>> Connection::WaitForNotifications(
    absl::Duration timeout) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError("postgresql: connection lost");
  }
  std::vector<std::string> payloads;
  auto drain = [this, &payloads]() -> absl::Status {
    if (PQconsumeInput(conn_) == 0) {
      return absl::UnavailableError(absl::StrCat(
          "postgresql: connection lost: ", TrimMessage(PQerrorMessage(conn_))));
    }
    while (PGnotify* notify = PQnotifies(conn_)) {
      payloads.emplace_back(notify->extra != nullptr ? notify->extra : "");
      PQfreemem(notify);
    }
    return absl::OkStatus();
  };
  // Notifications may already be buffered from the last statement.
  if (absl::Status s = drain(); !s.ok()) return s;
  if (!payloads.empty()) return payloads;
  pollfd fd{};
  fd.fd = PQsocket(conn_);
  if (fd.fd < 0) return absl::UnavailableError("postgresql: no socket");
  fd.events = POLLIN;
  const int ready =
      ::poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready < 0) {
    if (errno == EINTR) return payloads;
    return absl::UnavailableError(
        absl::StrCat("postgresql: poll: ", std::strerror(errno)));
  }
  if (ready == 0) return payloads;
  if (absl::Status s = drain(); !s.ok()) return s;
  return payloads;
}

// ---- Transaction.

absl::StatusOr<Transaction> Transaction::Begin(Connection& connection,
                                               Mode mode) {
  absl::StatusOr<Result> begun = connection.Exec(
      "begin", mode == Mode::kWrite
                   ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                   : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begun.ok()) return begun.status();
  connection.in_transaction_ = true;
  return Transaction(&connection);
}

Transaction::~Transaction() {
  if (connection_ == nullptr) return;
  // A failed rollback leaves the connection unusable; libpq reports that
  // on the next statement, which EnsureConnected then handles.
  PQclear(PQexec(connection_->conn_, "ROLLBACK"));
  connection_->in_transaction_ = false;
}

absl::Status Transaction::Commit() {
  Connection* connection = connection_;
  connection_ = nullptr;
  absl::StatusOr<Result> committed = connection->Exec("commit", "COMMIT");
  connection->in_transaction_ = false;
  if (!committed.ok()) return committed.status();
  // COMMIT of a transaction that already failed answers ROLLBACK.
  if (committed->command() != "COMMIT") {
    return absl::AbortedError("postgresql: the transaction was rolled back");
  }
  return absl::OkStatus();
}

}  // namespace steward::store::postgresql
