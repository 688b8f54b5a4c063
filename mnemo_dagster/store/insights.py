"""Read-only questions about the health and the shape of the index, asked of every repository at once.

The integrity questions (:func:`file_tallies`, :func:`embedding_tallies`, :func:`edge_tallies`,
:func:`pagerank_tallies`) back the asset checks; the ranking questions (:func:`top_modules`,
:func:`module_links`, :func:`top_symbols`) feed the pictures and tables of ``graph_metrics``. Every
function opens one transaction with :meth:`IndexStore.begin` and returns plain records; every
statement is SQLAlchemy Core with bound parameters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnemo_dagster.graph.records import OUTSIDE_KINDS
from mnemo_dagster.store.schema import (
    code_chunks,
    graph_edges,
    graph_metrics,
    graph_nodes,
    mnemo_meta,
    repositories,
    source_files,
)

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

SETTLED_STATUSES = ("indexed", "skipped", "failed")
"""A scanned file is accounted for once its batch recorded one of these."""
NEEDS_REASON = ("skipped", "failed")
"""Statuses that must say why in ``source_files.error``."""
EXAMPLES = 5
"""How many example paths or chunks a tally carries per repository."""
DEPENDENCY_KINDS = ("imports", "calls", "inherits")
"""Edge kinds that make one module depend on another (``contains`` stays inside a module)."""
SYMBOL_KINDS = ("class", "function", "method", "interface", "type", "enum")
"""Node kinds listed among the top symbols (everything but modules)."""


@dataclass(frozen=True, slots=True)
class FileTally:
    """How the scanned files (``source_files`` rows) of one repository ended up."""

    repository: str
    by_status: dict[str, int]
    """Status -> number of files, for every status present."""
    unsettled: int
    """Files in none of :data:`SETTLED_STATUSES` (``pending``: their batch has not written them)."""
    unexplained: int
    """Skipped or failed files without a reason (``error`` is null)."""
    unsettled_examples: tuple[str, ...]
    """The first few unsettled paths, sorted."""
    unexplained_examples: tuple[str, ...]
    """The first few unexplained paths, sorted."""

    @property
    def ok(self) -> bool:
        return self.unsettled == 0 and self.unexplained == 0


@dataclass(frozen=True, slots=True)
class EmbeddingTally:
    """Whether the chunks of one repository carry a vector of the index's dimension."""

    repository: str
    chunks: int
    by_dimension: dict[int | None, int]
    """``vector_dims(embedding)`` -> number of chunks; None counts chunks without an embedding."""
    wrong: int
    """Chunks whose embedding is missing or of another dimension than the index's."""
    examples: tuple[str, ...]
    """The first few wrong chunks as ``file_path:start_line``, sorted."""

    @property
    def ok(self) -> bool:
        return self.wrong == 0


@dataclass(frozen=True, slots=True)
class EdgeTally:
    """Whether the edges of one repository join nodes of that repository."""

    repository: str
    edges: int
    dangling: int
    """Edges whose source or target is not a node of the same repository."""
    examples: tuple[str, ...]
    """The first few dangling edges as ``source_id -kind-> target_id``, sorted as text."""

    @property
    def ok(self) -> bool:
        return self.dangling == 0


@dataclass(frozen=True, slots=True)
class PagerankTally:
    """The PageRank mass of one repository: it should be 1 over all of its ranked nodes."""

    repository: str
    nodes: int
    """``graph_nodes`` rows of the repository."""
    ranked: int
    """``graph_metrics`` rows of the repository."""
    total: float
    """Sum of ``graph_metrics.pagerank``; 0.0 without rows."""

    def ok(self, tolerance: float) -> bool:
        """True when the sum is 1 within ``tolerance`` (relative), or the repository has no graph."""
        if self.nodes == 0 and self.ranked == 0:
            return True
        return abs(self.total - 1.0) <= tolerance


class ModuleRank(NamedTuple):
    """A module (file) and the PageRank of everything in it (its module node and its symbols)."""

    path: str
    pagerank: float


