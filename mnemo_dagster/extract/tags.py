"""Definitions and references of a file, from one pass of its language's ``tags.scm`` query.

The query's capture names follow the tags convention: ``@definition.<kind>`` with
``@name.definition.<kind>``, ``@reference.call`` / ``@name.reference.call``,
``@name.reference.inherits`` and ``@reference.import`` (decoded by
:mod:`~mnemo_dagster.extract.imports`). Helper captures: ``@comment`` (comments that may join
the chunk of the definition below them), ``@wrapper`` (decorators, ``export``, declaration wrappers
that belong to the definition they wrap), ``@scope`` / ``@namespace`` (Rust ``impl`` / ``mod``) and
``@scope.receiver`` (Go's method receiver).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mnemo_dagster.extract.imports import ImportCapture, imports_of
from mnemo_dagster.extract.languages import LanguageSpec
from mnemo_dagster.extract.nodes import end_line_of, line_of, text_line_of, text_of
from mnemo_dagster.extract.parsing import get_tags_query
from mnemo_dagster.models import Reference, Symbol, SymbolKind

if TYPE_CHECKING:
    from tree_sitter import Node

_SYMBOL_KINDS = frozenset({"class", "function", "method", "interface", "type", "enum"})
METHOD_PARENTS = frozenset({"class", "interface", "enum", "scope"})
"""Definitions whose directly nested functions are methods."""
_TRANSPARENT = frozenset(
    {
        "preproc_ifdef",
        "preproc_if",
        "preproc_else",
        "preproc_elif",
        "linkage_specification",
        "namespace_definition",
        "namespace_declaration",
        "file_scoped_namespace_declaration",
        "declaration_list",
        "compound_statement",
    }
)
"""Blocks whose members chunk as top-level definitions: header guards, ``extern "C"``, C++/C#/PHP
namespaces. Only reached through the root's children, never into a function or class body."""
_NEAR = 256
"""How far to look for other code on a comment's lines; beyond that (minified code) it has company."""


@dataclass(slots=True, eq=False)
class Definition:
    """A definition (or a Rust ``impl``/``mod`` scope) found by the tags query."""

    name: str
    kind: str
    """A SymbolKind, or ``scope`` / ``namespace`` for containers that are not symbols (Rust ``impl``,
    ``mod``): they prefix their members' paths, and functions in a ``scope`` are methods."""
    node: Node
    """The outer node: the definition with its decorators / export / declaration wrapper."""
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    chunk_start: int
    """First line of its chunk: ``start_line`` moved up over the comments right above it."""
    top_level: bool
    """Whether the outer node is a direct child of the root, i.e. a unit of module chunking."""
    receiver: str | None = None
    """Go: the receiver type, which prefixes the path instead of the enclosing definition."""
    parent: Definition | None = None
    path: str = ""
    children: list[Definition] = field(default_factory=list)


def extract(
    source: bytes, spec: LanguageSpec, root: Node
) -> tuple[list[Definition], list[Symbol], list[Reference]]:
    """Definitions linked into a tree (sorted by position), the symbols among them, and references."""
    found = _Captures()
    for _, captures in get_tags_query(spec.name).matches(root):
        if captures:  # an empty match is one whose predicate failed
            found.add(source, captures)
    defs = found.definitions(source, root)
    _link(defs)
    return defs, _symbols(defs), _references(defs, found, source)


