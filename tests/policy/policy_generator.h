// Seeded random policies for the policy property tests (property_test.cc,
// plan_test.cc): three kinds with overlapping actions, fields with PII,
// purposes, a context block, roles with `extends`, and random conditions
// over every operand source and operator of the language. Test support
// only.
#ifndef STEWARD_TESTS_POLICY_POLICY_GENERATOR_H_
#define STEWARD_TESTS_POLICY_POLICY_GENERATOR_H_

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::policy::testing {

// ---- Random policy generation ----------------------------------------------

struct KindSpec {
  std::string name;
  std::vector<std::string> actions;
  bool has_fields;
};

inline const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kinds = {{"k0", {"a0", "a1", "a2"}, true},
                                              {"k1", {"a1", "a2", "a3"}, true},
                                              {"k2", {"a0", "a3"}, false}};
  return kinds;
}

inline const std::vector<std::string> kFields = {"f0", "f1", "f2",
                                                 "f3"};  // f2,f3 pii
inline const std::vector<std::string> kStrings = {"x", "y", "z"};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  // When set, compound conditions are much more often an equality of two
  // boolean expressions (`(a && b) == (c)`), the rarest shape otherwise.
  // Off by default, which keeps the sequence of every seed unchanged.
  bool favor_boolean_equalities = false;

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Pick(100) < percent; }
  const std::string& Of(const std::vector<std::string>& v) {
    return v[Pick(static_cast<int>(v.size()))];
  }

  std::string Policy() {
    std::string out =
        "principal { ps: string  pn: int  pb: bool  pset: set<string>  po: "
        "string? }\n"
        "context { cb: bool  cs: string }\n"
        "purposes { p0, p1, p2 }\n";
    for (const KindSpec& k : Kinds()) {
      absl::StrAppend(&out, "resource ", k.name,
                      " {\n  attributes { rs: string, rn: int, rb: bool, "
                      "rset: set<string> }\n");
      if (k.has_fields) {
        absl::StrAppend(&out, "  fields { f0, f1, f2 pii, f3 pii }\n");
      }
      absl::StrAppend(&out, "  actions { ", absl::StrJoin(k.actions, ", "),
                      " }\n}\n");
    }
    const int roles = 1 + Pick(6);
    int label = 0;
    for (int r = 0; r < roles; ++r) {
      absl::StrAppend(&out, "role R", r);
      if (r > 0 && Chance(40)) {
        absl::StrAppend(&out, " extends R", Pick(r));
        if (r > 1 && Chance(30)) absl::StrAppend(&out, ", R", Pick(r));
      }
      absl::StrAppend(&out, " {\n");
      const int rules = Pick(5);
      for (int i = 0; i < rules; ++i) {
        absl::StrAppend(&out, "  ", Rule(&label), "\n");
      }
      absl::StrAppend(&out, "}\n");
    }
    return out;
  }

  std::string Rule(int* label) {
    std::string out = Chance(30) ? "deny " : "allow ";
    // Kinds first, then actions valid for them.
    std::vector<const KindSpec*> kinds;
    const bool star_kinds = Chance(25);
    if (!star_kinds) {
      for (const KindSpec& k : Kinds()) {
        if (Chance(45)) kinds.push_back(&k);
      }
      if (kinds.empty()) kinds.push_back(&Kinds()[Pick(3)]);
    }
    std::vector<std::string> candidates;
    if (star_kinds) {
      candidates = {"a0", "a1", "a2", "a3"};
    } else {
      candidates = kinds[0]->actions;
      for (const KindSpec* k : kinds) {
        std::vector<std::string> keep;
        for (const std::string& a : candidates) {
          if (std::find(k->actions.begin(), k->actions.end(), a) !=
              k->actions.end()) {
            keep.push_back(a);
          }
        }
        candidates = keep;
      }
    }
    if (candidates.empty() || Chance(20)) {
      out += "*";
    } else {
      std::vector<std::string> actions;
      for (const std::string& a : candidates) {
        if (Chance(50)) actions.push_back(a);
      }
      if (actions.empty()) actions.push_back(Of(candidates));
      out += absl::StrJoin(actions, ", ");
    }
    out += " on ";
    if (star_kinds) {
      out += "*";
    } else {
      out += absl::StrJoin(kinds, ", ", [](std::string* o, const KindSpec* k) {
        o->append(k->name);
      });
    }
    const bool fields_ok = star_kinds || std::all_of(kinds.begin(), kinds.end(),
                                                     [](const KindSpec* k) {
                                                       return k->has_fields;
                                                     });
    if (fields_ok && Chance(35)) {
      if (Chance(25)) {
        out += " fields { * }";
      } else {
        std::vector<std::string> fields;
        for (const std::string& f : kFields) {
          if (Chance(40)) fields.push_back(f);
        }
        if (fields.empty()) fields.push_back(Of(kFields));
        absl::StrAppend(&out, " fields { ", absl::StrJoin(fields, ", "), " }");
      }
    }
    if (Chance(20)) {
      absl::StrAppend(&out, " for p", Pick(3));
      if (Chance(30)) absl::StrAppend(&out, ", p", Pick(3));
    }
    if (Chance(20)) absl::StrAppend(&out, " as \"L", (*label)++, "\"");
    if (Chance(60)) {
      absl::StrAppend(&out, Chance(70) ? " when " : " unless ", Bool(3));
    }
    return out;
  }

  std::string StringTerm() {
    switch (Pick(7)) {
      case 0:
        return "principal.ps";
      case 1:
        return "principal.po";
      case 2:
        return "resource.rs";
      case 3:
        return "context.cs";
      case 4:
        return "principal.id";
      case 5:
        return Chance(50) ? "resource.id" : "resource.scope";
      default:
        return absl::StrCat("\"", Of(kStrings), "\"");
    }
  }
  std::string IntTerm() {
    switch (Pick(3)) {
      case 0:
        return "principal.pn";
      case 1:
        return "resource.rn";
      default:
        return absl::StrCat(Pick(5) - 2);
    }
  }
  std::string Bool(int depth) {
    const int choice = depth <= 0                               ? Pick(6)
                       : favor_boolean_equalities && Chance(40) ? 9
                                                                : Pick(10);
    static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
    switch (choice) {
      case 0:
        return absl::StrCat(StringTerm(), " ", kOps[Pick(6)], " ",
                            StringTerm());
      case 1:
        return absl::StrCat(IntTerm(), " ", kOps[Pick(6)], " ", IntTerm());
      case 2:
        return Of(
            {"principal.pb", "resource.rb", "context.cb", "true", "false"});
      case 3:
        return absl::StrCat(StringTerm(), " in ",
                            Chance(50) ? "principal.pset" : "resource.rset");
      case 4:
        return absl::StrCat(StringTerm(), " in [\"", Of(kStrings), "\", \"",
                            Of(kStrings), "\"]");
      case 5:
        return absl::StrCat("has(",
                            Of({"principal.po", "principal.ps", "resource.rs",
                                "context.cb", "resource.rset"}),
                            ")");
      case 6:
        return absl::StrCat("!", Bool(depth - 1));
      case 7:
        return absl::StrCat("(", Bool(depth - 1), " && ", Bool(depth - 1), ")");
      case 8:
        return absl::StrCat("(", Bool(depth - 1), " || ", Bool(depth - 1), ")");
      default:
        return absl::StrCat("(", Bool(depth - 1), ") ",
                            Chance(50) ? "==" : "!=", " (", Bool(0), ")");
    }
  }

  std::mt19937 rng_;
};

}  // namespace steward::policy::testing

#endif  // STEWARD_TESTS_POLICY_POLICY_GENERATOR_H_
