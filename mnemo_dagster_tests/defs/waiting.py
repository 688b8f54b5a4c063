"""Waiting for something that is still going to reach a state, for checks made meanwhile: a bounded
wait that polls for the state and fails with a message after a generous timeout, never a sleep that
assumes how long the work takes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from dagster import DagsterEventType, DagsterInstance, RunsFilter

T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, timeout: float = 60, interval: float = 0.02) -> T:
    """Poll ``condition`` until it returns something true, and return that; fail, saying ``what`` was
    awaited, if it has not after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (reached := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return reached


def wait_for_event(
    instance: DagsterInstance, tags: dict[str, str], event_type: DagsterEventType, timeout: float = 120
) -> None:
    """Block until the run tagged ``tags`` has logged ``event_type`` (for checks made mid-run)."""

    def logged() -> bool:
        runs = instance.get_runs(RunsFilter(tags=tags))
        return bool(runs and instance.all_logs(runs[0].run_id, of_type=event_type))

    wait_until(logged, f"{event_type.value} from a run tagged {tags}", timeout, interval=0.1)
