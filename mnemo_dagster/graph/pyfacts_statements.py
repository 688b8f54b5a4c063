"""Statements in the extraction of Python flow facts (:mod:`.pyfacts`): bodies and blocks, definitions
and their parameters, imports, and the bindings of assignments, ``for``, ``with`` and ``except``.

A statement at the top level of its scope's body runs once, after the earlier ones: an assignment
there gives the name a new version (see :meth:`StatementFacts.assign_name`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnemo_dagster.graph.pyfacts_base import (
    DUNDER,
    RAISE,
    Expr,
    FactsState,
    literal_key,
    named_children,
    node_text,
)

if TYPE_CHECKING:
    from tree_sitter import Node

_SEQUENCES = frozenset({"list", "tuple", "set", "expression_list"})
_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list"})
_SPLATS = frozenset({"list_splat_pattern", "list_splat"})


class StatementFacts(FactsState):
    """The statements of a walk. Their expressions come from
    :class:`~.pyfacts_expressions.ExpressionFacts` (``expr``, ``argument``, ``children``), which this
    part calls through ``self``."""

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
        for position, child in enumerate(named_children(node)):
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
            for item in named_children(child):
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
        name = node_text(name_node)
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
            params.append([node_text(ident), kind])
            default = param.child_by_field_name("value") if "default" in param.type else None
            if default is not None and (expr := self.argument(default, outer)) is not None:
                self.assigns.append([outer, ["v", inner, node_text(ident)], expr])
        return params

    def import_(self, node: Node, scope: str) -> None:
        """``import a.b [as c]`` and ``from m import x [as y]`` become assignments of module values."""
        strong = self.top_level(scope)
        if node.type == "import_statement":
            for item in node.named_children:
                if item.type == "aliased_import":
                    spec = node_text(item.child_by_field_name("name"))
                    alias = node_text(item.child_by_field_name("alias"))
                    self.assign_name(scope, alias, ["M", spec, None], strong=strong)
                elif item.type == "dotted_name":
                    head = node_text(item).split(".")[0]
                    self.assign_name(scope, head, ["M", head, None], strong=strong)
                    self.assigns.append([scope, ["I"], ["M", node_text(item), None]])
            return
        module = node.child_by_field_name("module_name")
        if module is None:
            return
        spec = node_text(module)
        for item in node.named_children[1:]:
            if item.type == "wildcard_import":
                self.assigns.append([scope, ["*"], ["M", spec, None]])
            elif item.type in ("aliased_import", "dotted_name"):
                name_node = item.child_by_field_name("name") if item.type == "aliased_import" else item
                alias_node = item.child_by_field_name("alias") if item.type == "aliased_import" else None
                name = node_text(name_node)
                local = node_text(alias_node) if alias_node is not None else name
                self.assign_name(scope, local, ["M", spec, name], strong=strong)

    def assignment(self, node: Node, scope: str, *, strong: bool) -> None:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if right is None:
            return
        if right.type == "assignment":  # a = b = value
            self.assignment(right, scope, strong=strong)
            right = right.child_by_field_name("right")
        if left is not None and left.type in _PATTERNS and right is not None and right.type in _SEQUENCES:
            lefts, rights = named_children(left), named_children(right)
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
        if kind == "parenthesized_expression" and len(named_children(target)) == 1:
            self.bind(named_children(target)[0], value, scope, strong=strong)
            return
        if kind in _PATTERNS:
            children = named_children(target)
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
                self.assign_name(scope, node_text(target), ["u", []], strong=True)
            else:
                self.expr(target, scope)
            return
        if kind == "identifier":
            self.assign_name(scope, node_text(target), value, strong=strong)
        elif kind == "attribute":
            obj = self.expr(target.child_by_field_name("object"), scope)
            attr = target.child_by_field_name("attribute")
            if obj is not None and attr is not None:
                self.assigns.append([scope, ["a", obj, node_text(attr)], value])
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

    def update(self, obj_node: Node | None, obj: Expr, arguments: Node | None, scope: str) -> bool:
        """``d.update({"k": f})`` and ``d.update(k=f)`` store each literal key as ``d["k"] = f``
        would; True when the arguments were of that form (and have been visited)."""
        args = (
            named_children(arguments) if arguments is not None and arguments.type == "argument_list" else []
        )
        if not args or any(a.type not in ("keyword_argument", "dictionary") for a in args):
            return False
        pairs: list[tuple[str, Node | None]] = []
        for arg in args:
            if arg.type == "keyword_argument":
                name = arg.child_by_field_name("name")
                pairs.append(
                    ("'" + node_text(name) if name is not None else "", arg.child_by_field_name("value"))
                )
                continue
            for pair in named_children(arg):
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

    def index(self, node: Node, scope: str) -> str | None:
        """The literal key of a subscript (None when it is none); visits the index for its calls."""
        subscripts = node.children_by_field_name("subscript")
        for sub in subscripts:
            self.expr(sub, scope)
        return literal_key(subscripts[0]) if len(subscripts) == 1 else None
