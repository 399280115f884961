// See scope.h.
#include "server/store/scope.h"

#include "absl/strings/str_cat.h"

namespace steward::store {
namespace {

bool IsScopeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
         c == '@' || c == '-';
}

}  // namespace

absl::Status ValidateScope(absl::string_view scope) {
  if (scope.empty()) return absl::OkStatus();
  if (scope.size() > kMaxScopeBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("scope is longer than ", kMaxScopeBytes, " bytes"));
  }
  bool segment_empty = true;
  for (char c : scope) {
    if (c == '/') {
      if (segment_empty) break;
      segment_empty = true;
    } else if (IsScopeChar(c)) {
      segment_empty = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "scope \"", scope,
          "\": only letters, digits and _ . : @ - are allowed in a segment"));
    }
  }
  if (segment_empty) {
    return absl::InvalidArgumentError(
        absl::StrCat("scope \"", scope,
                     "\": empty segment (no leading, trailing or double '/')"));
  }
  return absl::OkStatus();
}

}  // namespace steward::store
