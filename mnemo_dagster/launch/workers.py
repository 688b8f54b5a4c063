"""Run workers: ``MNEMO_WORKERS`` batch runs at once, each executed by its own process.

Dagster executes a run in the calling thread and sets Python logging up for every run, which is not
safe from several threads of one process (two runs started at once deadlock inside ``logging``), and
it handles Ctrl-C only in a main thread. So a pass with N workers starts N worker processes
(``python -m mnemo_dagster.launch.worker``); each executes one batch run at a time in its main
thread, through the same :class:`~mnemo_dagster.launch.runner.DagsterRunner` code as a one-worker pass,
with its own fork server for its steps. The pass talks to a worker over a pipe, one JSON line per
batch each way, so every batch is still one Dagster run with one step process.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping

from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.launch.interrupts import GRACE_SECONDS

_CLOSE_SECONDS = 30.0


class RunWorkerPool:
    """``size`` worker processes; :meth:`run_batch` may be called from ``size`` threads at once."""

    def __init__(self, size: int, pass_id: str, extra_tags: Mapping[str, str]) -> None:
        self.size = size
        self.pass_id = pass_id
        self.extra_tags = dict(extra_tags)
        self._idle: queue.Queue[subprocess.Popen[str]] = queue.Queue()
        self._all: list[subprocess.Popen[str]] = []
        self._interrupted = threading.Event()

    def _start(self) -> subprocess.Popen[str]:
        worker = subprocess.Popen(
            [sys.executable, "-m", "mnemo_dagster.launch.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        self._all.append(worker)
        return worker

    def _take(self) -> subprocess.Popen[str]:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            if len(self._all) < self.size:
                return self._start()
            return self._idle.get()

    def run_batch(self, repository: str, key: str) -> BatchReport:
        """Run batch ``key`` in an idle worker (starting one if fewer than ``size`` run)."""
        worker = self._take()
        request = {"repository": repository, "key": key, "pass_id": self.pass_id, "tags": self.extra_tags}
        try:
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            line = worker.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if self._interrupted.is_set():  # whatever the run's end looked like, the pass was interrupted
            raise KeyboardInterrupt
        if not line:
            code = worker.wait()
            if code == 130 or code == -signal.SIGINT:
                raise KeyboardInterrupt
            return BatchReport.failed(key, f"the run worker process ended (exit status {code})")
        self._idle.put(worker)
        reply = json.loads(line)
        if reply.get("interrupted"):
            raise KeyboardInterrupt
        return BatchReport.from_json(reply)

    def interrupt(self) -> None:
        """Interrupt every worker: its running step stops and its run ends ``CANCELED``."""
        self._interrupted.set()
        for worker in self._all:
            if worker.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.send_signal(signal.SIGINT)

    def close(self) -> None:
        """Let the workers finish (their input ends), then make sure they are gone."""
        for worker in self._all:
            with contextlib.suppress(OSError):
                if worker.stdin is not None:
                    worker.stdin.close()
        # An interrupted worker has killed its steps after the grace period: it ends soon after.
        timeout = GRACE_SECONDS + 3.0 if self._interrupted.is_set() else _CLOSE_SECONDS
        for worker in self._all:
            try:
                worker.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
