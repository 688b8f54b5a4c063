"""Running the jobs through a Dagster instance from Python, so every run lands in the run history.

Each batch is one run of ``index_batches_job`` for one ``file_batches`` partition; the graph assets
then run once, in one run of ``graph_job``. Runs execute in this process with the multiprocess
executor, so each step still gets its own process (forked from a server that preloaded torch).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, JobExecutionResult, execute_job, reconstructable

from mnemo_dagster.defs.definitions import STEP_PRELOAD_MODULES, get_graph_job, get_index_batches_job
from mnemo_dagster.defs.partitions import file_batches

DAGSTER_STORAGE_ENV = "MNEMO_DAGSTER_STORAGE_URL"
DAGSTER_YAML = Path(__file__).with_name("dagster.yaml")


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config that keeps Dagster's per-event debug lines off the terminal (they stay in the run's logs)."""


def prepare_dagster_home(mnemo_home: Path, storage_url: str) -> Path:
    """Point Dagster at ``$MNEMO_HOME/dagster`` (unless DAGSTER_HOME is set) and at its Postgres storage."""
    os.environ[DAGSTER_STORAGE_ENV] = storage_url
    home = Path(os.environ.get("DAGSTER_HOME") or mnemo_home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != DAGSTER_YAML.read_bytes():
        shutil.copyfile(DAGSTER_YAML, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def warm_step_server() -> None:
    """Start the executor's fork server now, so its imports (~6 s) overlap with scanning and planning.

    The multiprocess executor reuses a running fork server; call this after the environment is final
    (steps inherit the server's environment).
    """
    multiprocessing.set_forkserver_preload(STEP_PRELOAD_MODULES)
    multiprocessing.forkserver.ensure_running()


@dataclass(slots=True)
class RunOutcome:
    """The result of one run, reduced to what the CLI reports."""

    run_id: str
    success: bool
    partition: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    """Asset key -> materialization metadata (plain values)."""
    errors: list[str] = field(default_factory=list)


def _outcome(result: JobExecutionResult, partition: str | None) -> RunOutcome:
    outcome = RunOutcome(run_id=result.run_id, success=result.success, partition=partition)
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key.to_user_string()
        outcome.metadata[key] = {name: value.value for name, value in materialization.metadata.items()}
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            outcome.errors.append(error.message.strip() if error else "step failed")
        elif event.is_run_failure and not outcome.errors:
            outcome.errors.append(event.message or "run failed")
    return outcome


def sync_partitions(instance: DagsterInstance, keys: Iterable[str], removed: Iterable[str] = ()) -> None:
    """Make the ``file_batches`` partitions include ``keys`` and drop ``removed``."""
    existing = set(instance.get_dynamic_partitions(file_batches.name))
    missing = sorted(set(keys) - existing)
    if missing:
        instance.add_dynamic_partitions(file_batches.name, missing)
    for key in removed:
        if key in existing:
            instance.delete_dynamic_partition(file_batches.name, key)


def run_batches(
    instance: DagsterInstance,
    repository: str,
    keys: Sequence[str],
    *,
    on_done: Callable[[int, RunOutcome], None] = lambda index, outcome: None,
) -> list[RunOutcome]:
    """Run one ``code_chunks`` partition per key, in order; never raises for a failed run."""
    job = reconstructable(get_index_batches_job)
    outcomes = []
    for index, key in enumerate(keys):
        result = execute_job(
            job,
            instance,
            run_config=QUIET,
            tags={"dagster/partition": key, "mnemo/repository": repository, "mnemo/launched_by": "mnemo-cli"},
        )
        outcome = _outcome(result, key)
        outcomes.append(outcome)
        on_done(index, outcome)
    return outcomes


def run_graph(instance: DagsterInstance, repositories: Sequence[str]) -> RunOutcome:
    """Materialize ``graph_nodes`` then ``graph_metrics`` for ``repositories`` in one run."""
    config = {"repositories": list(repositories)}
    result = execute_job(
        reconstructable(get_graph_job),
        instance,
        run_config={**QUIET, "ops": {"graph_nodes": {"config": config}, "graph_metrics": {"config": config}}},
        tags={"mnemo/repository": ",".join(repositories), "mnemo/launched_by": "mnemo-cli"},
    )
    return _outcome(result, None)
