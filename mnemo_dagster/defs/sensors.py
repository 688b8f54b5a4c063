"""Keeping the index fresh: a directory-change sensor whose tick stays cheap, and that refreshes each
repository's graph once its batches are done; and the automation of the nightly re-verification.

A tick of ``directory_change_sensor`` never walks a tree the way a scan does. For each registered
repository it

1. requests an ``index_batches_job`` run for every batch that holds pending files (one query of the
   index database). Run keys carry the pending content, so a batch is requested once per change, and a
   failed tick loses nothing: the next one finds the same pending files;
2. looks for a sign that the tree changed since its last scan started
   (:mod:`~mnemo_dagster.indexing.change_signals`): the mtime of every directory, and of the tick's
   share of a sweep over the files. On a sign, or when the last scan is :data:`FULL_SCAN_SECONDS` old,
   it requests a ``scan_job`` run (:mod:`~mnemo_dagster.defs.scans`), ahead of queued batches. That run
   walks the tree, records the changes and plans the batches; the next tick requests them;
3. requests the ``graph_job`` run of the repository's ``repositories`` partition when its graph is
   behind its files (:func:`~mnemo_dagster.indexing.graph_build.refresh_reason`: files indexed after it,
   files deleted since, or carried metrics a day old), and no run of the repository is queued or running
   (nor a backfill over its batches), no change seen on disk awaits its scan, and none of its pending
   batches is still to be launched (a failed batch counts as done: the graph
   then covers what is indexed). Its run key names the state, so each state is refreshed once.

A repository whose pass lock is held (``mnemo index`` is running a pass over it) is left alone, and one
scan of a repository is queued or running at a time. What a tick costs grows with the directories of
the registered trees (all statted) and :data:`SENSOR_FILE_STATS`, not with their files. How soon a
change gets its batch run, in ticks of ``MNEMO_SENSOR_INTERVAL_SECONDS``:

- a file or directory added, deleted or renamed (git checkout and pull included): its scan is requested
  at the next tick, its batch at the tick after the scan;
- a file edited in place: the same, once the sweep reaches it: within ``ceil(files / SENSOR_FILE_STATS)``
  ticks, ``files`` counted over every registered tree (the next tick up to 100,000 files; one tick
  more while the sweep first counts a newly registered tree);
- anything the mtimes cannot show (an mtime set into the past, a clock that disagrees): the scan that
  comes at least every :data:`FULL_SCAN_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AddDynamicPartitionsRequest,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunConfig,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.execution.backfill import BulkActionStatus  # get_backfills' filter, not exported

from mnemo_dagster.config.defaults import FULL_SCAN_SECONDS, SENSOR_FILE_STATS, STALL_FLOOR_BYTES_PER_SECOND
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs import tags
from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY
from mnemo_dagster.defs.jobs import graph_job, index_batches_job, scan_job
from mnemo_dagster.defs.orphans import UNFINISHED, end_orphaned_runs
from mnemo_dagster.defs.partitions import file_batches, repositories
from mnemo_dagster.defs.scans import ScanConfig
from mnemo_dagster.indexing.change_signals import Change, Sweep, find_change, share_budget
from mnemo_dagster.indexing.graph_build import refresh_reason
from mnemo_dagster.retrieval.service import keep_service_warm
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import wire

if TYPE_CHECKING:
    from dagster._core.execution.backfill import PartitionBackfill

SCAN_PRIORITY = "1"
"""Scans jump the queue of batch runs: they are short, and the batches to run wait on them."""
RUN_KEY = "dagster/run_key"
"""Dagster's tag for the run key of a sensor's run."""
IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, *UNFINISHED]
"""A run in one of these has not finished, or not even started."""


def _run_key(key: str, pending: Iterable[tuple[str, str]]) -> str:
    """Batch ``key`` and a digest of its pending ``(path, content hash)`` pairs (sorted)."""
    digest = hashlib.sha256(json.dumps(sorted(pending)).encode()).hexdigest()[:16]
    return f"{key}:{digest}"


def batch_max_runtime(settings: Settings) -> int:
    """Seconds a batch run may take, all its step's attempts together: each at most a batch at the
    slowest healthy rate, plus a stall before its watchdog ends it (the run's ``dagster/max_runtime``;
    the watchdog ends stalled steps long before)."""
    attempt = settings.batch_bytes // STALL_FLOOR_BYTES_PER_SECOND + settings.stall_seconds
    return (DATABASE_RETRY.max_retries + 1) * attempt


def batch_request(
    repository: str, key: str, pending: list[tuple[str, str]], settings: Settings
) -> RunRequest:
    """The ``index_batches_job`` run of batch ``key``, whose ``pending`` files wait to be indexed."""
    return RunRequest(
        run_key=_run_key(key, pending),
        job_name=index_batches_job.name,
        partition_key=key,
        tags={
            tags.REPOSITORY: repository,
            tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR,
            tags.MAX_RUNTIME: str(batch_max_runtime(settings)),
        },
    )


def scan_request(
    repository: str, scanned_at: datetime | None, now: datetime, change: Change | None
) -> RunRequest | None:
    """The ``scan_job`` run for a sign of ``change`` (None: no sign), or for a last scan (started at
    ``scanned_at``) :data:`FULL_SCAN_SECONDS` old or more; None when neither.

    Its run key names the last scan, the period of :data:`FULL_SCAN_SECONDS` since it, and the sign
    (its path and mtime): a scan that fails is asked for again one period later, once a new scan has
    started, or at a new sign (a scan that found the lock taken, and so recorded nothing, does not
    keep the next change from its own scan)."""
    if scanned_at is None:
        since, period = "never", int(now.timestamp() // FULL_SCAN_SECONDS)
    else:
        since, period = scanned_at.isoformat(), int((now - scanned_at).total_seconds() // FULL_SCAN_SECONDS)
        if change is None and period == 0:
            return None
    sign = f":{change.path}@{change.mtime_ns}" if change is not None else ""
    return RunRequest(
        run_key=f"{repository}:scan:{since}:{period}{sign}",
        job_name=scan_job.name,
        run_config=RunConfig(ops={"scan_repository": ScanConfig(repository=repository)}),
        tags={
            tags.REPOSITORY: repository,
            tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR,
            tags.PRIORITY: SCAN_PRIORITY,
        },
    )


def _busy(instance: DagsterInstance) -> dict[str, set[str]]:
    """Repository -> the jobs of its runs that are queued or running, and of the backfills still under
    way over its partitions (the nightly one launches its runs a few at a time)."""
    busy: dict[str, set[str]] = {}
    for record in instance.get_run_records(RunsFilter(statuses=IN_FLIGHT)):
        run = record.dagster_run
        name = run.tags.get(tags.REPOSITORY) or run_repository(run.tags.get(tags.PARTITION, ""), run.job_name)
        busy.setdefault(name, set()).add(run.job_name)
    for backfill in instance.get_backfills(status=BulkActionStatus.REQUESTED):
        for job_name, key in _backfill_partitions(backfill):
            busy.setdefault(run_repository(key, job_name), set()).add(job_name)
    return busy


def _backfill_partitions(backfill: PartitionBackfill) -> Iterator[tuple[str, str]]:
    """(job, partition key) of each partition a backfill targets; an asset's partitions count as its
    job's (``code_chunks``: ``index_batches_job``)."""
    if backfill.is_asset_backfill and backfill.asset_backfill_data is not None:
        for asset_partition in backfill.asset_backfill_data.target_subset.iterate_asset_partitions():
            job_name = (
                index_batches_job.name
                if asset_partition.asset_key.path == ["code_chunks"]
                else graph_job.name
            )
            yield job_name, asset_partition.partition_key or ""
    else:
        for key in backfill.partition_names or ():
            yield backfill.job_name or "", key


