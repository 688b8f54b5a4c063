"""Split a source file into chunks and extract its definitions and references.

:func:`parse_file` is the entry point. For languages with tag queries (see
:mod:`mnemo_dagster.core.languages`) it parses the file with tree-sitter, runs the language's
``tags.scm`` once, and chunks *split-then-merge*:

- every top-level definition (function, class, interface, type, enum, Rust ``impl`` block...) is one
  chunk, with its decorators, ``export`` wrapper and the comments right above it;
- a class-like definition larger than ``max_chunk_chars`` is split into one chunk per member
  (methods, nested classes) plus chunks of the lines between them (the header, fields); a tiny piece
  between members (a closing ``}``) joins the chunk before it when that stays within the bound;
- any other definition larger than the bound is cut into consecutive line windows that keep its kind
  and name;
- the lines outside definitions (imports, constants, statements) are packed into ``module`` chunks of
  up to ``max_chunk_chars``, cut preferably before a top-level statement or after a blank line.

Languages without queries, and files that are mostly syntax errors, get ``lines`` windows cut the same
way. ``ChunkKind`` has no ``type`` or ``enum``: type aliases chunk as ``interface``, enums as ``class``
and Rust ``impl``/``mod`` blocks as ``block`` (symbols keep their exact kinds).

Chunks never overlap and never consist of whitespace only. Every chunk's ``content`` is exactly
its lines ``start_line..end_line`` joined with ``"\\n"`` (a ``"\\r\\n"`` line end counts as ``"\\n"``),
with one exception: a single line longer than ``max_chunk_chars`` (minified code) is cut into
several chunks that all have ``start_line == end_line`` and whose contents are consecutive slices of
that line; joined, they give the line back.
"""

from __future__ import annotations

import bisect
import gc
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mnemo_dagster.core.errors import DecodeError
from mnemo_dagster.core.languages import LanguageSpec, language_named
from mnemo_dagster.core.models import Chunk, ChunkKind, ParsedFile, Reference, Symbol, SymbolKind
from mnemo_dagster.core.parsing import get_tags_query, parse

if TYPE_CHECKING:
    from tree_sitter import Node

_CHUNK_KINDS: dict[str, ChunkKind] = {
    "class": "class",
    "function": "function",
    "method": "method",
    "interface": "interface",
    "type": "interface",
    "enum": "class",
    "scope": "block",
    "namespace": "block",
}
_SYMBOL_KINDS = frozenset({"class", "function", "method", "interface", "type", "enum"})
_METHOD_PARENTS = frozenset({"class", "interface", "enum", "scope"})
"""Definitions whose directly nested functions are methods."""
_SPLITTABLE = _METHOD_PARENTS | {"namespace"}
"""Definitions that, when too large, split into their members rather than into line windows."""
_QUOTES = "\"'`"
_ERROR_FALLBACK_FRACTION = 0.5
"""Above this share of bytes in ERROR nodes, the tree is not trusted for chunking."""


