"""The jobs of the code location: one file batch, the graph, and the scan of one repository."""

from __future__ import annotations

from dagster import define_asset_job

from mnemo_dagster.defs.assets.code_chunks import code_chunks
from mnemo_dagster.defs.assets.graph import graph_metrics, graph_nodes
from mnemo_dagster.defs.scans import scan_job

__all__ = ["graph_job", "index_batches_job", "scan_job"]

index_batches_job = define_asset_job(
    "index_batches_job",
    selection=[code_chunks],
    description="Index one file batch (partition) into code_chunks.",
)
graph_job = define_asset_job(
    "graph_job",
    selection=[graph_nodes, graph_metrics],
    description="Rebuild the symbol graph and its metrics from code_chunks.",
)
