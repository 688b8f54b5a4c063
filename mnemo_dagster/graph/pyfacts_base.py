"""What the extraction of Python flow facts (:mod:`.pyfacts`) shares: the flags and keys of the
encoding, reading tree-sitter nodes, and the lists the walk fills (:class:`FactsState`).

The walk has two parts that call one another through ``self``: statements and bindings
(:mod:`.pyfacts_statements`) and expressions and calls (:mod:`.pyfacts_expressions`).
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


def node_text(node: Node) -> str:
    """The source text of a node."""
    return node.text.decode("utf-8", "replace")


def named_children(node: Node) -> list[Node]:
    """The named children of a node without comments (which would shift positions)."""
    return [c for c in node.named_children if c.type != "comment"]


def literal_key(node: Node | None) -> str | None:
    """The key a literal index or dict key stands for: ``"3"`` for ``3``, ``"'a"`` for ``"a"``;
    None for anything else (negative numbers, booleans, f-strings, bytes, names)."""
    if node is None:
        return None
    if node.type == "parenthesized_expression" and len(named_children(node)) == 1:
        return literal_key(named_children(node)[0])
    if node.type == "integer":
        try:
            return str(int(node_text(node).replace("_", ""), 0))
        except ValueError:
            return None
    if node.type != "string":
        return None
    parts = node.named_children
    if not parts or parts[0].type != "string_start" or parts[-1].type != "string_end":
        return None
    if node_text(parts[0]).rstrip("'\"").lower() not in ("", "u"):
        return None
    if any(p.type == "interpolation" for p in parts):
        return None
    raw = node.text
    return "'" + raw[len(parts[0].text) : len(raw) - len(parts[-1].text)].decode("utf-8", "replace")


class FactsState:
    """What a walk of one tree collects: scopes, assignments, call sites, returns and yields."""

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

    def implicit(self, scope: str, line: int, callee: Expr, flag: int, args: list[Any] | None = None) -> int:
        """Record a call the code makes without call syntax; returns its site."""
        self.calls.append([scope, line, callee, args or [], {}, flag])
        return len(self.calls) - 1

    def container(self, kind: str, items: list[list[Any]], scope: str) -> Expr:
        """A new container of ``kind`` with (key, expr) items; its expression."""
        self.containers += 1
        container = ["c", self.containers, kind]
        for key, value in items:
            if value is not None:
                self.assigns.append([scope, ["k", container, key], value])
        return container
