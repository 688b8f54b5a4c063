"""Extract the flow facts of one Python file: what its names, attributes and calls can hold.

Index time parses each file once anyway; the facts are small JSON that :mod:`.pyflow` solves at graph
time for the whole repository, without parsing again. Scopes are named by the dotted symbol paths the
chunker gives definitions (``""`` for the module, ``A.m`` for a method); a lambda gets an internal
scope ``<parent>.<lambda:LINE:COL>`` that is no graph node.

An expression is a JSON list:

- ``["n", name]``: a name, looked up from the fact's scope (local, enclosing functions, module);
- ``["a", expr, attr]``: an attribute;
- ``["r", site]``: what the call site with that index returns;
- ``["f", scope]``: the function, class or lambda defined with that scope in this file;
- ``["u", [expr, ...]]``: any of several (containers, ``x or y``, conditional expressions);
- ``["M", spec, level_name]``: a module named by an import (``level_name`` is None or a submodule);
- ``["S", class scope]``: ``super()`` inside a method of that class;
- ``["D", site, expr]``: a definition through a decorator: what the decorator call at ``site``
  returns when it resolves to a function of the repository that returns something, else ``expr``.

Containers are transparent: ``[f, g]``, ``{"k": f}`` hold ``f`` and ``g``, and a subscript or an
iteration of a value gives the value back, which is field-insensitive like published algorithms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tree_sitter import Node

Expr = list[Any]

FACTS_VERSION = 1
_CONTAINERS = frozenset({"list", "tuple", "set", "expression_list", "pattern_list", "tuple_pattern"})
_PASS_THROUGH = frozenset(
    {"parenthesized_expression", "await", "subscript", "list_splat", "dictionary_splat", "as_pattern"}
)
_UNIONS = _CONTAINERS | {"boolean_operator", "conditional_expression", "dictionary", "binary_operator"}
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
    }
)
_COMPREHENSIONS = frozenset(
    {"list_comprehension", "set_comprehension", "generator_expression", "dictionary_comprehension"}
)


def python_facts(root: Node) -> dict[str, Any]:
    """The flow facts of a parsed Python module (see the module docstring for the encoding)."""
    extractor = _Extractor()
    extractor.block(root, "")
    return {
        "v": FACTS_VERSION,
        "scopes": extractor.scopes,
        "assign": extractor.assigns,
        "calls": extractor.calls,
        "returns": extractor.returns,
    }


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace")


class _Extractor:
    """Walks a tree once, collecting scopes, assignments, call sites and returns."""

    def __init__(self) -> None:
        self.scopes: dict[str, list[Any]] = {"": ["module", None, [], [], []]}
        """scope -> [kind, parent, params, decorators, bases]; params are [name, kind] pairs."""
        self.assigns: list[list[Any]] = []
        """[scope, target, expr]; target ``["n", name]``, ``["a", expr, attr]`` or ``["v", scope, name]``."""
        self.calls: list[list[Any]] = []
        """[scope, line, callee, positional args, {keyword: expr}]."""
        self.returns: list[list[Any]] = []
        """[scope, expr]: what a function returns or yields."""

    # -- statements ------------------------------------------------------------------------------

    def block(self, node: Node, scope: str) -> None:
        """Visit the children of ``node`` in ``scope``."""
        for child in node.named_children:
            self.statement(child, scope)

    def statement(self, node: Node, scope: str) -> None:
        kind = node.type
        if kind == "decorated_definition":
            definition = node.child_by_field_name("definition")
            decorators = [
                self.expr(d.named_children[0], scope)
                for d in node.named_children
                if d.type == "decorator" and d.named_children
            ]
            if definition is not None:
                self.definition(definition, scope, [d for d in decorators if d is not None])
        elif kind in ("function_definition", "class_definition"):
            self.definition(node, scope, [])
        elif kind in ("import_statement", "import_from_statement"):
            self.import_(node, scope)
        elif kind == "return_statement":
            value = node.named_children[0] if node.named_children else None
            if value is not None and (expr := self.expr(value, scope)) is not None:
                self.returns.append([scope, expr])
        elif kind == "for_statement":
            value = self.expr(node.child_by_field_name("right"), scope)
            self.bind(node.child_by_field_name("left"), value, scope)
            for child in node.named_children[2:]:
                self.children(child, scope) if child.type != "block" else self.block(child, scope)
        elif kind in ("assignment", "augmented_assignment"):
            self.assignment(node, scope)
        elif kind == "with_statement":
            self.with_(node, scope)
        else:
            self.expr(node, scope)  # expressions (calls) and compound statements: walk children

    def with_(self, node: Node, scope: str) -> None:
        """``with e as x``: ``x`` holds what ``e`` holds (``__enter__`` is assumed to return self)."""
        for child in node.named_children:
            if child.type != "with_clause":
                self.block(child, scope) if child.type == "block" else self.expr(child, scope)
                continue
            for item in child.named_children:
                value_node = item.child_by_field_name("value") or (item.named_children or [None])[0]
                if value_node is not None and value_node.type == "as_pattern":
                    value = self.expr(value_node.named_children[0], scope)
                    alias = value_node.child_by_field_name("alias")
                    self.bind(alias.named_children[0] if alias is not None else None, value, scope)
                else:
                    self.expr(value_node, scope)

    def definition(self, node: Node, scope: str, decorators: list[Expr]) -> None:
        """A ``def`` or ``class``: a new scope, bound to its name in ``scope`` (through decorators)."""
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return
        name = _text(name_node)
        inner = f"{scope}.{name}" if scope else name
        is_class = node.type == "class_definition"
        bases: list[Expr] = []
        params: list[list[str]] = []
        if is_class:
            superclasses = node.child_by_field_name("superclasses")
            for base in superclasses.named_children if superclasses is not None else ():
                if base.type != "keyword_argument" and (expr := self.expr(base, scope)) is not None:
                    bases.append(expr)
        else:
            params = self.parameters(node.child_by_field_name("parameters"), inner, scope)
        names = [d[1] if d[0] == "n" else d[2] if d[0] == "a" else "" for d in decorators]
        self.scopes.setdefault(inner, ["class" if is_class else "function", scope, params, names, bases])
        value: Expr = ["f", inner]
        for decorator in reversed(decorators):
            self.calls.append([scope, node.start_point[0] + 1, decorator, [value], {}])
            value = ["D", len(self.calls) - 1, value]
        self.assigns.append([scope, ["n", name], value])
        body = node.child_by_field_name("body")
        if body is not None:
            self.block(body, inner)

    def parameters(self, node: Node | None, inner: str, outer: str) -> list[list[str]]:
        """[name, kind] per parameter (kind ``""``, ``*`` or ``**``); defaults become assignments."""
        params: list[list[str]] = []
        for param in node.named_children if node is not None else ():
            kind = ""
            if param.type == "list_splat_pattern":
                kind = "*"
            elif param.type == "dictionary_splat_pattern":
                kind = "**"
            name_node = param.child_by_field_name("name") if "default" in param.type else param
            if name_node is not None and name_node.type in ("typed_parameter",):
                name_node = name_node.named_children[0]
            if name_node is None or param.type in ("keyword_separator", "positional_separator"):
                continue
            ident = (
                name_node
                if name_node.type == "identifier"
                else next((c for c in name_node.named_children if c.type == "identifier"), None)
            )
            if ident is None:
                continue
            params.append([_text(ident), kind])
            default = param.child_by_field_name("value") if "default" in param.type else None
            if default is not None and (expr := self.expr(default, outer)) is not None:
                self.assigns.append([outer, ["v", inner, _text(ident)], expr])
        return params

    def import_(self, node: Node, scope: str) -> None:
        """``import a.b [as c]`` and ``from m import x [as y]`` become assignments of module values."""
        if node.type == "import_statement":
            for item in node.named_children:
                if item.type == "aliased_import":
                    spec = _text(item.child_by_field_name("name"))
                    alias = _text(item.child_by_field_name("alias"))
                    self.assigns.append([scope, ["n", alias], ["M", spec, None]])
                elif item.type == "dotted_name":
                    head = _text(item).split(".")[0]
                    self.assigns.append([scope, ["n", head], ["M", head, None]])
                    self.assigns.append([scope, ["I"], ["M", _text(item), None]])
            return
        module = node.child_by_field_name("module_name")
        if module is None:
            return
        spec = _text(module)
        for item in node.named_children[1:]:
            if item.type == "wildcard_import":
                self.assigns.append([scope, ["*"], ["M", spec, None]])
            elif item.type in ("aliased_import", "dotted_name"):
                name_node = item.child_by_field_name("name") if item.type == "aliased_import" else item
                alias_node = item.child_by_field_name("alias") if item.type == "aliased_import" else None
                name = _text(name_node)
                local = _text(alias_node) if alias_node is not None else name
                self.assigns.append([scope, ["n", local], ["M", spec, name]])

    def assignment(self, node: Node, scope: str) -> None:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if right is None:
            return
        if right.type == "assignment":  # a = b = value
            self.assignment(right, scope)
            right = right.child_by_field_name("right")
        if left is not None and left.type in _CONTAINERS and right is not None and right.type in _CONTAINERS:
            lefts, rights = left.named_children, right.named_children
            if len(lefts) == len(rights):
                for target, value in zip(lefts, rights, strict=True):
                    self.bind(target, self.expr(value, scope), scope)
                return
        self.bind(left, self.expr(right, scope), scope)

    def bind(self, target: Node | None, value: Expr | None, scope: str) -> None:
        """Record ``target = value`` for a name, attribute, subscript or unpacking target."""
        if target is None:
            return
        kind = target.type
        if kind in _CONTAINERS or kind in ("list_pattern", "list_splat_pattern", "parenthesized_expression"):
            for child in target.named_children:
                self.bind(child, value, scope)
            return
        if value is None:
            self.expr(target, scope)
            return
        if kind == "identifier":
            self.assigns.append([scope, ["n", _text(target)], value])
        elif kind == "attribute":
            obj = self.expr(target.child_by_field_name("object"), scope)
            attr = target.child_by_field_name("attribute")
            if obj is not None and attr is not None:
                self.assigns.append([scope, ["a", obj, _text(attr)], value])
        elif kind == "subscript":
            self.bind(target.child_by_field_name("value"), value, scope)

    # -- expressions -----------------------------------------------------------------------------

    def expr(self, node: Node | None, scope: str) -> Expr | None:
        """The expression of ``node`` (None when it can hold no function or class); records calls."""
        if node is None:
            return None
        kind = node.type
        if kind == "identifier":
            return ["n", _text(node)]
        if kind == "attribute":
            obj = self.expr(node.child_by_field_name("object"), scope)
            attr = node.child_by_field_name("attribute")
            return ["a", obj, _text(attr)] if obj is not None and attr is not None else None
        if kind == "call":
            return self.call(node, scope)
        if kind == "lambda":
            return self.lambda_(node, scope)
        if kind in _PASS_THROUGH:
            parts = [self.expr(c, scope) for c in node.named_children]
            return parts[0] if parts else None
        if kind in ("yield",):
            value = node.named_children[0] if node.named_children else None
            if value is not None and (expr := self.expr(value, scope)) is not None:
                self.returns.append([scope, expr])
            return None
        if kind in _COMPREHENSIONS:
            for clause in node.named_children[1:]:
                if clause.type == "for_in_clause":
                    value = self.expr(clause.child_by_field_name("right"), scope)
                    self.bind(clause.child_by_field_name("left"), value, scope)
                else:
                    self.children(clause, scope)
            return self.expr(node.named_children[0], scope) if node.named_children else None
        if kind == "named_expression":
            value = self.expr(node.child_by_field_name("value"), scope)
            self.bind(node.child_by_field_name("name"), value, scope)
            return value
        if kind in ("function_definition", "class_definition", "decorated_definition"):
            self.statement(node, scope)
            return None
        parts = self.children(node, scope)
        if kind in _UNIONS:
            return ["u", parts] if parts else None
        return None

    def children(self, node: Node, scope: str) -> list[Expr]:
        """Visit the children of any other node: nested blocks and statements, and subexpressions."""
        parts: list[Expr] = []
        for child in node.named_children:
            if child.type == "block":
                self.block(child, scope)
            elif child.type in _STATEMENTS:
                self.statement(child, scope)
            elif child.type == "pair":
                self.expr(child.child_by_field_name("key"), scope)
                if (expr := self.expr(child.child_by_field_name("value"), scope)) is not None:
                    parts.append(expr)
            elif (expr := self.expr(child, scope)) is not None:
                parts.append(expr)
        return parts

    def call(self, node: Node, scope: str) -> Expr:
        """Record a call site; the expression is what it returns."""
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is not None and function.type == "identifier" and _text(function) == "super":
            callee: Expr | None = ["S", _class_of(scope, self.scopes)]
            if arguments is not None:
                self.expr(arguments, scope)
            return callee
        callee = self.expr(function, scope)
        args: list[Expr | None] = []
        kwargs: dict[str, Expr] = {}
        for arg in arguments.named_children if arguments is not None else ():
            if arg.type == "keyword_argument":
                name, value = (
                    arg.child_by_field_name("name"),
                    self.expr(arg.child_by_field_name("value"), scope),
                )
                if name is not None and value is not None:
                    kwargs[_text(name)] = value
            elif arg.type in ("list_splat", "dictionary_splat"):
                self.expr(arg, scope)
                args.append(None)
            else:
                args.append(self.expr(arg, scope))
        self.calls.append([scope, node.start_point[0] + 1, callee, args, kwargs])
        return ["r", len(self.calls) - 1]

    def lambda_(self, node: Node, scope: str) -> Expr:
        start = node.start_point
        inner = (
            f"{scope}.<lambda:{start[0] + 1}:{start[1]}>" if scope else f"<lambda:{start[0] + 1}:{start[1]}>"
        )
        params = self.parameters(node.child_by_field_name("parameters"), inner, scope)
        self.scopes.setdefault(inner, ["lambda", scope, params, [], []])
        body = self.expr(node.child_by_field_name("body"), inner)
        if body is not None:
            self.returns.append([inner, body])
        return ["f", inner]


def _class_of(scope: str, scopes: dict[str, list[Any]]) -> str:
    """The class scope around a method scope (``A.m`` -> ``A``), or ``""`` outside a class."""
    while scope:
        parent = scopes.get(scope, [None, None])[1]
        if parent is None:
            return ""
        if scopes.get(parent, ["?"])[0] == "class":
            return parent
        scope = parent
    return ""