class ModuleLink(NamedTuple):
    """A dependency between two modules, lifted from the edges between anything in them."""

    source: str
    target: str
    imports: bool
    """True when the source module imports the target; False when it only calls or inherits."""
    weight: int
    """Sum of the weights of the lifted edges."""


class SymbolRank(NamedTuple):
    """One row of the top-symbols table."""

    qualified_name: str
    kind: str
    pagerank: float
    in_degree: int


def _names(conn: Connection, only: str | None = None) -> list[str]:
    """Every registered repository (or ``only`` that one, if registered), sorted: the rows of every
    per-repository answer."""
    query = sa.select(repositories.c.name).where(_scope(repositories.c.name, only))
    return list(conn.execute(query.order_by(repositories.c.name)).scalars())


def _scope(repository: sa.ColumnElement[str], only: str | None) -> sa.ColumnElement[bool]:
    """Rows of repository ``only``; of every repository when None."""
    return sa.true() if only is None else repository == only


def _examples(
    conn: Connection,
    label: sa.ColumnElement[str],
    repository: sa.ColumnElement[str],
    where: sa.ColumnElement[bool],
    *,
    select_from: sa.FromClause | None = None,
) -> dict[str, tuple[str, ...]]:
    """Repository -> the first :data:`EXAMPLES` values of ``label`` (sorted) among rows matching ``where``."""
    position = sa.func.row_number().over(partition_by=repository, order_by=label).label("position")
    ranked = sa.select(repository.label("repository"), label.label("label"), position).where(where)
    if select_from is not None:
        ranked = ranked.select_from(select_from)
    inner = ranked.subquery()
    query = (
        sa.select(inner.c.repository, inner.c.label)
        .where(inner.c.position <= EXAMPLES)
        .order_by(inner.c.repository, inner.c.position)
    )
    found: dict[str, list[str]] = defaultdict(list)
    for name, value in conn.execute(query):
        found[name].append(value)
    return {name: tuple(values) for name, values in found.items()}


def file_tallies(store: IndexStore, only: str | None = None) -> list[FileTally]:
    """Per repository (``only`` that one): files by status, and those not accounted for (unsettled or
    unexplained)."""
    scope = _scope(source_files.c.repository, only)
    unsettled = sa.and_(scope, source_files.c.status.not_in(SETTLED_STATUSES))
    unexplained = sa.and_(scope, source_files.c.status.in_(NEEDS_REASON), source_files.c.error.is_(None))
    with store.begin() as conn:
        names = _names(conn, only)
        counts = conn.execute(
            sa.select(
                source_files.c.repository,
                source_files.c.status,
                sa.func.count(),
                sa.func.count().filter(unexplained),
            )
            .where(scope)
            .group_by(source_files.c.repository, source_files.c.status)
        ).all()
        unsettled_examples = _examples(conn, source_files.c.path, source_files.c.repository, unsettled)
        unexplained_examples = _examples(conn, source_files.c.path, source_files.c.repository, unexplained)
    by_status: dict[str, dict[str, int]] = defaultdict(dict)
    missing_reason: dict[str, int] = defaultdict(int)
    for name, status, count, without_reason in counts:
        by_status[name][status] = count
        missing_reason[name] += without_reason
    return [
        FileTally(
            repository=name,
            by_status=dict(sorted(by_status[name].items())),
            unsettled=sum(n for s, n in by_status[name].items() if s not in SETTLED_STATUSES),
            unexplained=missing_reason[name],
            unsettled_examples=unsettled_examples.get(name, ()),
            unexplained_examples=unexplained_examples.get(name, ()),
        )
        for name in names
    ]


def index_dimension(store: IndexStore) -> int | None:
    """The embedding dimension recorded in ``mnemo_meta`` (key ``embedding_dim``), if any."""
    with store.begin() as conn:
        value = conn.execute(
            sa.select(mnemo_meta.c.value).where(mnemo_meta.c.key == "embedding_dim")
        ).scalar_one_or_none()
    return int(value) if value is not None else None


