"""``MNEMO_WORKERS``: a pass runs several batch runs at once, each step in its own process, and
stores exactly what a one-at-a-time pass stores."""

from __future__ import annotations

import itertools
import shutil
import signal
import time
from pathlib import Path

import psutil
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from mnemo_dagster.defs import tags
from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.launch.runner import DagsterRunner
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import wire
from mnemo_dagster_tests.defs.test_in_process import SAMPLE
from mnemo_dagster_tests.faults.test_faults import (
    RESUME,
    assert_complete,
    mnemo,
    repo,  # noqa: F401  (a fixture)
    start_mnemo,
    unfinished_runs,
)
from mnemo_dagster_tests.rows import assert_same_index, index_rows

pytestmark = pytest.mark.slow


def test_two_workers_run_batches_at_once_and_store_the_same_rows(
    instance: DagsterInstance, tmp_path: Path, default_store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("parallel", "sequential"):
        shutil.copytree(SAMPLE, tmp_path / name)
    monkeypatch.setenv("MNEMO_WORKERS", "2")
    with wire() as wiring:
        assert wiring.settings.workers == 2
        runner = DagsterRunner(instance, max_workers=2)
        parallel = run_pass(wiring, tmp_path / "parallel", runner, batch_size=2)
        sequential = run_pass(wiring, tmp_path / "sequential", InProcessRunner(wiring), batch_size=2)
    assert parallel.ok and sequential.ok
    assert len(parallel.batches) == 4
    assert [b.key for b in parallel.batches] == list(parallel.plan.to_run)  # outcomes in plan order

    records = [instance.get_run_record_by_id(b.run_id) for b in parallel.batches]
    spans = [(r.start_time, r.end_time) for r in records if r is not None]
    assert len(spans) == 4
    overlapping = [(a, b) for a, b in itertools.combinations(spans, 2) if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, f"no two batch runs overlapped: {spans}"

    assert_same_index(index_rows(default_store, "parallel"), index_rows(default_store, "sequential"))


def _step_running(instance: DagsterInstance, repository: str, timeout: float = 240) -> str:
    """Wait until a batch run of ``repository`` has started its step; its run id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in instance.get_runs(RunsFilter(tags={tags.REPOSITORY: repository})):
            if instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_WORKER_STARTED):
                return run.run_id
        time.sleep(0.2)
    raise AssertionError(f"no step of {repository} started within {timeout} s")


def test_ctrl_c_with_two_workers_cancels_their_runs_and_stops_them(
    repo: Path,  # noqa: F811
    tmp_path: Path,
    instance: DagsterInstance,
    default_store: IndexStore,
) -> None:
    log = tmp_path / "err"
    args = ("index", str(repo), "--name", "wsigint", "--batch-size", "6")
    # Started the way a script starts a background job, with SIGINT ignored: Ctrl-C must still work.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = start_mnemo(*args, log=log, MNEMO_WORKERS="2")
    finally:
        signal.signal(signal.SIGINT, previous)
    run_id = _step_running(instance, "wsigint")
    children = psutil.Process(process.pid).children()
    workers = [p for p in children if "mnemo_dagster.launch.worker" in " ".join(p.cmdline())]
    assert len(workers) == 2
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=300) == 130, log.read_text()[-3000:]
    stderr = log.read_text()
    assert stderr.endswith(f"mnemo: interrupted; {RESUME}\n") and "Traceback" not in stderr
    assert "FAILED" not in stderr  # an interrupted batch is not reported as a failure
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.CANCELED  # type: ignore[union-attr]
    assert not any(worker.is_running() for worker in workers)
    assert unfinished_runs(instance) == []

    resumed = mnemo("index", str(repo), "--name", "wsigint", "--json", MNEMO_WORKERS="2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_complete(default_store, "wsigint", repo)
