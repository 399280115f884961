// Data minimization of the request attributes kept in audit records.
//
// Public. On the Check path the server already turns the request's
// resource attributes and context (protobuf Values) into policy::NamedValue
// views for Evaluate(); MinimizeAttributes takes those same views, so
// auditing costs no second conversion. The result goes into
// AuditRecord::attributes / key_id.
//
// Rules (ARCHITECTURE.md "Audit trail"):
//  * an attribute is kept only if some rule condition that can apply to the
//    request's resource kind reads it (resource.<attr>) or, for context,
//    any rule condition reads it (context.<attr>); everything else, including
//    names the policy does not declare, is dropped;
//  * a kept attribute marked PII is never stored in clear: with an audit key
//    it is encrypted (value_cipher.h, label "resource.<name>" or
//    "context.<name>"), without one only its name is recorded as omitted.
//
// Stored JSON (keys sorted, compact, absent sections left out):
//   {"context":{"mfa":true},
//    "omitted":["resource.email"],
//    "resource":{"owner":"u7","phone":{"enc":"v1:1a2b3c4d:..."}}}
// Values are JSON strings, integers, booleans or arrays of strings (the
// policy language's types); an object {"enc": ENVELOPE} is always an
// encrypted value, since no policy value is an object.
#ifndef STEWARD_SERVER_AUDIT_MINIMIZE_H_
#define STEWARD_SERVER_AUDIT_MINIMIZE_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/program.h"
#include "policy/request.h"
#include "server/audit/value_cipher.h"

namespace steward::audit {

// How one attribute is treated in an audit record.
enum class AttributeTreatment {
  kDrop,  // not referenced by the policy: not stored
  kKeep,  // referenced: stored in clear
  kPii,   // referenced and personal data: encrypted, or omitted without key
};

// Which request attributes an audit record may keep, derived once per
// compiled policy (build one per Snapshot, share it immutably). Value type;
// thread-compatible, and safe for concurrent const use.
class MinimizationPlan {
 public:
  MinimizationPlan() = default;

  // Derives the plan from a compiled policy: resource attributes referenced
  // by a condition of any rule in one of the kind's (kind, action) buckets,
  // and context attributes referenced by any condition. PII: a resource
  // attribute is PII when its kind declares a `pii` field of the same name
  // (the language marks only fields `pii`; see the note in the .cc).
  static MinimizationPlan FromProgram(const policy::Program& program);

  // Builder for tests and for callers with their own notion of the policy.
  // Adding the same name again overwrites its treatment.
  void SetResourceAttribute(absl::string_view kind, absl::string_view name,
                            AttributeTreatment treatment);
  void SetContextAttribute(absl::string_view name,
                           AttributeTreatment treatment);

  // kDrop for anything not set.
  AttributeTreatment ResourceAttribute(absl::string_view kind,
                                       absl::string_view name) const;
  AttributeTreatment ContextAttribute(absl::string_view name) const;

 private:
  // Keyed by kind + '\0' + name: one lookup per attribute, no allocation
  // on lookup beyond the key.
  absl::flat_hash_map<std::string, AttributeTreatment> resource_;
  absl::flat_hash_map<std::string, AttributeTreatment> context_;
};

struct MinimizedAttributes {
  std::optional<std::string> json;  // nullopt: nothing to store
  std::string key_id;               // "" unless a value was encrypted
};

// Minimizes one request's attributes. `key` may be null (PII omitted).
// Absent values (default policy::Value) are skipped. kInternal only if
// encryption fails; the caller should then still write the record without
// attributes rather than drop it.
absl::StatusOr<MinimizedAttributes> MinimizeAttributes(
    const MinimizationPlan& plan, absl::string_view resource_kind,
    absl::Span<const policy::NamedValue> resource_attributes,
    absl::Span<const policy::NamedValue> context, const AuditKey* key);

// For auditors holding the key: returns `attributes_json` with every
// {"enc": ENVELOPE} replaced by its decrypted value. kInvalidArgument:
// not minimized-attributes JSON. Decryption errors as DecryptValue.
absl::StatusOr<std::string> DecryptAttributes(
    const AuditKey& key, absl::string_view attributes_json);

}  // namespace steward::audit

#endif  // STEWARD_SERVER_AUDIT_MINIMIZE_H_
