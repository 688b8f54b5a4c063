"""The one Definitions object of mnemo-dagster."""

from __future__ import annotations

from dagster import Definitions, JobDefinition, define_asset_job, multiprocess_executor

from mnemo_dagster.defs.assets.code_chunks import code_chunks
from mnemo_dagster.defs.assets.graph import graph_metrics, graph_nodes
from mnemo_dagster.defs.checks import asset_checks
from mnemo_dagster.defs.resources import EmbeddingModel, IndexDatabase, IndexSettings
from mnemo_dagster.defs.sensors import directory_change_sensor, graph_refresh_sensor

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

STEP_PRELOAD_MODULES = ["mnemo_dagster.defs.definitions", "mnemo_dagster.core.preload"]
"""Imported once by the executor's fork server; steps fork from it with torch already loaded."""

executor = multiprocess_executor.configured(
    {
        "max_concurrent": 1,
        # Steps fork from a server that has already imported torch and sentence-transformers, so a
        # batch pays ~0.5 s to start instead of ~6 s, and its memory still goes back when it ends.
        "start_method": {"forkserver": {"preload_modules": STEP_PRELOAD_MODULES}},
    }
)

defs = Definitions(
    assets=[code_chunks, graph_nodes, graph_metrics],
    asset_checks=asset_checks,
    jobs=[index_batches_job, graph_job],
    sensors=[directory_change_sensor, graph_refresh_sensor],
    executor=executor,
    resources={
        "index_database": IndexDatabase(),
        "embedding_model": EmbeddingModel(),
        "index_settings": IndexSettings(),
    },
)


def get_index_batches_job() -> JobDefinition:
    """``index_batches_job``, resolved (for ``reconstructable``)."""
    return defs.resolve_job_def("index_batches_job")


def get_graph_job() -> JobDefinition:
    """``graph_job``, resolved (for ``reconstructable``)."""
    return defs.resolve_job_def("graph_job")
