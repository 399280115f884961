// Recursive-descent parser (see parser.h).
#include "policy/parser.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/lexer.h"

namespace steward::policy::internal {
namespace {

// Thrown-free error signalling: a failed production returns false and the
// caller resynchronizes.
class Parser {
 public:
  Parser(const std::vector<Source>& sources, int file_index,
         const ParseOptions& options, DiagnosticSink& sink)
      : source_(sources[file_index]),
        file_index_(file_index),
        options_(options),
        sink_(sink),
        tokens_(Lex(source_.text())) {}

  FileAst ParseFile() {
    FileAst file;
    while (!At(TokenKind::kEnd)) {
      const size_t start = pos_;
      if (!ParseTopLevel(file)) SyncTopLevel(start);
    }
    return file;
  }

 private:
  const Token& Peek(int ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  bool At(TokenKind kind) const { return Peek().kind == kind; }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool Accept(TokenKind kind) {
    if (!At(kind)) return false;
    Next();
    return true;
  }
  Location Loc(const Token& t) const {
    return source_.LocationOf(file_index_, t.offset);
  }
  Location Here() const { return Loc(Peek()); }

  // Reports an error at the current token. A lexical error token reports
  // its own message instead, since it is the real cause.
  bool ErrorHere(absl::string_view expected) {
    const Token& t = Peek();
    if (t.kind == TokenKind::kError) {
      sink_.Error(Loc(t), t.text);
    } else {
      std::string got = TokenKindName(t.kind);
      if (t.kind == TokenKind::kIdentifier) {
        got = absl::StrCat("identifier '", t.text, "'");
      }
      sink_.Error(Loc(t), absl::StrCat("expected ", expected, ", got ", got));
    }
    return false;
  }
  bool Expect(TokenKind kind, absl::string_view what = "") {
    if (Accept(kind)) return true;
    return ErrorHere(what.empty() ? TokenKindName(kind) : std::string(what));
  }
  bool ParseIdent(Ident* out, absl::string_view what) {
    if (!At(TokenKind::kIdentifier)) return ErrorHere(what);
    const Token& t = Next();
    out->name = t.text;
    out->loc = Loc(t);
    return true;
  }
  bool ParseString(std::string* out, absl::string_view what) {
    if (!At(TokenKind::kString)) return ErrorHere(what);
    *out = Next().text;
    return true;
  }

  static bool IsTopLevel(TokenKind k) {
    switch (k) {
      case TokenKind::kPolicy:
      case TokenKind::kPrincipal:
      case TokenKind::kContext:
      case TokenKind::kPurposes:
      case TokenKind::kResource:
      case TokenKind::kRole:
      case TokenKind::kSeparate:
      case TokenKind::kTest:
      case TokenKind::kEnd:
        return true;
      default:
        return false;
    }
  }
  // A top-level keyword at the start of a line: safe place to resume.
  bool AtTopLevelStart() const {
    if (!IsTopLevel(Peek().kind)) return false;
    if (At(TokenKind::kEnd)) return true;
    // `principal` and `context` also start references inside expressions;
    // only a keyword followed by something other than '.' starts a block.
    return Peek(1).kind != TokenKind::kDot;
  }
  // Skips at least the token where the failed production started, so the
  // loop always progresses, but never past a safe point the production
  // stopped at (that is where the next declaration begins).
  void SyncTopLevel(size_t start) {
    if (pos_ == start) Next();
    while (!AtTopLevelStart()) Next();
  }
  // Inside a block of statements (rules, test steps): skip to the next
  // statement keyword, the closing brace, or a top-level declaration.
  void SyncStatement(TokenKind a, TokenKind b, size_t start) {
    if (pos_ == start && !At(TokenKind::kEnd) && !At(TokenKind::kRBrace)) {
      Next();
    }
    while (!At(a) && !At(b) && !At(TokenKind::kRBrace) && !AtTopLevelStart()) {
      Next();
    }
  }

  bool ParseTopLevel(FileAst& file) {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kPolicy: {
        Next();
        Ident name;
        if (!ParseIdent(&name, "policy name")) return false;
        if (file.policy_name.has_value()) {
          sink_.Error(name.loc, "duplicate 'policy' name declaration");
        }
        file.policy_name = std::move(name);
        return true;
      }
      case TokenKind::kPrincipal:
        Next();
        return ParseAttributeBlock(&file.principal_attributes);
      case TokenKind::kContext:
        Next();
        return ParseAttributeBlock(&file.context_attributes);
      case TokenKind::kPurposes:
        Next();
        return ParseIdentBlock(&file.purposes, "purpose name");
      case TokenKind::kResource:
        return ParseResource(file);
      case TokenKind::kRole:
        return ParseRole(file);
      case TokenKind::kSeparate:
        return ParseSeparate(file);
      case TokenKind::kTest:
        return ParseTest(file);
      default:
        return ErrorHere(
            "a declaration ('policy', 'principal', 'context', 'purposes', "
            "'resource', 'role', 'separate' or 'test')");
    }
  }

