"""Extract the flow facts of one Python file: what its names, attributes, items and calls can hold.

Index time parses each file once anyway; the facts are small JSON that :mod:`.pyflow` solves at index
time, one module at a time, without parsing again. Scopes are named by the dotted symbol paths the
chunker gives definitions (``""`` for the module, ``A.m`` for a method); a lambda gets the scope
``<parent>.<lambda:LINE:COL>``, a graph node of its own (kind ``lambda``).

An expression is a JSON list:

- ``["n", name]``: a name, looked up from the fact's scope (local, enclosing functions, module);
  ``["n", name, version]``: a local name read after the ``version``-th assignment that stands at the
  top level of its scope's body (which replaces what the name held, for later reads in that scope);
- ``["a", expr, attr]``: an attribute;
- ``["r", site]``: what the call site with that index returns;
- ``["f", scope]``: the function, class or lambda defined with that scope in this file;
- ``["u", [expr, ...]]``: any of several (``x or y``, conditional expressions);
- ``["c", site, kind]``: the container built at ``site`` (a literal, a comprehension, ``list(x)``):
  ``"s"`` a list, tuple or set, ``"d"`` a dict; its items are stored by ``["k", ...]`` targets;
- ``["k", expr, key]``: the item ``key`` of the containers ``expr`` holds, ``key`` a literal
  (``"0"``, ``"'name"``) or None (any); ``["k", expr, key, "c"]``: only from containers;
- ``["K", expr, key expr]``: the item of the containers ``expr`` holds at a key that a name holds: the
  items of those keys where the name holds only literals, else any item;
- ``["L", key]``: an integer or string literal passed as an argument (``dispatch("add")``) or given
  as a parameter's default, which the parameter then holds;
- ``["e", expr, how]``: the elements iterating ``expr`` gives (``how`` ``""``), or a dict's values
  (``"v"``); ``"c"`` in ``how``: only from containers;
- ``["d", site, expr, mode]``: a container derived from those ``expr`` holds, at ``site``: all items but
  one (``["x", key]``: a new version of a container whose item ``key`` is replaced; what is no
  container stays), a copy (``["c"]``), or a slice (``["s", start, stop]``, start None when the bounds
  are no literals);
- ``["i", expr]``: an instance of the classes ``expr`` holds (``except E as e``);
- ``["w", expr]``: what ``with expr as x`` binds besides what ``__enter__`` returns;
- ``["P", expr, n]``: ``functools.partial`` of what ``expr`` holds, with ``n`` positional arguments;
- ``["M", spec, level_name]``: a module named by an import (``level_name`` is None or a submodule);
- ``["S", class scope]``: ``super()`` inside a method of that class;
- ``["D", site, expr]``: a definition through a decorator: what the decorator call at ``site``
  returns when it resolves to a function of the repository that returns something, else ``expr``.

Containers keep their items apart: ``[f, g][1]`` and ``{"k": f}["k"]`` hold one function each, and an
item stored at the top level of a scope (``table["k"] = f``) replaces the earlier one for what the
scope reads afterwards. Iterating calls ``__iter__``/``__next__``, ``with`` calls ``__enter__`` and
``__exit__``, ``raise E`` instantiates ``E``, and ``map``/``filter``/``key=`` call their callbacks:
those implicit call sites are marked (:data:`IMPLICIT`, :data:`DUNDER`, :data:`RAISE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tree_sitter import Node

Expr = list[Any]

FACTS_VERSION = 2
KEYS = "<keys>"
"""The item under which a dict keeps the keys that are no literals (``{Model: handler}``)."""
IMPLICIT = 1
"""A call site's flag: a call without call syntax (a callback that ``map`` or ``key=`` calls)."""
DUNDER = 2
"""A call site's flag: a special method the syntax calls (``__iter__`` of ``for``, ``__enter__``)."""
RAISE = 3
"""A call site's flag: ``raise E`` without parentheses, which instantiates ``E`` when it is a class."""
BIND = 4
"""A call site's flag: ``partial(f, a)`` binds ``a`` to ``f``'s parameters and calls nothing."""

