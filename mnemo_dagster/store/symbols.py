"""One symbol up close, as an agent reads it: its source lines, its container and children, the places
that refer to it (with the referring line), and the chunks whose embedding is nearest to a place.

Everything is read from what indexing stored (``code_chunks`` for text and vectors, ``graph_*`` for
structure), so answers match the index, not whatever the working tree holds now; no model is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnemo_dagster.graph.answers import GraphSymbol
from mnemo_dagster.store.graph_queries import check_repository, linked, node_id, resolve_in, symbol_of
from mnemo_dagster.store.schema import code_chunks

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

REFERENCE_KINDS = ("calls", "imports", "inherits")


@dataclass(frozen=True, slots=True)
class Reference:
    """A symbol that refers to another one, and the first line where it does (when found)."""

    symbol: GraphSymbol
    kind: str
    """The edge: ``calls``, ``imports`` or ``inherits``."""
    weight: int
    line: int | None
    text: str | None
    """That line of the source, stripped."""

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.symbol.as_dict(),
            "edge": self.kind,
            "weight": self.weight,
            "line": self.line,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class SymbolSource:
    """A symbol with its stored source lines, its container and its children."""

    symbol: GraphSymbol
    lines: dict[int, str]
    """Line number -> text, for the symbol's lines and the few comment lines right above it."""
    container: GraphSymbol | None
    children: tuple[GraphSymbol, ...]


@dataclass(frozen=True, slots=True)
class RelatedChunk:
    """A stored chunk (placed as a symbol is) and its cosine similarity to the chunk at the asked place."""

    place: GraphSymbol
    similarity: float
    content: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.place.as_dict(), "similarity": round(self.similarity, 4)}


LEADING_LINES = 8
"""Lines above a symbol read with it, for the comment or docstring block that may precede it."""


def _lines(conn: Connection, repository: str, path: str, start: int, end: int) -> dict[int, str]:
    """Lines ``start``..``end`` of a stored file, put together from the chunks that hold them."""
    rows = conn.execute(
        sa.select(code_chunks.c.start_line, code_chunks.c.content)
        .where(
            code_chunks.c.repository == repository,
            code_chunks.c.file_path == path,
            code_chunks.c.start_line <= end,
            code_chunks.c.end_line >= start,
        )
        .order_by(code_chunks.c.start_line)
    ).all()
    lines: dict[int, str] = {}
    for first, content in rows:
        for number, text in enumerate(content.split("\n"), first):
            if start <= number <= end:
                lines.setdefault(number, text)
    return lines


def symbol_source(store: IndexStore, name: str, repository: str | None = None) -> SymbolSource:
    """The symbol ``name`` names (see :func:`~.graph_queries.resolve`) with its stored lines."""
    with store.begin() as conn:
        symbol = resolve_in(conn, name, check_repository(conn, repository))
        node = node_id(symbol)
        start = max(1, symbol.start_line - LEADING_LINES)
        lines = _lines(conn, symbol.repository, symbol.file_path, start, symbol.end_line)
        parents = linked(conn, node, ("contains",), incoming=True)
        children = linked(conn, node, ("contains",), incoming=False)
    return SymbolSource(
        symbol,
        lines,
        symbol_of(parents[0]) if parents else None,
        tuple(symbol_of(row) for row in children),
    )


def _first_mention(lines: dict[int, str], word: str, start: int, *, call: bool) -> tuple[int, str] | None:
    """The first line from ``start`` that names ``word`` (for a call, one that calls it, if any)."""
    name = rf"(?<![\w$]){re.escape(word)}(?![\w$])"
    patterns = [re.compile(name + r"\s*[(<]"), re.compile(name)] if call else [re.compile(name)]
    for pattern in patterns:
        for number in sorted(lines):
            if number >= start and pattern.search(lines[number]):
                return number, lines[number].strip()
    return None


def references(
    store: IndexStore, name: str, repository: str | None = None, kinds: Iterable[str] = REFERENCE_KINDS
) -> tuple[GraphSymbol, list[Reference]]:
    """The symbol ``name`` names, and every symbol with an edge of ``kinds`` into it, each with the first
    line of its source that mentions the symbol's name (the call, the import, the base class)."""
    with store.begin() as conn:
        symbol = resolve_in(conn, name, check_repository(conn, repository))
        rows = linked(conn, node_id(symbol), kinds, incoming=True)
        if "::" in symbol.qualified_name:
            word = symbol.qualified_name.rpartition("::")[2].rpartition(".")[2]
        else:  # a module: importers name its file's stem
            word = symbol.qualified_name.rpartition("/")[2].partition(".")[0]
        found = []
        for row in rows:
            source = symbol_of(row)
            lines = _lines(conn, source.repository, source.file_path, source.start_line, source.end_line)
            # A symbol's own first line is its definition: a mention there is a decorator or a base.
            mention = _first_mention(lines, word, source.start_line, call=row.edge == "calls")
            found.append(Reference(source, row.edge, row.weight, *(mention if mention else (None, None))))
    return symbol, found


_PLACE = (
    code_chunks.c.repository,
    code_chunks.c.qualified_name,
    code_chunks.c.kind,
    code_chunks.c.file_path,
    code_chunks.c.start_line,
    code_chunks.c.end_line,
)
"""A chunk's columns in the order of :class:`GraphSymbol`'s fields."""


def related_chunks(
    store: IndexStore, repository: str, file_path: str, line: int, limit: int = 10
) -> tuple[RelatedChunk, list[RelatedChunk]] | None:
    """The innermost chunk of ``file_path`` that holds ``line``, and the ``limit`` chunks nearest to it
    by embedding (other places only); None when no chunk holds that line."""
    c = code_chunks.c
    with store.begin() as conn:
        here = conn.execute(
            sa.select(c.id, *_PLACE, c.content, c.embedding)
            .where(c.repository == repository, c.file_path == file_path, c.start_line <= line)
            .where(c.end_line >= line)
            .order_by(c.end_line - c.start_line, c.start_line)
            .limit(1)
        ).first()
        if here is None:
            return None
        distance = c.embedding.cosine_distance(here.embedding)
        rows = conn.execute(
            sa.select(*_PLACE, (1 - distance).label("similarity"), c.content)
            .where(c.id != here.id, c.repository == repository)
            .order_by(distance)
            .limit(limit)
        ).all()
    subject = RelatedChunk(GraphSymbol(*here[1:7]), 1.0, here.content)
    return subject, [RelatedChunk(GraphSymbol(*row[:6]), row.similarity, row.content) for row in rows]
