"""The SQL of change impact: the graph nodes that changed lines fall in, and the symbols that reach them.

:func:`nodes_on_lines` reads the nodes of some files that overlap line ranges, :func:`callers_walk`
walks ``graph_edges`` backwards from the changed nodes one level at a time (one query per level and
per thousand frontier nodes, never one per node), and both carry each node's PageRank from
``graph_metrics`` (0.0 where the graph has no metrics). Every function opens one transaction with
:meth:`IndexStore.begin`, uses SQLAlchemy Core with bound parameters and returns plain records; the
logic that decides what changed and how to rank it lives in :mod:`mnemo_dagster.context.impact`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnemo_dagster.errors import GraphQueryError, UnknownRepositoryError, unknown_repository
from mnemo_dagster.graph.answers import GraphSymbol
from mnemo_dagster.store.graph_queries import SYMBOL_COLUMNS
from mnemo_dagster.store.schema import (
    graph_edges,
    graph_metrics,
    graph_nodes,
    repositories,
    slices,
    source_files,
)

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

CALLER_KINDS = ("calls", "inherits")
"""Edges walked backwards at every level: a caller of a changed symbol, a subclass of a changed class."""
IMPORT_KIND = "imports"
"""Walked backwards only from a changed module, and only at the first level: the modules importing it."""
MAX_RANGES_PER_FILE = 50
"""More line ranges than this in one file are read as one span (its nodes are filtered afterwards)."""

_NODE_COLUMNS = (
    graph_nodes.c.id,
    *SYMBOL_COLUMNS,
    sa.func.coalesce(graph_metrics.c.pagerank, 0.0).label("pagerank"),
)
_WITH_METRICS = graph_nodes.outerjoin(graph_metrics, graph_metrics.c.node_id == graph_nodes.c.id)


@dataclass(frozen=True, slots=True)
class ImpactNode:
    """A graph node with its id and PageRank."""

    id: int
    symbol: GraphSymbol
    pagerank: float
    """From ``graph_metrics``; 0.0 when the node has no metrics row."""


@dataclass(frozen=True, slots=True)
class Reached:
    """A node the backward walk reached: ``edge`` leads from it to ``parent``, one step nearer a change."""

    node: ImpactNode
    distance: int
    """Edges between it and the nearest changed node (1 for a direct caller)."""
    parent: int
    """The id of the node it was reached from (a changed node when ``distance`` is 1)."""
    edge: str
    """The kind of the edge from this node to ``parent``: calls, inherits or imports."""


@dataclass(frozen=True, slots=True)
class Walk:
    """What :func:`callers_walk` reached, nearest first, and whether it stopped at its node bound."""

    reached: tuple[Reached, ...]
    stopped: bool


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    """What change impact needs of a ``repositories`` row."""

    name: str
    root_path: str
    source_commit: str | None


def _node(row: Any) -> ImpactNode:
    symbol = GraphSymbol(
        row.repository, row.qualified_name, row.kind, row.file_path, row.start_line, row.end_line
    )
    return ImpactNode(row.id, symbol, float(row.pagerank))


def repository_row(store: IndexStore, name: str) -> RepositoryRow:
    """The repository ``name``; raises :class:`UnknownRepositoryError` (listing the known ones), or
    :class:`GraphQueryError` when nothing has been indexed yet."""
    with store.begin() as conn:
        if not sa.inspect(conn).has_table("graph_nodes"):
            raise GraphQueryError("nothing is indexed yet; run `mnemo index PATH` first")
        rows = conn.execute(
            sa.select(repositories.c.name, repositories.c.root_path, repositories.c.source_commit).order_by(
                repositories.c.name
            )
        ).all()
    for row in rows:
        if row.name == name:
            return RepositoryRow(row.name, row.root_path, row.source_commit)
    known = [row.name for row in rows]
    raise UnknownRepositoryError(unknown_repository(name, known, "none (run `mnemo index PATH`)"))


def repository_roots(store: IndexStore) -> dict[str, str]:
    """Every indexed repository's name -> its root path (empty when nothing is indexed)."""
    with store.begin() as conn:
        if not sa.inspect(conn).has_table("repositories"):
            return {}
        return dict(conn.execute(sa.select(repositories.c.name, repositories.c.root_path)).all())


def indexed_hashes(store: IndexStore, repository: str, paths: Iterable[str]) -> dict[str, str]:
    """Path -> the content hash (sha256) of the version of it the index holds, for those of ``paths``
    whose chunks are stored."""
    wanted = sorted(set(paths))
    found: dict[str, str] = {}
    with store.begin() as conn:
        for part in slices(wanted):
            rows = conn.execute(
                sa.select(source_files.c.path, source_files.c.indexed_hash).where(
                    source_files.c.repository == repository,
                    source_files.c.path.in_(part),
                    source_files.c.indexed_hash.is_not(None),
                )
            )
            found.update((path, digest) for path, digest in rows)
    return found


