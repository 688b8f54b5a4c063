"""Waiting on a run that is still going, for checks made mid-run."""

from __future__ import annotations

import time

from dagster import DagsterEventType, DagsterInstance, RunsFilter


def wait_for_event(
    instance: DagsterInstance, tags: dict[str, str], event_type: DagsterEventType, timeout: float = 120
) -> None:
    """Block until the run tagged ``tags`` has logged ``event_type`` (for checks made mid-run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(RunsFilter(tags=tags))
        if runs and instance.all_logs(runs[0].run_id, of_type=event_type):
            return
        time.sleep(0.1)
    raise AssertionError(f"no {event_type.value} from a run tagged {tags} within {timeout} s")
