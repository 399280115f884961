// The one CSV quoting rule, as cases: stewardctl's CSV output
// (client/output.h CsvField) and the audit export (server/audit/export.h
// CsvCell) each implement it, since client/ may not include server/
// headers; a client test and an audit test run both over these same cases,
// so the two cannot drift apart. The rule is RFC 4180's: a field is quoted
// when it holds a comma, a double quote, CR or LF, or starts or ends with a
// space (which spreadsheets would otherwise trim), with '"' doubled inside;
// every other field is written verbatim. Test-only.
#ifndef STEWARD_TESTS_TESTING_CSV_CASES_H_
#define STEWARD_TESTS_TESTING_CSV_CASES_H_

#include <ostream>

#include "absl/strings/string_view.h"

namespace steward::testing {

struct CsvQuotingCase {
  const char* name;  // a GoogleTest parameter name
  absl::string_view field;
  absl::string_view written;

  friend std::ostream& operator<<(std::ostream& out, const CsvQuotingCase& c) {
    return out << c.name;
  }
};

inline constexpr CsvQuotingCase kCsvQuotingCases[] = {
    {"Plain", "abc", "abc"},
    {"Empty", "", ""},
    {"InnerSpace", "a b", "a b"},
    {"Tab", "a\tb", "a\tb"},
    {"Utf8", "Zoë", "Zoë"},
    {"Comma", "a,b", "\"a,b\""},
    {"OnlyComma", ",", "\",\""},
    {"Quote", "say \"hi\"", "\"say \"\"hi\"\"\""},
    {"OnlyQuote", "\"", "\"\"\"\""},
    {"Newline", "a\nb", "\"a\nb\""},
    {"CarriageReturn", "a\rb", "\"a\rb\""},
    {"Crlf", "two\r\nlines", "\"two\r\nlines\""},
    {"LeadingSpace", " a", "\" a\""},
    {"TrailingSpace", "a ", "\"a \""},
    {"OnlySpace", " ", "\" \""},
    {"Json", "{\"k\":\"v\"}", "\"{\"\"k\"\":\"\"v\"\"}\""},
    {"Everything", " \"a\",\r\nb ", "\" \"\"a\"\",\r\nb \""},
};

}  // namespace steward::testing

#endif  // STEWARD_TESTS_TESTING_CSV_CASES_H_
