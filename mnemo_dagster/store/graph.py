"""The ``graph_nodes``, ``graph_edges`` and ``graph_metrics`` tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mnemo_dagster.graph.facts import source_text
from mnemo_dagster.models import Chunk
from mnemo_dagster.store.copying import copy_rows
from mnemo_dagster.store.schema import (
    NODE_OUTLINE,
    code_chunks,
    copy_columns,
    graph_edges,
    graph_metrics,
    graph_nodes,
    repositories,
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


class GraphStore:
    """The symbol graph of each repository, replaced whole by ``graph_nodes`` / ``graph_metrics``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def chunk_symbols(self, repository: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(file_path, language, chunk metadata) for every chunk of ``repository``, by file."""
        query = (
            sa.select(code_chunks.c.file_path, code_chunks.c.language, code_chunks.c.metadata)
            .where(code_chunks.c.repository == repository)
            .order_by(code_chunks.c.file_path, code_chunks.c.start_line)
        )
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
        """Replace the repository's nodes and edges; return qualified name -> node id."""
        with self.db.begin() as conn:
            conn.execute(
                repositories.update().where(repositories.c.name == repository).values(graph_stats=stats)
            )
            _replace_rows(conn, graph_nodes, NODE_COLUMNS, repository, nodes)
            id_rows = conn.execute(
                sa.select(graph_nodes.c.qualified_name, graph_nodes.c.id).where(
                    graph_nodes.c.repository == repository
                )
            )
            ids: dict[str, int] = {qualified_name: node_id for qualified_name, node_id in id_rows}
            copy_rows(
                conn,
                graph_edges,
                EDGE_COLUMNS,
                ((repository, ids[s], ids[t], kind, weight) for s, t, kind, weight in edges),
            )
        return ids

    def replace_metrics(
        self, repository: str, rows: Sequence[Mapping[str, Any]], stats: dict[str, Any]
    ) -> None:
        """Replace the repository's per-node metrics; merge ``stats`` into its graph summary."""
        with self.db.begin() as conn:
            _replace_rows(conn, graph_metrics, METRIC_COLUMNS, repository, rows)
            conn.execute(
                repositories.update()
                .where(repositories.c.name == repository)
                .values(graph_built_at=utc_now(), graph_stats=repositories.c.graph_stats.concat(stats))
            )

    def is_stale(self, repository: str) -> bool:
        """True when the graph was never built or a file was indexed after it was."""
        with self.db.begin() as conn:
            built = conn.execute(
                sa.select(repositories.c.graph_built_at).where(repositories.c.name == repository)
            ).scalar_one_or_none()
            newest = conn.execute(
                sa.select(sa.func.max(source_files.c.indexed_at)).where(
                    source_files.c.repository == repository
                )
            ).scalar_one_or_none()
        return built is None or (newest is not None and newest > built)

    def node_count(self, repository: str) -> int:
        with self.db.begin() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(graph_nodes)
                .where(graph_nodes.c.repository == repository)
            ).scalar_one()

    def rows(self, repository: str) -> tuple[list[Any], list[Any], dict[str, Any]]:
        """The stored nodes, edges (with qualified names) and graph summary of ``repository``."""
        source, target = graph_nodes.alias("source"), graph_nodes.alias("target")
        with self.db.begin() as conn:
            nodes = conn.execute(
                sa.select(*NODE_OUTLINE, graph_nodes.c.language)
                .where(graph_nodes.c.repository == repository)
                .order_by(graph_nodes.c.qualified_name)
            ).all()
            edges = conn.execute(
                sa.select(
                    source.c.qualified_name, target.c.qualified_name, graph_edges.c.kind, graph_edges.c.weight
                )
                .join(source, source.c.id == graph_edges.c.source_id)
                .join(target, target.c.id == graph_edges.c.target_id)
                .where(graph_edges.c.repository == repository)
            ).all()
            stats = conn.execute(
                sa.select(repositories.c.graph_stats).where(repositories.c.name == repository)
            ).scalar_one_or_none()
        return nodes, edges, stats or {}