  bool ParseType(TypeRef* out) {
    if (!At(TokenKind::kIdentifier)) {
      return ErrorHere("a type (string, int, bool, set<string>)");
    }
    const std::string& name = Peek().text;
    if (name == "string") {
      out->type = ValueType::kString;
    } else if (name == "int") {
      out->type = ValueType::kInt;
    } else if (name == "bool") {
      out->type = ValueType::kBool;
    } else if (name == "set") {
      Next();
      if (!Expect(TokenKind::kLess)) return false;
      if (!At(TokenKind::kIdentifier) || Peek().text != "string") {
        return ErrorHere("'string' (only set<string> exists)");
      }
      Next();
      if (!Expect(TokenKind::kGreater)) return false;
      out->type = ValueType::kStringSet;
      out->optional = Accept(TokenKind::kQuestion);
      return true;
    } else {
      return ErrorHere("a type (string, int, bool, set<string>)");
    }
    Next();
    out->optional = Accept(TokenKind::kQuestion);
    return true;
  }

  bool ParseAttributeBlock(std::vector<AttributeAst>* out) {
    if (!Expect(TokenKind::kLBrace)) return false;
    while (!Accept(TokenKind::kRBrace)) {
      AttributeAst attr;
      if (!ParseIdent(&attr.name, "attribute name or '}'")) return false;
      if (!Expect(TokenKind::kColon)) return false;
      if (!ParseType(&attr.type)) return false;
      out->push_back(std::move(attr));
      Accept(TokenKind::kComma);
    }
    return true;
  }

  bool ParseIdentBlock(std::vector<Ident>* out, absl::string_view what) {
    if (!Expect(TokenKind::kLBrace)) return false;
    while (!Accept(TokenKind::kRBrace)) {
      Ident id;
      if (!ParseIdent(&id, absl::StrCat(what, " or '}'"))) return false;
      out->push_back(std::move(id));
      Accept(TokenKind::kComma);
    }
    return true;
  }

  bool ParseResource(FileAst& file) {
    Next();  // resource
    ResourceAst res;
    if (!ParseIdent(&res.name, "resource kind name")) return false;
    if (!Expect(TokenKind::kLBrace)) return false;
    while (!Accept(TokenKind::kRBrace)) {
      if (Accept(TokenKind::kAttributes)) {
        if (!ParseAttributeBlock(&res.attributes)) return false;
      } else if (Accept(TokenKind::kFields)) {
        if (!Expect(TokenKind::kLBrace)) return false;
        while (!Accept(TokenKind::kRBrace)) {
          FieldAst field;
          if (!ParseIdent(&field.name, "field name or '}'")) return false;
          field.pii = Accept(TokenKind::kPii);
          res.fields.push_back(std::move(field));
          Accept(TokenKind::kComma);
        }
      } else if (Accept(TokenKind::kActions)) {
        if (!ParseIdentBlock(&res.actions, "action name")) return false;
      } else {
        return ErrorHere("'attributes', 'fields', 'actions' or '}'");
      }
    }
    file.resources.push_back(std::move(res));
    return true;
  }

