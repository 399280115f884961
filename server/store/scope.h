// Scopes: '/'-separated paths such as "acme/eu" that bindings and resources
// carry (spec §6 step 2). "" is the global scope.
//
// Public: the store validates scopes on Grant, checks separation of duties
// across overlapping scopes, and resolves effective roles for reports with
// the same functions the snapshot uses, so all agree on what "ancestor"
// means.
#ifndef STEWARD_SERVER_STORE_SCOPE_H_
#define STEWARD_SERVER_STORE_SCOPE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace steward::store {

inline constexpr size_t kMaxScopeBytes = 256;

// OK when `scope` is "" or segments of [A-Za-z0-9_.:@-]+ joined by single
// '/', at most kMaxScopeBytes (the same rule as the schema's CHECK).
// kInvalidArgument naming the problem otherwise.
absl::Status ValidateScope(absl::string_view scope);

// True when a binding in `binding_scope` applies to a resource in
// `resource_scope`: the binding is global, or its scope equals the
// resource's or is an ancestor of it by whole segments ("acme" covers
// "acme/eu" but not "acmex").
inline bool ScopeCovers(absl::string_view binding_scope,
                        absl::string_view resource_scope) {
  if (binding_scope.empty()) return true;
  if (resource_scope.size() < binding_scope.size()) return false;
  if (resource_scope.substr(0, binding_scope.size()) != binding_scope) {
    return false;
  }
  return resource_scope.size() == binding_scope.size() ||
         resource_scope[binding_scope.size()] == '/';
}

// True when some resource scope is covered by both: equal scopes, either
// global, or one an ancestor of the other. Separation of duties applies to
// bindings whose scopes overlap.
inline bool ScopesOverlap(absl::string_view a, absl::string_view b) {
  return ScopeCovers(a, b) || ScopeCovers(b, a);
}

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_SCOPE_H_
