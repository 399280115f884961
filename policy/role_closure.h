// Role closures: every role with the roles it extends, transitively.
//
// Built by the checker from each role's direct parents, copied into the
// Program by the compiler, read by Program::RoleClosure(), the lint and
// the separation-of-duties check. Internal to policy/.
//
// A closure is listed self first, then ancestors in breadth-first order
// over `extends` (parents in declaration order). Materialising one list per
// role costs the sum of closure sizes, quadratic for a chain of roles each
// extending the previous one (10,000 roles: 50 million entries). Here
// closures share one array instead: when role r has a single parent p and
// r is not among p's ancestors, closure(r) is r followed by closure(p), so
// r is stored just before closure(p) and its span reuses it. A chain costs
// one entry per role; only roles that cannot extend a parent's list in
// place (roots, several parents, a parent's second single-parent child)
// store their closure in full.
#ifndef STEWARD_POLICY_ROLE_CLOSURE_H_
#define STEWARD_POLICY_ROLE_CLOSURE_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "policy/request.h"

namespace steward::policy::internal {

// The closures of every role of one policy. A plain value, immutable once
// built; the Program owns one.
struct RoleClosures {
  // The closure of role r is roles[begin[r] .. end[r]); spans overlap.
  std::vector<RoleId> roles;
  std::vector<int32_t> begin;
  std::vector<int32_t> end;

  // REQUIRES: 0 <= r < begin.size().
  absl::Span<const RoleId> Of(RoleId r) const {
    return absl::MakeConstSpan(roles).subspan(begin[r], end[r] - begin[r]);
  }
};

// The closures of roles 0 .. parents.size() - 1, where parents[r] lists the
// direct parents of role r (ids in range, no duplicates). Cycles are
// allowed (the checker reports them but still asks for closures): a closure
// then holds each role once. A chain costs one stored entry per role; in
// general the cost is one entry per role that reuses its parent's list plus
// the full closure of every other role, never more than the sum of the
// closure sizes.
RoleClosures BuildRoleClosures(
    absl::Span<const absl::Span<const RoleId>> parents);

}  // namespace steward::policy::internal

#endif  // STEWARD_POLICY_ROLE_CLOSURE_H_