  bool ParseRole(FileAst& file) {
    Next();  // role
    RoleAst role;
    if (!ParseIdent(&role.name, "role name")) return false;
    if (At(TokenKind::kString)) role.description = Next().text;
    if (Accept(TokenKind::kExtends)) {
      do {
        Ident parent;
        if (!ParseIdent(&parent, "parent role name")) return false;
        role.parents.push_back(std::move(parent));
      } while (Accept(TokenKind::kComma));
    }
    if (role.description.empty() && At(TokenKind::kString)) {
      role.description = Next().text;
    }
    if (!Expect(TokenKind::kLBrace)) return false;
    while (!Accept(TokenKind::kRBrace)) {
      if (AtTopLevelStart()) {
        ErrorHere(absl::StrCat("'}' to close role '", role.name.name, "'"));
        file.roles.push_back(std::move(role));
        return true;  // already at a safe point
      }
      RuleAst rule;
      const size_t start = pos_;
      if (ParseRule(&rule)) {
        role.rules.push_back(std::move(rule));
      } else {
        SyncStatement(TokenKind::kAllow, TokenKind::kDeny, start);
      }
    }
    file.roles.push_back(std::move(role));
    return true;
  }

  bool ParseNameList(NameList* out, absl::string_view what) {
    if (At(TokenKind::kStar)) {
      out->star = true;
      out->star_loc = Loc(Next());
      return true;
    }
    do {
      Ident id;
      if (!ParseIdent(&id, absl::StrCat(what, " or '*'"))) return false;
      out->names.push_back(std::move(id));
    } while (Accept(TokenKind::kComma));
    return true;
  }

  bool ParseRule(RuleAst* rule) {
    rule->loc = Here();
    if (Accept(TokenKind::kAllow)) {
      rule->allow = true;
    } else if (Accept(TokenKind::kDeny)) {
      rule->allow = false;
    } else {
      return ErrorHere("'allow', 'deny' or '}'");
    }
    if (!ParseNameList(&rule->actions, "action name")) return false;
    if (!Expect(TokenKind::kOn)) return false;
    if (!ParseNameList(&rule->kinds, "resource kind")) return false;
    bool seen_for = false;
    while (true) {
      if (At(TokenKind::kFields)) {
        const Location loc = Loc(Next());
        if (rule->has_fields) sink_.Error(loc, "duplicate 'fields' clause");
        rule->has_fields = true;
        if (!Expect(TokenKind::kLBrace)) return false;
        if (At(TokenKind::kStar)) {
          rule->fields.star = true;
          rule->fields.star_loc = Loc(Next());
          if (!Expect(TokenKind::kRBrace)) return false;
        } else {
          if (!ParseIdentBlockBody(&rule->fields.names, "field name")) {
            return false;
          }
        }
      } else if (At(TokenKind::kFor)) {
        const Location loc = Loc(Next());
        if (seen_for) sink_.Error(loc, "duplicate 'for' clause");
        seen_for = true;
        do {
          Ident p;
          if (!ParseIdent(&p, "purpose name")) return false;
          rule->purposes.push_back(std::move(p));
        } while (Accept(TokenKind::kComma));
      } else if (At(TokenKind::kAs)) {
        Next();
        Ident label;
        label.loc = Here();
        if (!ParseString(&label.name, "rule label string")) return false;
        if (rule->label.has_value()) {
          sink_.Error(label.loc, "duplicate 'as' label");
        }
        rule->label = std::move(label);
      } else {
        break;
      }
    }
    if (At(TokenKind::kWhen) || At(TokenKind::kUnless)) {
      rule->mode = Next().kind == TokenKind::kWhen ? ConditionMode::kWhen
                                                   : ConditionMode::kUnless;
      depth_ = 0;
      rule->condition = ParseOr();
      if (rule->condition == nullptr) return false;
      rule->condition_text =
          std::string(absl::string_view(source_.text())
                          .substr(rule->condition->begin_offset,
                                  rule->condition->end_offset -
                                      rule->condition->begin_offset));
    }
    if (!At(TokenKind::kAllow) && !At(TokenKind::kDeny) &&
        !At(TokenKind::kRBrace) && !AtTopLevelStart()) {
      return ErrorHere(rule->mode == ConditionMode::kNone
                           ? "'fields', 'for', 'as', 'when', 'unless' or the "
                             "next rule"
                           : "an operator or the next rule");
    }
    return true;
  }

  // After '{': names separated by optional commas, then '}'.
  bool ParseIdentBlockBody(std::vector<Ident>* out, absl::string_view what) {
    while (!Accept(TokenKind::kRBrace)) {
      Ident id;
      if (!ParseIdent(&id, absl::StrCat(what, " or '}'"))) return false;
      out->push_back(std::move(id));
      Accept(TokenKind::kComma);
    }
    return true;
  }

