"""Runs whose orchestrating process is gone: find them and end them through Dagster's own API.

``mnemo index`` executes its runs in its own process (``execute_job``), which Dagster's run monitoring
does not watch. If that process dies (SIGKILL, the OOM killer, a reboot), its run stays STARTED and
counts against the queue's ``max_concurrent_runs`` forever, so the daemon stops launching the
sensor's runs. Every such run carries the host and pid of its process (``defs/tags.py``), so the next
``mnemo index``, ``mnemo status`` or sensor tick on that host can tell that the process is gone and
mark the run failed, with the reason. The process also beats a tag on its unfinished runs
(:class:`RunHeartbeat`), so a run whose process died on another machine is found from any host once
its beats are :data:`STALE_SECONDS` old.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable

import psutil
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from mnemo_dagster.defs import tags

UNFINISHED = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]
HEARTBEAT_SECONDS = 30.0
"""How often ``mnemo index`` beats the runs it executes."""
STALE_SECONDS = 5 * HEARTBEAT_SECONDS
"""A run whose last beat is this old has lost its process, wherever it ran."""


def process_alive(pid: int, started_at: float | None) -> bool:
    """Whether process ``pid`` exists and is the one that was running at ``started_at`` (a pid can be
    reused by a later process: one created after the run started is not its owner)."""
    try:
        created = psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False
    return started_at is None or created <= started_at + 1.0


def orphaned_runs(
    instance: DagsterInstance, host: str | None = None, now: float | None = None
) -> list[DagsterRun]:
    """Unfinished runs executed by ``mnemo index`` or the resident service whose process is gone: on
    ``host`` (this one by default) the process no longer exists; on any host its heartbeat stopped
    :data:`STALE_SECONDS` ago."""
    host = host or socket.gethostname()
    now = time.time() if now is None else now
    records = instance.get_run_records(
        RunsFilter(statuses=UNFINISHED, tags={tags.LAUNCHED_BY: list(tags.SELF_EXECUTED)})
    )
    orphans = []
    for record in records:
        run_tags = record.dagster_run.tags
        pid = run_tags.get(tags.PID, "")
        started = record.start_time or record.create_timestamp.timestamp()
        if run_tags.get(tags.HOST) == host:
            gone = pid.isdigit() and not process_alive(int(pid), started)
        else:
            beat = run_tags.get(tags.HEARTBEAT, "")
            gone = beat.replace(".", "", 1).isdigit() and now - float(beat) > STALE_SECONDS
        if gone:
            orphans.append(record.dagster_run)
    return orphans


def end_orphaned_runs(
    instance: DagsterInstance, host: str | None = None, now: float | None = None
) -> list[str]:
    """Mark every orphaned run (:func:`orphaned_runs`) failed, with the reason; returns their run ids."""
    ended = []
    for run in orphaned_runs(instance, host, now):
        owner = "the resident service" if run.tags.get(tags.LAUNCHED_BY) == tags.SERVICE else "mnemo index"
        instance.report_run_failed(
            run,
            f"{owner} (pid {run.tags.get(tags.PID)} on {run.tags.get(tags.HOST)}) that executed this run "
            "is gone; marked failed so the queue moves on. The next pass resumes its batch.",
        )
        ended.append(run.run_id)
    return ended


class RunHeartbeat:
    """Beats :data:`~mnemo_dagster.defs.tags.HEARTBEAT` on the unfinished runs of one pass every
    :data:`HEARTBEAT_SECONDS`, from a daemon thread, until :meth:`stop`. A beat that fails (the
    database away for a moment) is tried again at the next one."""

    def __init__(self, instance: DagsterInstance, pass_id: str, interval: float = HEARTBEAT_SECONDS) -> None:
        self.instance = instance
        self.pass_id = pass_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name="mnemo-run-heartbeat", daemon=True
        )

    def start(self) -> RunHeartbeat:
        self._thread.start()
        return self

    def beat(self) -> list[str]:
        """Tag this pass's unfinished runs with the time now; returns their ids."""
        records = self.instance.get_run_records(
            RunsFilter(tags={tags.PASS: self.pass_id}, statuses=UNFINISHED)
        )
        now = f"{time.time():.0f}"
        for record in records:
            self.instance.add_run_tags(record.dagster_run.run_id, {tags.HEARTBEAT: now})
        return [record.dagster_run.run_id for record in records]

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)


def cancel_runs(instance: DagsterInstance, run_ids: Iterable[str], reason: str) -> list[str]:
    """Mark the unfinished runs among ``run_ids`` canceled (after Ctrl-C or SIGTERM)."""
    canceled = []
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_canceled(run, reason)
            canceled.append(run_id)
    return canceled