def embedding_tallies(store: IndexStore, dimension: int, only: str | None = None) -> list[EmbeddingTally]:
    """Per repository (``only`` that one): chunks by embedding dimension, and those without a
    ``dimension``-d vector."""
    scope = _scope(code_chunks.c.repository, only)
    dims = sa.func.vector_dims(code_chunks.c.embedding)
    wrong = sa.and_(scope, sa.or_(code_chunks.c.embedding.is_(None), dims != dimension))
    label = code_chunks.c.file_path + ":" + sa.cast(code_chunks.c.start_line, sa.Text)
    with store.begin() as conn:
        names = _names(conn, only)
        enforced = _column_enforces(conn, dimension)  # PostgreSQL refuses any other: count, not read
        found = sa.literal(dimension) if enforced else dims
        counts = conn.execute(
            sa.select(code_chunks.c.repository, found, sa.func.count())
            .where(scope)
            .group_by(code_chunks.c.repository, found)
        ).all()
        examples = {} if enforced else _examples(conn, label, code_chunks.c.repository, wrong)
    by_dimension: dict[str, dict[int | None, int]] = defaultdict(dict)
    for name, dims_found, count in counts:
        by_dimension[name][dims_found] = count
    return [
        EmbeddingTally(
            repository=name,
            chunks=sum(by_dimension[name].values()),
            by_dimension=by_dimension[name],
            wrong=sum(n for d, n in by_dimension[name].items() if d != dimension),
            examples=examples.get(name, ()),
        )
        for name in names
    ]


def _column_enforces(conn: Connection, dimension: int) -> bool:
    """Whether ``code_chunks.embedding`` is declared ``vector(dimension) NOT NULL``, as the schema
    creates it: then every stored chunk has a vector of that dimension, and a tally need not read the
    vectors (0.2 s for Django's 42k chunks). A column altered by hand is read chunk by chunk."""
    declared = conn.execute(
        sa.text(
            "SELECT format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
            "WHERE attrelid = 'code_chunks'::regclass AND attname = 'embedding'"
        )
    ).one_or_none()
    return declared is not None and tuple(declared) == (f"vector({dimension})", True)


def edge_tallies(store: IndexStore, only: str | None = None) -> list[EdgeTally]:
    """Per repository (``only`` that one): edges, and those whose source or target is not a node of
    that repository."""
    scope = _scope(graph_edges.c.repository, only)
    source, target = graph_nodes.alias("source"), graph_nodes.alias("target")
    joined = graph_edges.outerjoin(
        source,
        sa.and_(source.c.id == graph_edges.c.source_id, source.c.repository == graph_edges.c.repository),
    ).outerjoin(
        target,
        sa.and_(target.c.id == graph_edges.c.target_id, target.c.repository == graph_edges.c.repository),
    )
    dangling = sa.and_(scope, sa.or_(source.c.id.is_(None), target.c.id.is_(None)))
    with store.begin() as conn:
        names = _names(conn, only)
        counts = {
            name: (edges, bad)
            for name, edges, bad in conn.execute(
                sa.select(graph_edges.c.repository, sa.func.count(), sa.func.count().filter(dangling))
                .select_from(joined)
                .where(scope)
                .group_by(graph_edges.c.repository)
            )
        }
        label = (
            sa.cast(graph_edges.c.source_id, sa.Text)
            + " -"
            + graph_edges.c.kind
            + "-> "
            + sa.cast(graph_edges.c.target_id, sa.Text)
        )
        examples = _examples(conn, label, graph_edges.c.repository, dangling, select_from=joined)
    return [
        EdgeTally(
            repository=name,
            edges=counts.get(name, (0, 0))[0],
            dangling=counts.get(name, (0, 0))[1],
            examples=examples.get(name, ()),
        )
        for name in names
    ]


