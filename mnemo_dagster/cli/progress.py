"""How ``mnemo index`` shows a pass as it runs: a rich progress bar on a terminal, plain lines
otherwise (stderr not a TTY, or ``--json``). Both are :class:`PassObserver` hooks and print to
stderr only, so stdout holds nothing but the summary."""

from __future__ import annotations

import sys
import time
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from mnemo_dagster.cli.render import first_line
from mnemo_dagster.indexing.heartbeat import Beat
from mnemo_dagster.indexing.passes import GraphOutcome, PassObserver
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.indexing.report import BatchReport


def plan_line(plan: PassPlan) -> str:
    pending = f"{plan.files_pending} pending from an earlier pass, " if plan.files_pending else ""
    return (
        f"{plan.repository}: {plan.files_new_or_changed} new or changed files, {pending}"
        f"{plan.files_unchanged} unchanged, {plan.files_deleted} deleted; {len(plan.to_run)} of "
        f"{len(plan.batches)} batches to run"
    )


def order_line(plan: PassPlan, shown: int = 8) -> str:
    """The batches in the order they run: the one with the most recently modified file first."""
    keys = list(plan.to_run[:shown]) + (
        [f"... {len(plan.to_run) - shown} more"] if len(plan.to_run) > shown else []
    )
    return "order (most recently modified first): " + ", ".join(keys)


def batch_line(outcome: BatchReport) -> str:
    state = "ok" if outcome.success else "FAILED: " + first_line("; ".join(outcome.errors))
    return (
        f"{outcome.key}: {outcome.files_indexed} files, {outcome.chunks} chunks "
        f"({outcome.embeddings_computed} embedded), {outcome.files_failed} failed; {state}"
    )


STALL_NOTICE_SECONDS = 30.0
"""A batch whose heartbeat has not moved for this long is shown as stalled, with its stage and file."""
LINE_SECONDS = 2.0
BAR_CELLS = 12
BAR_OTHER_CELLS = 62
"""Terminal cells the bar's columns other than the description take at most (with 5-digit counts)."""
"""The plain per-line mode prints a batch's progress at most this often."""


def _short(beat: Beat, width: int = 36) -> str:
    """:func:`doing` in at most ``width`` characters: the stage whole, the file cut from the left."""
    text = doing(beat)
    if len(text) <= width or not beat.file:
        return text
    room = max(width - len(beat.stage) - 4, 8)
    return f"{beat.stage} ...{beat.file[-room:]}"


def doing(beat: Beat) -> str:
    """What a step is doing now: ``encoding a.py (+3 files)``."""
    return f"{beat.stage} {beat.file}" if beat.file else beat.stage or "starting"


class _Stalls:
    """Per batch, when its heartbeat last moved (by the pass's clock, not the step's)."""

    def __init__(self) -> None:
        self._moved: dict[str, tuple[int, float]] = {}

    def quiet_seconds(self, beat: Beat) -> float:
        now = time.monotonic()
        beats, moved = self._moved.get(beat.batch, (-1, now))
        if beats != beat.beats:
            self._moved[beat.batch] = (beat.beats, now)
            return 0.0
        return now - moved


class _Rates:
    """Files and chunks done so far, and the chunk rate since the first batch started."""

    def __init__(self) -> None:
        self.files = 0
        self.chunks = 0
        self.started: float | None = None

    def add(self, outcome: BatchReport) -> None:
        self.files += outcome.files_indexed + outcome.files_failed + outcome.files_skipped
        self.chunks += outcome.chunks

    @property
    def chunks_per_second(self) -> float:
        return self.rate_with(self.chunks)

    def rate_with(self, chunks: int) -> float:
        """Chunks per second, had ``chunks`` been done by now."""
        if self.started is None:
            return 0.0
        return chunks / max(time.perf_counter() - self.started, 1e-6)