  bool ParseSeparate(FileAst& file) {
    SeparateAst sep;
    sep.loc = Loc(Next());
    do {
      Ident id;
      if (!ParseIdent(&id, "role name")) return false;
      sep.roles.push_back(std::move(id));
    } while (Accept(TokenKind::kComma));
    if (sep.roles.size() < 2) {
      sink_.Error(sep.loc, "'separate' needs at least two roles");
    }
    file.separates.push_back(std::move(sep));
    return true;
  }

  // ---- Expressions ---------------------------------------------------------

  std::unique_ptr<Expr> MakeExpr(ExprKind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->loc = Loc(at);
    e->begin_offset = at.offset;
    e->end_offset = at.offset + at.length;
    return e;
  }
  std::unique_ptr<Expr> Binary(ExprKind kind, std::unique_ptr<Expr> lhs,
                               std::unique_ptr<Expr> rhs) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->loc = lhs->loc;
    e->begin_offset = lhs->begin_offset;
    e->end_offset = rhs->end_offset;
    e->children.push_back(std::move(lhs));
    e->children.push_back(std::move(rhs));
    return e;
  }
  // Bounds recursion: every recursive production (a parenthesis, a `!`)
  // enters through here, so the limit counts exactly the nesting the
  // language reference documents.
  bool Enter() {
    if (++depth_ > options_.max_nesting_depth) {
      sink_.Error(Here(),
                  absl::StrCat("expression nesting exceeds the limit of ",
                               options_.max_nesting_depth));
      return false;
    }
    return true;
  }

