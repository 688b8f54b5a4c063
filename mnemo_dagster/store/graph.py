"""The ``graph_nodes``, ``graph_edges`` and ``graph_metrics`` tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mnemo_dagster.graph.carried import METRICS, EdgeColumns, MetricTable
from mnemo_dagster.graph.facts import source_text
from mnemo_dagster.graph.records import DEPENDENCY_KINDS, FileFacts
from mnemo_dagster.models import Chunk
from mnemo_dagster.store.copying import copy_rows, fetch_tuples
from mnemo_dagster.store.graph_files import CARRIED_STATS, write_edge_difference, write_facts
from mnemo_dagster.store.schema import (
    NODE_OUTLINE,
    code_chunks,
    copy_columns,
    graph_edges,
    graph_metrics,
    graph_nodes,
    repositories,
    slices,
    source_files,
    utc_now,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mnemo_dagster.store.engine import Database

NODE_COLUMNS = copy_columns(graph_nodes)
EDGE_COLUMNS = copy_columns(graph_edges)
METRIC_COLUMNS = copy_columns(graph_metrics)
"""The columns the graph's tables are copied with (binary ``COPY``), with their PostgreSQL types; a
row that lacks a column stores NULL there, as an ``INSERT`` would."""


def _replace_rows(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[tuple[str, str]],
    repository: str,
    rows: Iterable[Mapping[str, Any]],
) -> None:
    """Replace ``repository``'s rows of ``table`` with ``rows`` (by column name), copied as ``columns``."""
    conn.execute(table.delete().where(table.c.repository == repository))
    copy_rows(
        conn,
        table,
        columns,
        (tuple(repository if name == "repository" else row.get(name) for name, _ in columns) for row in rows),
    )


_NODE_FIELDS = ("name", "kind", "file_path", "start_line", "end_line", "language")
"""A node's columns besides its repository and qualified name, in the order of :data:`NODE_COLUMNS`."""


def _node_columns() -> list[sa.Column[Any]]:
    return [graph_nodes.c[name] for name in _NODE_FIELDS]


@dataclass(frozen=True, slots=True)
class GraphChange:
    """What :meth:`GraphStore.update` wrote."""

    ids: dict[str, int]
    """Qualified name -> node id, for every node of the graph."""
    nodes_added: int
    nodes_removed: int
    nodes_changed: int
    """Nodes that stayed with other lines, name, kind or file."""
    edges_added: int
    edges_removed: int
    edges_changed: int
    """Edges that stayed with another weight."""

    def structural(self) -> int:
        """Nodes and edges added or removed: how far the graph moved (a weight or a line does not)."""
        return self.nodes_added + self.nodes_removed + self.edges_added + self.edges_removed

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "ids"}


def _update_edges(
    conn: Connection, repository: str, wanted: dict[tuple[int, int, str], int]
) -> tuple[int, int, int]:
    """Make the repository's edges ``wanted`` ((source id, target id, kind) -> weight), writing only the
    difference; returns how many were added, removed and re-weighted."""
    e = graph_edges.c
    stored = {
        (row[0], row[1], row[2]): row[3]
        for row in conn.execute(
            sa.select(e.source_id, e.target_id, e.kind, e.weight).where(e.repository == repository)
        )
    }
    added, gone, reweighted = write_edge_difference(conn, repository, stored, wanted)
    return added, len(gone), reweighted


