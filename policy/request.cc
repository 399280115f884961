// Value and OwnedValue (see request.h).
#include "policy/request.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::policy {

absl::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kInt:
      return "int";
    case ValueType::kBool:
      return "bool";
    case ValueType::kStringSet:
      return "set<string>";
  }
  return "?";
}

Value Value::String(absl::string_view s) {
  Value v;
  v.present_ = true;
  v.type_ = ValueType::kString;
  v.string_ = s;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.present_ = true;
  v.type_ = ValueType::kInt;
  v.int_ = i;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.present_ = true;
  v.type_ = ValueType::kBool;
  v.int_ = b ? 1 : 0;
  return v;
}

Value Value::StringSet(absl::Span<const absl::string_view> elements) {
  Value v;
  v.present_ = true;
  v.type_ = ValueType::kStringSet;
  v.set_ = elements;
  return v;
}

namespace {
bool Contains(absl::Span<const absl::string_view> set, absl::string_view s) {
  for (absl::string_view e : set) {
    if (e == s) return true;
  }
  return false;
}
}  // namespace

bool operator==(const Value& a, const Value& b) {
  if (a.present_ != b.present_) return false;
  if (!a.present_) return true;
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case ValueType::kString:
      return a.string_ == b.string_;
    case ValueType::kInt:
    case ValueType::kBool:
      return a.int_ == b.int_;
    case ValueType::kStringSet:
      for (absl::string_view e : a.set_) {
        if (!Contains(b.set_, e)) return false;
      }
      for (absl::string_view e : b.set_) {
        if (!Contains(a.set_, e)) return false;
      }
      return true;
  }
  return false;
}

std::string Value::DebugString() const {
  if (!present_) return "<absent>";
  switch (type_) {
    case ValueType::kString:
      return absl::StrCat("\"", string_, "\"");
    case ValueType::kInt:
      return absl::StrCat(int_);
    case ValueType::kBool:
      return int_ != 0 ? "true" : "false";
    case ValueType::kStringSet:
      return absl::StrCat(
          "[",
          absl::StrJoin(set_, ", ",
                        [](std::string* out, absl::string_view s) {
                          absl::StrAppend(out, "\"", s, "\"");
                        }),
          "]");
  }
  return "<invalid>";
}

OwnedValue::OwnedValue(const Value& value) {
  if (!value.present()) return;
  present_ = true;
  type_ = value.type();
  switch (type_) {
    case ValueType::kString:
      string_ = std::string(value.string_value());
      break;
    case ValueType::kInt:
      int_ = value.int_value();
      break;
    case ValueType::kBool:
      int_ = value.bool_value() ? 1 : 0;
      break;
    case ValueType::kStringSet:
      for (absl::string_view s : value.set_value()) set_.emplace_back(s);
      RebuildViews();
      break;
  }
}

OwnedValue OwnedValue::String(std::string s) {
  OwnedValue v;
  v.present_ = true;
  v.type_ = ValueType::kString;
  v.string_ = std::move(s);
  return v;
}

OwnedValue OwnedValue::Int(int64_t i) {
  OwnedValue v;
  v.present_ = true;
  v.type_ = ValueType::kInt;
  v.int_ = i;
  return v;
}

OwnedValue OwnedValue::Bool(bool b) {
  OwnedValue v;
  v.present_ = true;
  v.type_ = ValueType::kBool;
  v.int_ = b ? 1 : 0;
  return v;
}

OwnedValue OwnedValue::StringSet(std::vector<std::string> elements) {
  OwnedValue v;
  v.present_ = true;
  v.type_ = ValueType::kStringSet;
  v.set_ = std::move(elements);
  v.RebuildViews();
  return v;
}

// The views point into set_'s strings, whose buffers move on copy (and on
// move for short strings), so every copy or move rebuilds them.
OwnedValue::OwnedValue(const OwnedValue& other)
    : present_(other.present_),
      type_(other.type_),
      int_(other.int_),
      string_(other.string_),
      set_(other.set_) {
  RebuildViews();
}

OwnedValue& OwnedValue::operator=(const OwnedValue& other) {
  if (this != &other) {
    present_ = other.present_;
    type_ = other.type_;
    int_ = other.int_;
    string_ = other.string_;
    set_ = other.set_;
    RebuildViews();
  }
  return *this;
}

OwnedValue::OwnedValue(OwnedValue&& other) noexcept
    : present_(other.present_),
      type_(other.type_),
      int_(other.int_),
      string_(std::move(other.string_)),
      set_(std::move(other.set_)) {
  RebuildViews();
}

OwnedValue& OwnedValue::operator=(OwnedValue&& other) noexcept {
  if (this != &other) {
    present_ = other.present_;
    type_ = other.type_;
    int_ = other.int_;
    string_ = std::move(other.string_);
    set_ = std::move(other.set_);
    RebuildViews();
  }
  return *this;
}

void OwnedValue::RebuildViews() {
  set_views_.clear();
  set_views_.reserve(set_.size());
  for (const std::string& s : set_) set_views_.emplace_back(s);
}

Value OwnedValue::view() const {
  if (!present_) return Value();
  switch (type_) {
    case ValueType::kString:
      return Value::String(string_);
    case ValueType::kInt:
      return Value::Int(int_);
    case ValueType::kBool:
      return Value::Bool(int_ != 0);
    case ValueType::kStringSet:
      return Value::StringSet(set_views_);
  }
  return Value();
}

}  // namespace steward::policy