class _Captures:
    """What one pass of the tags query found, before definitions are linked into a tree."""

    def __init__(self) -> None:
        self.raw_defs: list[tuple[Node, Node, str, str | None]] = []
        """(definition node, name node, kind, Go receiver type) per definition match."""
        self.calls: list[tuple[Node, Node]] = []
        self.inherits: list[Node] = []
        self.imports: list[ImportCapture] = []
        self.wrappers: dict[tuple[int, int], Node] = {}
        """(start, end) bytes of a wrapped node -> its wrapper (decorators, export, const)."""
        self.comment_blocks: dict[int, int] = {}
        """Last line -> first line of a comment that has its lines to itself."""

    def add(self, source: bytes, captures: dict[str, Node]) -> None:
        """Record one match of the query."""
        if "reference.call" in captures:
            self.calls.append((captures["reference.call"], captures["name.reference.call"]))
        elif "name.reference.inherits" in captures:
            self.inherits.append(captures["name.reference.inherits"])
        elif "reference.import" in captures:
            self.imports.extend(imports_of(source, captures))
        elif "comment" in captures:
            comment = captures["comment"]
            if _own_lines(source, comment):
                self.comment_blocks[end_line_of(comment)] = line_of(comment)
        elif "wrapper" in captures:
            wrapper = captures["wrapper"]
            child = _wrapped_child(wrapper)
            if child is not None:
                self.wrappers[(child.start_byte, child.end_byte)] = wrapper
        elif "scope" in captures or "namespace" in captures:
            kind = "scope" if "scope" in captures else "namespace"
            self.raw_defs.append((captures[kind], captures[f"name.{kind}"], kind, None))
        else:
            self._add_definition(source, captures)

    def _add_definition(self, source: bytes, captures: dict[str, Node]) -> None:
        for key, node in captures.items():
            if key.startswith("definition."):
                kind = key[len("definition.") :]
                name = captures.get(f"name.definition.{kind}")
                if name is not None and kind in _SYMBOL_KINDS:
                    receiver = captures.get("scope.receiver")
                    receiver_name = text_of(source, receiver) if receiver is not None else None
                    self.raw_defs.append((node, name, kind, receiver_name))
                break

    def definitions(self, source: bytes, root: Node) -> list[Definition]:
        """One definition per outer node, sorted by position (outer before inner)."""
        # Top-level-ness and wrappers come from byte ranges: ``Node.parent`` and sibling lookups scan
        # from the root in tree-sitter 0.21, which is quadratic on minified files.
        root_children = _top_level_keys(root)
        defs: dict[tuple[int, int], Definition] = {}
        for node, name, kind, receiver in self.raw_defs:
            outer = self._outer(node)
            key = (outer.start_byte, outer.end_byte)
            if key in defs:
                continue
            start_line = text_line_of(source, outer)
            defs[key] = Definition(
                name=text_of(source, name),
                kind=kind,
                node=outer,
                start_byte=outer.start_byte,
                end_byte=outer.end_byte,
                start_line=start_line,
                end_line=end_line_of(outer),
                chunk_start=self._chunk_start(start_line),
                top_level=key in root_children,
                receiver=receiver,
            )
        return sorted(defs.values(), key=lambda d: (d.start_byte, -d.end_byte))

    def _outer(self, node: Node) -> Node:
        """The outermost wrapper around a definition node (the node itself when unwrapped)."""
        outer = node
        key = (outer.start_byte, outer.end_byte)
        while (wrapper := self.wrappers.get(key)) is not None:
            wrapper_key = (wrapper.start_byte, wrapper.end_byte)
            if wrapper_key == key:
                break
            outer, key = wrapper, wrapper_key
        return outer

    def _chunk_start(self, start_line: int) -> int:
        """``start_line`` moved up over the comment blocks right above it."""
        chunk_start = start_line
        while (chunk_start - 1) in self.comment_blocks:
            chunk_start = self.comment_blocks[chunk_start - 1]
        return chunk_start


def _top_level_keys(root: Node) -> set[tuple[int, int]]:
    """(start, end) bytes of the root's children, and of the children of transparent blocks among them."""
    keys: set[tuple[int, int]] = set()
    stack = list(root.children)
    while stack:
        node = stack.pop()
        keys.add((node.start_byte, node.end_byte))
        if node.type in _TRANSPARENT:
            stack.extend(node.children)
    return keys


def _own_lines(source: bytes, node: Node) -> bool:
    """Whether nothing but whitespace shares ``node``'s first and last lines."""
    column = node.start_point[1]
    if column > _NEAR or source[node.start_byte - column : node.start_byte].strip():
        return False
    newline = source.find(b"\n", node.end_byte, node.end_byte + _NEAR)
    stop = newline if newline != -1 else min(len(source), node.end_byte + _NEAR)
    if newline == -1 and stop != len(source):
        return False
    return not source[node.end_byte : stop].strip()