  // `a || b || c` is one n-ary node, not a left-deep tree: a chain of any
  // length costs no recursion here or in the passes that walk the AST.
  std::unique_ptr<Expr> NAry(ExprKind kind, TokenKind op,
                             std::unique_ptr<Expr> (Parser::*operand)()) {
    auto first = (this->*operand)();
    if (first == nullptr || !At(op)) return first;
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->loc = first->loc;
    e->begin_offset = first->begin_offset;
    e->children.push_back(std::move(first));
    while (Accept(op)) {
      auto next = (this->*operand)();
      if (next == nullptr) return nullptr;
      e->children.push_back(std::move(next));
    }
    e->end_offset = e->children.back()->end_offset;
    return e;
  }
  std::unique_ptr<Expr> ParseOr() {
    return NAry(ExprKind::kOr, TokenKind::kOrOr, &Parser::ParseAnd);
  }
  std::unique_ptr<Expr> ParseAnd() {
    return NAry(ExprKind::kAnd, TokenKind::kAndAnd, &Parser::ParseNot);
  }
  std::unique_ptr<Expr> ParseNot() {
    if (At(TokenKind::kBang)) {
      if (!Enter()) return nullptr;
      auto e = MakeExpr(ExprKind::kNot, Next());
      auto operand = ParseNot();
      --depth_;
      if (operand == nullptr) return nullptr;
      e->end_offset = operand->end_offset;
      e->children.push_back(std::move(operand));
      return e;
    }
    return ParseCompare();
  }
  std::unique_ptr<Expr> ParseCompare() {
    auto lhs = ParsePrimary();
    if (lhs == nullptr) return nullptr;
    CompareOp op;
    switch (Peek().kind) {
      case TokenKind::kEqEq:
        op = CompareOp::kEq;
        break;
      case TokenKind::kNotEq:
        op = CompareOp::kNe;
        break;
      case TokenKind::kLess:
        op = CompareOp::kLt;
        break;
      case TokenKind::kLessEq:
        op = CompareOp::kLe;
        break;
      case TokenKind::kGreater:
        op = CompareOp::kGt;
        break;
      case TokenKind::kGreaterEq:
        op = CompareOp::kGe;
        break;
      case TokenKind::kIn: {
        Next();
        auto rhs = ParsePrimary();
        if (rhs == nullptr) return nullptr;
        return Binary(ExprKind::kIn, std::move(lhs), std::move(rhs));
      }
      default:
        return lhs;
    }
    Next();
    auto rhs = ParsePrimary();
    if (rhs == nullptr) return nullptr;
    auto e = Binary(ExprKind::kCompare, std::move(lhs), std::move(rhs));
    e->op = op;
    return e;
  }
  std::unique_ptr<Expr> ParseRef() {
    const Token& t = Peek();
    RefRoot root;
    if (t.kind == TokenKind::kPrincipal) {
      root = RefRoot::kPrincipal;
    } else if (t.kind == TokenKind::kResource) {
      root = RefRoot::kResource;
    } else if (t.kind == TokenKind::kContext) {
      root = RefRoot::kContext;
    } else {
      ErrorHere("a reference (principal.x, resource.x or context.x)");
      return nullptr;
    }
    auto e = MakeExpr(ExprKind::kRef, Next());
    e->root = root;
    if (!Expect(TokenKind::kDot)) return nullptr;
    // Member names may be keywords (resource.scope).
    const Token& m = Peek();
    if (m.kind != TokenKind::kIdentifier && !IsKeyword(m.kind)) {
      ErrorHere("attribute name");
      return nullptr;
    }
    Next();
    e->member.name = m.text;
    e->member.loc = Loc(m);
    e->end_offset = m.offset + m.length;
    return e;
  }
  std::unique_ptr<Expr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kString: {
        auto e = MakeExpr(ExprKind::kString, Next());
        e->string_value = t.text;
        return e;
      }
      case TokenKind::kInt: {
        auto e = MakeExpr(ExprKind::kInt, Next());
        e->int_value = t.int_value;
        return e;
      }
      case TokenKind::kTrue:
      case TokenKind::kFalse: {
        auto e = MakeExpr(ExprKind::kBool, Next());
        e->bool_value = t.kind == TokenKind::kTrue;
        return e;
      }
      case TokenKind::kLBracket: {
        auto e = MakeExpr(ExprKind::kList, Next());
        while (!At(TokenKind::kRBracket)) {
          if (!At(TokenKind::kString)) {
            ErrorHere("string literal or ']' (lists hold strings)");
            return nullptr;
          }
          e->list_values.push_back(Next().text);
          if (!Accept(TokenKind::kComma)) break;
        }
        const Token& close = Peek();
        if (!Expect(TokenKind::kRBracket)) return nullptr;
        e->end_offset = close.offset + close.length;
        return e;
      }
      case TokenKind::kHas: {
        auto e = MakeExpr(ExprKind::kHas, Next());
        if (!Expect(TokenKind::kLParen)) return nullptr;
        auto ref = ParseRef();
        if (ref == nullptr) return nullptr;
        const Token& close = Peek();
        if (!Expect(TokenKind::kRParen)) return nullptr;
        e->end_offset = close.offset + close.length;
        e->children.push_back(std::move(ref));
        return e;
      }
      case TokenKind::kLParen: {
        const Token& open = Next();
        if (!Enter()) return nullptr;
        auto inner = ParseOr();
        if (inner == nullptr) return nullptr;
        --depth_;
        const Token& close = Peek();
        if (!Expect(TokenKind::kRParen)) return nullptr;
        inner->begin_offset = open.offset;
        inner->end_offset = close.offset + close.length;
        return inner;
      }
      case TokenKind::kPrincipal:
      case TokenKind::kResource:
      case TokenKind::kContext:
        return ParseRef();
      default:
        ErrorHere("an expression");
        return nullptr;
    }
  }

  // ---- Tests ---------------------------------------------------------------

  bool ParseLiteral(LiteralAst* out) {
    const Token& t = Peek();
    out->loc = Loc(t);
    switch (t.kind) {
      case TokenKind::kString:
        out->type = ValueType::kString;
        out->string_value = Next().text;
        return true;
      case TokenKind::kInt:
        out->type = ValueType::kInt;
        out->int_value = Next().int_value;
        return true;
      case TokenKind::kTrue:
      case TokenKind::kFalse:
        out->type = ValueType::kBool;
        out->bool_value = Next().kind == TokenKind::kTrue;
        return true;
      case TokenKind::kLBracket:
        Next();
        out->type = ValueType::kStringSet;
        while (!At(TokenKind::kRBracket)) {
          std::string s;
          if (!ParseString(&s, "string literal or ']'")) return false;
          out->list_values.push_back(std::move(s));
          if (!Accept(TokenKind::kComma)) break;
        }
        return Expect(TokenKind::kRBracket);
      default:
        return ErrorHere("a literal value");
    }
  }

  // After '{': `name: literal` pairs, optional commas, then '}'.
  bool ParseNamedLiterals(std::vector<NamedLiteral>* out) {
    while (!Accept(TokenKind::kRBrace)) {
      NamedLiteral nl;
      const Token& t = Peek();
      if (t.kind != TokenKind::kIdentifier && !IsKeyword(t.kind)) {
        return ErrorHere("attribute name or '}'");
      }
      Next();
      nl.name.name = t.text;
      nl.name.loc = Loc(t);
      if (!Expect(TokenKind::kColon)) return false;
      if (!ParseLiteral(&nl.value)) return false;
      out->push_back(std::move(nl));
      Accept(TokenKind::kComma);
    }
    return true;
  }

  bool ParseGiven(GivenAst* g) {
    g->loc = Loc(Next());  // given
    if (!Expect(TokenKind::kPrincipal)) return false;
    if (!ParseString(&g->principal_id, "principal id string")) return false;
    while (true) {
      if (Accept(TokenKind::kRoles)) {
        if (!Expect(TokenKind::kLBrace)) return false;
        while (!Accept(TokenKind::kRBrace)) {
          BindingAst b;
          if (!ParseIdent(&b.role, "role name or '}'")) return false;
          if (Accept(TokenKind::kScope)) {
            if (!ParseString(&b.scope, "scope string")) return false;
          }
          g->roles.push_back(std::move(b));
          Accept(TokenKind::kComma);
        }
      } else if (Accept(TokenKind::kAttributes)) {
        if (!Expect(TokenKind::kLBrace)) return false;
        if (!ParseNamedLiterals(&g->attributes)) return false;
      } else {
        return true;
      }
    }
  }

  bool ParseExpect(ExpectAst* x) {
    x->loc = Loc(Next());  // expect
    if (Accept(TokenKind::kAllow)) {
      x->allow = true;
    } else if (Accept(TokenKind::kDeny)) {
      x->allow = false;
    } else {
      return ErrorHere("'allow' or 'deny'");
    }
    if (!ParseIdent(&x->action, "action name")) return false;
    if (!Expect(TokenKind::kOn)) return false;
    if (!ParseIdent(&x->kind, "resource kind")) return false;
    if (!ParseString(&x->resource_id, "resource id string")) return false;
    while (true) {
      if (Accept(TokenKind::kScope)) {
        if (!ParseString(&x->scope, "scope string")) return false;
      } else if (Accept(TokenKind::kFields)) {
        if (!Expect(TokenKind::kLBrace)) return false;
        if (!ParseIdentBlockBody(&x->fields, "field name")) return false;
      } else if (Accept(TokenKind::kFor)) {
        Ident p;
        if (!ParseIdent(&p, "purpose name")) return false;
        x->purpose = std::move(p);
      } else if (Accept(TokenKind::kLBrace)) {
        if (!ParseNamedLiterals(&x->resource_attributes)) return false;
      } else if (Accept(TokenKind::kContext)) {
        if (!Expect(TokenKind::kLBrace)) return false;
        if (!ParseNamedLiterals(&x->context)) return false;
      } else {
        return true;
      }
    }
  }

  bool ParseTest(FileAst& file) {
    TestAst test;
    test.loc = Loc(Next());  // test
    if (!ParseString(&test.name, "test name string")) return false;
    if (!Expect(TokenKind::kLBrace)) return false;
    while (!Accept(TokenKind::kRBrace)) {
      if (AtTopLevelStart()) {
        ErrorHere(absl::StrCat("'}' to close test \"", test.name, "\""));
        file.tests.push_back(std::move(test));
        return true;
      }
      TestStepAst step;
      const size_t start = pos_;
      bool ok;
      if (At(TokenKind::kGiven)) {
        step.given.emplace();
        ok = ParseGiven(&*step.given);
      } else if (At(TokenKind::kExpect)) {
        step.expect.emplace();
        ok = ParseExpect(&*step.expect);
      } else {
        ok = ErrorHere("'given', 'expect' or '}'");
      }
      if (ok) {
        test.steps.push_back(std::move(step));
      } else {
        SyncStatement(TokenKind::kGiven, TokenKind::kExpect, start);
      }
    }
    file.tests.push_back(std::move(test));
    return true;
  }

  const Source& source_;
  const int file_index_;
  const ParseOptions& options_;
  DiagnosticSink& sink_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

FileAst Parse(const std::vector<Source>& sources, int file_index,
              const ParseOptions& options, DiagnosticSink& sink) {
  Parser parser(sources, file_index, options, sink);
  return parser.ParseFile();
}

}  // namespace steward::policy::internal
