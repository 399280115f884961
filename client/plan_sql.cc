// The renderer walks a plan tree twice: Validate() checks the contract of
// authorization.proto and computes each node's type, then SqlRenderer (SQL)
// or Format() (text) prints the checked tree. Keeping the checks in one
// pass means both outputs refuse exactly the same trees.
#include "client/plan_sql.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace steward::client {
namespace {

namespace v1 = ::steward::v1;

// The type of a checked node. kStringList is a list literal, the only
// collection that is not a set<string> reference.
enum class NodeType { kString, kInt, kBool, kStringSet, kStringList };

absl::string_view TypeName(NodeType type) {
  switch (type) {
    case NodeType::kString:
      return "string";
    case NodeType::kInt:
      return "int";
    case NodeType::kBool:
      return "bool";
    case NodeType::kStringSet:
      return "set<string>";
    case NodeType::kStringList:
      return "string list";
  }
  return "?";
}

absl::Status Invalid(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

// Whether `text` is UTF-8 without NUL bytes: what a SQL string literal can
// carry without changing meaning (a NUL ends a C string in both engines'
// APIs; invalid UTF-8 makes PostgreSQL reject the query and SQLite compare
// bytes the policy never produced).
bool IsCleanUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    int extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) ||
        (extra == 3 && code < 0x10000) || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

size_t CodePoints(absl::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::Status CheckString(absl::string_view path, absl::string_view text) {
  if (text.find('\0') != absl::string_view::npos) {
    return Invalid(path, "string holds a NUL byte");
  }
  if (!IsCleanUtf8(text)) return Invalid(path, "string is not valid UTF-8");
  return absl::OkStatus();
}

// What a reference points at, once checked.
struct Target {
  enum class Part { kId, kScope, kAttribute };
  Part part = Part::kAttribute;
  std::string attribute;
  NodeType type = NodeType::kString;
};

absl::StatusOr<Target> CheckReference(const v1::PlanReference& reference,
                                      absl::string_view path) {
  Target target;
  const std::string& ref_path = reference.path();
  if (ref_path == "resource.id" || ref_path == "resource.scope") {
    target.part =
        ref_path == "resource.id" ? Target::Part::kId : Target::Part::kScope;
    if (!reference.attribute().empty()) {
      return Invalid(path, absl::StrCat(ref_path, " has no attribute name"));
    }
    if (reference.type() != v1::VALUE_TYPE_STRING &&
        reference.type() != v1::VALUE_TYPE_UNSPECIFIED) {
      return Invalid(path, absl::StrCat(ref_path, " is a string"));
    }
    return target;
  }
  constexpr absl::string_view kPrefix = "resource.";
  if (!absl::StartsWith(ref_path, kPrefix) ||
      ref_path.size() == kPrefix.size()) {
    return Invalid(path,
                   absl::StrCat("reference path \"", absl::CHexEscape(ref_path),
                                "\" is not resource.id, resource.scope or "
                                "resource.<attribute>"));
  }
  target.attribute = ref_path.substr(kPrefix.size());
  if (absl::Status s = CheckString(path, target.attribute); !s.ok()) return s;
  if (!reference.attribute().empty() &&
      reference.attribute() != target.attribute) {
    return Invalid(path,
                   absl::StrCat("reference path \"", ref_path,
                                "\" disagrees with its attribute \"",
                                absl::CHexEscape(reference.attribute()), "\""));
  }
  switch (reference.type()) {
    case v1::VALUE_TYPE_STRING:
      target.type = NodeType::kString;
      break;
    case v1::VALUE_TYPE_INT:
      target.type = NodeType::kInt;
      break;
    case v1::VALUE_TYPE_BOOL:
      target.type = NodeType::kBool;
      break;
    case v1::VALUE_TYPE_STRING_SET:
      target.type = NodeType::kStringSet;
      break;
    default:
      return Invalid(
          path, absl::StrCat("reference ", ref_path, " has no declared type"));
  }
  return target;
}

bool IsOperation(const v1::PlanExpression& e) {
  return e.node_case() == v1::PlanExpression::kOperation;
}
bool IsReference(const v1::PlanExpression& e) {
  return e.node_case() == v1::PlanExpression::kReference;
}
bool IsLiteral(const v1::PlanExpression& e) {
  return e.node_case() == v1::PlanExpression::kLiteral;
}

std::string OperandPath(absl::string_view path, int i) {
  return absl::StrCat(path, ".operation.operands[", i, "]");
}

// Checks the subtree at `path` and returns its type.
absl::StatusOr<NodeType> Validate(const v1::PlanExpression& e,
                                  absl::string_view path, int depth) {
  if (depth > kMaxPlanDepth) {
    return Invalid(
        path, absl::StrCat("nested deeper than ", kMaxPlanDepth, " levels"));
  }
  switch (e.node_case()) {
    case v1::PlanExpression::NODE_NOT_SET:
      return Invalid(path, "empty node (no operation, reference or literal)");
    case v1::PlanExpression::kReference: {
      absl::StatusOr<Target> target =
          CheckReference(e.reference(), absl::StrCat(path, ".reference"));
      if (!target.ok()) return target.status();
      return target->type;
    }
    case v1::PlanExpression::kLiteral: {
      const v1::PlanLiteral& literal = e.literal();
      const std::string at = absl::StrCat(path, ".literal");
      switch (literal.value_case()) {
        case v1::PlanLiteral::kStringValue:
          if (absl::Status s = CheckString(at, literal.string_value());
              !s.ok()) {
            return s;
          }
          return NodeType::kString;
        case v1::PlanLiteral::kIntValue:
          return NodeType::kInt;
        case v1::PlanLiteral::kBoolValue:
          return NodeType::kBool;
        case v1::PlanLiteral::kStringListValue:
          for (int i = 0; i < literal.string_list_value().values_size(); ++i) {
            if (absl::Status s = CheckString(
                    absl::StrCat(at, ".string_list_value.values[", i, "]"),
                    literal.string_list_value().values(i));
                !s.ok()) {
              return s;
            }
          }
          return NodeType::kStringList;
        case v1::PlanLiteral::VALUE_NOT_SET:
          break;
      }
      return Invalid(at, "literal has no value");
    }
    case v1::PlanExpression::kOperation:
      break;
  }
  const v1::PlanOperation& op = e.operation();
  const int n = op.operands_size();
  const std::string name = v1::PlanOperator_Name(op.operator_());
  std::vector<NodeType> types;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<NodeType> type =
        Validate(op.operands(i), OperandPath(path, i), depth + 1);
    if (!type.ok()) return type.status();
    types.push_back(*type);
  }
  auto count_error = [&](absl::string_view wanted) {
    return Invalid(path,
                   absl::StrCat(name, " takes ", wanted, " operands, not ", n));
  };
  auto type_error = [&](int i, absl::string_view wanted) {
    return Invalid(OperandPath(path, i),
                   absl::StrCat(name, " operand must be ", wanted, ", not ",
                                TypeName(types[i])));
  };
  switch (op.operator_()) {
    case v1::OPERATOR_AND:
    case v1::OPERATOR_OR:
      if (n < 2) return count_error("2 or more");
      for (int i = 0; i < n; ++i) {
        if (types[i] != NodeType::kBool) return type_error(i, "bool");
      }
      return NodeType::kBool;
    case v1::OPERATOR_NOT:
      if (n != 1) return count_error("1");
      if (types[0] != NodeType::kBool) return type_error(0, "bool");
      return NodeType::kBool;
    case v1::OPERATOR_EQ:
    case v1::OPERATOR_NE:
      if (n != 2) return count_error("2");
      if (types[0] != NodeType::kString && types[0] != NodeType::kInt &&
          types[0] != NodeType::kBool) {
        // The planner compares sets only inside IN; equality of whole
        // collections has no faithful one-expression rendering.
        return type_error(0, "a string, int or bool");
      }
      if (types[1] != types[0]) {
        return type_error(1, absl::StrCat("of the first operand's type (",
                                          TypeName(types[0]), ")"));
      }
      return NodeType::kBool;
    case v1::OPERATOR_LT:
    case v1::OPERATOR_LE:
    case v1::OPERATOR_GT:
    case v1::OPERATOR_GE:
      if (n != 2) return count_error("2");
      if (types[0] != NodeType::kString && types[0] != NodeType::kInt) {
        return type_error(0, "a string or int");
      }
      if (types[1] != types[0]) {
        return type_error(1, absl::StrCat("of the first operand's type (",
                                          TypeName(types[0]), ")"));
      }
      return NodeType::kBool;
    case v1::OPERATOR_IN:
      if (n != 2) return count_error("2");
      if (types[0] != NodeType::kString || IsOperation(op.operands(0))) {
        return type_error(0, "a string reference or literal");
      }
      if (types[1] != NodeType::kStringSet &&
          types[1] != NodeType::kStringList) {
        return type_error(1, "a set<string> reference or a string list");
      }
      return NodeType::kBool;
    case v1::OPERATOR_HAS:
      if (n != 1) return count_error("1");
      if (!IsReference(op.operands(0))) {
        return Invalid(OperandPath(path, 0), "HAS operand must be a reference");
      }
      return NodeType::kBool;
    case v1::OPERATOR_IN_SCOPE:
      if (n != 2) return count_error("2");
      if (!IsReference(op.operands(0)) ||
          op.operands(0).reference().path() != "resource.scope") {
        return Invalid(OperandPath(path, 0),
                       "IN_SCOPE operand must be the resource.scope reference");
      }
      if (!IsLiteral(op.operands(1)) || op.operands(1).literal().value_case() !=
                                            v1::PlanLiteral::kStringValue) {
        return Invalid(OperandPath(path, 1),
                       "IN_SCOPE operand must be a string literal");
      }
      return NodeType::kBool;
    default:
      return Invalid(path, absl::StrCat("unknown operator ",
                                        static_cast<int>(op.operator_())));
  }
}

// Precedence of a printed piece, to parenthesize only where a reader (or
// the grammar) needs it. IN_SCOPE prints as an OR but is always wrapped
// when nested so it reads as one test.
enum Precedence {
  kPrecInScope = 0,
  kPrecOr = 1,
  kPrecAnd = 2,
  kPrecNot = 3,
  kPrecCompare = 4,
  kPrecAtom = 5,
};

struct Piece {
  std::string text;
  int prec = kPrecAtom;
  // An unmapped attribute rendered as NULL (ColumnMap).
  bool null_constant = false;
};

std::string Wrap(const Piece& child, v1::PlanOperator parent) {
  bool wrap;
  switch (parent) {
    case v1::OPERATOR_AND:
      wrap = child.prec < kPrecAnd;
      break;
    case v1::OPERATOR_OR:
      wrap = child.prec < kPrecOr || child.prec == kPrecAnd;
      break;
    default:
      // Operands of NOT and of comparisons: anything but an atom, so that
      // `NOT (a = b)` and `(a = b) = (c = d)` read unambiguously.
      wrap = child.prec < kPrecAtom;
      break;
  }
  return wrap ? absl::StrCat("(", child.text, ")") : child.text;
}

absl::string_view ComparisonSymbol(v1::PlanOperator op) {
  switch (op) {
    case v1::OPERATOR_EQ:
      return "=";
    case v1::OPERATOR_NE:
      return "<>";
    case v1::OPERATOR_LT:
      return "<";
    case v1::OPERATOR_LE:
      return "<=";
    case v1::OPERATOR_GT:
      return ">";
    default:
      return ">=";
  }
}

// Prints a validated tree as SQL. Thread-compatible; one per rendering.
class SqlRenderer {
 public:
  SqlRenderer(SqlDialect dialect, const ColumnMap& columns, bool parameterized)
      : dialect_(dialect), columns_(columns), parameterized_(parameterized) {}