class GraphStore:
    """The symbol graph of each repository, replaced whole by ``graph_nodes`` / ``graph_metrics``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def chunk_symbols(
        self, repository: str, paths: Sequence[str] | None = None
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(file_path, language, chunk metadata) for every chunk of ``repository`` (of the files
        ``paths`` only, if given), by file."""
        query = (
            sa.select(code_chunks.c.file_path, code_chunks.c.language, code_chunks.c.metadata)
            .where(code_chunks.c.repository == repository)
            .order_by(code_chunks.c.file_path, code_chunks.c.start_line)
        )
        if paths is not None:
            query = query.where(code_chunks.c.file_path.in_(sorted(paths)))
        with self.db.engine.connect() as conn:
            yield from conn.execution_options(stream_results=True, yield_per=5000).execute(query)

    def config_texts(self, repository: str, name_pattern: str = "%sconfig%.json") -> dict[str, str]:
        """File path -> text, rebuilt from the chunks, of the files whose name matches a SQL LIKE
        pattern (by default tsconfig/jsconfig files; :mod:`~mnemo_dagster.graph.jsconfig` picks)."""
        query = sa.select(
            code_chunks.c.file_path, code_chunks.c.start_line, code_chunks.c.end_line, code_chunks.c.content
        ).where(code_chunks.c.repository == repository, code_chunks.c.file_path.like(name_pattern))
        chunks: dict[str, list[Chunk]] = {}
        with self.db.engine.connect() as conn:
            for path, start, end, content in conn.execute(query):
                chunks.setdefault(path, []).append(Chunk("lines", None, None, start, end, content))
        return {path: source_text(pieces) for path, pieces in chunks.items()}

    def replace(
        self,
        repository: str,
        nodes: Sequence[Mapping[str, Any]],
        edges: Sequence[tuple[str, str, str, int]],
        stats: dict[str, Any],
    ) -> dict[str, int]:
        """Make the repository's nodes and edges ``nodes`` and ``edges``; return qualified name -> node
        id. Only the difference is written (:meth:`update`)."""
        return self.update(repository, nodes, edges, stats).ids

    def update(
        self,
        repository: str,
        nodes: Sequence[Mapping[str, Any]],
        edges: Sequence[tuple[str, str, str, int]],
        stats: dict[str, Any],
        files: Mapping[str, tuple[str, FileFacts]] | None = None,
    ) -> GraphChange:
        """Make the repository's nodes and edges ``nodes`` (by column name) and ``edges`` (source and
        target qualified names, kind, weight), writing only the difference with what is stored: a node
        that stays keeps its id (and its metrics row), a node that goes takes its edges and metrics
        with it. ``stats`` replaces the graph summary, with ``changes_since_full`` (the nodes and edges
        added or removed since the metrics were last computed in full) and ``metrics_full_at`` (when
        that was) carried forward. ``files`` (path -> version, facts) replaces ``graph_files``: without
        them, the next refresh builds the graph in full (:mod:`.graph_files`)."""
        wanted = {node["qualified_name"]: tuple(node.get(name) for name in _NODE_FIELDS) for node in nodes}
        with self.db.begin() as conn:
            before = conn.execute(
                sa.select(repositories.c.graph_stats).where(repositories.c.name == repository)
            ).scalar_one_or_none()
            stored = {
                row[0]: (row[1], tuple(row[2:]))
                for row in conn.execute(
                    sa.select(graph_nodes.c.qualified_name, graph_nodes.c.id, *_node_columns()).where(
                        graph_nodes.c.repository == repository
                    )
                )
            }
            gone = [stored[name][0] for name in stored.keys() - wanted.keys()]
            for part in slices(gone):  # their edges and metrics go with them (ON DELETE CASCADE)
                conn.execute(graph_nodes.delete().where(graph_nodes.c.id.in_(part)))
            moved = [
                {"node_id": stored[name][0], **dict(zip(_NODE_FIELDS, fields, strict=True))}
                for name, fields in wanted.items()
                if name in stored and stored[name][1] != fields
            ]
            if moved:
                conn.execute(
                    graph_nodes.update()
                    .where(graph_nodes.c.id == sa.bindparam("node_id"))
                    .values({name: sa.bindparam(name) for name in _NODE_FIELDS}),
                    moved,
                )
            added = [name for name in wanted if name not in stored]
            copy_rows(
                conn,
                graph_nodes,
                NODE_COLUMNS,
                ((repository, name, *wanted[name]) for name in added),
            )
            ids = {name: stored[name][0] for name in wanted if name in stored}
            for part in slices(added):
                ids.update(
                    conn.execute(
                        sa.select(graph_nodes.c.qualified_name, graph_nodes.c.id).where(
                            graph_nodes.c.repository == repository, graph_nodes.c.qualified_name.in_(part)
                        )
                    ).all()
                )
            edge_change = _update_edges(conn, repository, {(ids[s], ids[t], k): w for s, t, k, w in edges})
            write_facts(conn, repository, files)
            change = GraphChange(ids, len(added), len(gone), len(moved), *edge_change)
            before = before or {}
            moved = before.get("changes_since_full", 0) + change.structural()
            summary = {**stats, "changes_since_full": moved}
            summary.update({key: before[key] for key in CARRIED_STATS if key in before and key not in stats})
            conn.execute(
                repositories.update().where(repositories.c.name == repository).values(graph_stats=summary)
            )
        return change

    def replace_metrics(
        self, repository: str, rows: Sequence[Mapping[str, Any]], stats: dict[str, Any], *, full: bool = True
    ) -> None:
        """Replace the repository's per-node metrics; merge ``stats`` into its graph summary. ``full``
        says they were all computed anew (none carried over), which resets ``changes_since_full``."""
        summary = repositories.c.graph_stats.concat(stats)
        if full:
            summary = summary.concat({"changes_since_full": 0})
        with self.db.begin() as conn:
            _replace_rows(conn, graph_metrics, METRIC_COLUMNS, repository, rows)
            conn.execute(
                repositories.update()
                .where(repositories.c.name == repository)
                .values(graph_built_at=utc_now(), graph_stats=summary)
            )

    def metric_table(self, repository: str) -> MetricTable:
        """The stored ``graph_metrics`` rows of ``repository``, as columns
        (:class:`~mnemo_dagster.graph.carried.MetricTable`)."""
        m = graph_metrics.c
        query = sa.select(m.node_id, *(m[name] for name in METRICS)).where(m.repository == repository)
        with self.db.begin() as conn:
            return MetricTable.from_rows(fetch_tuples(conn, query))

    def id_rows(self, repository: str) -> tuple[list[tuple[int, str, str, str]], EdgeColumns]:
        """(id, qualified name, kind, file path) of every node, and every edge as columns: what the
        carried metrics are computed from (:mod:`mnemo_dagster.graph.carried`). The edges come as one
        row of arrays, aggregated in one scan (so in one order)."""
        n, e = graph_nodes.c, graph_edges.c
        edges = sa.select(
            sa.func.array_agg(e.source_id),
            sa.func.array_agg(e.target_id),
            sa.func.array_agg(e.kind.in_(sorted(DEPENDENCY_KINDS))),
            sa.func.array_agg(e.kind == "imports"),
            sa.func.array_agg(e.weight),
        ).where(e.repository == repository)
        with self.db.begin() as conn:
            nodes = fetch_tuples(
                conn, sa.select(n.id, n.qualified_name, n.kind, n.file_path).where(n.repository == repository)
            )
            source, target, depends, imports, weight = fetch_tuples(conn, edges)[0]
        return nodes, EdgeColumns(
            np.array(source or (), dtype=np.int64),
            np.array(target or (), dtype=np.int64),
            np.array(depends or (), dtype=bool),
            np.array(imports or (), dtype=bool),
            np.array(weight or (), dtype=float),
        )

    def update_metrics(
        self,
        repository: str,
        rows: Sequence[Mapping[str, Any]],
        stats: dict[str, Any],
        *,
        pagerank: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Write ``rows`` (whole ``graph_metrics`` rows, by column name) over the stored ones of their
        nodes, or add them, and ``pagerank`` (node ids, values) over the stored PageRank of those
        nodes; merge ``stats`` into the graph summary (the costly metrics were carried:
        ``changes_since_full`` stays)."""
        with self.db.begin() as conn:
            if pagerank is not None:
                conn.execute(
                    sa.text(
                        "UPDATE graph_metrics AS m SET pagerank = v.pagerank "
                        "FROM unnest(CAST(:ids AS bigint[]), CAST(:values AS float8[])) "
                        "AS v(node_id, pagerank) "
                        "WHERE m.node_id = v.node_id AND m.pagerank <> v.pagerank"
                    ),
                    {"ids": pagerank[0].tolist(), "values": pagerank[1].tolist()},
                )
            if rows:
                table = graph_metrics.c
                statement = pg_insert(graph_metrics)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[table.node_id],
                        set_={
                            name: statement.excluded[name] for name, _ in METRIC_COLUMNS if name != "node_id"
                        },
                    ),
                    [{**row, "repository": repository} for row in rows],
                )
            conn.execute(
                repositories.update()
                .where(repositories.c.name == repository)
                .values(graph_built_at=utc_now(), graph_stats=repositories.c.graph_stats.concat(stats))
            )

    def metric_values(self, repository: str) -> dict[str, tuple[float, float, int | None]]:
        """Qualified name -> (PageRank, betweenness, community) as stored, for the nodes that have them."""
        m, n = graph_metrics.c, graph_nodes.c
        query = (
            sa.select(n.qualified_name, m.pagerank, m.betweenness, m.community)
            .join(graph_nodes, n.id == m.node_id)
            .where(m.repository == repository)
        )
        with self.db.begin() as conn:
            return {row[0]: (row[1], row[2], row[3]) for row in conn.execute(query)}

    def is_stale(self, repository: str) -> bool:
        """True when the graph is behind the files (:meth:`staleness`)."""
        return self.staleness(repository) is not None

    def staleness(self, repository: str) -> str | None:
        """How the graph is behind the files, None when it is not: never built, a file indexed after it
        was (the newest such time is named), or fewer files hold chunks than it was built from (files
        deleted since; both counts are named). The words change with the state, so they also name it."""
        with self.db.begin() as conn:
            built, stats = conn.execute(
                sa.select(repositories.c.graph_built_at, repositories.c.graph_stats).where(
                    repositories.c.name == repository
                )
            ).one_or_none() or (None, None)
            newest = conn.execute(
                sa.select(sa.func.max(source_files.c.indexed_at)).where(
                    source_files.c.repository == repository
                )
            ).scalar_one_or_none()
            if built is None:
                return f"never built (files indexed until {newest.isoformat() if newest else 'never'})"
            if newest is not None and newest > built:
                return f"files indexed until {newest.isoformat()}, after the graph ({built.isoformat()})"
            files = conn.execute(
                sa.select(sa.func.count(sa.distinct(code_chunks.c.file_path))).where(
                    code_chunks.c.repository == repository
                )
            ).scalar_one()
        graphed = ((stats or {}).get("resolution") or {}).get("files", files)
        return None if files == graphed else f"{files} files hold chunks, the graph has {graphed}"

    def summary(self, repository: str) -> dict[str, Any]:
        """The graph summary of ``repository`` (``repositories.graph_stats``)."""
        with self.db.begin() as conn:
            stats = conn.execute(
                sa.select(repositories.c.graph_stats).where(repositories.c.name == repository)
            ).scalar_one_or_none()
        return stats or {}

    def merge_summary(self, repository: str, stats: dict[str, Any]) -> None:
        """Merge ``stats`` into the graph summary of ``repository``."""
        with self.db.begin() as conn:
            conn.execute(
                repositories.update()
                .where(repositories.c.name == repository)
                .values(graph_stats=repositories.c.graph_stats.concat(stats))
            )

    def totals(self, repository: str) -> dict[str, int]:
        """How many nodes and edges the graph has, and edges of each kind."""
        e = graph_edges.c
        with self.db.begin() as conn:
            kinds = dict(
                conn.execute(
                    sa.select(e.kind, sa.func.count()).where(e.repository == repository).group_by(e.kind)
                ).all()
            )
        return {"nodes": self.node_count(repository), "edges": sum(kinds.values()), **kinds}

    def node_count(self, repository: str) -> int:
        with self.db.begin() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(graph_nodes)
                .where(graph_nodes.c.repository == repository)
            ).scalar_one()

    def rows(self, repository: str) -> tuple[list[Any], list[Any], dict[str, Any]]:
        """The stored nodes, edges (with qualified names) and graph summary of ``repository``."""
        e = graph_edges.c
        with self.db.begin() as conn:
            nodes = conn.execute(
                sa.select(*NODE_OUTLINE, graph_nodes.c.language)
                .where(graph_nodes.c.repository == repository)
                .order_by(graph_nodes.c.qualified_name)
            ).all()
            # By id, named here: joining the names in twice costs PostgreSQL more than a dict lookup.
            name = {row[0]: row[1] for row in nodes}
            edges = [
                (name[s], name[t], kind, weight)
                for s, t, kind, weight in conn.execute(
                    sa.select(e.source_id, e.target_id, e.kind, e.weight).where(e.repository == repository)
                ).all()
            ]
            stats = conn.execute(
                sa.select(repositories.c.graph_stats).where(repositories.c.name == repository)
            ).scalar_one_or_none()
        return nodes, edges, stats or {}
