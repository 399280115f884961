// Least-privilege lint (spec §8) over a compiled Program.
//
// Compile() runs it and reports its findings as warnings (errors under
// CompileOptions::strict); it is public so reports can re-run it on a stored
// Program. Pure.
#ifndef STEWARD_POLICY_LINT_H_
#define STEWARD_POLICY_LINT_H_

#include <vector>

#include "policy/diagnostic.h"
#include "policy/program.h"

namespace steward::policy {

// Returns one kWarning diagnostic per finding, positioned at the rule:
// - a role granting `*` actions on `*` kinds;
// - a rule shadowed by an unconditional rule of the same role and effect
//   (it can never change a decision or the fields returned);
// - an allow no principal can reach because an unconditional deny of the
//   same role (or one it extends) always wins;
// - an allow granting PII fields with no condition and no `for` purpose;
// - a condition using an optional (`?`) attribute without a has() guard.
std::vector<Diagnostic> Lint(const Program& program);

}  // namespace steward::policy

#endif  // STEWARD_POLICY_LINT_H_
