// Command-line value parsing (see arguments.h).
#include "client/arguments.h"

#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "proto/steward/v1/validation.h"

namespace steward::client {
namespace {

// Converts a parsed JSON value. Recursion depth is bounded by nlohmann's
// parser input, which is one command-line argument.
google::protobuf::Value ToProtoValue(const nlohmann::json& json) {
  google::protobuf::Value value;
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      value.set_null_value(google::protobuf::NULL_VALUE);
      break;
    case nlohmann::json::value_t::boolean:
      value.set_bool_value(json.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      value.set_number_value(json.get<double>());
      break;
    case nlohmann::json::value_t::string:
      value.set_string_value(json.get<std::string>());
      break;
    case nlohmann::json::value_t::array: {
      google::protobuf::ListValue* list = value.mutable_list_value();
      for (const nlohmann::json& element : json) {
        *list->add_values() = ToProtoValue(element);
      }
      break;
    }
    case nlohmann::json::value_t::object: {
      google::protobuf::Struct* object = value.mutable_struct_value();
      for (const auto& [key, element] : json.items()) {
        (*object->mutable_fields())[key] = ToProtoValue(element);
      }
      break;
    }
    default:
      value.set_string_value(json.dump());
      break;
  }
  return value;
}

absl::Status BadDuration(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid duration \"", text,
      "\": expected a number with a unit s, m, h, d or w (e.g. 30d, 24h)"));
}

// `time`, parsed from `text`, unless a Timestamp cannot carry it.
absl::StatusOr<absl::Time> InTimestampRange(absl::string_view text,
                                            absl::Time time) {
  if (!v1::ValidateTime("time", time).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time \"", text, "\" is outside 0001-01-01..9999-12-31 (UTC)"));
  }
  return time;
}

}  // namespace

absl::StatusOr<std::pair<std::string, google::protobuf::Value>> ParseKeyValue(
    absl::string_view argument) {
  const size_t equals = argument.find('=');
  if (equals == absl::string_view::npos || equals == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid KEY=VALUE \"", argument,
                     "\": expected a name, '=' and a value (e.g. amount=50)"));
  }
  std::string key(argument.substr(0, equals));
  std::string text(argument.substr(equals + 1));
  // allow_exceptions=false: a non-JSON value is an ordinary string, not an
  // error, and no exception may escape.
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    google::protobuf::Value value;
    value.set_string_value(text);
    return std::make_pair(std::move(key), std::move(value));
  }
  return std::make_pair(std::move(key), ToProtoValue(json));
}

absl::Status ParseKeyValues(
    const std::vector<std::string>& arguments,
    google::protobuf::Map<std::string, google::protobuf::Value>* out) {
  for (const std::string& argument : arguments) {
    absl::StatusOr<std::pair<std::string, google::protobuf::Value>> entry =
        ParseKeyValue(argument);
    if (!entry.ok()) return entry.status();
    (*out)[entry->first] = std::move(entry->second);
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (rest.empty()) return BadDuration(text);
  absl::Duration total = absl::ZeroDuration();
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() &&
           std::isdigit(static_cast<unsigned char>(rest[digits]))) {
      ++digits;
    }
    // At most 9 digits keeps the product far from overflow even in weeks.
    if (digits == 0 || digits > 9 || digits == rest.size()) {
      return BadDuration(text);
    }
    int64_t amount = 0;
    if (!absl::SimpleAtoi(rest.substr(0, digits), &amount)) {
      return BadDuration(text);
    }
    switch (rest[digits]) {
      case 's':
        total += absl::Seconds(amount);
        break;
      case 'm':
        total += absl::Minutes(amount);
        break;
      case 'h':
        total += absl::Hours(amount);
        break;
      case 'd':
        total += absl::Hours(24 * amount);
        break;
      case 'w':
        total += absl::Hours(24 * 7 * amount);
        break;
      default:
        return BadDuration(text);
    }
    rest.remove_prefix(digits + 1);
  }
  return total;
}

absl::Status CheckPrincipalId(absl::string_view what, absl::string_view id) {
  return v1::ValidateId(what, id);
}

absl::Status CheckPrincipalFilter(absl::string_view what,
                                  absl::string_view id) {
  return id.empty() ? absl::OkStatus() : CheckPrincipalId(what, id);
}

absl::Status CheckStoredPrincipalId(absl::string_view what,
                                    absl::string_view id) {
  return v1::ValidateStoredId(what, id);
}

absl::StatusOr<absl::Time> ParseTimestamp(absl::string_view text) {
  const std::string input(absl::StripAsciiWhitespace(text));
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, input, &time, &error)) {
    return InTimestampRange(text, time);
  }
  if (absl::ParseTime("%Y-%m-%d", input, absl::UTCTimeZone(), &time, &error)) {
    return InTimestampRange(text, time);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid time \"", text,
      "\": expected RFC 3339 (2026-12-31T23:00:00Z), a date (2026-12-31) or a "
      "duration (24h, 30d)"));
}

absl::StatusOr<absl::Time> ParsePastTime(absl::string_view text,
                                         absl::Time now) {
  absl::StatusOr<absl::Duration> age = ParseDuration(text);
  if (age.ok()) return InTimestampRange(text, now - *age);
  return ParseTimestamp(text);
}

absl::StatusOr<absl::Time> ParseFutureTime(absl::string_view text,
                                           absl::Time now) {
  absl::StatusOr<absl::Duration> ahead = ParseDuration(text);
  absl::StatusOr<absl::Time> time =
      ahead.ok() ? InTimestampRange(text, now + *ahead) : ParseTimestamp(text);
  if (!time.ok()) return time.status();
  if (*time <= now) {
    return absl::InvalidArgumentError(
        absl::StrCat("time \"", text, "\" is not in the future"));
  }
  return time;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseResourceRef(
    absl::string_view text, bool require_id) {
  const size_t slash = text.find('/');
  std::string kind(text.substr(0, slash));
  std::string id = slash == absl::string_view::npos
                       ? ""
                       : std::string(text.substr(slash + 1));
  if (kind.empty() || (require_id && id.empty()) ||
      (slash != absl::string_view::npos && id.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid resource \"", text, "\": expected KIND",
                     require_id ? "/ID" : "[/ID]", " (e.g. customer/c-1042)"));
  }
  return std::make_pair(std::move(kind), std::move(id));
}

std::string FormatUtcTime(absl::Time time) {
  if (time == absl::InfinitePast()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

}  // namespace steward::client
