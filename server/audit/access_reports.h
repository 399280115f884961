// AccessReports: the auditor's access reports — who can do
// what, the effective permission matrix of a principal or role, grants
// never exercised, separation-of-duty violations and grants expiring soon —
// computed from the active policy (policy::Program, expanded through
// policy/analysis.h), the role store's bindings and the audit trail.
//
// Values in, values out: the gRPC AuditService (server/audit_service.cc)
// turns requests into these queries and the results into protos; the
// benchmark and tests call it directly. Each
// report reads the current Snapshot once (its Program and principals) and
// the store's bindings by keyset pages (each page one index range read); a
// report is therefore consistent with one policy, while a grant committed
// during the report may or may not be in it.
//
// Semantics:
//  * "Now" is the injected Clock. A binding is live when it has no expiry or
//    expires after now (a binding expiring exactly now has expired, as in
//    the evaluator). Expired bindings grant nothing and appear in no report.
//  * Bindings to roles the active policy no longer declares grant nothing:
//    WhoCan, the permission matrices, SeparationViolations and ExpiringGrants'
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
//  * RolePermissions / PrincipalPermissions: for a role, the rows of ExpandRole
//  (scope "");
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
//  * Summarize(since, until, top_denied): DECISION records with
//    since <= time < until (either side open when unset), from the usage
//    usage's per-day aggregate (usage.h): allow/deny per UTC day
//    (non-ALLOW counts as deny), totals, and the principals with most
//    denies (ties by id). Exact at any instant, not rounded to days. Also
//    names the active policy's roles (none when no policy is active:
//    unlike the other reports it does not need one).
#ifndef STEWARD_SERVER_AUDIT_ACCESS_REPORTS_H_
#define STEWARD_SERVER_AUDIT_ACCESS_REPORTS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/audit/audit_queries.h"
#include "server/audit/reader.h"
#include "server/audit/usage.h"
#include "server/store/clock.h"
#include "server/store/principal_repository.h"
#include "server/store/snapshot_publisher.h"
#include "server/store/values.h"

namespace steward::audit {

// Default and maximum report windows.
inline constexpr int kDefaultUnusedDays = 90;
inline constexpr int kMaxUnusedDays = 36500;
inline constexpr absl::Duration kDefaultExpiringWithin = absl::Hours(24 * 14);
inline constexpr int kDefaultTopDenied = 10;
inline constexpr int kMaxTopDenied = 1000;

struct WhoCanQuery {
  std::string action;
  std::string resource_kind;
  std::string scope;  // "" = global
};

// One (binding, allow rule) pair through which a principal can act.
struct WhoCanEntry {
  std::string principal_id;
  store::Binding binding;
  std::string via_role;  // the role that holds the rule
  std::string rule_id;
  // The rule's condition and every deny that may apply, joined by "; ".
  bool conditional = false;
  std::string condition;
  std::vector<std::string> purposes;
  std::vector<std::string> pii_fields;  // minus unconditionally denied ones
};

// One cell of a permission matrix.
struct PermissionEntry {
  std::string resource_kind;
  std::string action;
  bool allow = false;
  std::string rule_id;
  std::string source_role;
  std::string inherited_via;
  std::string condition;
  std::vector<std::string> purposes;
  // An allow lists the fields it grants; a field deny the fields it
  // removes; a deny of the whole action lists none.
  std::vector<std::string> fields;
  std::vector<std::string> pii_fields;
  std::string scope;  // the binding's scope; "" for a role's matrix
};

struct UnusedGrant {
  store::Binding binding;
  std::optional<absl::Time> last_used;  // newest use before the window
};

struct SeparationViolation {
  std::string principal_id;
  std::string role_a;
  std::string role_b;
  store::Binding binding_a;
  store::Binding binding_b;
};

struct ExpiringGrant {
  store::Binding binding;
  bool pii_without_expiry = false;
};

struct DecisionSummaryReport {
  DecisionSummary decisions;
  int64_t policy_version = 0;  // 0 = no policy active
  std::vector<std::string> policy_roles;
};

// Computes the reports. Borrows everything (all must outlive it); holds no
// state between calls (movable, not copyable), so one instance may serve
// concurrent calls when the borrowed objects are thread-safe (they are). Every
// method returns the report, or:
//   kInvalidArgument  a malformed query (the message names the field);
//   kNotFound         the permissions of an unknown principal or role;
//   kFailedPrecondition  no policy is active yet;
//   other codes from the store or the trail, unchanged.
class AccessReports {
 public:
  // The trail is read through two seams, so every report works on either
  // engine (SQLite, or PostgreSQL across every replica's chain):
  // `queries` (audit_queries.h) and `usage` (usage.h, optional).
  // `usage` answers UnusedGrants and DecisionSummary from per-(principal,
  // rule, scope) and per-day aggregates held in memory and brought up to
  // date incrementally on each call (no scan of the trail per report): on
  // SQLite the UsageIndex, on PostgreSQL PgTrailUsage (per replica chain).
  // Without it UnusedGrants probes `queries` per (binding,
  // allow rule reachable from it) until it finds a use in the window — one
  // index range probe each (migrations/0003), fine for small stores, slow
  // at scale (see bench/reports_benchmark.cc) — and Summarize fails.
  // WhoCan, the permission matrices, SeparationViolations and
  // ExpiringGrants read only the store and its snapshot.
  AccessReports(store::PrincipalRepository* store,
                const store::SnapshotPublisher* snapshots,
                AuditQueries* queries, const store::Clock* clock,
                TrailUsage* usage = nullptr);
  // The same over a SQLite trail's reader (tests and benchmarks).
  AccessReports(store::PrincipalRepository* store,
                const store::SnapshotPublisher* snapshots, AuditReader* reader,
                const store::Clock* clock, TrailUsage* usage = nullptr);

  absl::StatusOr<std::vector<WhoCanEntry>> WhoCan(const WhoCanQuery& query);
  absl::StatusOr<std::vector<PermissionEntry>> RolePermissions(
      absl::string_view role);
  absl::StatusOr<std::vector<PermissionEntry>> PrincipalPermissions(
      absl::string_view principal_id);
  // `days` in 1..kMaxUnusedDays.
  absl::StatusOr<std::vector<UnusedGrant>> UnusedGrants(int days);
  absl::StatusOr<std::vector<SeparationViolation>> SeparationViolations();
  // `within` >= 0.
  absl::StatusOr<std::vector<ExpiringGrant>> ExpiringGrants(
      absl::Duration within);
  // kFailedPrecondition when built without a usage index.
  absl::StatusOr<DecisionSummaryReport> Summarize(const DecisionWindow& window);

 private:
  // Every binding matching `filter`, by keyset pages, in
  // (principal, role, scope) order.
  absl::StatusOr<std::vector<store::Binding>> AllBindings(
      const store::BindingFilter& filter);
  // The newest ALLOW decision of `principal` through rule `rule_id` on a
  // resource in a scope `scope` covers, by AuditQueries probes; nullopt when
  // the trail has none.
  absl::StatusOr<std::optional<absl::Time>> NewestAllowInScope(
      const std::string& principal, const std::string& rule_id,
      absl::string_view scope);

  store::PrincipalRepository* store_;
  const store::SnapshotPublisher* snapshots_;
  // Set by the AuditReader constructor only: the queries it reads through.
  std::unique_ptr<SqliteAuditQueries> owned_queries_;
  AuditQueries* queries_;
  const store::Clock* clock_;
  TrailUsage* usage_;
};

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_ACCESS_REPORTS_H_
