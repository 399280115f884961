#!/usr/bin/env python3
"""Render a Steward query plan (the JSON of a PlanResourcesResponse) as a SQL
WHERE expression, with the standard library only.

This is the worked example of docs/query-plans.md; it prints exactly what
`stewardctl plan --plan-file PLAN.json --sql DIALECT ...` prints, and CTest
checks that it does. Usage:

    plan_to_sql.py PLAN.json --dialect sqlite|postgres \
        [--column ATTRIBUTE=COLUMN ...] [--id-column C] [--scope-column C]

The JSON may use proto field names (string_value) or their lowerCamelCase
JSON names (stringValue), as protobuf's JSON mapping allows. A reference to
an attribute with no --column is an error: a forgotten mapping must never
widen access.
"""

import argparse
import json
import sys

# Precedence of a printed piece: parenthesize only where a reader needs it.
IN_SCOPE, OR, AND, NOT, COMPARE, ATOM = range(6)
SYMBOLS = {"OPERATOR_EQ": "=", "OPERATOR_NE": "<>", "OPERATOR_LT": "<",
           "OPERATOR_LE": "<=", "OPERATOR_GT": ">", "OPERATOR_GE": ">="}
# json_each's own columns shadow unqualified table columns in its argument.
JSON_EACH_COLUMNS = {"key", "value", "type", "atom", "id", "parent",
                     "fullkey", "path", "json", "root"}


def field(obj, name):
    """obj[name] under its proto name or its lowerCamelCase JSON name."""
    if name in obj:
        return obj[name]
    parts = name.split("_")
    return obj.get(parts[0] + "".join(p.title() for p in parts[1:]))