_SEQUENCES = frozenset({"list", "tuple", "set", "expression_list"})
_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list"})
_SPLATS = frozenset({"list_splat_pattern", "list_splat"})
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
"""Builtins whose calls move values that :meth:`_Extractor.builtin` follows."""
_METHODS = _LOOKUPS | set(_ADD_ONE) | {"sort", "extend", "values", "keys", "items", "copy"}
"""Container methods that :meth:`_Extractor.method` follows."""


def python_facts(root: Node) -> dict[str, Any]:
    """The flow facts of a parsed Python module (see the module docstring for the encoding)."""
    extractor = _Extractor()
    extractor.body(root, "")
    return {
        "v": FACTS_VERSION,
        "scopes": extractor.scopes,
        "assign": extractor.assigns,
        "calls": extractor.calls,
        "returns": extractor.returns,
        "yields": extractor.yields,
        "generators": sorted(extractor.generators),
        "lambdas": extractor.lambdas,
    }


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace")


def _named(node: Node) -> list[Node]:
    """The named children of a node without comments (which would shift positions)."""
    return [c for c in node.named_children if c.type != "comment"]


def literal_key(node: Node | None) -> str | None:
    """The key a literal index or dict key stands for: ``"3"`` for ``3``, ``"'a"`` for ``"a"``;
    None for anything else (negative numbers, booleans, f-strings, bytes, names)."""
    if node is None:
        return None
    if node.type == "parenthesized_expression" and len(_named(node)) == 1:
        return literal_key(_named(node)[0])
    if node.type == "integer":
        try:
            return str(int(_text(node).replace("_", ""), 0))
        except ValueError:
            return None
    if node.type != "string":
        return None
    parts = node.named_children
    if not parts or parts[0].type != "string_start" or parts[-1].type != "string_end":
        return None
    if _text(parts[0]).rstrip("'\"").lower() not in ("", "u"):
        return None
    if any(p.type == "interpolation" for p in parts):
        return None
    raw = node.text
    return "'" + raw[len(parts[0].text) : len(raw) - len(parts[-1].text)].decode("utf-8", "replace")


def _slice_bounds(node: Node) -> tuple[int | None, int | None]:
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


