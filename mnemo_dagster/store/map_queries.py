"""What a repo map reads from the index: one repository's symbol graph and its symbols' first lines.

:func:`map_graph` reads every node of a repository with its dependency edges (``calls``, ``imports``,
``inherits``) in two statements; :func:`head_lines` reads the first lines of a set of symbols, in one
statement per thousand, from the ``code_chunks`` row of the same file whose line range holds the
symbol's first line (a small class is one chunk with its methods). Both return plain frozen records;
the ranking and the fitting to a token budget are :mod:`mnemo_dagster.context.repo_map`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on

from mnemo_dagster.errors import GraphQueryError, UnknownRepositoryError, unknown_repository
from mnemo_dagster.graph.records import OUTSIDE_KINDS
from mnemo_dagster.store.schema import NODE_OUTLINE, code_chunks, graph_edges, graph_nodes, slices

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

MAP_EDGE_KINDS = ("calls", "imports", "inherits")
"""The edges a repo map ranks by: a reference from one symbol to another (not ``contains``)."""
HEAD_LINES = 12
"""How many lines :func:`head_lines` reads from a symbol's first line on (decorators, a long
signature): enough for the signature, never the whole body."""


@dataclass(frozen=True, slots=True)
class MapNode:
    """One ``graph_nodes`` row: a module (its ``qualified_name`` is its path), class, function, ..."""

    id: int
    qualified_name: str
    name: str
    kind: str
    file_path: str
    start_line: int
    """1-based, inclusive (a decorated definition starts at its first decorator)."""
    end_line: int
    """1-based, inclusive (a module's is the file's last line)."""


@dataclass(frozen=True, slots=True)
class MapEdge:
    """One ``graph_edges`` row of a kind in :data:`MAP_EDGE_KINDS`."""

    source_id: int
    target_id: int
    kind: str
    weight: int
    """How many references the edge stands for."""


@dataclass(frozen=True, slots=True)
class MapGraph:
    """A repository's whole symbol graph, as a repo map ranks it."""

    repository: str
    nodes: tuple[MapNode, ...]
    """By file path, then first line."""
    edges: tuple[MapEdge, ...]


@dataclass(frozen=True, slots=True)
class HeadLines:
    """The lines of a symbol's source from its first line on (at most :data:`HEAD_LINES`)."""

    node_id: int
    start_line: int
    """The line number of ``lines[0]`` (the symbol's ``start_line``)."""
    lines: tuple[str, ...]


def choose_repository(store: IndexStore, repository: str | None) -> str:
    """``repository`` checked to be indexed; when None, the only indexed repository. Raises
    :class:`UnknownRepositoryError` for a name that is not indexed, :class:`GraphQueryError` when
    nothing is indexed or None was given while several repositories are."""
    known = store.files.repository_names()
    if not known:
        raise GraphQueryError("nothing is indexed yet; run `mnemo index PATH` first")
    if repository is None:
        if len(known) > 1:
            raise GraphQueryError(f"{len(known)} repositories are indexed; name one of: {', '.join(known)}")
        return known[0]
    if repository not in known:
        raise UnknownRepositoryError(unknown_repository(repository, known))
    return repository


def map_graph(store: IndexStore, repository: str) -> MapGraph:
    """Every node of ``repository`` and its edges of :data:`MAP_EDGE_KINDS` (self-references left out),
    in one transaction; what it calls in other packages is no part of its map. ``repository`` is taken
    as it is: check it with :func:`choose_repository`."""
    with store.begin() as conn:
        nodes = conn.execute(
            sa.select(*NODE_OUTLINE)
            .where(graph_nodes.c.repository == repository, graph_nodes.c.kind.not_in(OUTSIDE_KINDS))
            .order_by(graph_nodes.c.file_path, graph_nodes.c.start_line, graph_nodes.c.qualified_name)
        ).all()
        edges = conn.execute(
            sa.select(
                graph_edges.c.source_id, graph_edges.c.target_id, graph_edges.c.kind, graph_edges.c.weight
            )
            .where(
                graph_edges.c.repository == repository,
                graph_edges.c.kind.in_(MAP_EDGE_KINDS),
                graph_edges.c.source_id != graph_edges.c.target_id,
            )
            .order_by(graph_edges.c.source_id, graph_edges.c.target_id, graph_edges.c.kind)
        ).all()
    own = {row[0] for row in nodes}
    return MapGraph(
        repository,
        tuple(MapNode(*row) for row in nodes),
        tuple(MapEdge(*row) for row in edges if row.target_id in own),
    )


def head_lines(store: IndexStore, repository: str, node_ids: Iterable[int]) -> dict[int, HeadLines]:
    """The first lines (at most :data:`HEAD_LINES`) of the nodes ``node_ids`` of ``repository``, by node
    id: cut in SQL from the chunk of the node's file whose range holds its ``start_line``. A node no
    chunk covers (its file was not chunked) is left out."""
    ids = sorted(set(node_ids))
    if not ids:
        return {}
    n, c = graph_nodes, code_chunks
    offset = n.c.start_line - c.c.start_line
    # PostgreSQL's array slice [a:b]: 1-based, clipped to the array's end.
    lines = sa.func.string_to_array(c.c.content, "\n", type_=ARRAY(sa.Text))[offset + 1 : offset + HEAD_LINES]
    found: dict[int, HeadLines] = {}
    with store.begin() as conn:
        for part in slices(ids):
            rows = conn.execute(
                sa.select(n.c.id, n.c.start_line, lines.label("lines"))
                .select_from(n)
                .join(
                    c,
                    sa.and_(
                        c.c.repository == n.c.repository,
                        c.c.file_path == n.c.file_path,
                        c.c.start_line <= n.c.start_line,
                        c.c.end_line >= n.c.start_line,
                    ),
                )
                .where(n.c.repository == repository, n.c.id.in_(part))
                # Chunks do not overlap but for the slices of one over-long line: take the first slice.
                .order_by(n.c.id, c.c.start_line.desc(), c.c.id)
                .ext(distinct_on(n.c.id))
            ).all()
            found.update({row.id: HeadLines(row.id, row.start_line, tuple(row.lines or ())) for row in rows})
    return found
