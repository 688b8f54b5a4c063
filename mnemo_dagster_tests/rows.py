"""What a pass stores for one repository, as comparable rows (for "the index is identical" checks of
runners and engines)."""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from mnemo_dagster.indexing.batch import chunk_rows
from mnemo_dagster.models import ParsedFile
from mnemo_dagster.store.chunks import ChunkRow
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import code_chunks, graph_edges, graph_metrics, graph_nodes, source_files

CONSTANT_VECTOR = np.ones(384, dtype=np.float32) / np.sqrt(384)
"""One unit vector for every chunk, where a test reads only the graph (which never reads embeddings)."""


def parsed_rows(parsed: ParsedFile, key: str, vector: np.ndarray = CONSTANT_VECTOR) -> list[ChunkRow]:
    """The chunks of ``parsed`` as a pass stores them (:func:`chunk_rows`), each with ``vector`` and the
    content hash ``{key}-{n}``."""
    return chunk_rows(
        parsed, [f"{key}-{i}" for i in range(len(parsed.chunks))], [vector] * len(parsed.chunks)
    )


def _columns(table: sa.Table, repository: str, names: str) -> sa.Select[Any]:
    """The columns ``names`` (separated by spaces) of ``table``'s rows of ``repository``."""
    return sa.select(*(table.c[name] for name in names.split())).where(table.c.repository == repository)


def index_rows(store: IndexStore, repository: str) -> dict[str, Any]:
    """Files, chunks (and their vectors), nodes, edges and metrics of ``repository``, minus ids and times."""
    source, target = graph_nodes.alias("s"), graph_nodes.alias("t")
    files_q = _columns(
        source_files, repository, "path language content_hash batch_key status error chunk_count"
    )
    chunks_q = _columns(
        code_chunks,
        repository,
        "file_path qualified_name kind start_line end_line content_hash metadata embedding",
    )
    nodes_q = _columns(graph_nodes, repository, "qualified_name kind start_line end_line")
    edges_q = (
        sa.select(source.c.qualified_name, target.c.qualified_name, graph_edges.c.kind, graph_edges.c.weight)
        .join(source, source.c.id == graph_edges.c.source_id)
        .join(target, target.c.id == graph_edges.c.target_id)
        .where(graph_edges.c.repository == repository)
    )
    metrics_q = (
        sa.select(graph_nodes.c.qualified_name, graph_metrics.c.pagerank, graph_metrics.c.in_degree)
        .join(graph_nodes, graph_nodes.c.id == graph_metrics.c.node_id)
        .where(graph_metrics.c.repository == repository)
    )
    with store.begin() as conn:
        files = sorted(conn.execute(files_q).all())
        chunks = sorted(conn.execute(chunks_q).all(), key=lambda row: (row[0], row[3], row[1], row[5]))
        nodes = sorted(conn.execute(nodes_q).all())
        edges = sorted(conn.execute(edges_q).all())
        metrics = sorted(conn.execute(metrics_q).all())
    return {
        # The batch's number only, so that two repositories of different names compare.
        "files": [(*row[:3], row[3] and row[3].split("__")[1], *row[4:]) for row in files],
        "chunks": [tuple(row[:-1]) for row in chunks],
        "vectors": np.array([np.asarray(row[-1]) for row in chunks]),
        "nodes": [tuple(row) for row in nodes],
        "edges": [tuple(row) for row in edges],
        "metrics": [(qn, round(rank, 9), degree) for qn, rank, degree in metrics],
    }


def assert_same_index(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """The two snapshots hold the same rows, and vectors equal up to bf16 kernel noise."""
    for table in ("files", "chunks", "nodes", "edges", "metrics"):
        only_actual = [row for row in actual[table] if row not in expected[table]]
        only_expected = [row for row in expected[table] if row not in actual[table]]
        assert actual[table] == expected[table], (table, only_actual, only_expected)
    assert actual["vectors"].shape == expected["vectors"].shape
    assert np.allclose(actual["vectors"], expected["vectors"], atol=1e-3)
