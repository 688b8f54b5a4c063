"""Expressions in the extraction of Python flow facts (:mod:`.pyfacts`): names, attributes, items and
slices, literals of containers, comprehensions, lambdas, and call sites with what the builtins and
container methods they call move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnemo_dagster.graph.pyfacts_base import (
    BIND,
    IMPLICIT,
    KEYS,
    Expr,
    FactsState,
    literal_key,
    named_children,
    node_text,
)

if TYPE_CHECKING:
    from tree_sitter import Node

_UNIONS = frozenset({"boolean_operator", "conditional_expression"})
_STATEMENTS = frozenset(
    {
        "decorated_definition",
        "function_definition",
        "class_definition",
        "import_statement",
        "import_from_statement",
        "return_statement",
        "for_statement",
        "assignment",
        "augmented_assignment",
        "with_statement",
        "raise_statement",
    }
)
_LEAVES = frozenset(
    {
        "integer",
        "float",
        "true",
        "false",
        "none",
        "comment",
        "ellipsis",
        "pass_statement",
        "break_statement",
        "continue_statement",
        "keyword_separator",
        "positional_separator",
        "escape_sequence",
        "type_conversion",
    }
)
"""Nodes that hold no function and call nothing."""
_CONVERSIONS = frozenset({"list", "tuple", "set", "frozenset", "sorted", "reversed", "iter"})
_ADD_ONE = {"append": 0, "add": 0, "appendleft": 0, "insert": 1}
"""Container methods that store one argument (by its position), and those that store all elements
of one: ``extend``."""
_KEY_LITERALS = frozenset({"integer", "string"})
_MAX_KEY_BYTES = 64
"""Longest literal argument that may be a table's key (``["L", key]``)."""
_LOOKUPS = frozenset({"get", "pop", "setdefault"})
_BUILTINS = _CONVERSIONS | {"getattr", "type", "min", "max", "next", "enumerate", "zip", "map", "filter"}
"""Builtins whose calls move values that :meth:`ExpressionFacts.builtin` follows."""
_METHODS = _LOOKUPS | set(_ADD_ONE) | {"sort", "extend", "values", "keys", "items", "copy"}
"""Container methods that :meth:`ExpressionFacts.method` follows."""