def _overlaps(path: str, ranges: Sequence[tuple[int, int]]) -> sa.ColumnElement[bool]:
    if len(ranges) > MAX_RANGES_PER_FILE:
        ranges = [(min(low for low, _ in ranges), max(high for _, high in ranges))]
    return sa.and_(
        graph_nodes.c.file_path == path,
        sa.or_(
            graph_nodes.c.kind == "module",
            *(
                sa.and_(graph_nodes.c.start_line <= high, graph_nodes.c.end_line >= low)
                for low, high in ranges
            ),
        ),
    )


def nodes_on_lines(
    store: IndexStore, repository: str, ranges: Mapping[str, Sequence[tuple[int, int]]]
) -> dict[str, list[ImpactNode]]:
    """Path -> the module node of that file and its other nodes whose lines overlap one of its inclusive
    ``(first, last)`` line ranges, in (start line, qualified name) order; files not in the graph are
    absent."""
    files = sorted(path for path, spans in ranges.items() if spans)
    found: dict[str, list[ImpactNode]] = {}
    with store.begin() as conn:
        for part in slices(files, 50):
            rows = conn.execute(
                sa.select(*_NODE_COLUMNS)
                .select_from(_WITH_METRICS)
                .where(
                    graph_nodes.c.repository == repository,
                    sa.or_(*(_overlaps(path, ranges[path]) for path in part)),
                )
                .order_by(graph_nodes.c.file_path, graph_nodes.c.start_line, graph_nodes.c.qualified_name)
            )
            for row in rows:
                found.setdefault(row.file_path, []).append(_node(row))
    return found


def nodes_named(store: IndexStore, repository: str, qualified_names: Iterable[str]) -> list[ImpactNode]:
    """The nodes of ``repository`` with these qualified names, in qualified-name order."""
    wanted = sorted(set(qualified_names))
    found: list[ImpactNode] = []
    with store.begin() as conn:
        for part in slices(wanted):
            rows = conn.execute(
                sa.select(*_NODE_COLUMNS)
                .select_from(_WITH_METRICS)
                .where(graph_nodes.c.repository == repository, graph_nodes.c.qualified_name.in_(part))
                .order_by(graph_nodes.c.qualified_name)
            )
            found.extend(_node(row) for row in rows)
    return found


def _level(
    conn: Connection, repository: str, frontier: Sequence[int], modules: Sequence[int]
) -> list[tuple[int, str, ImpactNode]]:
    """``(target id, edge kind, source node)`` of every walked edge into ``frontier``; an ``imports``
    edge only into one of ``modules``."""
    kinds = graph_edges.c.kind.in_(CALLER_KINDS)
    if modules:
        kinds = sa.or_(
            kinds, sa.and_(graph_edges.c.kind == IMPORT_KIND, graph_edges.c.target_id.in_(modules))
        )
    found: list[tuple[int, str, ImpactNode]] = []
    for part in slices(list(frontier)):
        rows = conn.execute(
            sa.select(graph_edges.c.target_id, graph_edges.c.kind.label("edge"), *_NODE_COLUMNS)
            .select_from(
                graph_edges.join(graph_nodes, graph_nodes.c.id == graph_edges.c.source_id).outerjoin(
                    graph_metrics, graph_metrics.c.node_id == graph_nodes.c.id
                )
            )
            .where(graph_edges.c.repository == repository, graph_edges.c.target_id.in_(part), kinds)
        )
        found.extend((row.target_id, row.edge, _node(row)) for row in rows)
    return found


_EDGE_ORDER = {"calls": 0, "inherits": 1, "imports": 2}


def callers_walk(
    store: IndexStore, repository: str, changed: Sequence[ImpactNode], *, depth: int, max_nodes: int
) -> Walk:
    """Every node within ``depth`` edges of a ``changed`` node, walking backwards along ``calls`` and
    ``inherits`` edges, and at the first level also ``imports`` edges into a changed module.

    Each node is reached once, at its smallest distance; among the edges that reach it at that level
    the one from the frontier node with the smallest qualified name wins (then calls before inherits
    before imports), so the same index always gives the same paths. The walk stops early (``stopped``)
    once it has reached ``max_nodes`` nodes.
    """
    known: dict[int, ImpactNode] = {node.id: node for node in changed}
    modules = [node.id for node in changed if node.symbol.kind == "module"]
    frontier = sorted(known)
    reached: list[Reached] = []
    with store.begin() as conn:
        for distance in range(1, depth + 1):
            if not frontier:
                break
            edges = _level(conn, repository, frontier, modules if distance == 1 else [])
            edges.sort(
                key=lambda e: (
                    e[2].symbol.qualified_name,
                    known[e[0]].symbol.qualified_name,
                    _EDGE_ORDER[e[1]],
                )
            )
            level: list[int] = []
            for parent, edge, node in edges:
                if node.id in known:
                    continue
                if len(known) - len(changed) >= max_nodes:
                    return Walk(tuple(reached), stopped=True)
                known[node.id] = node
                reached.append(Reached(node, distance, parent, edge))
                level.append(node.id)
            frontier = level
    return Walk(tuple(reached), stopped=False)