def _wrapped_child(wrapper: Node) -> Node | None:
    """The definition-bearing child a wrapper node belongs to, or None when it wraps several."""
    kind = wrapper.type
    if kind == "decorated_definition":
        return wrapper.child_by_field_name("definition")
    if kind == "export_statement":
        return wrapper.child_by_field_name("declaration")
    named = [child for child in wrapper.named_children if "comment" not in child.type]
    if kind == "ambient_declaration":
        return named[0] if named else None
    if kind == "template_declaration":  # C++: template <...> class / function
        return named[-1] if named else None
    return named[0] if len(named) == 1 else None


def _link(defs: list[Definition]) -> None:
    """Set parents, children, dotted paths and method kinds; ``defs`` is sorted by position."""
    stack: list[Definition] = []
    for d in defs:
        while stack and stack[-1].end_byte < d.end_byte:
            stack.pop()
        parent = stack[-1] if stack else None
        d.parent = parent
        if parent is not None:
            parent.children.append(d)
            if d.kind == "function" and parent.kind in METHOD_PARENTS:
                d.kind = "method"
        if d.receiver:
            d.path = f"{d.receiver}.{d.name}"
        elif parent is not None:
            d.path = f"{parent.path}.{d.name}"
        else:
            d.path = d.name
        stack.append(d)


def _symbols(defs: list[Definition]) -> list[Symbol]:
    seen: set[str] = set()
    symbols: list[Symbol] = []
    for d in defs:
        if d.kind not in _SYMBOL_KINDS or d.path in seen:
            continue  # a redefinition (a property setter, an overload) keeps the first
        seen.add(d.path)
        kind: SymbolKind = d.kind  # type: ignore[assignment]
        symbols.append(Symbol(d.name, d.path, kind, d.start_line, d.end_line))
    return symbols


class _Enclosing:
    """Innermost definition around a byte offset, by bisection over the sorted definitions."""

    def __init__(self, defs: list[Definition]) -> None:
        self.defs = defs
        self.starts = [d.start_byte for d in defs]

    def path_at(self, offset: int) -> str:
        index = bisect.bisect_right(self.starts, offset) - 1
        d = self.defs[index] if index >= 0 else None
        while d is not None and not (d.start_byte <= offset < d.end_byte):
            d = d.parent
        return d.path if d is not None else ""


def _references(defs: list[Definition], found: _Captures, source: bytes) -> list[Reference]:
    """Calls, base classes and imports in document order, each with its innermost enclosing symbol."""
    enclosing = _Enclosing(defs)
    ordered: list[tuple[int, int, Reference]] = []
    seen: set[tuple[str, str, int, str | None, str | None]] = set()

    def add(offset: int, ref: Reference) -> None:
        key = (ref.kind, ref.name, offset, ref.module, ref.alias)
        if key not in seen:
            seen.add(key)
            ordered.append((offset, len(ordered), ref))

    import_statements = {(i.statement.start_byte, i.statement.end_byte) for i in found.imports}
    # Where a definition is written as a call (Elixir's "def f(x)"), its head is not a call of it.
    definition_names = {name.start_byte for _, name, _, _ in found.raw_defs}
    for call, name in found.calls:
        if (call.start_byte, call.end_byte) in import_statements or name.start_byte in definition_names:
            continue  # require("m") is recorded as an import
        offset = name.start_byte
        add(offset, Reference("calls", text_of(source, name), enclosing.path_at(offset), line_of(name)))
    for name in found.inherits:
        offset = name.start_byte
        add(offset, Reference("inherits", text_of(source, name), enclosing.path_at(offset), line_of(name)))

    specific = {(i.statement.start_byte, i.statement.end_byte) for i in found.imports if not i.fallback}
    for imp in found.imports:
        if imp.fallback and (imp.statement.start_byte, imp.statement.end_byte) in specific:
            continue
        name = imp.name if imp.name is not None else ("*" if imp.star else imp.module)
        alias = imp.alias if imp.alias and imp.alias != name else None
        offset = imp.statement.start_byte
        source_path = enclosing.path_at(offset)
        add(offset, Reference("imports", name, source_path, imp.line, module=imp.module, alias=alias))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return [ref for _, _, ref in ordered]
