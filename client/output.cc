// Output formatting (see output.h).
#include "client/output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "proto/steward/v1/validation.h"

namespace steward::client {
namespace {

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

// One physical line per row: newlines and tabs inside a cell would break
// the alignment a reader relies on.
std::string OneLine(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

std::string AlignedRows(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace

bool StdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }
bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

// The same rule as the audit export's CSV (server/audit/export.cc CsvCell,
// whose header the client may not include); both run the cases of
// tests/testing/csv_cases.h.
std::string CsvField(absl::string_view value) {
  const bool needs_quotes =
      value.find_first_of(",\"\r\n") != absl::string_view::npos ||
      (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string CsvRow(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += CsvField(fields[i]);
  }
  out += "\r\n";
  return out;
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string Table::Render(OutputFormat format) const {
  switch (format) {
    case OutputFormat::kCsv: {
      std::string out = CsvRow(headers_);
      for (const auto& row : rows_) out += CsvRow(row);
      return out;
    }
    case OutputFormat::kJson: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& row : rows_) {
        nlohmann::json object = nlohmann::json::object();
        for (size_t i = 0; i < headers_.size(); ++i)
          object[headers_[i]] = row[i];
        array.push_back(std::move(object));
      }
      // `replace`: invalid UTF-8 from a server must not throw.
      return array.dump(2, ' ', false,
                        nlohmann::json::error_handler_t::replace) +
             "\n";
    }
    case OutputFormat::kTable:
      break;
  }
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> header;
  for (const std::string& name : headers_) {
    header.push_back(absl::AsciiStrToUpper(name));
  }
  lines.push_back(std::move(header));
  for (const auto& row : rows_) {
    std::vector<std::string> cells;
    for (const std::string& cell : row) cells.push_back(OneLine(cell));
    lines.push_back(std::move(cells));
  }
  return AlignedRows(lines);
}

std::string RenderDetails(
    const std::vector<std::pair<std::string, std::string>>& details,
    OutputFormat format) {
  switch (format) {
    case OutputFormat::kCsv: {
      std::string out = CsvRow({"field", "value"});
      for (const auto& [field, value] : details) out += CsvRow({field, value});
      return out;
    }
    case OutputFormat::kJson: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& [field, value] : details) object[field] = value;
      return object.dump(2, ' ', false,
                         nlohmann::json::error_handler_t::replace) +
             "\n";
    }
    case OutputFormat::kTable:
      break;
  }
  std::vector<std::vector<std::string>> lines;
  for (const auto& [field, value] : details) {
    lines.push_back({field, OneLine(value)});
  }
  return AlignedRows(lines);
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = pretty;
  std::string out;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    // Only reachable with malformed well-known types from a broken server
    // or store. An error object on stdout with exit 0 would pass for a
    // result in a script; fail instead.
    return absl::InternalError(absl::StrCat(
        "the response cannot be printed as JSON: ",
        absl::string_view(status.message().data(), status.message().size())));
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void PrintOut(absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

absl::Status PrintJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ToJson(message, true);
  if (!json.ok()) return json.status();
  PrintOut(*json + "\n");
  return absl::OkStatus();
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

google::protobuf::Timestamp ToProtoTime(absl::Time time) {
  google::protobuf::Timestamp out;
  const int64_t nanos = absl::ToUnixNanos(time);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (out.nanos() < 0) {
    out.set_seconds(out.seconds() - 1);
    out.set_nanos(out.nanos() + 1000000000);
  }
  return out;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "";
  if (!v1::ValidateTimestamp("time", timestamp.seconds(), timestamp.nanos())
           .ok()) {
    return "(invalid)";
  }
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(timestamp),
                          absl::UTCTimeZone());
}

std::string FormatValueMap(
    const google::protobuf::Map<std::string, google::protobuf::Value>& values) {
  if (values.empty()) return "";
  google::protobuf::Struct object;
  for (const auto& [key, value] : values) {
    (*object.mutable_fields())[key] = value;
  }
  // Struct JSON keys come out in map order; re-dump through nlohmann to sort
  // them so the text is stable across runs.
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  if (!google::protobuf::util::MessageToJsonString(object, &text, options)
           .ok()) {
    return "";
  }
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return text;
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Colorize(absl::string_view text, Color color) {
  if (!StdoutIsTerminal() || std::getenv("NO_COLOR") != nullptr) {
    return std::string(text);
  }
  const char* code = "";
  switch (color) {
    case Color::kGreen:
      code = "\033[32m";
      break;
    case Color::kRed:
      code = "\033[31m";
      break;
    case Color::kYellow:
      code = "\033[33m";
      break;
    case Color::kBold:
      code = "\033[1m";
      break;
  }
  return absl::StrCat(code, text, "\033[0m");
}

}  // namespace steward::client
