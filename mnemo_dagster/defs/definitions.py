"""The one Definitions object of mnemo-dagster."""

from __future__ import annotations

from dagster import Definitions, JobDefinition

from mnemo_dagster.defs.assets.code_chunks import code_chunks
from mnemo_dagster.defs.assets.graph import graph_metrics, graph_nodes
from mnemo_dagster.defs.checks import asset_checks
from mnemo_dagster.defs.executors import select_executor
from mnemo_dagster.defs.jobs import graph_job, index_batches_job, scan_job
from mnemo_dagster.defs.resources import RESOURCES
from mnemo_dagster.defs.sensors import directory_change_sensor, nightly_reindex_sensor

executor = select_executor()
"""The multiprocess executor, or Celery: ``MNEMO_EXECUTOR`` (see ``defs/executors.py``)."""

defs = Definitions(
    assets=[code_chunks, graph_nodes, graph_metrics],
    asset_checks=asset_checks,
    jobs=[index_batches_job, graph_job, scan_job],
    sensors=[directory_change_sensor, nightly_reindex_sensor],
    executor=executor,
    resources=RESOURCES,
)


def get_index_batches_job() -> JobDefinition:
    """``index_batches_job``, resolved (for ``reconstructable``)."""
    return defs.resolve_job_def("index_batches_job")


def get_graph_job() -> JobDefinition:
    """``graph_job``, resolved (for ``reconstructable``)."""
    return defs.resolve_job_def("graph_job")
