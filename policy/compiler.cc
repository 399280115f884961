// Lowering of a checked policy into a Program (see compiler.h, program.h).
#include "policy/compiler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/ast.h"
#include "policy/checker.h"
#include "policy/lint.h"
#include "policy/parser.h"
#include "policy/program_internal.h"
#include "policy/source.h"

namespace steward::policy {
namespace internal {

// Builds a Program from a CheckedPolicy. Friend of Program; lives only
// inside Compile().
class ProgramBuilder {
 public:
  ProgramBuilder(const std::vector<Source>& sources, const CheckedPolicy& in,
                 DiagnosticSink& sink)
      : sources_(sources), in_(in), sink_(sink) {}

  std::shared_ptr<const Program> Build() {
    auto p = std::make_shared<Program>(ProgramKey());
    program_ = p.get();
    CopySchema();
    CopyRoles();
    BuildBuckets();
    program_->tables_->tests = in_.tests;
    if (sink_.error_count() > 0) return nullptr;
    return p;
  }

 private:
  void CopySchema() {
    Program& p = *program_;
    ExecTables& x = p.tables_->exec;
    p.name_ = in_.name;
    p.principal_attributes_ = in_.principal_attributes;
    for (const auto& [name, slot] : in_.principal_slots) {
      p.principal_slots_.emplace(name, slot);
    }
    p.context_attributes_ = in_.context_attributes;
    for (const auto& [name, slot] : in_.context_slots) {
      x.context_slots.Insert(name, slot);
    }
    p.purposes_ = in_.purposes;
    for (const auto& [name, i] : in_.purpose_index) {
      x.purpose_index.Insert(name, i);
    }
    for (const auto& [name, i] : in_.action_index) {
      x.action_index.Insert(name, i);
    }
    x.resource_attribute_count =
        static_cast<int>(in_.resource_attribute_names.size());
    for (const KindSymbol& k : in_.kinds) {
      p.kinds_.push_back(k.info);
      x.kind_index.Insert(k.info.name, static_cast<int>(x.kinds.size()));
      KindExec ke;
      for (const auto& [name, slot] : k.attribute_slots) {
        ke.attribute_slots.Insert(name, slot);
      }
      for (const Program::AttributeDecl& a : k.info.attributes) {
        ke.attribute_global_slot.push_back(
            in_.resource_attribute_index.at(a.name));
      }
      for (const auto& [name, i] : k.field_index)
        ke.field_index.Insert(name, i);
      ke.action_bucket.assign(in_.actions.size(), -1);
      for (int a : k.actions) {
        const int32_t b = static_cast<int32_t>(x.buckets.size());
        ke.action_bucket[a] = b;
        x.kind_action_bucket.InsertPair(k.info.name, in_.actions[a], b);
        x.bucket_kind.push_back(static_cast<KindId>(x.kinds.size()));
        x.buckets.emplace_back();
      }
      x.kinds.push_back(std::move(ke));
    }
  }

  void CopyRoles() {
    Program& p = *program_;
    p.tables_->exec.role_words = (static_cast<int>(in_.roles.size()) + 63) / 64;
    for (const RoleSymbol& r : in_.roles) {
      Program::RoleInfo info;
      info.name = r.ast->name.name;
      info.description = r.ast->description;
      info.parents = r.parents;
      info.file = sources_[r.file].path();
      info.line = r.ast->name.loc.line;
      p.role_index_.emplace(info.name, static_cast<RoleId>(p.roles_.size()));
      p.roles_.push_back(std::move(info));
    }
    p.tables_->closures = in_.closures;
    p.separations_ = in_.separations;
  }

  static Program::RuleInfo Describe(const RuleSymbol& r, const Source& source) {
    const std::string& file = source.path();
    const RuleAst& a = *r.ast;
    Program::RuleInfo info;
    info.id = r.id;
    info.role = r.role;
    info.effect = a.allow ? Effect::kAllow : Effect::kDeny;
    info.all_actions = a.actions.star;
    for (const Ident& i : a.actions.names) info.actions.push_back(i.name);
    info.all_kinds = a.kinds.star;
    for (const Ident& i : a.kinds.names) info.kinds.push_back(i.name);
    info.fields_clause = !a.has_fields   ? FieldsClause::kNone
                         : a.fields.star ? FieldsClause::kAll
                                         : FieldsClause::kList;
    for (const Ident& i : a.fields.names) info.fields.push_back(i.name);
    for (const Ident& i : a.purposes) info.purposes.push_back(i.name);
    info.condition_mode = a.mode;
    info.condition_text = a.condition_text;
    info.file = file;
    info.line = a.loc.line;
    info.column = a.loc.column;
    info.source_line = std::string(source.Line(a.loc.line));
    return info;
  }