  absl::StatusOr<Piece> Render(const v1::PlanExpression& e,
                               absl::string_view path) {
    switch (e.node_case()) {
      case v1::PlanExpression::kReference:
        return Column(e.reference(), absl::StrCat(path, ".reference"));
      case v1::PlanExpression::kLiteral:
        return Piece{Literal(e.literal()), kPrecAtom};
      default:
        return Operation(e.operation(), path);
    }
  }

  std::string Bool(bool value) const {
    if (dialect_ == SqlDialect::kSqlite) return value ? "1" : "0";
    return value ? "TRUE" : "FALSE";
  }

  std::vector<SqlParameter> TakeParams() { return std::move(params_); }

 private:
  absl::StatusOr<std::string> Identifier(absl::string_view column,
                                         absl::string_view what) const {
    if (column.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the column for ", what, " is empty"));
    }
    std::vector<std::string> parts;
    for (absl::string_view part : absl::StrSplit(column, '.')) {
      if (part.empty() || part.find('\0') != absl::string_view::npos ||
          !IsCleanUtf8(part)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the column for ", what, " (\"", absl::CHexEscape(column),
            "\") is not a column name or table.column"));
      }
      // PostgreSQL silently truncates longer names, which could name
      // another column.
      if (dialect_ == SqlDialect::kPostgres && part.size() > 63) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the column for ", what, " (\"", column,
            "\") is longer than PostgreSQL's 63-byte identifiers"));
      }
      parts.push_back(absl::StrCat(
          "\"", absl::StrReplaceAll(part, {{"\"", "\"\""}}), "\""));
    }
    return absl::StrJoin(parts, ".");
  }

  absl::StatusOr<Piece> Column(const v1::PlanReference& reference,
                               absl::string_view path) {
    absl::StatusOr<Target> target = CheckReference(reference, path);
    if (!target.ok()) return target.status();
    const std::string& what = reference.path();
    absl::StatusOr<std::string> id;
    switch (target->part) {
      case Target::Part::kId:
        if (columns_.id_column.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              path, ": the plan reads resource.id but no id column is set"));
        }
        id = Identifier(columns_.id_column, what);
        break;
      case Target::Part::kScope:
        if (columns_.scope_column.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              path,
              ": the plan reads resource.scope but no scope column is set"));
        }
        id = Identifier(columns_.scope_column, what);
        break;
      case Target::Part::kAttribute: {
        auto it = columns_.attributes.find(target->attribute);
        if (it == columns_.attributes.end()) {
          if (!columns_.unmapped_attributes_are_null) {
            return absl::InvalidArgumentError(absl::StrCat(
                path, ": the plan reads ", what, " but attribute \"",
                target->attribute, "\" has no column"));
          }
          return Piece{TypedNull(target->type), kPrecAtom,
                       /*null_constant=*/true};
        }
        id = Identifier(it->second, what);
        break;
      }
    }
    if (!id.ok()) return id.status();
    return Piece{*id, kPrecAtom};
  }

  std::string TypedNull(NodeType type) const {
    if (dialect_ == SqlDialect::kSqlite) return "NULL";
    switch (type) {
      case NodeType::kInt:
        return "CAST(NULL AS bigint)";
      case NodeType::kBool:
        return "CAST(NULL AS boolean)";
      case NodeType::kStringSet:
        return "CAST(NULL AS text[])";
      default:
        return "CAST(NULL AS text)";
    }
  }

  std::string Placeholder(SqlParameter param) {
    const SqlParameter::Type type = param.type;
    params_.push_back(std::move(param));
    if (dialect_ == SqlDialect::kSqlite) return "?";
    // PostgreSQL infers an untyped parameter's type from the other operand;
    // between two parameters it would pick text, and compare 10 < 9 as
    // strings. Integers and booleans say what they are.
    switch (type) {
      case SqlParameter::Type::kInteger:
        return absl::StrCat("$", params_.size(), "::bigint");
      case SqlParameter::Type::kBoolean:
        return absl::StrCat("$", params_.size(), "::boolean");
      case SqlParameter::Type::kText:
        break;
    }
    return absl::StrCat("$", params_.size());
  }

  std::string Text(absl::string_view text) {
    if (parameterized_) {
      SqlParameter p;
      p.type = SqlParameter::Type::kText;
      p.text = std::string(text);
      return Placeholder(std::move(p));
    }
    std::string quoted = absl::StrReplaceAll(text, {{"'", "''"}});
    // With standard_conforming_strings off, PostgreSQL reads backslashes in
    // '...' as escapes; E'...' means the same under either setting.
    if (dialect_ == SqlDialect::kPostgres &&
        text.find('\\') != absl::string_view::npos) {
      return absl::StrCat("E'", absl::StrReplaceAll(quoted, {{"\\", "\\\\"}}),
                          "'");
    }
    return absl::StrCat("'", quoted, "'");
  }

  std::string Int(int64_t value) {
    if (parameterized_) {
      SqlParameter p;
      p.type = SqlParameter::Type::kInteger;
      p.integer = value;
      return Placeholder(std::move(p));
    }
    // Both engines read -9223372036854775808 as minus a number too large
    // for an integer, which becomes a REAL (SQLite) or numeric (PostgreSQL).
    if (value == std::numeric_limits<int64_t>::min()) {
      return "(-9223372036854775807 - 1)";
    }
    return absl::StrCat(value);
  }

  std::string BoolLiteral(bool value) {
    if (parameterized_) {
      SqlParameter p;
      p.type = SqlParameter::Type::kBoolean;
      p.boolean = value;
      return Placeholder(std::move(p));
    }
    return Bool(value);
  }

  std::string Literal(const v1::PlanLiteral& literal) {
    switch (literal.value_case()) {
      case v1::PlanLiteral::kStringValue:
        return Text(literal.string_value());
      case v1::PlanLiteral::kIntValue:
        return Int(literal.int_value());
      case v1::PlanLiteral::kBoolValue:
        return BoolLiteral(literal.bool_value());
      default: {
        // A list only appears as IN's collection, which renders it itself.
        std::vector<std::string> items;
        for (const std::string& value : literal.string_list_value().values()) {
          items.push_back(Text(value));
        }
        return absl::StrCat("(", absl::StrJoin(items, ", "), ")");
      }
    }
  }

  absl::StatusOr<Piece> Operation(const v1::PlanOperation& op,
                                  absl::string_view path) {
    const v1::PlanOperator kind = op.operator_();
    if (kind == v1::OPERATOR_IN) return In(op, path);
    if (kind == v1::OPERATOR_HAS) return Has(op, path);
    if (kind == v1::OPERATOR_IN_SCOPE) return InScope(op, path);
    std::vector<Piece> operands;
    for (int i = 0; i < op.operands_size(); ++i) {
      absl::StatusOr<Piece> piece =
          Render(op.operands(i), OperandPath(path, i));
      if (!piece.ok()) return piece.status();
      operands.push_back(*std::move(piece));
    }
    switch (kind) {
      case v1::OPERATOR_AND:
      case v1::OPERATOR_OR: {
        std::vector<std::string> parts;
        for (const Piece& piece : operands) parts.push_back(Wrap(piece, kind));
        const bool is_and = kind == v1::OPERATOR_AND;
        return Piece{absl::StrJoin(parts, is_and ? " AND " : " OR "),
                     is_and ? kPrecAnd : kPrecOr};
      }
      case v1::OPERATOR_NOT:
        return Piece{absl::StrCat("NOT ", Wrap(operands[0], kind)), kPrecNot};
      default:
        break;
    }
    // Comparisons. Bytewise string order: SQLite's default BINARY collation
    // is memcmp; PostgreSQL's default collations are not, so orderings name
    // "C" (equality is bytewise under every deterministic collation).
    std::string lhs = Wrap(operands[0], kind);
    const bool ordering = kind != v1::OPERATOR_EQ && kind != v1::OPERATOR_NE;
    if (ordering && dialect_ == SqlDialect::kPostgres &&
        IsStringTyped(op.operands(0))) {
      absl::StrAppend(&lhs, " COLLATE \"C\"");
    }
    return Piece{absl::StrCat(lhs, " ", ComparisonSymbol(kind), " ",
                              Wrap(operands[1], kind)),
                 kPrecCompare};
  }

  static bool IsStringTyped(const v1::PlanExpression& e) {
    if (IsLiteral(e)) {
      return e.literal().value_case() == v1::PlanLiteral::kStringValue;
    }
    if (IsReference(e)) {
      const v1::PlanReference& r = e.reference();
      return r.type() == v1::VALUE_TYPE_STRING || r.path() == "resource.id" ||
             r.path() == "resource.scope";
    }
    return false;
  }

  absl::StatusOr<Piece> Has(const v1::PlanOperation& op,
                            absl::string_view path) {
    const v1::PlanReference& reference = op.operands(0).reference();
    // resource.id and resource.scope are always present.
    if (reference.path() == "resource.id" ||
        reference.path() == "resource.scope") {
      return Piece{Bool(true), kPrecAtom};
    }
    absl::StatusOr<Piece> column =
        Column(reference, absl::StrCat(OperandPath(path, 0), ".reference"));
    if (!column.ok()) return column.status();
    if (column->null_constant) return Piece{Bool(false), kPrecAtom};
    return Piece{absl::StrCat(column->text, " IS NOT NULL"), kPrecCompare};
  }

  absl::StatusOr<Piece> InScope(const v1::PlanOperation& op,
                                absl::string_view path) {
    absl::StatusOr<Piece> column =
        Column(op.operands(0).reference(),
               absl::StrCat(OperandPath(path, 0), ".reference"));
    if (!column.ok()) return column.status();
    const std::string& scope = op.operands(1).literal().string_value();
    // The global scope covers every scope (policy::ScopeCovers), "" itself
    // included; the planner folds it away, but a hand-made tree may not.
    if (scope.empty()) return Piece{Bool(true), kPrecAtom};
    const std::string prefix = absl::StrCat(scope, "/");
    // A prefix test without LIKE, whose % and _ would need escaping.
    // SQLite's substr counts characters of UTF-8 text; the first
    // CodePoints(prefix) characters equal the prefix exactly when the bytes
    // do, since both are valid UTF-8.
    const std::string equal = Text(scope);
    if (dialect_ == SqlDialect::kSqlite) {
      return Piece{
          absl::StrCat(column->text, " = ", equal, " OR substr(", column->text,
                       ", 1, ", CodePoints(prefix), ") = ", Text(prefix)),
          kPrecInScope};
    }
    return Piece{absl::StrCat(column->text, " = ", equal, " OR starts_with(",
                              column->text, ", ", Text(prefix), ")"),
                 kPrecInScope};
  }

  absl::StatusOr<Piece> In(const v1::PlanOperation& op,
                           absl::string_view path) {
    const v1::PlanExpression& element = op.operands(0);
    const v1::PlanExpression& collection = op.operands(1);
    // Only a reference can be NULL, so only a reference gets a NULL test;
    // a literal element is rendered (a parameter pushed) exactly once, where
    // it is used.
    const bool maybe_null = IsReference(element);
    if (IsLiteral(collection) &&
        collection.literal().string_list_value().values().empty()) {
      // SQLite's `x IN ()` is FALSE even for a NULL x, and PostgreSQL has
      // no empty list.
      if (!maybe_null) return Piece{Bool(false), kPrecAtom};
      absl::StatusOr<Piece> x = Render(element, OperandPath(path, 0));
      if (!x.ok()) return x.status();
      return Piece{
          absl::StrCat("CASE WHEN ", x->text, " IS NULL THEN NULL ELSE ",
                       Bool(false), " END"),
          kPrecAtom};
    }
    absl::StatusOr<Piece> x = Render(element, OperandPath(path, 0));
    if (!x.ok()) return x.status();
    if (IsLiteral(collection)) {
      // The list holds no NULL, so IN is exactly three-valued.
      return Piece{absl::StrCat(x->text, " IN ", Literal(collection.literal())),
                   kPrecCompare};
    }
    const std::string set_path =
        absl::StrCat(OperandPath(path, 1), ".reference");
    absl::StatusOr<Piece> set = Render(collection, OperandPath(path, 1));
    if (!set.ok()) return set.status();
    std::vector<std::string> null_tests;
    if (maybe_null) null_tests.push_back(absl::StrCat(x->text, " IS NULL"));
    null_tests.push_back(absl::StrCat(set->text, " IS NULL"));
    // Both idioms are FALSE, not NULL, for an empty set even when the
    // element is NULL, hence the CASE.
    std::string test;
    if (dialect_ == SqlDialect::kSqlite) {
      if (absl::Status s =
              CheckJsonEachArgument(collection.reference(), set_path);
          !s.ok()) {
        return s;
      }
      // The element stays outside the subquery, so a column named like one
      // of json_each's (value, type, …) still means the table's there.
      test = absl::StrCat(x->text, " IN (SELECT value FROM json_each(",
                          set->text, ") WHERE type = 'text')");
    } else {
      test = absl::StrCat(x->text, " = ANY(", set->text, ")");
    }
    return Piece{absl::StrCat("CASE WHEN ", absl::StrJoin(null_tests, " OR "),
                              " THEN NULL ELSE ", test, " END"),
                 kPrecAtom};
  }

  // Inside `json_each(col)` SQLite resolves an unqualified name to
  // json_each's own column first (key, value, type, …): json_each("type")
  // would read json_each's type, not the table's. Such a set column must
  // be qualified (table.type).
  absl::Status CheckJsonEachArgument(const v1::PlanReference& reference,
                                     absl::string_view path) const {
    // The reference was checked, so it names an attribute.
    absl::StatusOr<Target> target = CheckReference(reference, path);
    if (!target.ok()) return target.status();
    auto it = columns_.attributes.find(target->attribute);
    if (it == columns_.attributes.end()) return absl::OkStatus();  // NULL
    const std::string& column = it->second;
    if (column.find('.') != std::string::npos) return absl::OkStatus();
    const std::string lower = absl::AsciiStrToLower(column);
    for (absl::string_view shadowing :
         {"key", "value", "type", "atom", "id", "parent", "fullkey", "path",
          "json", "root"}) {
      if (lower == shadowing) {
        return Invalid(path,
                       absl::StrCat("the set column \"", column, "\" of ",
                                    reference.path(),
                                    " is shadowed by json_each's own column of "
                                    "that name in SQLite; qualify it (TABLE.",
                                    column, ")"));
      }
    }
    return absl::OkStatus();
  }

  const SqlDialect dialect_;
  const ColumnMap& columns_;
  const bool parameterized_;
  std::vector<SqlParameter> params_;
};