def pagerank_tallies(store: IndexStore, only: str | None = None) -> list[PagerankTally]:
    """Per repository (``only`` that one): how many nodes PageRank ranks (all but the external and
    builtin ones), how many metrics rows, and the sum of their PageRank."""
    with store.begin() as conn:
        names = _names(conn, only)
        nodes: dict[str, int] = dict(
            conn.execute(
                sa.select(graph_nodes.c.repository, sa.func.count())
                .where(_scope(graph_nodes.c.repository, only), graph_nodes.c.kind.not_in(OUTSIDE_KINDS))
                .group_by(graph_nodes.c.repository)
            ).all()
        )
        ranked = {
            name: (count, total)
            for name, count, total in conn.execute(
                sa.select(graph_metrics.c.repository, sa.func.count(), sa.func.sum(graph_metrics.c.pagerank))
                .where(_scope(graph_metrics.c.repository, only))
                .group_by(graph_metrics.c.repository)
            )
        }
    return [
        PagerankTally(
            repository=name,
            nodes=nodes.get(name, 0),
            ranked=ranked.get(name, (0, 0.0))[0],
            total=float(ranked.get(name, (0, 0.0))[1] or 0.0),
        )
        for name in names
    ]


def top_modules(store: IndexStore, repository: str, limit: int) -> list[ModuleRank]:
    """The ``limit`` modules whose nodes hold the most PageRank (ties by path)."""
    mass = sa.func.sum(graph_metrics.c.pagerank).label("mass")
    query = (
        sa.select(graph_nodes.c.file_path, mass)
        .join(graph_metrics, graph_metrics.c.node_id == graph_nodes.c.id)
        .where(graph_nodes.c.repository == repository)
        .group_by(graph_nodes.c.file_path)
        .order_by(mass.desc(), graph_nodes.c.file_path)
        .limit(limit)
    )
    with store.begin() as conn:
        return [ModuleRank(path, float(rank)) for path, rank in conn.execute(query)]


def module_links(store: IndexStore, repository: str, paths: Sequence[str]) -> list[ModuleLink]:
    """Dependencies between the modules in ``paths``: edges between anything in them, lifted."""
    if not paths:
        return []
    source, target = graph_nodes.alias("source"), graph_nodes.alias("target")
    imports = sa.func.bool_or(graph_edges.c.kind == "imports")
    weight = sa.func.sum(graph_edges.c.weight)
    query = (
        sa.select(source.c.file_path, target.c.file_path, imports, weight)
        .select_from(graph_edges)
        .join(source, source.c.id == graph_edges.c.source_id)
        .join(target, target.c.id == graph_edges.c.target_id)
        .where(
            graph_edges.c.repository == repository,
            graph_edges.c.kind.in_(DEPENDENCY_KINDS),
            source.c.file_path != target.c.file_path,
            source.c.file_path.in_(paths),
            target.c.file_path.in_(paths),
        )
        .group_by(source.c.file_path, target.c.file_path)
        .order_by(source.c.file_path, target.c.file_path)
    )
    with store.begin() as conn:
        return [ModuleLink(s, t, bool(i), int(w)) for s, t, i, w in conn.execute(query)]


def top_symbols(store: IndexStore, repository: str, limit: int) -> list[SymbolRank]:
    """The ``limit`` symbols (not modules) with the highest PageRank (ties by qualified name)."""
    query = (
        sa.select(
            graph_nodes.c.qualified_name,
            graph_nodes.c.kind,
            graph_metrics.c.pagerank,
            graph_metrics.c.in_degree,
        )
        .join(graph_metrics, graph_metrics.c.node_id == graph_nodes.c.id)
        .where(graph_nodes.c.repository == repository, graph_nodes.c.kind.in_(SYMBOL_KINDS))
        .order_by(graph_metrics.c.pagerank.desc(), graph_nodes.c.qualified_name)
        .limit(limit)
    )
    with store.begin() as conn:
        return [SymbolRank(*row) for row in conn.execute(query)]