class _Extractor:
    """Walks a tree once, collecting scopes, assignments, call sites, returns and yields."""

    def __init__(self) -> None:
        self.scopes: dict[str, list[Any]] = {"": ["module", None, [], [], []]}
        """scope -> [kind, parent, params, decorators, bases]; params are [name, kind] pairs."""
        self.lambdas: dict[str, list[int]] = {}
        """lambda scope -> [first line, last line]."""
        self.assigns: list[list[Any]] = []
        """[scope, target, expr]; target ``["n", name(, version)]``, ``["a", expr, attr]``, ``["k", expr,
        key]`` (an item), ``["v", scope, name]`` (a parameter's default), ``["*"]``, ``["I"]``."""
        self.calls: list[list[Any]] = []
        """[scope, line, callee, positional args, {keyword: expr}(, flag)]."""
        self.returns: list[list[Any]] = []
        """[scope, expr]: what a function returns."""
        self.yields: list[list[Any]] = []
        """[scope, expr]: what a generator yields."""
        self.generators: set[str] = set()
        self.containers = 0
        self.depth: dict[str, int] = {}
        """Scope -> how deep in nested blocks the statement being visited stands (0: top level)."""
        self.version: dict[str, dict[str, int]] = {}
        """Scope -> name -> the version of the name that reads see at this point of the walk."""
        self.versions: dict[tuple[str, str], int] = {}
        """(scope, name) -> how many top-level assignments of the name there are so far (two bodies
        with one scope name, ``def f`` under ``if`` and ``else``, number their versions apart)."""

    # -- statements ------------------------------------------------------------------------------

    def body(self, node: Node, scope: str) -> None:
        """The statements of a module, function or class body, in order (each at the top level)."""
        self.version[scope] = {}
        for child in node.named_children:
            self.depth[scope] = 0
            self.statement(child, scope)
        self.depth[scope] = 1

    def block(self, node: Node, scope: str) -> None:
        """The statements of a nested block (a branch, a loop, a ``try``, a ``with``)."""
        self.depth[scope] = self.depth.get(scope, 1) + 1
        try:
            for child in node.named_children:
                self.statement(child, scope)
        finally:
            self.depth[scope] -= 1

    def top_level(self, scope: str) -> bool:
        """Whether the statement being visited runs once, after the earlier ones of its scope."""
        return self.depth.get(scope, 1) == 0

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
            is_async = node.children[0].type == "async"
            element = self.iteration(value, scope, node.start_point[0] + 1, is_async)
            self.bind(node.child_by_field_name("left"), element, scope, strong=False)
            for child in node.named_children[2:]:
                self.children(child, scope) if child.type != "block" else self.block(child, scope)
        elif kind in ("assignment", "augmented_assignment"):
            self.assignment(node, scope, strong=kind == "assignment" and self.top_level(scope))
        elif kind == "with_statement":
            self.with_(node, scope)
        elif kind == "raise_statement":
            self.raise_(node, scope)
        else:
            self.expr(node, scope)  # expressions (calls) and compound statements: walk children

    def raise_(self, node: Node, scope: str) -> None:
        """``raise E`` instantiates ``E`` when it names a class; ``raise E(...)`` is a call anyway."""
        for position, child in enumerate(_named(node)):
            expr = self.expr(child, scope)
            if position == 0 and expr is not None and child.type != "call":
                self.calls.append([scope, node.start_point[0] + 1, expr, [], {}, RAISE])

    def with_(self, node: Node, scope: str) -> None:
        """``with e as x``: ``e.__enter__()`` and ``e.__exit__()`` are called, ``x`` holds what
        ``__enter__`` returns (``e`` itself when its class has none here; the first yield of a
        ``@contextmanager`` generator)."""
        is_async = node.children[0].type == "async"
        enter, leave = ("__aenter__", "__aexit__") if is_async else ("__enter__", "__exit__")
        line = node.start_point[0] + 1
        for child in node.named_children:
            if child.type != "with_clause":
                self.block(child, scope) if child.type == "block" else self.expr(child, scope)
                continue
            for item in _named(child):
                value_node = item.child_by_field_name("value") or (item.named_children or [None])[0]
                target = None
                if value_node is not None and value_node.type == "as_pattern":
                    alias = value_node.child_by_field_name("alias")
                    target = alias.named_children[0] if alias is not None and alias.named_children else None
                    value_node = value_node.named_children[0]
                context = self.expr(value_node, scope)
                value = None
                if context is not None:
                    entered = self.implicit(scope, line, ["a", context, enter], DUNDER)
                    self.implicit(scope, line, ["a", context, leave], DUNDER)
                    value = ["u", [["r", entered], ["w", context]]]
                self.bind(target, value, scope, strong=self.top_level(scope))

    def implicit(self, scope: str, line: int, callee: Expr, flag: int, args: list[Any] | None = None) -> int:
        """Record a call the code makes without call syntax; returns its site."""
        self.calls.append([scope, line, callee, args or [], {}, flag])
        return len(self.calls) - 1

    def iteration(self, value: Expr | None, scope: str, line: int, is_async: bool = False) -> Expr | None:
        """What a ``for`` over ``value`` binds: the elements of containers and generators, or what
        ``__next__`` of what ``__iter__`` returns gives (both called here)."""
        if value is None:
            return None
        first, then = ("__aiter__", "__anext__") if is_async else ("__iter__", "__next__")
        iterator = self.implicit(scope, line, ["a", value, first], DUNDER)
        step = self.implicit(scope, line, ["a", ["r", iterator], then], DUNDER)
        return ["u", [["e", value, ""], ["e", ["r", iterator], ""], ["r", step]]]

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
        self.assign_name(scope, name, value, strong=self.top_level(scope))
        body = node.child_by_field_name("body")
        if body is not None:
            self.body(body, inner)

    def parameters(self, node: Node | None, inner: str, outer: str) -> list[list[str]]:
        """[name, kind] per parameter (kind ``""``, ``k`` after ``*``: keyword-only, ``*`` or ``**``);
        defaults become assignments."""
        params: list[list[str]] = []
        keyword_only = False
        for param in node.named_children if node is not None else ():
            kind = "k" if keyword_only else ""
            if param.type == "keyword_separator":
                keyword_only = True
            elif param.type == "list_splat_pattern":
                kind, keyword_only = "*", True
            elif param.type == "dictionary_splat_pattern":
                kind = "**"
            name_node = param.child_by_field_name("name") if "default" in param.type else param
            if name_node is not None and name_node.type in ("typed_parameter",):
                name_node = name_node.named_children[0]
            if name_node is None or param.type in ("keyword_separator", "positional_separator", "comment"):
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
            if default is not None and (expr := self.argument(default, outer)) is not None:
                self.assigns.append([outer, ["v", inner, _text(ident)], expr])
        return params

    def import_(self, node: Node, scope: str) -> None:
        """``import a.b [as c]`` and ``from m import x [as y]`` become assignments of module values."""
        strong = self.top_level(scope)
        if node.type == "import_statement":
            for item in node.named_children:
                if item.type == "aliased_import":
                    spec = _text(item.child_by_field_name("name"))
                    alias = _text(item.child_by_field_name("alias"))
                    self.assign_name(scope, alias, ["M", spec, None], strong=strong)
                elif item.type == "dotted_name":
                    head = _text(item).split(".")[0]
                    self.assign_name(scope, head, ["M", head, None], strong=strong)
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
                self.assign_name(scope, local, ["M", spec, name], strong=strong)

    def assignment(self, node: Node, scope: str, *, strong: bool) -> None:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if right is None:
            return
        if right.type == "assignment":  # a = b = value
            self.assignment(right, scope, strong=strong)
            right = right.child_by_field_name("right")
        if left is not None and left.type in _PATTERNS and right is not None and right.type in _SEQUENCES:
            lefts, rights = _named(left), _named(right)
            if len(lefts) == len(rights) and not any(n.type in _SPLATS for n in lefts + rights):
                values = [self.expr(value, scope) for value in rights]
                for target, value in zip(lefts, values, strict=True):
                    self.bind(target, value, scope, strong=strong)
                return
        self.bind(left, self.expr(right, scope), scope, strong=strong)

    def assign_name(self, scope: str, name: str, value: Expr, *, strong: bool) -> None:
        """``name = value`` in ``scope``; at the top level, a new version of the name."""
        current = self.version.setdefault(scope, {})
        if strong:
            self.versions[(scope, name)] = current[name] = self.versions.get((scope, name), 0) + 1
        version = current.get(name)
        self.assigns.append([scope, ["n", name, version] if version else ["n", name], value])

    def bind(self, target: Node | None, value: Expr | None, scope: str, *, strong: bool) -> None:
        """Record ``target = value`` for a name, attribute, item or unpacking target."""
        if target is None:
            return
        kind = target.type
        if kind == "parenthesized_expression" and len(_named(target)) == 1:
            self.bind(_named(target)[0], value, scope, strong=strong)
            return
        if kind in _PATTERNS:
            children = _named(target)
            splat = next((i for i, c in enumerate(children) if c.type in _SPLATS), None)
            for position, child in enumerate(children):
                if value is None:
                    self.bind(child, None, scope, strong=strong)
                elif child.type in _SPLATS:
                    rest = self.container("s", [[None, ["e", value, ""]]], scope)
                    self.bind(
                        child.named_children[0] if child.named_children else None, rest, scope, strong=strong
                    )
                else:
                    key = str(position) if splat is None or position < splat else None
                    self.bind(child, ["k", value, key], scope, strong=strong)
            return
        if value is None:
            if kind == "identifier" and strong:  # ``x = None``: what ``x`` held before is gone
                self.assign_name(scope, _text(target), ["u", []], strong=True)
            else:
                self.expr(target, scope)
            return
        if kind == "identifier":
            self.assign_name(scope, _text(target), value, strong=strong)
        elif kind == "attribute":
            obj = self.expr(target.child_by_field_name("object"), scope)
            attr = target.child_by_field_name("attribute")
            if obj is not None and attr is not None:
                self.assigns.append([scope, ["a", obj, _text(attr)], value])
        elif kind == "subscript":
            obj_node = target.child_by_field_name("value")
            obj = self.expr(obj_node, scope)
            key = self.index(target, scope)
            self.store(obj_node, obj, key, value, scope, strong=strong)

    def store(
        self,
        obj_node: Node | None,
        obj: Expr | None,
        key: str | None,
        value: Expr,
        scope: str,
        *,
        strong: bool,
    ) -> None:
        """``obj[key] = value``: into the containers ``obj`` holds. At the top level of a scope, when
        ``obj`` is a local name (or a literal item of one), the name gets a new version whose container
        holds only ``value`` at ``key``; the old containers (which other names may share) keep both."""
        if obj is None:
            return
        self.assigns.append([scope, ["k", obj, key], value])
        if not strong or key is None or obj_node is None or not self._replaceable(obj_node, obj, scope):
            return
        self.containers += 1
        new = ["d", self.containers, obj, ["x", key]]
        self.assigns.append([scope, ["k", new, key], value])
        if obj[0] == "n":
            self.assign_name(scope, obj[1], new, strong=True)
        else:
            self.store(obj_node.child_by_field_name("value"), obj[1], obj[2], new, scope, strong=True)

    def _replaceable(self, node: Node, expr: Expr, scope: str) -> bool:
        """Whether ``node`` is a local name of ``scope`` (or an item of one, by literal keys)."""
        if node.type == "identifier":
            return expr[0] == "n" and len(expr) > 2
        if node.type == "subscript" and expr[0] == "k" and expr[2] is not None and len(expr) == 3:
            inner = node.child_by_field_name("value")
            return inner is not None and self._replaceable(inner, expr[1], scope)
        return False

    def index(self, node: Node, scope: str) -> str | None:
        """The literal key of a subscript (None when it is none); visits the index for its calls."""
        subscripts = node.children_by_field_name("subscript")
        for sub in subscripts:
            self.expr(sub, scope)
        return literal_key(subscripts[0]) if len(subscripts) == 1 else None

    def container(self, kind: str, items: list[list[Any]], scope: str) -> Expr:
        """A new container of ``kind`` with (key, expr) items; its expression."""
        self.containers += 1
        container = ["c", self.containers, kind]
        for key, value in items:
            if value is not None:
                self.assigns.append([scope, ["k", container, key], value])
        return container

    # -- expressions -----------------------------------------------------------------------------

    def expr(self, node: Node | None, scope: str) -> Expr | None:
        """The expression of ``node`` (None when it can hold no function or class); records calls."""
        if node is None:
            return None
        kind = node.type
        if kind == "identifier":
            name = _text(node)
            versions = self.version.get(scope)
            version = versions.get(name) if versions else None
            return ["n", name, version] if version else ["n", name]
        if kind == "attribute":
            obj = self.expr(node.child_by_field_name("object"), scope)
            attr = node.child_by_field_name("attribute")
            return ["a", obj, _text(attr)] if obj is not None and attr is not None else None
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
            return ["d", self.containers, value, ["s", *_slice_bounds(subscripts[0])]]
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
        parts = [self.expr(c, scope) for c in _named(node)]
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
        value = _named(node)[0] if _named(node) else None
        if value is not None and (expr := self.expr(value, scope)) is not None:
            is_from = any(c.type == "from" for c in node.children)
            self.yields.append([scope, ["e", expr, ""] if is_from else expr])

    def sequence(self, node: Node, scope: str) -> Expr:
        """A list, tuple or set literal: its items by position (unknown after a ``*splat``)."""
        keyed = node.type != "set"
        items: list[list[Any]] = []
        for position, child in enumerate(_named(node)):
            if child.type == "list_splat":
                keyed = False
            value = self.expr(child, scope)
            items.append([str(position) if keyed else None, value])
        return self.container("s", items, scope)

    def dictionary(self, node: Node, scope: str) -> Expr:
        """A dict literal: values by literal key (any key otherwise); keys that are no literals."""
        items: list[list[Any]] = []
        for child in _named(node):
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
        children = _named(node)
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

    def except_(self, node: Node, scope: str) -> None:
        """``except E as e``: ``e`` holds an instance of ``E`` (of each class of a tuple)."""
        for child in node.named_children:
            if child.type == "block":
                self.block(child, scope)
            elif child.type == "as_pattern" and child.named_children:
                classes = self.expr(child.named_children[0], scope)
                alias = child.child_by_field_name("alias")
                target = alias.named_children[0] if alias is not None and alias.named_children else None
                self.bind(target, ["i", classes] if classes is not None else None, scope, strong=False)
            else:
                self.expr(child, scope)

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
            return ["S", _class_of(scope, self.scopes)]
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
                        kwargs[_text(name)] = value
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

    def update(self, obj_node: Node | None, obj: Expr, arguments: Node | None, scope: str) -> bool:
        """``d.update({"k": f})`` and ``d.update(k=f)`` store each literal key as ``d["k"] = f``
        would; True when the arguments were of that form (and have been visited)."""
        args = _named(arguments) if arguments is not None and arguments.type == "argument_list" else []
        if not args or any(a.type not in ("keyword_argument", "dictionary") for a in args):
            return False
        pairs: list[tuple[str, Node | None]] = []
        for arg in args:
            if arg.type == "keyword_argument":
                name = arg.child_by_field_name("name")
                pairs.append(
                    ("'" + _text(name) if name is not None else "", arg.child_by_field_name("value"))
                )
                continue
            for pair in _named(arg):
                key = literal_key(pair.child_by_field_name("key")) if pair.type == "pair" else None
                if key is None:
                    return False
                pairs.append((key, pair.child_by_field_name("value")))
        strong = self.top_level(scope) and obj_node is not None and self._replaceable(obj_node, obj, scope)
        for key, value_node in pairs:
            value = self.expr(value_node, scope)
            if value is not None and key:
                current = self.expr(obj_node, scope) if strong else obj  # the version the last store made
                self.store(obj_node, current, key, value, scope, strong=strong)
        return True

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
    "call": _Extractor.call,
    "lambda": _Extractor.lambda_,
    "subscript": _Extractor.subscript,
    "string": _Extractor.string,
    "binary_operator": _Extractor.binary_operator,
    "list_splat": _Extractor.splat,
    "dictionary_splat": _Extractor.splat,
    "yield": _Extractor.yield_,
    "dictionary": _Extractor.dictionary,
    "named_expression": _Extractor.named_expression,
    "function_definition": _Extractor.nested_definition,
    "class_definition": _Extractor.nested_definition,
    "decorated_definition": _Extractor.nested_definition,
    **dict.fromkeys(("parenthesized_expression", "await", "as_pattern"), _Extractor.pass_through),
    **dict.fromkeys(("list", "tuple", "set", "expression_list"), _Extractor.sequence),
    **dict.fromkeys(
        ("list_comprehension", "set_comprehension", "generator_expression", "dictionary_comprehension"),
        _Extractor.comprehension,
    ),
}
"""Node type -> the method of :class:`_Extractor` that reads its expression."""


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
