"""``scan_job``: the full walk of one repository, in a run rather than in a sensor tick.

The directory sensor requests it when it sees a sign of change in a tree (or the last scan is old):
the run scans and plans under the repository's pass lock, as ``mnemo index`` does, and makes the
``file_batches`` partitions match the plan. It requests no batch run itself: the sensor's next tick
reads the pending batches from the index database and requests them, under run keys taken from their
pending content. A small plan (an edit) is handed to the resident service instead, which the sensor
keeps warm (:func:`hand_to_service`): its batch and graph runs then end seconds after the scan, not
two ticks later. The step runs in the run's own process (the in-process executor): it needs no model,
and the tree it walks is on the machine that launched the run.
"""

from pathlib import Path
from typing import Any

from dagster import (
    Config,
    DagsterInstance,
    Failure,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    in_process_executor,
    job,
    op,
)

from mnemo_dagster.config.defaults import RESIDENT_PASS_FILES, SCAN_LOCK_WAIT_SECONDS
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY
from mnemo_dagster.defs.partitions import add_repositories, sync_partitions
from mnemo_dagster.defs.resources import RESOURCES, IndexDatabase, IndexSettings
from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.passes import locked_plan
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.store.database import IndexStore


def scan_and_sync(
    instance: DagsterInstance, store: IndexStore, settings: Settings, repository: str
) -> PassPlan | None:
    """Scan registered ``repository`` and plan its batches, then add and drop ``file_batches``
    partitions to match; None when a pass holds its lock (that pass scans the tree itself).

    Raises :class:`ConfigError` when the repository is not registered or its root is gone."""
    root = store.files.root(repository)
    if root is None:
        raise ConfigError(f"repository {repository!r} is not registered (run `mnemo index PATH`)")
    with locked_plan(store, settings, repository, Path(root), wait_seconds=SCAN_LOCK_WAIT_SECONDS) as plan:
        if plan is not None:
            sync_partitions(instance, plan.batches, plan.removed)
            add_repositories(instance, [repository])
    return plan


class ScanConfig(Config):
    repository: str
    """The registered repository to scan."""


@op(retry_policy=DATABASE_RETRY, out=Out(Nothing))
def scan_repository(
    context: OpExecutionContext,
    config: ScanConfig,
    index_database: IndexDatabase,
    index_settings: IndexSettings,
) -> Output[None]:
    """Walk the repository's tree, record what changed and plan its batches."""
    store = index_database.get_store()
    try:
        plan = scan_and_sync(context.instance, store, index_settings.settings(), config.repository)
        root = store.files.root(config.repository)
    except ConfigError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
    finally:
        store.dispose()
    if plan is None:
        context.log.info(
            f"{config.repository}: a `mnemo index` pass holds the lock and scans the tree itself"
        )
        return Output(None, metadata={"skipped": True})
    metadata: dict[str, object] = {
        "files_new_or_changed": plan.files_new_or_changed,
        "files_deleted": plan.files_deleted,
        "files_to_index": plan.files_to_index,
        "batches_to_run": len(plan.to_run),
        "batches": len(plan.batches),
    }
    summary = hand_to_service(index_settings.settings(), plan, Path(str(root)))
    if summary is not None:
        context.log.info(f"{config.repository}: the resident service ran the pass ({summary['seconds']} s)")
        metadata.update(resident_pass=True, pass_seconds=summary["seconds"], pass_ok=summary["ok"])
    return Output(None, metadata=metadata)


def hand_to_service(settings: Settings, plan: PassPlan, root: Path) -> dict[str, Any] | None:
    """The summary of the pass over ``plan``'s repository (at ``root``) that the resident service ran,
    where the plan is small enough for it (:mod:`mnemo_dagster.launch.resident_pass`) and the service
    listens (the directory sensor keeps it warm); None otherwise: the sensor's next tick then requests
    the batch runs, as after any scan. The service plans again under the pass lock, which this run no
    longer holds: a pass that took the lock meanwhile has done the work."""
    from mnemo_dagster.indexing.resident import pass_request
    from mnemo_dagster.retrieval.service import pass_via_service

    if not settings.search_service or not 0 < plan.files_to_write <= RESIDENT_PASS_FILES:
        return None
    return pass_via_service(settings, pass_request(root, plan.repository, None))


@job(
    executor_def=in_process_executor,
    resource_defs=RESOURCES,
    description="Scan one registered repository (run config: its name) and plan the batches to re-index.",
)
def scan_job() -> None:
    scan_repository()