def run_repository(partition: str, job_name: str) -> str:
    """The repository of a run without a repository tag (a backfill's): its batch's, or its partition's."""
    return partition.rpartition("__")[0] if job_name == index_batches_job.name else partition


def _launched(instance: DagsterInstance, requests: Iterable[RunRequest]) -> bool:
    """Whether each of ``requests`` has its run already (finished or not), by run key."""
    return all(
        instance.get_run_records(RunsFilter(tags={RUN_KEY: request.run_key or ""}), limit=1)
        for request in requests
    )


def graph_request(name: str, reason: str) -> RunRequest:
    """The ``graph_job`` run of repository ``name``'s partition, for ``reason`` (its run key names it)."""
    digest = hashlib.sha256(reason.encode()).hexdigest()[:16]
    return RunRequest(
        run_key=f"{name}:graph:{digest}",
        job_name=graph_job.name,
        partition_key=name,
        tags={tags.REPOSITORY: name, tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR},
    )


def _sweeps(cursor: str | None) -> dict[str, Sweep]:
    """The sensor's cursor: repository -> ``[next, files]`` of its sweep."""
    try:
        return {name: Sweep(*place) for name, place in json.loads(cursor or "{}").items()}
    except (ValueError, TypeError):
        return {}  # not a cursor of this version: the sweeps start again