class LinesProgress(PassObserver):
    """One plain line per event, for logs and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.rates = _Rates()
        self.total = 0
        self.stalls = _Stalls()
        self._said: dict[str, float] = {}

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def planned(self, plan: PassPlan) -> None:
        self.total = len(plan.to_run)
        self._say(plan_line(plan))
        if plan.to_run:
            self._say(order_line(plan))

    def batch_started(self, key: str, position: int) -> None:
        if self.rates.started is None:
            self.rates.started = time.perf_counter()

    def batch_progress(self, beat: Beat, position: int) -> None:
        quiet = self.stalls.quiet_seconds(beat)
        now = time.monotonic()
        head = f"[{position + 1}/{self.total}] {beat.batch}"
        if quiet >= STALL_NOTICE_SECONDS:
            if now - self._said.get(beat.batch, 0.0) >= STALL_NOTICE_SECONDS:
                self._said[beat.batch] = now
                self._say(f"{head}: no progress for {quiet:.0f} s: {doing(beat)}")
        elif quiet == 0.0 and now - self._said.get(beat.batch, 0.0) >= LINE_SECONDS:
            self._said[beat.batch] = now
            self._say(
                f"{head}: {beat.files_done}/{beat.files_total} files written, {beat.chunks_encoded} chunks "
                f"encoded; {doing(beat)}"
            )

    def batch_done(self, outcome: BatchReport, position: int) -> None:
        self.rates.add(outcome)
        self._say(
            f"[{position + 1}/{self.total}] {batch_line(outcome)}; "
            f"{self.rates.chunks_per_second:.1f} chunks/s overall"
        )

    def graph_started(self) -> None:
        self._say("building the symbol graph")

    def graph_done(self, outcome: GraphOutcome) -> None:
        if not outcome.success:
            self._say(f"graph run failed: {first_line('; '.join(outcome.errors))}")


class BarProgress(PassObserver):
    """A rich progress bar: files done of files to index, chunks, chunks/s and the ETA."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.rates = _Rates()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=BAR_CELLS),
            MofNCompleteColumn(),
            TextColumn("files, {task.fields[chunks]} chunks, {task.fields[rate]:.1f}/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        # What is left of the line for the stage and the file, once the counters have theirs.
        self.describe_cells = max(self.console.width - BAR_OTHER_CELLS, 16)
        self.task = self.progress.add_task("indexing", total=None, chunks=0, rate=0.0, visible=False)
        self.stalls = _Stalls()
        self._running: dict[str, Beat] = {}
        """The last beat of each running batch."""

    def planned(self, plan: PassPlan) -> None:
        self.console.print(plan_line(plan))
        if not plan.to_run:
            return
        self.console.print(order_line(plan))
        self.progress.update(self.task, total=max(plan.files_to_index, 1), visible=True)
        self.progress.start()

    def batch_started(self, key: str, position: int) -> None:
        if self.rates.started is None:
            self.rates.started = time.perf_counter()
        self.progress.update(self.task, description=key)

    def batch_progress(self, beat: Beat, position: int) -> None:
        """Files done and chunks encoded inside the running batch, and what it is doing now."""
        quiet = self.stalls.quiet_seconds(beat)
        if quiet >= STALL_NOTICE_SECONDS:
            description = f"[yellow]no progress for {quiet:.0f} s: {_short(beat, self.describe_cells - 24)}"
        else:
            description = _short(beat, self.describe_cells)
        self._running[beat.batch] = beat
        chunks = self.rates.chunks + sum(b.chunks_encoded for b in self._running.values())
        self.progress.update(
            self.task,
            description=description,
            completed=self.rates.files + sum(b.files_done for b in self._running.values()),
            chunks=chunks,
            rate=self.rates.rate_with(chunks),
        )

    def batch_done(self, outcome: BatchReport, position: int) -> None:
        self._running.pop(outcome.key, None)
        self.rates.add(outcome)
        self.progress.update(
            self.task, completed=self.rates.files, chunks=self.rates.chunks, rate=self.rates.chunks_per_second
        )
        if not outcome.success:
            self.progress.console.print(f"[red]{batch_line(outcome)}")

    def graph_started(self) -> None:
        self.progress.update(self.task, description="symbol graph")

    def graph_done(self, outcome: GraphOutcome) -> None:
        self.progress.stop()
        if not outcome.success:
            self.console.print(f"[red]graph run failed: {first_line('; '.join(outcome.errors))}")

    def close(self) -> None:
        self.progress.stop()


def observer_for(json_output: bool) -> LinesProgress | BarProgress:
    """A bar on an interactive terminal, plain lines otherwise."""
    if not json_output and sys.stderr.isatty():
        return BarProgress()
    return LinesProgress()