// A string as a JSON string: the form people read in plans.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(
              &out, "\\u00",
              absl::AsciiStrToLower(absl::StrCat(
                  absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2))));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

Piece Format(const v1::PlanExpression& e) {
  if (IsReference(e)) return Piece{e.reference().path(), kPrecAtom};
  if (IsLiteral(e)) {
    const v1::PlanLiteral& literal = e.literal();
    switch (literal.value_case()) {
      case v1::PlanLiteral::kStringValue:
        return Piece{JsonString(literal.string_value()), kPrecAtom};
      case v1::PlanLiteral::kIntValue:
        return Piece{absl::StrCat(literal.int_value()), kPrecAtom};
      case v1::PlanLiteral::kBoolValue:
        return Piece{literal.bool_value() ? "true" : "false", kPrecAtom};
      default: {
        std::vector<std::string> items;
        for (const std::string& v : literal.string_list_value().values()) {
          items.push_back(JsonString(v));
        }
        return Piece{absl::StrCat("[", absl::StrJoin(items, ", "), "]"),
                     kPrecAtom};
      }
    }
  }
  const v1::PlanOperation& op = e.operation();
  const v1::PlanOperator kind = op.operator_();
  std::vector<Piece> operands;
  for (const v1::PlanExpression& operand : op.operands()) {
    operands.push_back(Format(operand));
  }
  switch (kind) {
    case v1::OPERATOR_AND:
    case v1::OPERATOR_OR: {
      std::vector<std::string> parts;
      for (const Piece& piece : operands) parts.push_back(Wrap(piece, kind));
      const bool is_and = kind == v1::OPERATOR_AND;
      return Piece{absl::StrJoin(parts, is_and ? " AND " : " OR "),
                   is_and ? kPrecAnd : kPrecOr};
    }
    case v1::OPERATOR_NOT:
      return Piece{absl::StrCat("NOT ", Wrap(operands[0], kind)), kPrecNot};
    case v1::OPERATOR_HAS:
      return Piece{absl::StrCat("has(", operands[0].text, ")"), kPrecAtom};
    case v1::OPERATOR_IN_SCOPE:
      return Piece{absl::StrCat("in_scope(", operands[0].text, ", ",
                                operands[1].text, ")"),
                   kPrecAtom};
    case v1::OPERATOR_IN:
      return Piece{absl::StrCat(Wrap(operands[0], kind), " IN ",
                                Wrap(operands[1], kind)),
                   kPrecCompare};
    case v1::OPERATOR_NE:
      return Piece{absl::StrCat(Wrap(operands[0], kind),
                                " != ", Wrap(operands[1], kind)),
                   kPrecCompare};
    default:
      return Piece{
          absl::StrCat(Wrap(operands[0], kind), " ", ComparisonSymbol(kind),
                       " ", Wrap(operands[1], kind)),
          kPrecCompare};
  }
}