class ExpressionFacts(FactsState):
    """The expressions of a walk. What they nest goes to :class:`~.pyfacts_statements.StatementFacts`,
    which this part calls through ``self``: statements and blocks (a ``def`` in an expression, a
    lambda's parameters), bindings (the ``for`` of a comprehension, ``:=``, ``except ... as``) and
    stores (``d.update(k=f)``)."""

    def expr(self, node: Node | None, scope: str) -> Expr | None:
        """The expression of ``node`` (None when it can hold no function or class); records calls."""
        if node is None:
            return None
        kind = node.type
        if kind == "identifier":
            name = node_text(node)
            versions = self.version.get(scope)
            version = versions.get(name) if versions else None
            return ["n", name, version] if version else ["n", name]
        if kind == "attribute":
            obj = self.expr(node.child_by_field_name("object"), scope)
            attr = node.child_by_field_name("attribute")
            return ["a", obj, node_text(attr)] if obj is not None and attr is not None else None
        if kind in _LEAVES:
            return None
        handler = _HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node, scope)
        parts = self.children(node, scope)
        if kind in _UNIONS:
            return ["u", parts] if parts else None
        return None

    def string(self, node: Node, scope: str) -> None:
        """A string holds no function; an f-string's fields may call some."""
        for child in node.named_children:
            if child.type == "interpolation":
                self.children(child, scope)

    def subscript(self, node: Node, scope: str) -> Expr | None:
        """``x[key]`` (an item) or ``x[a:b]`` (a slice: a new container)."""
        value = self.expr(node.child_by_field_name("value"), scope)
        subscripts = node.children_by_field_name("subscript")
        if len(subscripts) == 1 and subscripts[0].type == "slice":
            for child in subscripts[0].named_children:
                self.expr(child, scope)
            if value is None:
                return None
            self.containers += 1
            return ["d", self.containers, value, ["s", *slice_bounds(subscripts[0])]]
        key = self.index(node, scope)
        if value is None:
            return None
        if key is None and len(subscripts) == 1 and subscripts[0].type == "identifier":
            return ["K", value, self.expr(subscripts[0], scope)]
        return ["k", value, key]

    def binary_operator(self, node: Node, scope: str) -> Expr | None:
        """``a + b`` and ``a | b`` of containers: a new container of their items. What an operator
        returns otherwise stays unknown (a union of both sides would mix every value of numeric code)."""
        parts = self.children(node, scope)
        operator = node.child_by_field_name("operator")
        if len(parts) != 2 or operator is None or operator.type not in ("+", "|"):
            return None
        return self.container("s", [[None, ["e", part, "cv"]] for part in parts], scope)

    def pass_through(self, node: Node, scope: str) -> Expr | None:
        parts = [self.expr(c, scope) for c in named_children(node)]
        return parts[0] if parts else None

    def splat(self, node: Node, scope: str) -> Expr | None:
        inner = self.expr(node.named_children[0], scope) if node.named_children else None
        return ["e", inner, "" if node.type == "list_splat" else "v"] if inner is not None else None

    def named_expression(self, node: Node, scope: str) -> Expr | None:
        value = self.expr(node.child_by_field_name("value"), scope)
        self.bind(node.child_by_field_name("name"), value, scope, strong=False)
        return value

    def nested_definition(self, node: Node, scope: str) -> None:
        self.statement(node, scope)

    def yield_(self, node: Node, scope: str) -> None:
        """``yield x`` and ``yield from g``: what the generator of ``scope`` gives."""
        self.generators.add(scope)
        value = named_children(node)[0] if named_children(node) else None
        if value is not None and (expr := self.expr(value, scope)) is not None:
            is_from = any(c.type == "from" for c in node.children)
            self.yields.append([scope, ["e", expr, ""] if is_from else expr])

    def sequence(self, node: Node, scope: str) -> Expr:
        """A list, tuple or set literal: its items by position (unknown after a ``*splat``)."""
        keyed = node.type != "set"
        items: list[list[Any]] = []
        for position, child in enumerate(named_children(node)):
            if child.type == "list_splat":
                keyed = False
            value = self.expr(child, scope)
            items.append([str(position) if keyed else None, value])
        return self.container("s", items, scope)

    def dictionary(self, node: Node, scope: str) -> Expr:
        """A dict literal: values by literal key (any key otherwise); keys that are no literals."""
        items: list[list[Any]] = []
        for child in named_children(node):
            if child.type == "pair":
                key_node = child.child_by_field_name("key")
                items.append([KEYS, self.expr(key_node, scope)])
                items.append([literal_key(key_node), self.expr(child.child_by_field_name("value"), scope)])
            elif child.type == "dictionary_splat":
                inner = self.expr(child.named_children[0], scope) if child.named_children else None
                if inner is not None:
                    items += [[None, ["e", inner, "v"]], [KEYS, ["e", inner, ""]]]
            else:
                self.expr(child, scope)
        return self.container("d", items, scope)

    def comprehension(self, node: Node, scope: str) -> Expr:
        """A comprehension: a container of what its body gives, after binding its ``for`` targets."""
        children = named_children(node)
        for clause in children[1:]:
            if clause.type == "for_in_clause":
                value = self.expr(clause.child_by_field_name("right"), scope)
                element = self.iteration(value, scope, clause.start_point[0] + 1)
                self.bind(clause.child_by_field_name("left"), element, scope, strong=False)
            else:
                self.children(clause, scope)
        body = children[0] if children else None
        if node.type == "dictionary_comprehension" and body is not None and body.type == "pair":
            key = self.expr(body.child_by_field_name("key"), scope)
            return self.container(
                "d", [[KEYS, key], [None, self.expr(body.child_by_field_name("value"), scope)]], scope
            )
        return self.container("s", [[None, self.expr(body, scope)]], scope)

    def children(self, node: Node, scope: str) -> list[Expr]:
        """Visit the children of any other node: nested blocks and statements, and subexpressions."""
        parts: list[Expr] = []
        for child in node.named_children:
            kind = child.type
            if kind == "block":
                self.block(child, scope)
            elif kind in _STATEMENTS:
                self.statement(child, scope)
            elif kind == "except_clause" or kind == "except_group_clause":
                self.except_(child, scope)
            elif kind not in _LEAVES and (expr := self.expr(child, scope)) is not None:
                parts.append(expr)
        return parts

    def call(self, node: Node, scope: str) -> Expr:
        """Record a call site; the expression is what it returns."""
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        callee = self.expr(function, scope) or [""]
        kind = callee[0]
        method = callee[1] if kind == "n" else callee[2] if kind == "a" else ""
        if kind == "n" and method == "super":
            if arguments is not None:
                self.expr(arguments, scope)
            return ["S", class_of(scope, self.scopes)]
        if kind == "a" and method == "update":
            obj_node = function.child_by_field_name("object") if function is not None else None
            if self.update(obj_node, callee[1], arguments, scope):
                self.calls.append([scope, node.start_point[0] + 1, callee, [], {}])
                return ["r", len(self.calls) - 1]
        args: list[Expr | None] = []
        nodes: list[Node] = []
        kwargs: dict[str, Expr] = {}
        splat = False
        if arguments is not None and arguments.type == "generator_expression":
            args.append(self.expr(arguments, scope))
            nodes.append(arguments)
        elif arguments is not None:
            for arg in arguments.named_children:
                arg_type = arg.type
                if arg_type == "keyword_argument":
                    name, value = (
                        arg.child_by_field_name("name"),
                        self.argument(arg.child_by_field_name("value"), scope),
                    )
                    if name is not None and value is not None:
                        kwargs[node_text(name)] = value
                elif arg_type == "list_splat" or arg_type == "dictionary_splat":
                    self.expr(arg, scope)
                    args.append(None)
                    splat = True
                elif arg_type != "comment":
                    args.append(self.argument(arg, scope))
                    nodes.append(arg)
        line = node.start_point[0] + 1
        self.calls.append([scope, line, callee if kind else None, args, kwargs])
        result: Expr = ["r", len(self.calls) - 1]
        if splat or not method:
            return result  # arguments at positions no one knows
        functools = kind == "n" or callee[1][:2] == ["n", "functools"]
        if method == "partial" and functools and args and args[0] is not None:
            self.calls.append([scope, line, args[0], args[1:], kwargs, BIND])
            return ["u", [result, ["P", args[0], len(args) - 1]]]
        if kind == "n":
            if method not in _BUILTINS:
                return result
            if method == "getattr" and len(nodes) >= 2 and args[0] is not None:
                name = literal_key(nodes[1])
                if name is not None and name.startswith("'") and name[1:].isidentifier():
                    return ["u", [["a", args[0], name[1:]], *(a for a in args[2:3] if a is not None)]]
            extra = self.builtin(method, args, kwargs, scope, line)
        elif method in _METHODS:
            extra = self.method(callee[1], method, args, nodes, kwargs, scope, line)
        else:
            return result
        return ["u", [result, *extra]] if extra else result

    def argument(self, node: Node | None, scope: str) -> Expr | None:
        """The expression of an argument or a parameter's default; an integer or string literal is
        ``["L", key]``, so a parameter that indexes a table (``HANDLERS[op]()``) picks the items of the
        keys passed."""
        found = self.expr(node, scope)
        if found is None and node is not None and node.type in _KEY_LITERALS:
            # A short one: a key names an entry, it is no message or docstring.
            key = literal_key(node) if node.end_byte - node.start_byte <= _MAX_KEY_BYTES else None
            if key is not None:
                return ["L", key]
        return found

    def builtin(
        self, name: str, args: list[Any], kwargs: dict[str, Expr], scope: str, line: int
    ) -> list[Expr]:
        """What a call of a builtin that moves values gives besides its site's return (``list(x)``,
        ``next(g)``, ``enumerate``, ``zip``); ``map``/``filter``/``key=`` call their callbacks."""
        first = args[0] if args else None
        if name == "type" and len(args) == 1 and first is not None:
            return [["a", first, "__class__"]]
        if "key" in kwargs and first is not None and name in ("sorted", "min", "max"):
            self.implicit(scope, line, kwargs["key"], IMPLICIT, [["e", first, ""]])
        if name in _CONVERSIONS and first is not None:
            return [self.container("s", [[None, ["e", first, ""]]], scope)]
        if name == "next" and first is not None:
            return [["e", first, ""], *(a for a in args[1:2] if a is not None)]
        if name in ("enumerate", "zip") and first is not None:
            parts = (
                [["1", ["e", first, ""]]]
                if name == "enumerate"
                else [[str(i), ["e", a, ""]] for i, a in enumerate(args) if a is not None]
            )
            return [self.container("s", [[None, self.container("s", parts, scope)]], scope)]
        if name in ("map", "filter") and first is not None and len(args) > 1:
            elements = [["e", a, ""] if a is not None else None for a in args[1:]]
            called = self.implicit(scope, line, first, IMPLICIT, elements)
            value = ["r", called] if name == "map" else elements[0]
            return [self.container("s", [[None, value]], scope)]
        return []

    def method(
        self,
        obj: Expr,
        name: str,
        args: list[Any],
        nodes: list[Node],
        kwargs: dict[str, Expr],
        scope: str,
        line: int,
    ) -> list[Expr]:
        """What a call of a container's method moves: ``append``/``add``/``insert``/``extend``/
        ``setdefault`` store, ``get``/``pop``/``setdefault`` look up, ``values``/``keys``/``items``
        view, ``copy`` aliases (only containers answer; other objects have the call's return)."""
        if name == "sort" and "key" in kwargs:
            self.implicit(scope, line, kwargs["key"], IMPLICIT, [["e", obj, "c"]])
        if name in _ADD_ONE and len(args) > _ADD_ONE[name] and args[_ADD_ONE[name]] is not None:
            self.assigns.append([scope, ["k", obj, None], args[_ADD_ONE[name]]])
        elif name == "extend" and args and args[0] is not None:
            self.assigns.append([scope, ["k", obj, None], ["e", args[0], ""]])
        elif name in _LOOKUPS:
            key = literal_key(nodes[0]) if nodes else None
            if name == "setdefault" and len(args) > 1 and args[1] is not None:
                self.assigns.append([scope, ["k", obj, key], args[1]])
            return [["k", obj, key, "c"], *(a for a in args[1:2] if a is not None)]
        elif name in ("values", "keys") and not args:
            return [self.container("s", [[None, ["e", obj, "cv" if name == "values" else "c"]]], scope)]
        elif name == "items" and not args:
            pair = self.container("s", [["0", ["e", obj, "c"]], ["1", ["e", obj, "cv"]]], scope)
            return [self.container("s", [[None, pair]], scope)]
        elif name == "copy" and not args:
            self.containers += 1
            return [["d", self.containers, obj, ["c"]]]
        return []

    def lambda_(self, node: Node, scope: str) -> Expr:
        start = node.start_point
        inner = (
            f"{scope}.<lambda:{start[0] + 1}:{start[1]}>" if scope else f"<lambda:{start[0] + 1}:{start[1]}>"
        )
        params = self.parameters(node.child_by_field_name("parameters"), inner, scope)
        self.scopes.setdefault(inner, ["lambda", scope, params, [], []])
        self.lambdas.setdefault(inner, [start[0] + 1, node.end_point[0] + 1])
        body = self.expr(node.child_by_field_name("body"), inner)
        if body is not None:
            self.returns.append([inner, body])
        return ["f", inner]