  void BuildBuckets() {
    Program& p = *program_;
    ExecTables& x = p.tables_->exec;
    for (int ri = 0; ri < static_cast<int>(in_.rules.size()); ++ri) {
      const RuleSymbol& r = in_.rules[ri];
      p.rules_.push_back(Describe(r, sources_[r.file]));
      p.rule_index_.emplace(r.id, ri);
      int32_t condition = -1;
      if (r.ast->condition != nullptr) {
        condition = Lower(*r.ast->condition);
        if (condition < 0) continue;
      }
      for (const RuleCoverage& c : r.coverage) {
        for (int action : c.actions) {
          const int32_t b = x.kinds[c.kind].action_bucket[action];
          if (b < 0) continue;  // checker guarantees declared actions
          Bucket& bucket = x.buckets[b];
          BucketRule br;
          br.rule = ri;
          br.role = r.role;
          br.purposes = r.purposes;
          br.requires_purpose = !r.ast->purposes.empty();
          br.condition = condition;
          br.unless = r.ast->mode == ConditionMode::kUnless;
          br.fields = c.fields;
          if (condition >= 0) bucket.has_conditions = true;
          if (bucket.any_role.empty()) bucket.any_role.assign(x.role_words, 0);
          bucket.any_role[r.role >> 6] |= uint64_t{1} << (r.role & 63);
          if (r.ast->allow) {
            bucket.allows.push_back(br);
          } else if (r.ast->has_fields) {
            bucket.field_denies.push_back(br);
          } else {
            bucket.denies.push_back(br);
          }
        }
      }
    }
    // any_role needs only the rules' own roles: the evaluator's effective
    // role set already contains every ancestor of a bound role.
  }

  // ---- Conditions to postfix code -----------------------------------------

  Operand LeafOperand(const Expr& e) {
    Operand o;
    switch (e.kind) {
      case ExprKind::kString:
        o.source = OperandSource::kConst;
        o.index = AddConstant(OwnedValue::String(e.string_value));
        return o;
      case ExprKind::kInt:
        o.source = OperandSource::kConst;
        o.index = AddConstant(OwnedValue::Int(e.int_value));
        return o;
      case ExprKind::kBool:
        o.source = OperandSource::kConst;
        o.index = AddConstant(OwnedValue::Bool(e.bool_value));
        return o;
      default:
        break;
    }
    switch (e.target) {
      case RefTarget::kPrincipalId:
        o.source = OperandSource::kPrincipalId;
        break;
      case RefTarget::kResourceId:
        o.source = OperandSource::kResourceId;
        break;
      case RefTarget::kResourceScope:
        o.source = OperandSource::kResourceScope;
        break;
      case RefTarget::kPrincipalAttr:
        o.source = OperandSource::kPrincipalAttr;
        break;
      case RefTarget::kResourceAttr:
        o.source = OperandSource::kResourceAttr;
        break;
      case RefTarget::kContextAttr:
        o.source = OperandSource::kContextAttr;
        break;
      case RefTarget::kUnresolved:
        break;
    }
    o.index = e.slot;
    return o;
  }

  int32_t AddConstant(OwnedValue v) {
    program_->tables_->exec.constants.push_back(std::move(v));
    return static_cast<int32_t>(program_->tables_->exec.constants.size() - 1);
  }

  // Emits `e`; tracks the tri-value stack depth. Recursion is bounded by the
  // parser's nesting limit.
  bool Emit(const Expr& e, int* depth, int* max_depth) {
    std::vector<Instr>& code = program_->tables_->exec.code;
    auto push = [&](Instr in, int delta) {
      code.push_back(in);
      *depth += delta;
      *max_depth = std::max(*max_depth, *depth);
    };
    Instr in;
    switch (e.kind) {
      case ExprKind::kBool:
        in.op = OpCode::kPushConst;
        in.a.index = e.bool_value ? 1 : 0;
        push(in, 1);
        return true;
      case ExprKind::kRef:
        in.op = OpCode::kPushBool;
        in.a = LeafOperand(e);
        push(in, 1);
        return true;
      case ExprKind::kHas:
        in.op = OpCode::kHas;
        in.a = LeafOperand(*e.children[0]);
        push(in, 1);
        return true;
      case ExprKind::kNot:
        if (!Emit(*e.children[0], depth, max_depth)) return false;
        in.op = OpCode::kNot;
        push(in, 0);
        return true;
      case ExprKind::kAnd:
      case ExprKind::kOr:
        // n-ary in the AST, binary on the stack: c0 c1 OP c2 OP ...
        if (!Emit(*e.children[0], depth, max_depth)) return false;
        in.op = e.kind == ExprKind::kAnd ? OpCode::kAnd : OpCode::kOr;
        for (size_t i = 1; i < e.children.size(); ++i) {
          if (!Emit(*e.children[i], depth, max_depth)) return false;
          push(in, -1);
        }
        return true;
      case ExprKind::kCompare: {
        const Expr& l = *e.children[0];
        const Expr& r = *e.children[1];
        if (l.type == ValueType::kBool) {
          if (!Emit(l, depth, max_depth)) return false;
          if (!Emit(r, depth, max_depth)) return false;
          in.op = e.op == CompareOp::kEq ? OpCode::kEqBool : OpCode::kNeBool;
          push(in, -1);
          return true;
        }
        in.op = OpCode::kCompare;
        in.cmp = static_cast<CmpOp>(e.op);
        in.type = l.type;
        in.a = LeafOperand(l);
        in.b = LeafOperand(r);
        push(in, 1);
        return true;
      }
      case ExprKind::kIn: {
        const Expr& l = *e.children[0];
        const Expr& r = *e.children[1];
        in.a = LeafOperand(l);
        if (r.kind == ExprKind::kList) {
          in.op = OpCode::kInList;
          std::vector<std::string> values = r.list_values;
          std::sort(values.begin(), values.end());
          values.erase(std::unique(values.begin(), values.end()), values.end());
          program_->tables_->exec.constant_lists.push_back(std::move(values));
          in.b.index = static_cast<int32_t>(
              program_->tables_->exec.constant_lists.size() - 1);
        } else {
          in.op = OpCode::kInSet;
          in.b = LeafOperand(r);
        }
        push(in, 1);
        return true;
      }
      case ExprKind::kString:
      case ExprKind::kInt:
      case ExprKind::kList:
        break;  // the checker rejects non-bool conditions
    }
    return false;
  }