absl::StatusOr<ParameterizedSql> RenderChecked(
    const v1::PlanExpression& condition, absl::string_view where,
    SqlDialect dialect, const ColumnMap& columns, bool parameterized) {
  absl::StatusOr<NodeType> type = Validate(condition, where, 0);
  if (!type.ok()) return type.status();
  if (*type != NodeType::kBool) {
    return Invalid(
        where, absl::StrCat("a condition must be bool, not ", TypeName(*type)));
  }
  SqlRenderer renderer(dialect, columns, parameterized);
  absl::StatusOr<Piece> piece = renderer.Render(condition, where);
  if (!piece.ok()) return piece.status();
  ParameterizedSql out;
  out.sql = std::move(piece->text);
  out.params = renderer.TakeParams();
  return out;
}

}  // namespace

absl::StatusOr<SqlDialect> ParseSqlDialect(absl::string_view name) {
  if (name == "sqlite") return SqlDialect::kSqlite;
  if (name == "postgres" || name == "postgresql") return SqlDialect::kPostgres;
  return absl::InvalidArgumentError(absl::StrCat("unknown SQL dialect \"",
                                                 absl::CHexEscape(name),
                                                 "\" (sqlite or postgres)"));
}

absl::StatusOr<std::string> RenderSql(const v1::PlanExpression& condition,
                                      SqlDialect dialect,
                                      const ColumnMap& columns) {
  absl::StatusOr<ParameterizedSql> out = RenderChecked(
      condition, "condition", dialect, columns, /*parameterized=*/false);
  if (!out.ok()) return out.status();
  return std::move(out->sql);
}

