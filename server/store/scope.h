// Scopes: '/'-separated paths such as "acme/eu" that bindings and resources
// carry (spec §6 step 2). "" is the global scope.
//
// Public: the store validates scopes on Grant, checks separation of duties
// across overlapping scopes, and resolves effective roles for reports with
// the same functions the snapshot uses, so all agree on what "ancestor"
// means. What "covers" means is the evaluator's: policy::ScopeCovers
// (policy/analysis.h), the one definition.
#ifndef STEWARD_SERVER_STORE_SCOPE_H_
#define STEWARD_SERVER_STORE_SCOPE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "policy/analysis.h"

namespace steward::store {

inline constexpr size_t kMaxScopeBytes = 256;

// OK when `scope` is "" or segments of [A-Za-z0-9_.:@-]+ joined by single
// '/', at most kMaxScopeBytes (the same rule as the schema's CHECK).
// kInvalidArgument naming the problem otherwise.
absl::Status ValidateScope(absl::string_view scope);

// The store's code names policy::ScopeCovers unqualified; not a second
// definition.
using policy::ScopeCovers;

// True when some resource scope is covered by both: equal scopes, either
// global, or one an ancestor of the other. Separation of duties applies to
// bindings whose scopes overlap.
inline bool ScopesOverlap(absl::string_view a, absl::string_view b) {
  return policy::ScopeCovers(a, b) || policy::ScopeCovers(b, a);
}

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_SCOPE_H_
