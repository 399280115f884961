// The input of one authorization check, as borrowed views.
//
// Public. Callers (the server's Check handler, the test runner, benchmarks)
// build a Request from data they own and pass it to Evaluate(); nothing in a
// Request is copied or retained by the evaluator, which is what keeps the
// check path free of heap allocation.
#ifndef STEWARD_POLICY_REQUEST_H_
#define STEWARD_POLICY_REQUEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace steward::policy {

using RoleId = int32_t;
using KindId = int32_t;

enum class ValueType { kString, kInt, kBool, kStringSet };

// The type's name as the policy language writes it: "string", "int",
// "bool", "set<string>". For messages (diagnostics, store validation).
absl::string_view ValueTypeName(ValueType type);

// A typed attribute value: a small NON-OWNING view. The strings (and the
// span of strings of a set) must outlive the Value. Default-constructed means
// absent, which makes comparisons on it unknown (spec §5).
class Value {
 public:
  Value() = default;
  static Value String(absl::string_view s);
  static Value Int(int64_t i);
  static Value Bool(bool b);
  static Value StringSet(absl::Span<const absl::string_view> elements);

  bool present() const { return present_; }
  // REQUIRES: present().
  ValueType type() const { return type_; }
  // Each accessor REQUIRES: present() and the matching type().
  absl::string_view string_value() const { return string_; }
  int64_t int_value() const { return int_; }
  bool bool_value() const { return int_ != 0; }
  absl::Span<const absl::string_view> set_value() const { return set_; }

  // Structural equality (sets compare as sets).
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

  // Readable form for messages: "\"eu\"", "42", "true", "[\"a\", \"b\"]",
  // "<absent>".
  std::string DebugString() const;

 private:
  bool present_ = false;
  ValueType type_ = ValueType::kString;
  int64_t int_ = 0;
  absl::string_view string_;
  absl::Span<const absl::string_view> set_;
};

// The owning counterpart of Value, for data that must outlive its source
// (test expectations, store snapshots). Copyable and movable; view() is
// valid until the OwnedValue is modified or destroyed.
class OwnedValue {
 public:
  OwnedValue() = default;  // absent
  explicit OwnedValue(const Value& value);
  static OwnedValue String(std::string s);
  static OwnedValue Int(int64_t i);
  static OwnedValue Bool(bool b);
  static OwnedValue StringSet(std::vector<std::string> elements);

  OwnedValue(const OwnedValue& other);
  OwnedValue& operator=(const OwnedValue& other);
  OwnedValue(OwnedValue&& other) noexcept;
  OwnedValue& operator=(OwnedValue&& other) noexcept;
  ~OwnedValue() = default;

  bool present() const { return present_; }
  ValueType type() const { return type_; }
  Value view() const;

 private:
  void RebuildViews();

  bool present_ = false;
  ValueType type_ = ValueType::kString;
  int64_t int_ = 0;
  std::string string_;
  std::vector<std::string> set_;
  std::vector<absl::string_view> set_views_;
};

// A request attribute or context fact, by name.
struct NamedValue {
  absl::string_view name;
  Value value;
};

// One role held by the principal.
struct RoleBinding {
  RoleId role = 0;
  absl::string_view scope;  // "" = global
  absl::Time expires_at = absl::InfiniteFuture();
};

// One check. All views are borrowed for the duration of Evaluate().
struct Request {
  absl::string_view principal_id;
  bool principal_known = true;      // false -> DENY UNKNOWN_PRINCIPAL
  bool principal_disabled = false;  // true -> DENY PRINCIPAL_DISABLED
  // The principal's direct bindings; the evaluator applies expiry, scope
  // ancestry and the extends-closure (spec §6 step 2). Role ids out of the
  // Program's range make the decision DENY EVALUATION_ERROR.
  absl::Span<const RoleBinding> bindings;
  // Optional: the principal's effective roles at `scope` and `now`, already
  // resolved from its bindings with the semantics above (expiry, scope
  // ancestry, extends-closure), as a bitset: bit r of word r / 64 = role r
  // held. When non-empty the evaluator uses it as is and does not read
  // `bindings` (the role store resolves it from its snapshot without
  // string compares). Words past the Program's role count and bits past
  // its last role are ignored; fewer words than the Program needs make
  // the decision DENY EVALUATION_ERROR.
  absl::Span<const uint64_t> effective_roles;
  // Indexed by Program::principal_attributes() slot; a missing or
  // default-constructed entry is absent.
  absl::Span<const Value> principal_attributes;
  absl::string_view action;
  absl::string_view kind;
  absl::string_view resource_id;
  absl::string_view scope;  // "" = no scope
  // Resource attributes by name. Names the kind does not declare are
  // ignored (the caller may send more than the policy uses); a declared name
  // given twice, or with a value of the wrong type, is INVALID_REQUEST.
  absl::Span<const NamedValue> resource_attributes;
  // Context facts by name; same rules as resource_attributes against the
  // policy's `context` block.
  absl::Span<const NamedValue> context;
  // Fields the caller needs; empty = none named.
  absl::Span<const absl::string_view> fields;
  absl::string_view purpose;  // "" = none stated
  absl::Time now;
};

}  // namespace steward::policy

#endif  // STEWARD_POLICY_REQUEST_H_