absl::StatusOr<ParameterizedSql> RenderParameterizedSql(
    const v1::PlanExpression& condition, SqlDialect dialect,
    const ColumnMap& columns) {
  return RenderChecked(condition, "condition", dialect, columns,
                       /*parameterized=*/true);
}

absl::StatusOr<ParameterizedSql> RenderParameterizedPlanSql(
    v1::PlanKind kind, const v1::PlanExpression* condition,
    absl::string_view where, SqlDialect dialect, const ColumnMap& columns) {
  ParameterizedSql out;
  const bool sqlite = dialect == SqlDialect::kSqlite;
  switch (kind) {
    case v1::ALWAYS_ALLOWED:
      out.sql = sqlite ? "1" : "TRUE";
      return out;
    case v1::CONDITIONAL:
      if (condition == nullptr ||
          condition->node_case() == v1::PlanExpression::NODE_NOT_SET) {
        return Invalid(where, "a CONDITIONAL plan has no condition");
      }
      return RenderChecked(*condition, where, dialect, columns,
                           /*parameterized=*/true);
    default:
      // ALWAYS_DENIED, UNSPECIFIED and kinds newer than this client: never
      // fail open.
      out.sql = sqlite ? "0" : "FALSE";
      return out;
  }
}

absl::StatusOr<std::string> RenderPlanSql(v1::PlanKind kind,
                                          const v1::PlanExpression* condition,
                                          absl::string_view where,
                                          SqlDialect dialect,
                                          const ColumnMap& columns) {
  if (kind == v1::CONDITIONAL) {
    if (condition == nullptr ||
        condition->node_case() == v1::PlanExpression::NODE_NOT_SET) {
      return Invalid(where, "a CONDITIONAL plan has no condition");
    }
    absl::StatusOr<ParameterizedSql> out = RenderChecked(
        *condition, where, dialect, columns, /*parameterized=*/false);
    if (!out.ok()) return out.status();
    return std::move(out->sql);
  }
  absl::StatusOr<ParameterizedSql> constant =
      RenderParameterizedPlanSql(kind, condition, where, dialect, columns);
  if (!constant.ok()) return constant.status();
  return std::move(constant->sql);
}

absl::StatusOr<std::string> RenderPlanSql(const v1::PlanResourcesResponse& plan,
                                          SqlDialect dialect,
                                          const ColumnMap& columns) {
  return RenderPlanSql(plan.kind(),
                       plan.has_condition() ? &plan.condition() : nullptr,
                       "condition", dialect, columns);
}

absl::StatusOr<std::string> FormatPlanCondition(
    const v1::PlanExpression& condition) {
  absl::StatusOr<NodeType> type = Validate(condition, "condition", 0);
  if (!type.ok()) return type.status();
  return Format(condition).text;
}

}  // namespace steward::client
