"""Runs whose orchestrating process is gone: find them and end them through Dagster's own API.

``mnemo index`` executes its runs in its own process (``execute_job``), which Dagster's run monitoring
does not watch. If that process dies (SIGKILL, the OOM killer, a reboot), its run stays STARTED and
counts against the queue's ``max_concurrent_runs`` forever, so the daemon stops launching the
sensor's runs. Every such run carries the host and pid of its process (``defs/tags.py``), so the next
``mnemo index``, ``mnemo status`` or sensor tick on that host can tell that the process is gone and
mark the run failed, with the reason.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

import psutil
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from mnemo_dagster.defs import tags

UNFINISHED = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]


def process_alive(pid: int, started_at: float | None) -> bool:
    """Whether process ``pid`` exists and is the one that was running at ``started_at`` (a pid can be
    reused by a later process: one created after the run started is not its owner)."""
    try:
        created = psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False
    return started_at is None or created <= started_at + 1.0


def orphaned_runs(instance: DagsterInstance, host: str | None = None) -> list[DagsterRun]:
    """Unfinished runs started in-process by ``mnemo index`` on ``host`` whose process is gone."""
    host = host or socket.gethostname()
    records = instance.get_run_records(RunsFilter(statuses=UNFINISHED, tags={tags.HOST: host}))
    orphans = []
    for record in records:
        pid = record.dagster_run.tags.get(tags.PID, "")
        started = record.start_time or record.create_timestamp.timestamp()
        if pid.isdigit() and not process_alive(int(pid), started):
            orphans.append(record.dagster_run)
    return orphans


def end_orphaned_runs(instance: DagsterInstance, host: str | None = None) -> list[str]:
    """Mark every orphaned run of ``host`` failed, with the reason; returns their run ids."""
    ended = []
    for run in orphaned_runs(instance, host):
        instance.report_run_failed(
            run,
            f"mnemo index (pid {run.tags.get(tags.PID)} on {run.tags.get(tags.HOST)}) that executed this run "
            "is gone; marked failed so the queue moves on. The next pass resumes its batch.",
        )
        ended.append(run.run_id)
    return ended


def cancel_runs(instance: DagsterInstance, run_ids: Iterable[str], reason: str) -> list[str]:
    """Mark the unfinished runs among ``run_ids`` canceled (after Ctrl-C or SIGTERM)."""
    canceled = []
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_canceled(run, reason)
            canceled.append(run_id)
    return canceled
