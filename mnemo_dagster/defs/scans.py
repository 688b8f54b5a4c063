"""``scan_job``: the full walk of one repository, in a run rather than in a sensor tick.

The directory sensor requests it when it sees a sign of change in a tree (or the last scan is old):
the run scans and plans under the repository's pass lock, as ``mnemo index`` does, and makes the
``file_batches`` partitions match the plan. It requests no batch run itself: the sensor's next tick
reads the pending batches from the index database and requests them, under run keys taken from their
pending content. The step runs in the run's own process (the in-process executor): it needs no model,
and the tree it walks is on the machine that launched the run.
"""

from pathlib import Path

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

from mnemo_dagster.config.defaults import SCAN_LOCK_WAIT_SECONDS
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
    except ConfigError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
    finally:
        store.dispose()
    if plan is None:
        context.log.info(
            f"{config.repository}: a `mnemo index` pass holds the lock and scans the tree itself"
        )
        return Output(None, metadata={"skipped": True})
    return Output(
        None,
        metadata={
            "files_new_or_changed": plan.files_new_or_changed,
            "files_deleted": plan.files_deleted,
            "files_to_index": plan.files_to_index,
            "batches_to_run": len(plan.to_run),
            "batches": len(plan.batches),
        },
    )


@job(
    executor_def=in_process_executor,
    resource_defs=RESOURCES,
    description="Scan one registered repository (run config: its name) and plan the batches to re-index.",
)
def scan_job() -> None:
    scan_repository()
