"""Keeping the index fresh: a directory-change sensor, and the automation that refreshes the graph once.

``directory_change_sensor`` scans every registered repository (one ``stat`` per unchanged file), records
the changes in the index database, adds and removes ``file_batches`` partitions and requests one run
per affected batch. Run keys carry the content of what is pending, so a batch is requested once per
change; a failed tick requests nothing and the next tick finds the same pending files again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dagster import (
    AddDynamicPartitionsRequest,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from mnemo_dagster.config.defaults import STALL_FLOOR_BYTES_PER_SECOND
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs import tags
from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY
from mnemo_dagster.defs.orphans import end_orphaned_runs
from mnemo_dagster.defs.partitions import file_batches
from mnemo_dagster.errors import MnemoError
from mnemo_dagster.indexing.passes import locked_plan
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import wire


def _run_key(store: IndexStore, repository: str, key: str) -> str:
    pending = sorted(
        (f.path, f.content_hash or "")
        for f in store.files.stored(repository, batch_key=key).values()
        if f.status == "pending"
    )
    digest = hashlib.sha256(json.dumps(pending).encode()).hexdigest()[:16]
    return f"{key}:{digest}"


def batch_max_runtime(settings: Settings) -> int:
    """Seconds a batch run may take, all its step's attempts together: each at most a batch at the
    slowest healthy rate, plus a stall before its watchdog ends it (the run's ``dagster/max_runtime``;
    the watchdog ends stalled steps long before)."""
    attempt = settings.batch_bytes // STALL_FLOOR_BYTES_PER_SECOND + settings.stall_seconds
    return (DATABASE_RETRY.max_retries + 1) * attempt


def evaluate_directory_changes(
    context: SensorEvaluationContext, store: IndexStore
) -> SensorResult | SkipReason:
    """One tick of :data:`directory_change_sensor` against ``store`` (separate for tests)."""
    settings = Settings.from_env()
    existing = set(context.instance.get_dynamic_partitions(file_batches.name))
    runs: list[RunRequest] = []
    added: set[str] = set()
    removed: set[str] = set()
    summary: dict[str, dict[str, int]] = {}
    for repository in store.files.repository_names():
        root = store.files.root(repository)
        if root is None:
            continue
        try:
            with locked_plan(store, settings, repository, Path(root)) as plan:
                pass  # planning is all a tick does under the lock; the daemon runs the batches
        except MnemoError as exc:
            context.log.warning(f"{repository}: {exc}")
            continue
        if plan is None:
            context.log.info(f"{repository}: `mnemo index` is running a pass; skipped this tick")
            continue
        added |= set(plan.batches) - existing
        removed |= set(plan.removed) & existing
        for key in plan.to_run:
            runs.append(
                RunRequest(
                    run_key=_run_key(store, repository, key),
                    partition_key=key,
                    tags={
                        tags.REPOSITORY: repository,
                        tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR,
                        tags.MAX_RUNTIME: str(batch_max_runtime(settings)),
                    },
                )
            )
        summary[repository] = {
            "changed": plan.files_new_or_changed,
            "deleted": plan.files_deleted,
            "batches_to_run": len(plan.to_run),
        }
    requests = []
    if added:
        requests.append(AddDynamicPartitionsRequest(file_batches.name, sorted(added)))
    if removed:
        requests.append(DeleteDynamicPartitionsRequest(file_batches.name, sorted(removed)))
    if not runs and not requests:
        return SkipReason(f"no changes in {len(summary)} repositories")
    return SensorResult(run_requests=runs, dynamic_partitions_requests=requests, cursor=json.dumps(summary))


@sensor(
    job_name="index_batches_job",
    minimum_interval_seconds=Settings.from_env().sensor_interval_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description="Re-index the batches of registered repositories whose files were added, changed or deleted.",
)
def directory_change_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    # Runs of a killed `mnemo index` would hold the queue's only slot forever: end them first.
    for run_id in end_orphaned_runs(context.instance):
        context.log.warning(f"marked orphaned run {run_id} failed: its mnemo index process is gone")
    with wire() as wiring:
        if not wiring.store.has_schema():
            return SkipReason("no repository registered yet (run `mnemo index PATH`)")
        return evaluate_directory_changes(context, wiring.store)


graph_refresh_sensor = AutomationConditionSensorDefinition(
    "graph_refresh_sensor",
    target=["graph_nodes", "graph_metrics", "code_chunks"],
    default_status=DefaultSensorStatus.RUNNING,
    emit_backfills=True,
    minimum_interval_seconds=30,
    description="Refreshes the graph once after a pass of batches, and runs the nightly full re-index.",
)
