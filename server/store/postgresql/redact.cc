// RedactStoreLocation (store.h): a location with its password replaced, for
// logs and error messages.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/store/store.h"

namespace steward::store {
namespace {

constexpr char kRedacted[] = "REDACTED";

// The URL form: scheme://[user[:password]@]host[/db][?key=value&...].
std::string RedactUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  std::string out(url.substr(0, scheme_end + 3));
  absl::string_view rest = url.substr(scheme_end + 3);
  // The authority ends at the first '/' or '?'; a password may hold
  // neither unescaped, but it may hold '@', so the last '@' ends userinfo.
  const size_t authority_end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, authority_end);
  absl::string_view tail = authority_end == absl::string_view::npos
                               ? absl::string_view()
                               : rest.substr(authority_end);
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = authority.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon != absl::string_view::npos) {
      absl::StrAppend(&out, userinfo.substr(0, colon), ":", kRedacted);
    } else {
      absl::StrAppend(&out, userinfo);
    }
    absl::StrAppend(&out, authority.substr(at));
  } else {
    absl::StrAppend(&out, authority);
  }
  // Query parameters: password=... (and any other secret-bearing key).
  const size_t query = tail.find('?');
  absl::StrAppend(&out, tail.substr(0, query));
  if (query == absl::string_view::npos) return out;
  absl::string_view params = tail.substr(query + 1);
  out.push_back('?');
  bool first = true;
  while (true) {
    const size_t amp = params.find('&');
    absl::string_view param = params.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    const size_t eq = param.find('=');
    const absl::string_view key = param.substr(0, eq);
    if (eq != absl::string_view::npos &&
        absl::AsciiStrToLower(key) == "password") {
      absl::StrAppend(&out, key, "=", kRedacted);
    } else {
      absl::StrAppend(&out, param);
    }
    if (amp == absl::string_view::npos) break;
    params.remove_prefix(amp + 1);
  }
  return out;
}

// The key=value form: keywords separated by spaces, values bare or in
// single quotes with \' and \\ escapes (libpq's grammar).
std::string RedactKeywordValue(absl::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // Copy whitespace.
    while (i < text.size() && absl::ascii_isspace(text[i])) out += text[i++];
    const size_t key_begin = i;
    while (i < text.size() && text[i] != '=' && !absl::ascii_isspace(text[i])) {
      ++i;
    }
    const absl::string_view key = text.substr(key_begin, i - key_begin);
    out.append(key.data(), key.size());
    while (i < text.size() && absl::ascii_isspace(text[i])) out += text[i++];
    if (i >= text.size() || text[i] != '=') continue;
    out += text[i++];
    while (i < text.size() && absl::ascii_isspace(text[i])) out += text[i++];
    const size_t value_begin = i;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      while (i < text.size() && text[i] != '\'') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        ++i;
      }
      if (i < text.size()) ++i;  // the closing quote
    } else {
      while (i < text.size() && !absl::ascii_isspace(text[i])) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        ++i;
      }
    }
    if (absl::AsciiStrToLower(key) == "password") {
      out += kRedacted;
    } else {
      out.append(text.data() + value_begin, i - value_begin);
    }
  }
  return out;
}

}  // namespace

bool IsPostgresqlLocation(absl::string_view location) {
  return absl::StartsWith(location, "postgresql://") ||
         absl::StartsWith(location, "postgres://");
}

std::string RedactStoreLocation(absl::string_view location) {
  if (IsPostgresqlLocation(location)) return RedactUrl(location);
  if (absl::StrContains(location, "=")) return RedactKeywordValue(location);
  return std::string(location);
}

}  // namespace steward::store
