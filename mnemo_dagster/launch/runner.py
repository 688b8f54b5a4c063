"""The Dagster runner of a pass: every batch is one run of ``index_batches_job`` for one
``file_batches`` partition, and the graph one run of ``graph_job``, all through the persistent
instance, so every run is in the UI's history.

Runs execute in this process with the multiprocess executor, so each step still gets its own process
(forked from a server that preloaded torch). They need no daemon.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    JobDefinition,
    JobExecutionResult,
    RunsFilter,
    execute_job,
    reconstructable,
)

from mnemo_dagster.defs import tags
from mnemo_dagster.defs.definitions import get_graph_job, get_index_batches_job
from mnemo_dagster.defs.orphans import UNFINISHED, RunHeartbeat, cancel_runs, end_orphaned_runs
from mnemo_dagster.defs.partitions import add_repositories, sync_partitions
from mnemo_dagster.defs.watchdog import STALLED
from mnemo_dagster.indexing.passes import BatchRunner, GraphOutcome
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.indexing.resident import DeclinedError
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.launch.interrupts import handled, interrupted
from mnemo_dagster.launch.step_server import prepare_dagster_home, warm_step_server
from mnemo_dagster.launch.workers import RunWorkerPool
from mnemo_dagster.store.server import embedded_server_watch
from mnemo_dagster.wiring import Wiring

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Run config that keeps Dagster's event lines off the terminal (they stay in the run's logs; the pass
reports failures itself)."""


@contextmanager
def dagster_instance(wiring: Wiring) -> Iterator[DagsterInstance]:
    """The persistent instance of this configuration (storage in the index's PostgreSQL server)."""
    prepare_dagster_home(wiring.settings.home, wiring.urls.dagster, wiring.settings.workers)
    with DagsterInstance.get() as instance:
        yield instance


def _run_tags(repository: str, pass_id: str, launched_by: str) -> dict[str, str]:
    return {
        tags.PASS: pass_id,
        tags.REPOSITORY: repository,
        tags.LAUNCHED_BY: launched_by,
        tags.HOST: socket.gethostname(),
        tags.PID: str(os.getpid()),
        tags.HEARTBEAT: f"{time.time():.0f}",
    }


def _metadata_and_errors(result: JobExecutionResult) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Asset key -> materialization metadata (plain values), and the failure messages of a run."""
    metadata: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key.to_user_string()
        metadata[key] = {name: value.value for name, value in materialization.metadata.items()}
    errors: list[str] = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            errors.append(error.message.strip() if error else "step failed")
        elif event.is_run_failure and not errors:
            errors.append(event.message or "run failed")
    return metadata, errors


INTERRUPTIONS = frozenset({"DagsterExecutionInterruptedError", "KeyboardInterrupt"})
"""How a run's failure reads when this process got SIGINT or SIGTERM."""
INTERRUPTED = "mnemo index was interrupted (Ctrl-C or SIGTERM); the next pass resumes this batch"


def _interrupted(result: JobExecutionResult) -> bool:
    """Whether the run ended because this process was interrupted. Dagster then stops the step
    processes and records a failure ("no user initiated termination request"); for mnemo it is a
    cancellation, and the pass must stop too."""
    for event in result.all_events:
        if event.is_run_failure:
            error = event.job_failure_data.error
            if error is not None and error.cls_name in INTERRUPTIONS:
                return True
    return False


