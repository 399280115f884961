// How stewardctl prints results: aligned tables for people, RFC 4180 CSV and
// JSON for scripts, plus the time and terminal helpers every command shares.
// Rendering functions return strings (testable without a process); Print*
// write them to stdout. Colour is used only when stdout is a terminal and
// NO_COLOR is unset.
#ifndef STEWARD_CLIENT_OUTPUT_H_
#define STEWARD_CLIENT_OUTPUT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/command.h"
#include "google/protobuf/map.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace steward::client {

// True when the stream is an interactive terminal.
bool StdoutIsTerminal();
bool StderrIsTerminal();

// One CSV field per RFC 4180: quoted (with "" for ") when it holds a comma,
// quote, CR or LF, or leading/trailing space; verbatim otherwise.
std::string CsvField(absl::string_view value);
// Fields joined by commas, terminated by CRLF (RFC 4180).
std::string CsvRow(const std::vector<std::string>& fields);

// Rows of text under named columns. A value type; build, then Render().
class Table {
 public:
  // `headers` are snake_case names; tables print them upper-cased, CSV and
  // JSON keep them as given.
  explicit Table(std::vector<std::string> headers);
  // REQUIRES: row.size() == number of headers.
  void AddRow(std::vector<std::string> row);
  size_t size() const { return rows_.size(); }

  // kTable: columns padded to their widest cell (by UTF-8 code points), two
  // spaces apart, trailing spaces trimmed; control characters in cells are
  // shown as spaces so one row stays one line. kCsv: header row, then rows.
  // kJson: an array of objects keyed by header.
  std::string Render(OutputFormat format) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Field/value pairs about one object (a decision, a principal): two aligned
// columns as a table, `field,value` rows as CSV, one object as JSON.
std::string RenderDetails(
    const std::vector<std::pair<std::string, std::string>>& details,
    OutputFormat format);

// The message as JSON with proto field names (snake_case), enums by name,
// default-valued fields included so the shape is stable. `pretty` adds
// indentation; otherwise one line (JSON Lines). kInternal when the message
// holds what JSON cannot carry (a Timestamp outside 0001..9999 from a
// broken server or store): the caller fails with it rather than print an
// error as if it were the result.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool pretty);

// Writes `text` to stdout as is.
void PrintOut(absl::string_view text);
// Writes ToJson(message, true) and a newline to stdout, or nothing and
// returns ToJson's error: a command returns it, so stewardctl prints
// `error: …` and exits 1, never 0.
absl::Status PrintJson(const google::protobuf::Message& message);

// Timestamps: "" for an unset one (the epoch), "(invalid)" for one outside
// google.protobuf.Timestamp's range, else RFC 3339 UTC.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);
absl::Time FromProtoTime(const google::protobuf::Timestamp& timestamp);
google::protobuf::Timestamp ToProtoTime(absl::Time time);

// An attribute map as one-line JSON with sorted keys ("" when empty).
std::string FormatValueMap(
    const google::protobuf::Map<std::string, google::protobuf::Value>& values);

enum class Color { kGreen, kRed, kYellow, kBold };
// `text` wrapped in ANSI colour when stdout is a terminal and NO_COLOR is
// unset; unchanged otherwise.
std::string Colorize(absl::string_view text, Color color);

}  // namespace steward::client

#endif  // STEWARD_CLIENT_OUTPUT_H_