def _epoch_ns(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000) * 1000


def evaluate_directory_changes(
    context: SensorEvaluationContext, store: IndexStore, *, now: datetime | None = None
) -> SensorResult:
    """One tick of :data:`directory_change_sensor` against ``store`` (separate for tests), at ``now``."""
    settings = Settings.from_env()
    now = now or datetime.now(UTC)
    existing = set(context.instance.get_dynamic_partitions(file_batches.name))
    graph_partitions = set(context.instance.get_dynamic_partitions(repositories.name))
    busy = _busy(context.instance)
    registered = store.files.registrations()
    pending_by_batch = store.files.pending_by_batch()
    sweeps = _sweeps(context.cursor)
    budgets = share_budget(SENSOR_FILE_STATS, {r.name: sweeps.get(r.name, Sweep()).files for r in registered})
    runs: list[RunRequest] = []
    missing: set[str] = set()
    refreshed: set[str] = set()
    looked = 0
    for repository in registered:
        name = repository.name
        with store.pass_lock(name) as free:
            if not free:
                context.log.info(f"{name}: `mnemo index` is running a pass; skipped this tick")
                continue
            looked += 1
            pending = pending_by_batch.get(name, {})
            batches = [batch_request(name, key, files, settings) for key, files in pending.items()]
            runs.extend(batches)
            missing |= pending.keys() - existing
            if scan_job.name in busy.get(name, ()):
                continue
            change = None
            if repository.scanned_at is not None:
                try:
                    look = find_change(
                        Path(repository.root_path),
                        _epoch_ns(repository.scanned_at),
                        sweeps.get(name, Sweep()),
                        budgets[name],
                        now_ns=_epoch_ns(now),
                    )
                except OSError as exc:
                    context.log.warning(f"{name}: {repository.root_path} cannot be read ({exc.strerror})")
                    continue
                change, sweeps[name] = look.change, look.sweep
            scan = scan_request(name, repository.scanned_at, now, change)
            if scan is not None:
                reason = f"{change.path} changed" if change else "a scan is due"
                context.log.info(f"{name}: {reason}; requested a scan")
                runs.append(scan)
            # The graph waits for what is under way: a change seen on disk, runs, batches to launch.
            if change is None and not busy.get(name) and _launched(context.instance, batches):
                why = refresh_reason(store, name, now)
                if why is not None:
                    context.log.info(f"{name}: graph behind ({why}); requested its refresh")
                    runs.append(graph_request(name, why))
                    refreshed.add(name)
    names = {r.name for r in registered}
    cursor = json.dumps({name: [s.next, s.files] for name, s in sorted(sweeps.items()) if name in names})
    requests = [AddDynamicPartitionsRequest(file_batches.name, sorted(missing))] if missing else []
    if refreshed - graph_partitions:  # registered before the graph had partitions
        requests.append(AddDynamicPartitionsRequest(repositories.name, sorted(refreshed - graph_partitions)))
    if not runs and not requests:
        return SensorResult(skip_reason=f"no changes in {looked} repositories", cursor=cursor)
    return SensorResult(run_requests=runs, dynamic_partitions_requests=requests, cursor=cursor)


@sensor(
    jobs=[index_batches_job, scan_job, graph_job],
    minimum_interval_seconds=Settings.from_env().sensor_interval_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Scan registered repositories that show a sign of change (in a run), re-index the batches "
        "whose files were added, changed or deleted, then refresh each repository's graph once."
    ),
)
def directory_change_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    # Runs of a killed `mnemo index` would hold the queue's only slot forever: end them first.
    for run_id in end_orphaned_runs(context.instance):
        context.log.warning(f"marked orphaned run {run_id} failed: its mnemo index process is gone")
    with wire() as wiring:
        if not wiring.store.has_schema():
            return SkipReason("no repository registered yet (run `mnemo index PATH`)")
        keep_service_warm(wiring.settings)  # scans hand it their small passes (defs/scans.py)
        return evaluate_directory_changes(context, wiring.store)


nightly_reindex_sensor = AutomationConditionSensorDefinition(
    "nightly_reindex_sensor",
    target=["code_chunks"],
    default_status=DefaultSensorStatus.RUNNING,
    emit_backfills=True,
    minimum_interval_seconds=30,
    description="Launches the nightly backfill that re-verifies every batch (MNEMO_REINDEX_CRON).",
)