class DagsterRunner:
    """Runs a pass's batches and graph as Dagster runs of the instance: here, one at a time, or with
    ``max_workers`` > 1 that many at once, each in a run worker process (:mod:`.workers`).

    ``in_process`` executes each run's steps in this process (``execute_in_process``) instead of a
    process per step, and ``max_files`` refuses a plan with more files to index or delete (before any
    batch runs): the resident service's small passes (:mod:`.resident_pass`), whose runs are
    ``launched_by`` :data:`~mnemo_dagster.defs.tags.SERVICE`."""

    def __init__(
        self,
        instance: DagsterInstance,
        extra_tags: Mapping[str, str] | None = None,
        max_workers: int = 1,
        *,
        heartbeat: bool = True,
        in_process: bool = False,
        max_files: int | None = None,
        launched_by: str = tags.CLI,
    ) -> None:
        self.instance = instance
        self.launched_by = launched_by
        self.max_files = max_files
        self.max_workers = max_workers
        self.in_process = in_process
        self.extra_tags = dict(extra_tags or {})
        """Added to every run's tags (a git source's URL and commit)."""
        self.pass_id = uuid.uuid4().hex
        """Tags every run of this pass, so an interrupted pass can find and cancel its own runs."""
        self._pool = RunWorkerPool(max_workers, self.pass_id, self.extra_tags) if max_workers > 1 else None
        self._heartbeat = RunHeartbeat(instance, self.pass_id).start() if heartbeat else None
        """Beats this pass's runs (a run worker's runs are beaten by the pass that owns the worker)."""

    def interrupt(self) -> None:
        """Interrupt the run workers (a terminal's Ctrl-C reaches them anyway; SIGTERM does not)."""
        if self._pool is not None:
            self._pool.interrupt()

    def close(self) -> None:
        """Stop the run workers, if any, and the runs' heartbeat."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._pool is not None:
            self._pool.close()

    def _stop_if_interrupted(self, result: JobExecutionResult) -> None:
        # A step killed after the grace period reads as a crash, not as an interruption.
        if _interrupted(result) or (interrupted() and not result.success):
            handled()
            run = self.instance.get_run_by_id(result.run_id)
            if run is not None:
                self.instance.report_run_canceled(run, INTERRUPTED)
            raise KeyboardInterrupt

    def cancel_unfinished(self, reason: str) -> list[str]:
        """Mark this pass's unfinished runs canceled; returns their ids."""
        records = self.instance.get_run_records(
            RunsFilter(tags={tags.PASS: self.pass_id}, statuses=UNFINISHED)
        )
        return cancel_runs(self.instance, [r.dagster_run.run_id for r in records], reason)

    def prepare(self, plan: PassPlan) -> None:
        if self.max_files is not None and plan.files_to_write > self.max_files:
            raise DeclinedError(f"{plan.files_to_write} files to index or delete, more than {self.max_files}")
        sync_partitions(self.instance, plan.batches, plan.removed)
        add_repositories(self.instance, [plan.repository])

    def run_batch(self, repository: str, key: str) -> BatchReport:
        if self._pool is not None:
            return self._pool.run_batch(repository, key)
        result = self._execute(get_index_batches_job, key, repository)
        metadata, errors = _metadata_and_errors(result)
        if not result.success:  # a step ended by its watchdog failed as a crash: say why first
            errors = self.stalls(result.run_id) + errors
        return BatchReport.from_metadata(
            key, result.success, metadata.get("code_chunks", {}), errors=errors, run_id=result.run_id
        )

    def _execute(
        self, job: Callable[[], JobDefinition], partition: str, repository: str
    ) -> JobExecutionResult:
        """Run ``job`` on ``partition`` in this process, tagged with ``repository`` and the pass; the
        pass stops here if it was interrupted meanwhile."""
        run_tags = {
            tags.PARTITION: partition,
            **_run_tags(repository, self.pass_id, self.launched_by),
            **self.extra_tags,
        }
        if self.in_process:
            return job().execute_in_process(  # type: ignore[return-value]  (the same events and metadata)
                run_config=QUIET,
                instance=self.instance,
                partition_key=partition,
                tags=run_tags,
                raise_on_error=False,
            )
        result = execute_job(reconstructable(job), self.instance, run_config=QUIET, tags=run_tags)
        self._stop_if_interrupted(result)
        return result

    def stalls(self, run_id: str) -> list[str]:
        """What the run's step watchdogs wrote into its event log (another process: not in the result)."""
        events = self.instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
        messages = [event.dagster_event.message or "" for event in events if event.dagster_event]
        return [message for message in messages if message.startswith(STALLED)]

    def run_graph(self, repositories: Sequence[str]) -> GraphOutcome:
        """One ``graph_job`` run per repository, on its ``repositories`` partition."""
        outcomes = []
        for name in repositories:
            result = self._execute(get_graph_job, name, name)
            _, errors = _metadata_and_errors(result)
            outcomes.append(GraphOutcome(result.success, errors=tuple(errors), run_id=result.run_id))
        return GraphOutcome(
            all(o.success for o in outcomes),
            errors=tuple(e for o in outcomes for e in o.errors),
            run_id=outcomes[-1].run_id if outcomes else None,
        )


@contextmanager
def open_runner(
    wiring: Wiring, *, in_process: bool = False, run_tags: Mapping[str, str] | None = None
) -> Iterator[BatchRunner]:
    """The runner of a pass: Dagster runs through the persistent instance (tagged with ``run_tags``
    too), or ``in_process``."""
    with embedded_server_watch(wiring.urls.embedded_data_dir):
        if in_process:
            yield InProcessRunner(wiring)
            return
        with _dagster_runner(wiring, run_tags) as runner:
            yield runner


@contextmanager
def _dagster_runner(wiring: Wiring, run_tags: Mapping[str, str] | None) -> Iterator[DagsterRunner]:
    with dagster_instance(wiring) as instance:
        end_orphaned_runs(instance)  # a killed earlier pass must not block the daemon's queue
        warm_step_server()  # its imports overlap with the scan; unused (and gone at exit) if nothing runs
        runner = DagsterRunner(instance, run_tags, max_workers=wiring.settings.workers)
        try:
            yield runner
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the CLI handles both alike)
            handled()
            runner.interrupt()
            runner.cancel_unfinished(INTERRUPTED)
            raise
        finally:
            runner.close()


def recent_runs(instance: DagsterInstance, repository: str, limit: int = 10) -> list[dict[str, Any]]:
    """The last runs of ``repository`` in Dagster's run history, newest first."""
    records = instance.get_run_records(RunsFilter(tags={tags.REPOSITORY: repository}), limit=limit)
    return [
        {
            "run_id": rec.dagster_run.run_id,
            "job": rec.dagster_run.job_name,
            "partition": rec.dagster_run.tags.get(tags.PARTITION),
            "status": rec.dagster_run.status.value,
            "created_at": rec.create_timestamp.isoformat(),
        }
        for rec in records
    ]