class Renderer:
    def __init__(self, dialect, columns, id_column, scope_column):
        self.pg = dialect == "postgres"
        self.columns = columns
        self.id_column = id_column
        self.scope_column = scope_column

    def boolean(self, value):
        if self.pg:
            return "TRUE" if value else "FALSE"
        return "1" if value else "0"

    def text(self, value):
        if "\0" in value:
            raise ValueError("string holds a NUL byte")
        quoted = value.replace("'", "''")
        if self.pg and "\\" in value:
            # E'' means the same whatever standard_conforming_strings says.
            return "E'" + quoted.replace("\\", "\\\\") + "'"
        return "'" + quoted + "'"

    def integer(self, value):
        value = int(value)  # int64 travels as a JSON string
        if value == -2**63:
            return "(-9223372036854775807 - 1)"
        return str(value)

    @staticmethod
    def identifier(column):
        return ".".join('"' + part.replace('"', '""') + '"'
                        for part in column.split("."))

    def column(self, ref):
        path = ref["path"]
        if path == "resource.id":
            column = self.id_column
        elif path == "resource.scope":
            column = self.scope_column
        else:
            column = self.columns.get(path[len("resource."):])
        if not column:
            raise ValueError(f"the plan reads {path} but it has no column")
        return column

    def literal(self, lit):
        for name in ("string_value", "int_value", "bool_value"):
            value = field(lit, name)
            if value is not None:
                if name == "string_value":
                    return self.text(value)
                if name == "int_value":
                    return self.integer(value)
                return self.boolean(value)
        values = field(field(lit, "string_list_value"), "values") or []
        return "(" + ", ".join(self.text(v) for v in values) + ")"

    def render(self, node):
        """Returns (sql, precedence)."""
        if "reference" in node:
            return self.identifier(self.column(node["reference"])), ATOM
        if "literal" in node:
            return self.literal(node["literal"]), ATOM
        op = node["operation"]
        kind = op["operator"]
        operands = op.get("operands", [])
        if kind == "OPERATOR_HAS":
            ref = operands[0]["reference"]
            if ref["path"] in ("resource.id", "resource.scope"):
                return self.boolean(True), ATOM  # always present
            return self.identifier(self.column(ref)) + " IS NOT NULL", COMPARE
        if kind == "OPERATOR_IN_SCOPE":
            col = self.identifier(self.column(operands[0]["reference"]))
            scope = field(operands[1]["literal"], "string_value")
            if scope == "":
                return self.boolean(True), ATOM  # the global scope
            prefix = scope + "/"
            if self.pg:
                test = f"starts_with({col}, {self.text(prefix)})"
            else:
                # substr counts characters (code points) of UTF-8 text.
                test = f"substr({col}, 1, {len(prefix)}) = {self.text(prefix)}"
            return f"{col} = {self.text(scope)} OR {test}", IN_SCOPE
        if kind == "OPERATOR_IN":
            return self.render_in(operands)
        pieces = [self.render(o) for o in operands]
        if kind in ("OPERATOR_AND", "OPERATOR_OR"):
            joiner = " AND " if kind == "OPERATOR_AND" else " OR "
            return (joiner.join(self.wrap(p, kind) for p in pieces),
                    AND if kind == "OPERATOR_AND" else OR)
        if kind == "OPERATOR_NOT":
            return "NOT " + self.wrap(pieces[0], kind), NOT
        if kind not in SYMBOLS:
            raise ValueError(f"unknown operator {kind}")
        lhs = self.wrap(pieces[0], kind)
        if (self.pg and kind not in ("OPERATOR_EQ", "OPERATOR_NE")
                and self.is_string(operands[0])):
            lhs += ' COLLATE "C"'  # bytewise string order
        return f"{lhs} {SYMBOLS[kind]} {self.wrap(pieces[1], kind)}", COMPARE

    @staticmethod
    def is_string(node):
        if "literal" in node:
            return field(node["literal"], "string_value") is not None
        if "reference" in node:
            ref = node["reference"]
            return (ref.get("type") == "VALUE_TYPE_STRING"
                    or ref["path"] in ("resource.id", "resource.scope"))
        return False

    def render_in(self, operands):
        element, collection = operands
        maybe_null = "reference" in element
        x, _ = self.render(element)
        if "literal" in collection:
            values = field(field(collection["literal"], "string_list_value"),
                           "values") or []
            if not values:
                # SQLite's NULL IN () is 0; PostgreSQL has no empty list.
                if not maybe_null:
                    return self.boolean(False), ATOM
                return (f"CASE WHEN {x} IS NULL THEN NULL ELSE "
                        f"{self.boolean(False)} END", ATOM)
            return f"{x} IN {self.literal(collection['literal'])}", COMPARE
        column = self.column(collection["reference"])
        if not self.pg and "." not in column and \
                column.lower() in JSON_EACH_COLUMNS:
            raise ValueError(f'qualify the set column "{column}" (TABLE.{column})')
        s = self.identifier(column)
        tests = ([f"{x} IS NULL"] if maybe_null else []) + [f"{s} IS NULL"]
        if self.pg:
            member = f"{x} = ANY({s})"
        else:
            member = (f"{x} IN (SELECT value FROM json_each({s}) "
                      f"WHERE type = 'text')")
        # Both idioms are FALSE for an empty set even when x is NULL.
        return (f"CASE WHEN {' OR '.join(tests)} THEN NULL ELSE {member} END",
                ATOM)

    @staticmethod
    def wrap(piece, parent):
        sql, prec = piece
        if parent == "OPERATOR_AND":
            wrap = prec < AND
        elif parent == "OPERATOR_OR":
            wrap = prec < OR or prec == AND
        else:
            wrap = prec < ATOM
        return f"({sql})" if wrap else sql

    def plan(self, response):
        kind = response.get("kind", "PLAN_KIND_UNSPECIFIED")
        if kind == "ALWAYS_ALLOWED":
            return self.boolean(True)
        if kind != "CONDITIONAL":
            return self.boolean(False)  # denied, unspecified or unknown
        return self.render(response["condition"])[0]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan")
    parser.add_argument("--dialect", choices=["sqlite", "postgres"],
                        required=True)
    parser.add_argument("--column", action="append", default=[])
    parser.add_argument("--id-column", default="")
    parser.add_argument("--scope-column", default="")
    args = parser.parse_args(argv)
    columns = {}
    for mapping in args.column:
        attribute, sep, column = mapping.partition("=")
        if not sep or not attribute or not column:
            parser.error(f"--column {mapping!r} is not ATTRIBUTE=COLUMN")
        columns[attribute] = column
    with open(args.plan, encoding="utf-8") as f:
        response = json.load(f)
    renderer = Renderer(args.dialect, columns, args.id_column,
                        args.scope_column)
    try:
        print(renderer.plan(response))
    except (ValueError, KeyError, IndexError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
