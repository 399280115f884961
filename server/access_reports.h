// AccessReports: the auditor's access reports of issue 9 — who can do
// what, the effective permission matrix of a principal or role, grants
// never exercised, separation-of-duty violations and grants expiring soon —
// computed from the active policy (policy::Program, expanded through
// policy/analysis.h), the role store's bindings and the audit trail.
//
// Public within server/: AuditServiceImpl (audit_service.h) builds one per
// call and maps the returned status; the benchmark calls it directly. Each
// report reads the current Snapshot once (its Program and principals) and
// the store's bindings by keyset pages (each page one index range read); a
// report is therefore consistent with one policy, while a grant committed
// during the report may or may not be in it.
//
// Semantics decided here (and in the report of issue 9):
//  * "Now" is the injected Clock. A binding is live when it has no expiry or
//    expires after now (a binding expiring exactly now has expired, as in
//    the evaluator). Expired bindings grant nothing and appear in no report.
//  * Bindings to roles the active policy no longer declares grant nothing:
//    WhoCan, EffectivePermissions, SeparationViolations and ExpiringGrants'
//    PII flag skip them; UnusedGrants lists them (nothing can go through
//    them, so they are clean-up candidates by definition).
//  * WhoCan(action, kind, scope): one entry per (live binding whose scope
//    covers `scope`, allow rule for kind/action reachable from the bound
//    role through `extends`). Disabled principals are EXCLUDED: the
//    evaluator denies them everything (PRINCIPAL_DISABLED).
//    Deny rules of the principal's effective roles at `scope` (all of its
//    covering live bindings, closed under extends) apply as in the
//    evaluator: a deny without `fields`, without condition and without
//    `for` removes the principal entirely; any other deny without `fields`
//    (conditional, or limited to purposes) makes every entry conditional
//    and is appended to `condition` as a caveat ("denied by RULE (ROLE)
//    unless …"). An unconditional field deny removes its fields from
//    `pii_fields`; a conditional one is a caveat too.
//  * EffectivePermissions: for a role, the rows of ExpandRole (scope "");
//    for a principal, the rows of each live binding with the binding's
//    scope, ordered by binding, then kind and action in declaration order,
//    then rule order. effect "deny" with empty `fields` denies the action;
//    effect "deny" with `fields` removes only those fields. A disabled
//    principal's matrix is still listed (what its bindings would grant if
//    re-enabled); WhoCan is the report that says who can act now.
//  * UnusedGrants(days): live bindings with no ALLOW decision through them
//    in [now - days, now]. A decision went through binding (P, R, S) when
//    its principal is P and its rule's role is in the closure of R in the
//    ACTIVE policy (rule ids of older policy versions that no longer exist
//    count for nobody); when several live bindings of P reach that rule,
//    only those whose scope S covers the decision's resource scope.
//    last_used is the newest such ALLOW before the window, if the trail
//    still has one. Oldest grant first (granted_at, then principal, role,
//    scope). Grants younger than the window are listed too if unused so
//    far (the CLI can show granted_at).
//  * SeparationViolations: per principal, every pair of live bindings in
//    overlapping scopes whose roles (directly or through extends) hold two
//    roles of one `separate` constraint; role_a comes from binding_a.
//    Disabled principals are included (the bindings still exist).
//  * ExpiringGrants(within): live bindings expiring in (now, now + within]
//    (soonest first), then live bindings without expiry on a role that can
//    reach a PII field through an allow rule (pii_without_expiry), in
//    (principal, role, scope) order.
//  * DecisionSummary(since, until, top_denied): DECISION records with
//    since <= time < until (either side open when unset), from the usage
//    index's per-day aggregate (audit/usage.h): allow/deny per UTC day
//    (non-ALLOW counts as deny), totals, and the principals with most
//    denies (ties by id). Exact at any instant, not rounded to days. Also
//    names the active policy's roles (none when no policy is active:
//    unlike the other reports it does not need one).
#ifndef STEWARD_SERVER_ACCESS_REPORTS_H_
#define STEWARD_SERVER_ACCESS_REPORTS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/audit/reader.h"
#include "server/audit/usage.h"
#include "server/store/clock.h"
#include "server/store/principal_repository.h"
#include "server/store/snapshot_publisher.h"
#include "steward/v1/audit.pb.h"

namespace steward::server {

// Default and maximum report windows.
inline constexpr int kDefaultUnusedDays = 90;
inline constexpr int kMaxUnusedDays = 36500;
inline constexpr absl::Duration kDefaultExpiringWithin = absl::Hours(24 * 14);
inline constexpr int kDefaultTopDenied = 10;
inline constexpr int kMaxTopDenied = 1000;

// Computes the reports. Borrows everything (all must outlive it); holds no
// state between calls, so one instance may serve concurrent calls when the
// borrowed objects are thread-safe (they are). Every method returns OK with
// the response filled, or:
//   kInvalidArgument  a malformed request (the message names the field);
//   kNotFound         EffectivePermissions of an unknown principal or role;
//   kFailedPrecondition  no policy is active yet;
//   other codes from the store or the trail, unchanged.
class AccessReports {
 public:
  // `usage` (optional) answers UnusedGrants from its in-memory aggregate
  // of the newest ALLOW per (principal, rule, resource scope), brought up
  // to date incrementally on each call (audit/usage.h); no scan of the
  // trail per report. Without it UnusedGrants probes the AuditReader per
  // (binding, allow rule reachable from it) until it finds a use in the
  // window — one index range probe each (migrations/0003), fine for small
  // stores, slow at scale (see bench/reports_benchmark.cc).
  AccessReports(store::PrincipalRepository* store,
                const store::SnapshotPublisher* snapshots,
                audit::AuditReader* reader, const store::Clock* clock,
                audit::UsageIndex* usage = nullptr);

  absl::Status WhoCan(const v1::WhoCanRequest& request,
                      v1::WhoCanResponse* response);
  absl::Status EffectivePermissions(
      const v1::EffectivePermissionsRequest& request,
      v1::EffectivePermissionsResponse* response);
  absl::Status UnusedGrants(const v1::UnusedGrantsRequest& request,
                            v1::UnusedGrantsResponse* response);
  absl::Status SeparationViolations(
      const v1::SeparationViolationsRequest& request,
      v1::SeparationViolationsResponse* response);
  absl::Status ExpiringGrants(const v1::ExpiringGrantsRequest& request,
                              v1::ExpiringGrantsResponse* response);
  // kFailedPrecondition when built without a usage index.
  absl::Status DecisionSummary(const v1::DecisionSummaryRequest& request,
                               v1::DecisionSummaryResponse* response);

 private:
  // Every binding matching `filter`, by keyset pages, in
  // (principal, role, scope) order.
  absl::StatusOr<std::vector<store::Binding>> AllBindings(
      const store::BindingFilter& filter);
  // The newest ALLOW decision of `principal` through rule `rule_id` on a
  // resource in a scope `scope` covers, by AuditReader probes; nullopt when
  // the trail has none.
  absl::StatusOr<std::optional<absl::Time>> NewestAllowInScope(
      const std::string& principal, const std::string& rule_id,
      absl::string_view scope);

  store::PrincipalRepository* store_;
  const store::SnapshotPublisher* snapshots_;
  audit::AuditReader* reader_;
  const store::Clock* clock_;
  audit::UsageIndex* usage_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_ACCESS_REPORTS_H_
