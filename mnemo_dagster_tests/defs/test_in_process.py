"""`mnemo index --in-process` writes exactly what a pass through Dagster writes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from dagster import DagsterInstance

from mnemo_dagster.core.passes import run_pass
from mnemo_dagster.core.runners import InProcessRunner
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.schema import code_chunks, graph_edges, graph_metrics, graph_nodes, source_files
from mnemo_dagster.core.wiring import wire
from mnemo_dagster.defs.launch import DagsterRunner

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


def _rows(store: IndexStore, repository: str) -> dict[str, Any]:
    """Everything a pass stores for ``repository``, minus ids, times and the repository's name."""
    source, target = graph_nodes.alias("s"), graph_nodes.alias("t")
    with store.begin() as conn:
        files = conn.execute(
            sa.select(
                source_files.c.path,
                source_files.c.language,
                source_files.c.content_hash,
                source_files.c.batch_key,
                source_files.c.status,
                source_files.c.error,
                source_files.c.chunk_count,
            )
            .where(source_files.c.repository == repository)
            .order_by(source_files.c.path)
        ).all()
        chunks = conn.execute(
            sa.select(
                code_chunks.c.file_path,
                code_chunks.c.qualified_name,
                code_chunks.c.kind,
                code_chunks.c.start_line,
                code_chunks.c.end_line,
                code_chunks.c.content_hash,
                code_chunks.c.metadata,
                code_chunks.c.embedding,
            )
            .where(code_chunks.c.repository == repository)
            .order_by(code_chunks.c.file_path, code_chunks.c.start_line, code_chunks.c.content)
        ).all()
        nodes = conn.execute(
            sa.select(graph_nodes.c.qualified_name, graph_nodes.c.kind, graph_nodes.c.start_line)
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
            .order_by(source.c.qualified_name, target.c.qualified_name, graph_edges.c.kind)
        ).all()
        metrics = conn.execute(
            sa.select(graph_nodes.c.qualified_name, graph_metrics.c.pagerank, graph_metrics.c.in_degree)
            .join(graph_nodes, graph_nodes.c.id == graph_metrics.c.node_id)
            .where(graph_metrics.c.repository == repository)
            .order_by(graph_nodes.c.qualified_name)
        ).all()
    return {
        "files": [(*row[:3], row[3] and row[3].split("__")[1], *row[4:]) for row in files],
        "chunks": [row[:-1] for row in chunks],
        "vectors": np.array([np.asarray(row[-1]) for row in chunks]),
        "nodes": nodes,
        "edges": edges,
        "metrics": [(qn, round(rank, 9), degree) for qn, rank, degree in metrics],
    }


def test_an_in_process_pass_stores_the_same_rows_as_a_dagster_pass(
    instance: DagsterInstance, tmp_path: Path, default_store: IndexStore
) -> None:
    for name in ("viadagster", "inprocess"):
        shutil.copytree(SAMPLE, tmp_path / name)
    with wire() as wiring:
        via_dagster = run_pass(wiring, tmp_path / "viadagster", DagsterRunner(instance), batch_size=3)
        in_process = run_pass(wiring, tmp_path / "inprocess", InProcessRunner(wiring), batch_size=3)
    assert via_dagster.ok and in_process.ok
    assert [b.run_id is not None for b in via_dagster.batches] == [True, True, True]
    assert [b.run_id for b in in_process.batches] == [None, None, None]  # no Dagster run at all

    dagster_rows, local_rows = _rows(default_store, "viadagster"), _rows(default_store, "inprocess")
    assert len(dagster_rows["chunks"]) == 15 and len(dagster_rows["edges"]) == 28
    for table in ("files", "chunks", "nodes", "edges", "metrics"):
        assert dagster_rows[table] == local_rows[table], table
    # The same model on the same text: the same vectors (bf16 kernels may differ in the last bits).
    assert np.allclose(dagster_rows["vectors"], local_rows["vectors"], atol=1e-3)