_HANDLERS: dict[str, Any] = {
    "call": ExpressionFacts.call,
    "lambda": ExpressionFacts.lambda_,
    "subscript": ExpressionFacts.subscript,
    "string": ExpressionFacts.string,
    "binary_operator": ExpressionFacts.binary_operator,
    "list_splat": ExpressionFacts.splat,
    "dictionary_splat": ExpressionFacts.splat,
    "yield": ExpressionFacts.yield_,
    "dictionary": ExpressionFacts.dictionary,
    "named_expression": ExpressionFacts.named_expression,
    "function_definition": ExpressionFacts.nested_definition,
    "class_definition": ExpressionFacts.nested_definition,
    "decorated_definition": ExpressionFacts.nested_definition,
    **dict.fromkeys(("parenthesized_expression", "await", "as_pattern"), ExpressionFacts.pass_through),
    **dict.fromkeys(("list", "tuple", "set", "expression_list"), ExpressionFacts.sequence),
    **dict.fromkeys(
        ("list_comprehension", "set_comprehension", "generator_expression", "dictionary_comprehension"),
        ExpressionFacts.comprehension,
    ),
}
"""Node type -> the method of :class:`ExpressionFacts` that reads its expression."""


def slice_bounds(node: Node) -> tuple[int | None, int | None]:
    """(start, stop) of a slice with literal bounds (stop None when open), (None, None) otherwise."""
    parts: list[list[Node]] = [[]]
    for child in node.children:
        if child.type == ":":
            parts.append([])
        elif child.type != "comment":
            parts[-1].append(child)
    bounds: list[int | None] = []
    for position, part in enumerate(parts):
        if not part:
            bounds.append(None)
            continue
        key = literal_key(part[0]) if len(part) == 1 else None
        if key is None or (position == 2 and key != "1"):
            return None, None
        bounds.append(int(key))
    if len(parts) == 1:
        return None, None
    return bounds[0] or 0, bounds[1]


def class_of(scope: str, scopes: dict[str, list[Any]]) -> str:
    """The class scope around a method scope (``A.m`` -> ``A``), or ``""`` outside a class."""
    while scope:
        parent = scopes.get(scope, [None, None])[1]
        if parent is None:
            return ""
        if scopes.get(parent, ["?"])[0] == "class":
            return parent
        scope = parent
    return ""