  int32_t Lower(const Expr& e) {
    ExecTables& x = program_->tables_->exec;
    if (x.constants.empty()) {
      // Constants 0 and 1 are the bool literals kPushConst refers to.
      x.constants.push_back(OwnedValue::Bool(false));
      x.constants.push_back(OwnedValue::Bool(true));
    }
    Condition c;
    c.begin = static_cast<int32_t>(x.code.size());
    int depth = 0;
    int max_depth = 0;
    if (!Emit(e, &depth, &max_depth) || depth != 1) {
      sink_.Error(e.loc, "internal error: could not compile condition");
      return -1;
    }
    if (max_depth > kMaxConditionStack) {
      sink_.Error(
          e.loc, absl::StrCat("condition is too complex (needs ", max_depth,
                              " stack slots, limit ", kMaxConditionStack, ")"));
      return -1;
    }
    c.end = static_cast<int32_t>(x.code.size());
    x.conditions.push_back(c);
    return static_cast<int32_t>(x.conditions.size() - 1);
  }

  const std::vector<Source>& sources_;
  const CheckedPolicy& in_;
  DiagnosticSink& sink_;
  Program* program_ = nullptr;
};

}  // namespace internal

CompileResult Compile(absl::Span<const SourceFile> files,
                      const CompileOptions& options) {
  CompileResult result;
  std::vector<internal::Source> sources;
  size_t total = 0;
  for (const SourceFile& f : files) {
    total += f.text.size();
    sources.emplace_back(f.path, f.text);
  }
  internal::DiagnosticSink sink(&sources);
  if (total > options.max_source_bytes) {
    sink.Error(
        internal::Location{files.empty() ? -1 : 0, 1, 1},
        absl::StrCat("policy source is ", total, " bytes, over the limit of ",
                     options.max_source_bytes));
    result.diagnostics = std::move(sink.diagnostics());
    return result;
  }
  internal::ParseOptions parse_options;
  parse_options.max_nesting_depth = options.max_nesting_depth;
  std::vector<internal::FileAst> asts;
  for (int i = 0; i < static_cast<int>(sources.size()); ++i) {
    asts.push_back(internal::Parse(sources, i, parse_options, sink));
  }
  // Check even after parse errors: the checker reports undeclared names in
  // what did parse, which is what "several errors in one pass" asks.
  internal::CheckOptions check_options;
  check_options.max_rules = options.max_rules;
  check_options.max_roles = options.max_roles;
  internal::CheckedPolicy checked =
      internal::Check(sources, asts, check_options, sink);
  std::shared_ptr<const Program> program;
  if (sink.error_count() == 0) {
    internal::ProgramBuilder builder(sources, checked, sink);
    program = builder.Build();
  }
  if (program != nullptr && options.lint) {
    for (Diagnostic& d : Lint(*program)) {
      if (options.strict) d.severity = Severity::kError;
      result.diagnostics.push_back(std::move(d));
    }
    if (options.strict && HasErrors(result.diagnostics)) program = nullptr;
  }
  for (Diagnostic& d : sink.diagnostics()) {
    result.diagnostics.push_back(std::move(d));
  }
  // Stable order: file (as given), line, column.
  std::vector<std::string> order;
  for (const SourceFile& f : files) order.push_back(f.path);
  auto file_rank = [&order](const std::string& path) {
    return std::find(order.begin(), order.end(), path) - order.begin();
  };
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) {
                     const auto fa = file_rank(a.file);
                     const auto fb = file_rank(b.file);
                     if (fa != fb) return fa < fb;
                     if (a.line != b.line) return a.line < b.line;
                     return a.column < b.column;
                   });
  if (HasErrors(result.diagnostics)) program = nullptr;
  result.program = std::move(program);
  return result;
}

}  // namespace steward::policy