def parse_file(
    path: str,
    source: bytes,
    language: str,
    *,
    max_chunk_chars: int = 1500,
    min_chunk_chars: int = 200,
) -> ParsedFile:
    """Chunk one file and extract its symbols and references.

    ``path`` is the repository-relative POSIX path, used only in records and messages; the disk is
    never read. ``language`` is a registry name (:func:`~mnemo_dagster.core.languages.language_for`).
    Raises :class:`~mnemo_dagster.core.errors.DecodeError` when ``source`` is not UTF-8 and
    ``ValueError`` for an unknown language or nonsensical size bounds.
    """
    if max_chunk_chars < 1 or min_chunk_chars < 0:
        raise ValueError("max_chunk_chars must be positive and min_chunk_chars not negative")
    try:
        spec = language_named(language)
    except KeyError:
        raise ValueError(f"unknown language {language!r}") from None
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(path, f"not valid UTF-8 (first bad byte at offset {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
        source = source[3:]
    if not text.strip():
        return ParsedFile(path=path, language=spec.name, chunks=())

    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    # Extraction allocates hundreds of thousands of short-lived objects (nodes, captures) on a large
    # file and creates no reference cycles; the cyclic collector would rescan them over and over.
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_text(path, source, lines, spec, max_chunk_chars, min_chunk_chars)
    finally:
        if gc_enabled:
            gc.enable()


def _parse_text(
    path: str, source: bytes, lines: list[str], spec: LanguageSpec, max_chars: int, min_chars: int
) -> ParsedFile:
    if not spec.has_queries:
        chunker = _Chunker(lines, max_chars, min_chars, frozenset())
        chunker.emit_range(1, len(lines), "lines", None, None)
        return ParsedFile(path=path, language=spec.name, chunks=tuple(chunker.chunks))
    return _parse_with_tree(path, source, lines, spec, max_chars, min_chars)


# --------------------------------------------------------------------------------------------------
# Tree-based extraction


@dataclass(slots=True, eq=False)
class _Def:
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
    parent: _Def | None = None
    path: str = ""
    children: list[_Def] = field(default_factory=list)


def _parse_with_tree(
    path: str, source: bytes, lines: list[str], spec: LanguageSpec, max_chars: int, min_chars: int
) -> ParsedFile:
    tree = parse(source, spec)
    root = tree.root_node
    warnings: list[str] = []
    regions, first_error_line, error_bytes = _error_regions(root)
    mostly_errors = error_bytes > _ERROR_FALLBACK_FRACTION * max(len(source), 1)
    if regions:
        if mostly_errors:
            share = round(100 * error_bytes / len(source))
            warnings.append(
                f"syntax error near line {first_error_line} ({regions} error regions, {share}% of the file);"
                " indexed as line windows"
            )
        else:
            warnings.append(
                f"syntax error near line {first_error_line} ({regions} error regions);"
                " indexed with error recovery"
            )

    defs, found = _collect(source, spec, root)
    _link(defs)
    symbols = _symbols(defs)
    references = _references(defs, found, source)

    good_starts = frozenset(_line_of(child) for child in root.named_children)
    chunker = _Chunker(lines, max_chars, min_chars, good_starts)
    if mostly_errors:
        chunker.emit_range(1, len(lines), "lines", None, None)
    else:
        top = [d for d in defs if d.parent is None and d.top_level]
        chunker.container(1, len(lines), top, "module", None, None, is_module=True)
    return ParsedFile(
        path=path,
        language=spec.name,
        chunks=tuple(chunker.chunks),
        symbols=tuple(symbols),
        references=tuple(references),
        warnings=tuple(warnings),
    )


def _line_of(node: Node) -> int:
    return node.start_point[0] + 1


def _end_line_of(node: Node) -> int:
    row, column = node.end_point
    if column == 0 and row > node.start_point[0]:
        return row  # the node ends with a newline: its last line is the one before
    return row + 1


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _error_regions(root: Node) -> tuple[int, int, int]:
    """(number of ERROR/MISSING regions, first line of one, bytes inside ERROR nodes)."""
    if not root.has_error:
        return 0, 0, 0
    count, first_line, error_bytes = 0, 0, 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
            line = _line_of(node)
            first_line = line if first_line == 0 else min(first_line, line)
            error_bytes += node.end_byte - node.start_byte
            continue
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return count, first_line, error_bytes


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
    return named[0] if len(named) == 1 else None


@dataclass(slots=True)
class _Import:
    statement: Node
    module: str
    name: str | None
    alias: str | None
    line: int
    star: bool
    fallback: bool = False
    """Kept only when no other pattern matched its statement (``import "m"`` vs ``import x from "m"``)."""


class _Collected:
    """What one pass of the tags query found, before definitions are linked into a tree."""

    def __init__(self) -> None:
        self.raw_defs: list[tuple[Node, Node, str, str | None]] = []
        self.calls: list[tuple[Node, Node]] = []
        self.inherits: list[Node] = []
        self.imports: list[_Import] = []
        self.wrappers: dict[tuple[int, int], Node] = {}
        """(start, end) bytes of a wrapped node -> its wrapper (decorators, export, const)."""
        self.comment_blocks: dict[int, int] = {}
        """Last line -> first line of a comment that has its lines to itself."""


_NEAR = 256
"""How far to look for other code on a comment's lines; beyond that (minified code) it has company."""


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


def _collect(source: bytes, spec: LanguageSpec, root: Node) -> tuple[list[_Def], _Collected]:
    """One pass of the tags query: definitions (sorted by position) and everything else it captured."""
    found = _Collected()
    for _, captures in get_tags_query(spec.name).matches(root):
        if not captures:
            continue  # a match whose predicate failed
        if "reference.call" in captures:
            found.calls.append((captures["reference.call"], captures["name.reference.call"]))
        elif "name.reference.inherits" in captures:
            found.inherits.append(captures["name.reference.inherits"])
        elif "reference.import" in captures:
            found.imports.extend(_imports_of(source, captures))
        elif "comment" in captures:
            comment = captures["comment"]
            if _own_lines(source, comment):
                found.comment_blocks[_end_line_of(comment)] = _line_of(comment)
        elif "wrapper" in captures:
            wrapper = captures["wrapper"]
            child = _wrapped_child(wrapper)
            if child is not None:
                found.wrappers[(child.start_byte, child.end_byte)] = wrapper
        elif "scope" in captures or "namespace" in captures:
            kind = "scope" if "scope" in captures else "namespace"
            found.raw_defs.append((captures[kind], captures[f"name.{kind}"], kind, None))
        else:
            for key, node in captures.items():
                if key.startswith("definition."):
                    kind = key[len("definition.") :]
                    name = captures.get(f"name.definition.{kind}")
                    if name is not None and kind in _SYMBOL_KINDS:
                        receiver = captures.get("scope.receiver")
                        receiver_name = _text(source, receiver) if receiver is not None else None
                        found.raw_defs.append((node, name, kind, receiver_name))
                    break

    # Top-level-ness and wrappers come from byte ranges: ``Node.parent`` and sibling lookups scan
    # from the root in tree-sitter 0.21, which is quadratic on minified files.
    root_children = {(child.start_byte, child.end_byte) for child in root.children}
    defs: dict[tuple[int, int], _Def] = {}
    for node, name, kind, receiver in found.raw_defs:
        outer = node
        key = (outer.start_byte, outer.end_byte)
        while (wrapper := found.wrappers.get(key)) is not None:
            wrapper_key = (wrapper.start_byte, wrapper.end_byte)
            if wrapper_key == key:
                break
            outer, key = wrapper, wrapper_key
        if key in defs:
            continue
        start_line = _line_of(outer)
        chunk_start = start_line
        while (chunk_start - 1) in found.comment_blocks:
            chunk_start = found.comment_blocks[chunk_start - 1]
        defs[key] = _Def(
            name=_text(source, name),
            kind=kind,
            node=outer,
            start_byte=outer.start_byte,
            end_byte=outer.end_byte,
            start_line=start_line,
            end_line=_end_line_of(outer),
            chunk_start=chunk_start,
            top_level=key in root_children,
            receiver=receiver,
        )
    ordered = sorted(defs.values(), key=lambda d: (d.start_byte, -d.end_byte))
    return ordered, found


def _link(defs: list[_Def]) -> None:
    """Set parents, children, dotted paths and method kinds; ``defs`` is sorted by position."""
    stack: list[_Def] = []
    for d in defs:
        while stack and stack[-1].end_byte < d.end_byte:
            stack.pop()
        parent = stack[-1] if stack else None
        d.parent = parent
        if parent is not None:
            parent.children.append(d)
            if d.kind == "function" and parent.kind in _METHOD_PARENTS:
                d.kind = "method"
        if d.receiver:
            d.path = f"{d.receiver}.{d.name}"
        elif parent is not None:
            d.path = f"{parent.path}.{d.name}"
        else:
            d.path = d.name
        stack.append(d)


def _symbols(defs: list[_Def]) -> list[Symbol]:
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

    def __init__(self, defs: list[_Def]) -> None:
        self.defs = defs
        self.starts = [d.start_byte for d in defs]

    def path_at(self, offset: int) -> str:
        index = bisect.bisect_right(self.starts, offset) - 1
        d = self.defs[index] if index >= 0 else None
        while d is not None and not (d.start_byte <= offset < d.end_byte):
            d = d.parent
        return d.path if d is not None else ""


def _references(defs: list[_Def], found: _Collected, source: bytes) -> list[Reference]:
    """Calls, base classes and imports in document order, each with its innermost enclosing symbol."""
    enclosing = _Enclosing(defs)
    calls, inherits, imports = found.calls, found.inherits, found.imports
    found: list[tuple[int, int, Reference]] = []
    seen: set[tuple[str, str, int, str | None, str | None]] = set()

    def add(offset: int, ref: Reference) -> None:
        key = (ref.kind, ref.name, offset, ref.module, ref.alias)
        if key not in seen:
            seen.add(key)
            found.append((offset, len(found), ref))

    import_statements = {(i.statement.start_byte, i.statement.end_byte) for i in imports}
    for call, name in calls:
        if (call.start_byte, call.end_byte) in import_statements:
            continue  # require("m") is recorded as an import
        offset = name.start_byte
        add(offset, Reference("calls", _text(source, name), enclosing.path_at(offset), _line_of(name)))
    for name in inherits:
        offset = name.start_byte
        add(offset, Reference("inherits", _text(source, name), enclosing.path_at(offset), _line_of(name)))

    specific = {(i.statement.start_byte, i.statement.end_byte) for i in imports if not i.fallback}
    for imp in imports:
        if imp.fallback and (imp.statement.start_byte, imp.statement.end_byte) in specific:
            continue
        name = imp.name if imp.name is not None else ("*" if imp.star else imp.module)
        alias = imp.alias if imp.alias and imp.alias != name else None
        offset = imp.statement.start_byte
        source_path = enclosing.path_at(offset)
        add(offset, Reference("imports", name, source_path, imp.line, module=imp.module, alias=alias))
    found.sort(key=lambda item: (item[0], item[1]))
    return [ref for _, _, ref in found]


def _module_text(source: bytes, node: Node) -> str:
    text = _text(source, node)
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        return text[1:-1]
    return text


def _imports_of(source: bytes, captures: dict[str, Node]) -> Iterable[_Import]:
    statement = captures["reference.import"]
    fallback = "import.fallback" in captures
    if "import.tree" in captures:
        for module, name, alias, line in _rust_use(source, captures["import.tree"], ""):
            yield _Import(statement, module, name, alias, line, name == "*")
        return
    module_node = captures["import.module"]
    module = _module_text(source, module_node)
    if "import.require" in captures:
        binding = captures.get("import.binding")
        for name, alias, line in _require_bindings(source, binding, statement):
            yield _Import(statement, module, name, alias, line, name == "*", fallback)
        return
    name_node = captures.get("import.name")
    alias_node = captures.get("import.alias")
    default_node = captures.get("import.default")
    star = "import.star" in captures
    line_node = name_node or default_node or alias_node or module_node
    if default_node is not None:
        name: str | None = "default"
        alias: str | None = _text(source, default_node)
    else:
        name = _text(source, name_node) if name_node is not None else ("*" if star and alias_node else None)
        alias = _text(source, alias_node) if alias_node is not None else None
    yield _Import(statement, module, name, alias, _line_of(line_node), star, fallback)


def _require_bindings(source: bytes, target: Node | None, call: Node) -> list[tuple[str, str | None, int]]:
    """``const x = require("m")`` -> ("*", "x"); ``const {a, b: c} = require("m")`` -> a, b as c."""
    line = _line_of(call)
    if target is not None and target.type == "identifier":
        return [("*", _text(source, target), line)]
    if target is not None and target.type == "object_pattern":
        bindings: list[tuple[str, str | None, int]] = []
        for child in target.named_children:
            if child.type == "shorthand_property_identifier_pattern":
                bindings.append((_text(source, child), None, _line_of(child)))
            elif child.type == "pair_pattern":
                key, local = child.child_by_field_name("key"), child.child_by_field_name("value")
                if key is not None and local is not None and local.type == "identifier":
                    bindings.append((_text(source, key), _text(source, local), _line_of(child)))
        if bindings:
            return bindings
    return [("*", None, line)]


def _rust_use(source: bytes, node: Node, prefix: str) -> Iterable[tuple[str, str, str | None, int]]:
    """Expand a Rust use tree into (module path, imported name, alias, line) tuples."""

    def join(tail: str) -> str:
        return f"{prefix}::{tail}" if prefix else tail

    kind = node.type
    line = _line_of(node)
    if kind == "use_list":
        for child in node.named_children:
            yield from _rust_use(source, child, prefix)
    elif kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner = join(_text(source, path)) if path is not None else prefix
        items = node.child_by_field_name("list")
        if items is not None:
            yield from _rust_use(source, items, inner)
    elif kind == "use_wildcard":
        text = _text(source, node)
        module = text[: -len("::*")] if text.endswith("::*") else ""
        yield (join(module) if module else prefix), "*", None, line
    elif kind == "use_as_clause":
        path, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        if path is not None:
            full = join(_text(source, path))
            yield full, full.rsplit("::", 1)[-1], _text(source, alias) if alias is not None else None, line
    elif kind == "self" and prefix:
        yield prefix, prefix.rsplit("::", 1)[-1], None, line
    elif "comment" not in kind:
        full = join(_text(source, node))
        yield full, full.rsplit("::", 1)[-1], None, line


# --------------------------------------------------------------------------------------------------
# Chunking by lines


class _Chunker:
    """Emits chunks for line ranges (1-based, inclusive) within the size bounds."""

    def __init__(self, lines: list[str], max_chars: int, min_chars: int, good_starts: frozenset[int]) -> None:
        self.lines = lines
        self.max = max_chars
        self.min = min_chars
        self.good_starts = good_starts
        self.chunks: list[Chunk] = []
        self.prefix = [0]
        total = 0
        for line in lines:
            total += len(line) + 1
            self.prefix.append(total)

    # -- helpers ---------------------------------------------------------------------------------

    def size(self, start: int, end: int) -> int:
        """Characters of the content of lines ``start..end``."""
        return self.prefix[end] - self.prefix[start - 1] - 1

    def blank(self, line: int) -> bool:
        return not self.lines[line - 1].strip()

    def trim(self, start: int, end: int) -> tuple[int, int]:
        while start <= end and self.blank(start):
            start += 1
        while end >= start and self.blank(end):
            end -= 1
        return start, end

    def content(self, start: int, end: int) -> str:
        return "\n".join(self.lines[start - 1 : end])

    def preferred_cut(self, line: int) -> bool:
        """Whether a window may well start at ``line``: after a blank line or at a top-level statement."""
        return line in self.good_starts or self.blank(line - 1)

    # -- emitting --------------------------------------------------------------------------------

    def emit_range(self, start: int, end: int, kind: ChunkKind, name: str | None, path: str | None) -> None:
        """Lines ``start..end`` as one chunk, or as windows (and line slices) when too large."""
        start, end = self.trim(start, end)
        if start > end:
            return
        total = self.size(start, end)
        if total <= self.max:
            self.chunks.append(Chunk(kind, name, path, start, end, self.content(start, end)))
            return
        soft = total / math.ceil(total / self.max)
        windows: list[tuple[int, int]] = []
        begin, cut, line = start, 0, start
        while line <= end:
            if len(self.lines[line - 1]) > self.max:
                self._windows_into(windows, begin, line - 1)
                self._emit_windows(windows, kind, name, path)
                windows = []
                self._emit_slices(line, kind, name, path)
                begin, cut, line = line + 1, 0, line + 1
                continue
            if line > begin and self.preferred_cut(line) and self.size(begin, line - 1) >= soft:
                self._windows_into(windows, begin, line - 1)
                begin, cut = line, 0
            elif self.size(begin, line) > self.max:
                stop = cut - 1 if cut and self.size(begin, cut - 1) >= soft / 2 else line - 1
                self._windows_into(windows, begin, stop)
                begin, cut = stop + 1, 0
                continue  # line may still not fit after a cut at an earlier preferred line
            elif line > begin and self.preferred_cut(line):
                cut = line
            line += 1
        self._windows_into(windows, begin, end)
        self._emit_windows(windows, kind, name, path)

    def _windows_into(self, windows: list[tuple[int, int]], start: int, end: int) -> None:
        start, end = self.trim(start, end)
        if start <= end:
            windows.append((start, end))

    def _emit_windows(
        self, windows: list[tuple[int, int]], kind: ChunkKind, name: str | None, path: str | None
    ) -> None:
        if len(windows) >= 2:
            (a, _), (_, d) = windows[-2], windows[-1]
            if self.size(windows[-1][0], d) < self.min and self.size(a, d) <= self.max:
                windows[-2:] = [(a, d)]
        for start, end in windows:
            self.chunks.append(Chunk(kind, name, path, start, end, self.content(start, end)))

    def _emit_slices(self, line: int, kind: ChunkKind, name: str | None, path: str | None) -> None:
        """Cut one over-long line into pieces of at most ``max`` characters, at a space or ; , } if near."""
        text = self.lines[line - 1]
        pos, length = 0, len(text)
        while pos < length:
            stop = min(pos + self.max, length)
            if stop < length:
                floor = pos + (3 * self.max) // 4
                best = max(text.rfind(sep, floor, stop) for sep in " ;,}")
                if best >= floor:
                    stop = best + 1
            piece = text[pos:stop]
            if piece.strip():
                self.chunks.append(Chunk(kind, name, path, line, line, piece))
            pos = stop

    def definition(self, d: _Def) -> None:
        """Chunks of one definition: whole, split into members, or in windows."""
        kind = _CHUNK_KINDS[d.kind]
        start = d.chunk_start
        if self.size(start, d.end_line) <= self.max or d.kind not in _SPLITTABLE or not d.children:
            self.emit_range(start, d.end_line, kind, d.name, d.path)
        else:
            self.container(start, d.end_line, d.children, kind, d.name, d.path, is_module=False)

    def container(
        self,
        start: int,
        end: int,
        members: list[_Def],
        kind: ChunkKind,
        name: str | None,
        path: str | None,
        *,
        is_module: bool,
    ) -> None:
        """Members as their own chunks, the lines between them as chunks of the container's kind."""
        clusters: list[tuple[int, int, list[_Def]]] = []
        for member in members:
            first, last = max(member.chunk_start, start), min(member.end_line, end)
            if clusters and member.start_line > clusters[-1][1]:
                # Comments above a member may end the previous member's range (Python block ends).
                first = max(first, clusters[-1][1] + 1)
            if clusters and first <= clusters[-1][1]:
                # Members that share a line (minified code) cannot be separated by lines.
                c_first, c_last, group = clusters[-1]
                group.append(member)
                clusters[-1] = (c_first, max(c_last, last), group)
            else:
                clusters.append((first, last, [member]))
        pos = start
        after_member = False
        for first, last, group in clusters:
            if pos < first:
                self._gap(pos, first - 1, kind, name, path, merge=after_member and not is_module)
            if len(group) == 1:
                self.definition(group[0])
            else:
                self.emit_range(first, last, kind, name, path)
            pos = last + 1
            after_member = True
        if pos <= end:
            self._gap(pos, end, kind, name, path, merge=after_member and not is_module)

    def _gap(
        self, start: int, end: int, kind: ChunkKind, name: str | None, path: str | None, *, merge: bool
    ) -> None:
        start, end = self.trim(start, end)
        if start > end:
            return
        if merge and self.chunks and self.size(start, end) < self.min:
            last = self.chunks[-1]
            whole_lines = last.start_line != last.end_line or len(last.content) == len(
                self.lines[last.start_line - 1]
            )
            if whole_lines and last.end_line < start and self.size(last.start_line, end) <= self.max:
                content = self.content(last.start_line, end)
                self.chunks[-1] = Chunk(last.kind, last.name, last.symbol_path, last.start_line, end, content)
                return
        self.emit_range(start, end, kind, name, path)
