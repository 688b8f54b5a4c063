"""The watchdog of a batch step: a small process of its own that ends the step when its heartbeat
(:mod:`mnemo_dagster.indexing.heartbeat`) has not moved for ``MNEMO_STALL_SECONDS``.

It is a separate process because what it must catch cannot be caught from inside: a step whose threads
all wait in native code (a deadlocked OpenMP pool), or a frozen one (SIGSTOP). It kills the step, so the
executor sees the step's process crash and the ``RetryPolicy`` runs it again, and it writes why into
the run's event log: the stage and the file the step was stuck on. It exits by itself when the step
closes its pipe (the batch is done) or dies. Only the standard library is imported until a stall.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnemo_dagster.indexing.heartbeat import Beat, Heartbeat, heartbeat_path, read_beat, stall_message

STALLED = "stalled: "
"""How the event a watchdog writes into the run's log begins."""
_REPORT_SECONDS = 60
"""Longest the watchdog tries to write its event (the database may be what is stuck)."""
_CLOSE_SECONDS = 10.0


@contextmanager
def step_watchdog(
    home: Path, batch_key: str, stall_seconds: int, run_id: str, step_key: str
) -> Iterator[Heartbeat]:
    """The step's heartbeat for the block, watched by a watchdog process."""
    with Heartbeat(heartbeat_path(home, batch_key), batch_key) as beat:
        watchdog = subprocess.Popen(
            [
                sys.executable,
                "-m",
                __name__,
                str(os.getpid()),
                str(beat.path),
                str(stall_seconds),
                run_id,
                step_key,
            ],
            stdin=subprocess.PIPE,
        )
        try:
            yield beat
        finally:
            assert watchdog.stdin is not None
            watchdog.stdin.close()  # the batch is done: the watchdog exits
            try:
                watchdog.wait(timeout=_CLOSE_SECONDS)
            except subprocess.TimeoutExpired:
                watchdog.kill()
                watchdog.wait()


def watch(
    step_pid: int, path: Path, stall_seconds: float, step_done: int, poll_seconds: float = 1.0
) -> str | None:
    """Watch ``path`` until the step closes the pipe ``step_done`` (None), or its heartbeat has not
    moved for ``stall_seconds``: then kill the step and return why."""
    poll = min(poll_seconds, stall_seconds / 10)
    seen: Beat | None = None
    moved = time.monotonic()
    while True:
        ready, _, _ = select.select([step_done], [], [], poll)
        if ready and not os.read(step_done, 4096):
            return None
        beat = read_beat(path)
        now = time.monotonic()
        if beat is not None and (seen is None or beat.beats != seen.beats):
            seen, moved = beat, now
        elif now - moved >= stall_seconds:
            with contextlib.suppress(ProcessLookupError):
                os.kill(step_pid, signal.SIGKILL)  # also ends a frozen process
            stuck = seen or Beat(batch=path.stem, pid=step_pid, started=0.0, updated=0.0)
            return stall_message(stuck, now - moved)


def report(run_id: str, step_key: str, message: str) -> None:
    """Write ``message`` into the run's event log, as an engine event of the step."""
    from dagster import DagsterInstance

    signal.alarm(_REPORT_SECONDS)
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        instance.report_engine_event(
            f"{STALLED}{message}; the step was ended, to be retried", run, step_key=step_key, run_id=run_id
        )


def main(argv: list[str]) -> int:
    step_pid, path, stall_seconds, run_id, step_key = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pass stops the step; this process follows it
    reason = watch(int(step_pid), Path(path), float(stall_seconds), sys.stdin.fileno())
    if reason is None:
        return 0
    report(run_id, step_key, reason)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
