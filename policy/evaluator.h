// Evaluate(): one authorization check against a compiled Program.
//
// Last stage of the pipeline, and the hot path of the service. Implements
// spec §6 exactly; pure and reentrant (any number of threads may evaluate
// against one shared Program). The fast path performs no heap allocation:
// effective roles live in a stack bitset, request attributes are bound to
// interned slots through one hash lookup each, conditions run on a small
// stack of three-valued results. Effective roles are resolved from the
// request's bindings with ResolveEffectiveRoles (analysis.h, which also
// holds ScopeCovers), unless the caller resolved them already. Public.
#ifndef STEWARD_POLICY_EVALUATOR_H_
#define STEWARD_POLICY_EVALUATOR_H_

#include "policy/analysis.h"
#include "policy/decision.h"
#include "policy/program.h"
#include "policy/request.h"

namespace steward::policy {

// Decides `request` under `program`. Never fails open: anything the
// evaluator cannot make sense of is a DENY with a reason —
// INVALID_REQUEST for a declared attribute given twice or with the wrong
// type (checked when a condition needs the request's attributes),
// EVALUATION_ERROR for role ids outside the program (or an
// effective_roles bitset shorter than the program's). Allocation-free.
Decision Evaluate(const Program& program, const Request& request);

// Same decision, plus an account of every rule of the request's (kind,
// action) pair in `*explanation` (overwritten). Allocates; for explain
// requests and tests, not the hot path. REQUIRES: explanation != nullptr.
Decision Evaluate(const Program& program, const Request& request,
                  Explanation* explanation);

}  // namespace steward::policy

#endif  // STEWARD_POLICY_EVALUATOR_H_
