// Shared-storage role closures (see role_closure.h).
#include "policy/role_closure.h"

#include <cstddef>
#include <utility>

namespace steward::policy::internal {
namespace {

// Lays out closures one "heir chain" at a time. Role h heads a chain; its
// heir (its first single-parent child, see Build) stores one entry in front
// of h's list, the heir's heir one more, and so on.
class Layout {
 public:
  explicit Layout(absl::Span<const absl::Span<const RoleId>> parents)
      : parents_(parents),
        n_(static_cast<int>(parents.size())),
        heir_(n_, -1),
        is_heir_(n_, false),
        placed_(n_, false),
        mark_(n_, -1) {}

  RoleClosures Build() {
    for (RoleId r = 0; r < n_; ++r) {
      if (parents_[r].size() != 1) continue;
      const RoleId p = parents_[r][0];
      if (p != r && heir_[p] < 0) {
        heir_[p] = r;
        is_heir_[r] = true;
      }
    }
    out_.begin.assign(n_, 0);
    out_.end.assign(n_, 0);
    // Heads first, so chains are as long as they can be. A chain stops early
    // at a cycle; the roles it left out (and roles on heir cycles, which no
    // head reaches) start chains of their own in the second pass.
    for (RoleId r = 0; r < n_; ++r) {
      if (!is_heir_[r]) LayOutChain(r);
    }
    for (RoleId r = 0; r < n_; ++r) {
      if (!placed_[r]) LayOutChain(r);
    }
    return std::move(out_);
  }

 private:
  void LayOutChain(RoleId head) {
    // The head's closure in full, breadth-first; mark_[x] == head means x is
    // in it (each head is used once, so it doubles as the pass's stamp).
    bfs_.assign(1, head);
    mark_[head] = head;
    for (size_t i = 0; i < bfs_.size(); ++i) {
      for (RoleId p : parents_[bfs_[i]]) {
        if (mark_[p] != head) {
          mark_[p] = head;
          bfs_.push_back(p);
        }
      }
    }
    // closure(heir) = heir, closure(parent) exactly when the heir is not
    // already in closure(parent), i.e. not on a cycle through it.
    chain_.clear();
    for (RoleId v = heir_[head]; v >= 0 && !placed_[v] && mark_[v] != head;
         v = heir_[v]) {
      mark_[v] = head;
      chain_.push_back(v);
    }
    const int32_t start = static_cast<int32_t>(out_.roles.size());
    const int32_t k = static_cast<int32_t>(chain_.size());
    for (int32_t i = k - 1; i >= 0; --i) out_.roles.push_back(chain_[i]);
    out_.roles.insert(out_.roles.end(), bfs_.begin(), bfs_.end());
    const int32_t end = static_cast<int32_t>(out_.roles.size());
    for (int32_t i = 0; i < k; ++i) Place(chain_[i], start + (k - 1 - i), end);
    Place(head, start + k, end);
  }

  void Place(RoleId r, int32_t begin, int32_t end) {
    out_.begin[r] = begin;
    out_.end[r] = end;
    placed_[r] = true;
  }

  absl::Span<const absl::Span<const RoleId>> parents_;
  int n_;
  std::vector<RoleId> heir_;
  std::vector<bool> is_heir_;
  std::vector<bool> placed_;
  std::vector<RoleId> mark_;
  std::vector<RoleId> bfs_;
  std::vector<RoleId> chain_;
  RoleClosures out_;
};

}  // namespace

RoleClosures BuildRoleClosures(
    absl::Span<const absl::Span<const RoleId>> parents) {
  return Layout(parents).Build();
}

}  // namespace steward::policy::internal
