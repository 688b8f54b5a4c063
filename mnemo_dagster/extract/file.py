"""Split a source file into chunks and extract its definitions and references.

:func:`parse_file` is the entry point. For languages with tag queries (see
:mod:`mnemo_dagster.extract.languages`) it parses the file with tree-sitter, runs the language's
``tags.scm`` once (:mod:`.tags`, with import statements decoded by :mod:`.imports`), and chunks
*split-then-merge* (:mod:`.chunker`):

- every top-level definition (function, class, interface, type, enum, Rust ``impl`` block...) is one
  chunk, with its decorators, ``export`` wrapper and the comments right above it;
- a class-like definition larger than ``max_chunk_chars`` is split into one chunk per member
  (methods, nested classes) plus chunks of the lines between them (the header, fields); a tiny piece
  between members (a closing ``}``) joins the chunk before it when that stays within the bound;
- any other definition larger than the bound is cut into consecutive line windows that keep its kind
  and name;
- the lines outside definitions (imports, constants, statements) are packed into ``module`` chunks of
  up to ``max_chunk_chars``, cut preferably before a top-level statement or after a blank line.

Languages without queries, files that are mostly syntax errors and files the grammar gives up on
(:data:`~mnemo_dagster.extract.parsing.PARSE_TIMEOUT_SECONDS`) get ``lines`` windows cut the same way.
``ChunkKind`` has no ``type`` or ``enum``: type aliases chunk as ``interface``, enums as ``class`` and
Rust ``impl``/``mod`` blocks as ``block`` (symbols keep their exact kinds). Definitions inside header
guards, ``extern "C"`` and C++/C# namespace blocks chunk as top-level definitions.

Chunks never overlap and never consist of whitespace only. Every chunk's ``content`` is exactly
its lines ``start_line..end_line`` joined with ``"\\n"`` (a ``"\\r\\n"`` line end counts as ``"\\n"``),
with one exception: a single line longer than ``max_chunk_chars`` (minified code) is cut into
several chunks that all have ``start_line == end_line`` and whose contents are consecutive slices of
that line; joined, they give the line back.
"""

from __future__ import annotations

import gc
import re
from typing import TYPE_CHECKING

from mnemo_dagster.config.defaults import MAX_CHUNK_CHARS, MIN_CHUNK_CHARS
from mnemo_dagster.errors import DecodeError
from mnemo_dagster.extract.chunker import Chunker
from mnemo_dagster.extract.languages import LanguageSpec, language_named
from mnemo_dagster.extract.nodes import line_of
from mnemo_dagster.extract.parsing import GrammarError, parse
from mnemo_dagster.extract.tags import extract
from mnemo_dagster.graph.facts import flow_facts
from mnemo_dagster.models import ParsedFile

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

__all__ = ["parse_file"]

_ERROR_FALLBACK_FRACTION = 0.5
"""Above this share of bytes in ERROR nodes, the tree is not trusted for chunking."""


def parse_file(
    path: str,
    source: bytes,
    language: str,
    *,
    max_chunk_chars: int = MAX_CHUNK_CHARS,
    min_chunk_chars: int = MIN_CHUNK_CHARS,
) -> ParsedFile:
    """Chunk one file and extract its symbols and references.

    ``path`` is the repository-relative POSIX path, used only in records and messages; the disk is
    never read. ``language`` is a registry name (:func:`~mnemo_dagster.extract.languages.language_for`).
    Raises :class:`~mnemo_dagster.errors.DecodeError` when ``source`` is not UTF-8 and
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
        chunker = Chunker(lines, max_chars, min_chars, frozenset())
        chunker.emit_range(1, len(lines), "lines", None, None)
        return ParsedFile(path=path, language=spec.name, chunks=tuple(chunker.chunks))
    return _parse_with_tree(path, source, lines, spec, max_chars, min_chars)


def _parse_with_tree(
    path: str, source: bytes, lines: list[str], spec: LanguageSpec, max_chars: int, min_chars: int
) -> ParsedFile:
    try:
        tree = parse(source, spec)
    except GrammarError as exc:
        chunker = Chunker(lines, max_chars, min_chars, frozenset())
        chunker.emit_range(1, len(lines), "lines", None, None)
        warning = f"{exc}; indexed as line windows"
        return ParsedFile(path=path, language=spec.name, chunks=tuple(chunker.chunks), warnings=(warning,))
    root = tree.root_node
    warnings: list[str] = []
    regions, first_error_line, error_bytes = _error_regions(root)
    if regions and spec.grammar == "python":
        tree, source, (regions, first_error_line, error_bytes) = _without_trailing_commas(
            tree, source, spec, (regions, first_error_line, error_bytes)
        )
        root = tree.root_node
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

    defs, symbols, references = extract(source, spec, root)

    good_starts = frozenset(line_of(child) for child in root.named_children)
    chunker = Chunker(lines, max_chars, min_chars, good_starts)
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
        flow=flow_facts(spec.name, root) if chunker.chunks else None,
    )


_TRAILING_COMMA = re.compile(rb",(\s*\])")
"""A comma before a closing bracket, across lines too (``Annotated[str, Doc("..."),\n]``)."""


def _without_trailing_commas(
    tree: Tree, source: bytes, spec: LanguageSpec, errors: tuple[int, int, int]
) -> tuple[Tree, bytes, tuple[int, int, int]]:
    """The parse of ``source`` with a space for every comma before a ``]``, with its source and error
    regions, if it has fewer error bytes than ``tree`` (else ``tree`` as it was).

    The Python grammar of ``tree-sitter-languages`` rejects a trailing comma in a subscript of an
    annotation (``x: Annotated[str, Doc("..."),]``, as black formats FastAPI's and Pydantic's long
    annotations), which left whole classes in error regions. A space keeps every offset, so chunks,
    lines and symbols still come from the file as it is; only a string literal with a comma before a
    ``]`` reads differently to the flow facts."""
    patched = _TRAILING_COMMA.sub(lambda match: b" " + match.group(1), source)
    if patched == source:
        return tree, source, errors
    try:
        retried = parse(patched, spec)
    except GrammarError:
        return tree, source, errors
    found = _error_regions(retried.root_node)
    if found[2] < errors[2] or (found[2] == errors[2] and found[0] < errors[0]):
        return retried, patched, found
    return tree, source, errors


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
            line = line_of(node)
            first_line = line if first_line == 0 else min(first_line, line)
            error_bytes += node.end_byte - node.start_byte
            continue
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return count, first_line, error_bytes
