"""What `mnemo index` draws while a pass runs: the rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
import re
import time

import pytest
from rich.console import Console

from mnemo_dagster.cli import progress
from mnemo_dagster.cli.progress import BarProgress, LinesProgress, observer_for
from mnemo_dagster.indexing.heartbeat import Beat
from mnemo_dagster.indexing.passes import GraphOutcome
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.indexing.report import BatchReport

PLAN = PassPlan(
    repository="shop",
    batches=("shop__0001", "shop__0002"),
    to_run=("shop__0002", "shop__0001"),
    removed=(),
    files_new_or_changed=5,
    files_unchanged=3,
    files_deleted=1,
    files_skipped=0,
    files_to_index=5,
)
FIRST = BatchReport(
    "shop__0002", True, files_indexed=3, chunks=12, embeddings_computed=10, embeddings_reused=2
)
SECOND = BatchReport("shop__0001", False, files_indexed=1, files_failed=1, chunks=4, errors=("boom",))


def _drive(observer: LinesProgress | BarProgress) -> None:
    observer.planned(PLAN)
    for position, outcome in enumerate((FIRST, SECOND)):
        observer.batch_started(outcome.key, position)
        observer.batch_done(outcome, position)
    observer.graph_started()
    observer.graph_done(GraphOutcome(False, errors=("graph broke",)))


def test_plain_lines_say_the_plan_the_order_each_batch_and_failures() -> None:
    stream = io.StringIO()
    _drive(LinesProgress(stream))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "shop: 5 new or changed files, 3 unchanged, 1 deleted; 2 of 2 batches to run"
    assert lines[1] == "order (most recently modified first): shop__0002, shop__0001"
    assert re.fullmatch(
        r"\[1/2\] shop__0002: 3 files, 12 chunks \(10 embedded\), 0 failed; ok; [\d.]+ chunks/s overall",
        lines[2],
    )
    assert lines[3].startswith("[2/2] shop__0001: 1 files, 4 chunks (0 embedded), 1 failed; FAILED: boom; ")
    assert lines[4:] == ["building the symbol graph", "graph run failed: graph broke"]


def test_the_plan_line_counts_files_left_pending_apart_from_unchanged_ones() -> None:
    from dataclasses import replace

    from mnemo_dagster.cli.progress import plan_line

    resumed = replace(PLAN, files_new_or_changed=0, files_pending=5, files_unchanged=3)
    assert plan_line(resumed) == (
        "shop: 0 new or changed files, 5 pending from an earlier pass, 3 unchanged, 1 deleted; "
        "2 of 2 batches to run"
    )


def test_the_bar_counts_files_and_chunks_and_reports_failures() -> None:
    out = io.StringIO()
    bar = BarProgress(Console(file=out, force_terminal=True, color_system=None, width=160))
    _drive(bar)
    task = bar.progress.tasks[0]
    assert (task.total, task.completed) == (5, 5)  # 3 + (1 indexed + 1 failed)
    assert task.fields["chunks"] == 16
    text = out.getvalue()
    assert "shop: 5 new or changed files" in text
    assert "shop__0001: 1 files, 4 chunks (0 embedded), 1 failed; FAILED: boom" in text
    assert "graph run failed: graph broke" in text


def test_a_pipe_or_json_gets_plain_lines() -> None:
    assert isinstance(observer_for(json_output=True), LinesProgress)
    assert isinstance(observer_for(json_output=False), LinesProgress)  # pytest's stderr is no terminal


def test_failures_are_one_line_each_then_how_to_retry() -> None:
    from mnemo_dagster.cli.render import failures_text
    from mnemo_dagster.indexing.passes import PassSummary

    database_error = "(psycopg2.OperationalError) server closed the connection\n[SQL: INSERT INTO event_logs]"
    failed = BatchReport("shop__0001", False, errors=(database_error,))
    report = {
        "files": {"indexed": 3, "failed": 0, "skipped": 0, "pending": 1},
        "chunks": 9,
        "nodes": 0,
        "edges": 0,
    }
    summary = PassSummary("shop", 1.0, PLAN, (FIRST, failed), GraphOutcome(True), report)
    assert failures_text(summary.as_dict()) == (
        "shop__0001 failed: (psycopg2.OperationalError) server closed the connection\n"
        "mnemo: run the same `mnemo index` again to retry what failed: finished files are kept"
    )
    assert failures_text(PassSummary("shop", 1.0, PLAN, (FIRST,), None, report).as_dict()) is None


def _beat(beats: int, files_done: int, chunks: int, stage: str = "encoding", file: str = "shop/a.py") -> Beat:
    return Beat(
        "shop__0002",
        4242,
        0.0,
        0.0,
        beats,
        stage,
        file,
        files_total=3,
        files_done=files_done,
        chunks_encoded=chunks,
    )


class _Clock:
    """Stands in for the ``time`` module of :mod:`mnemo_dagster.cli.progress`: its monotonic clock moves
    a millisecond a reading, and as far as a test moves it, so a stall lasts as long as the test says."""

    perf_counter = staticmethod(time.perf_counter)

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        self.now += 0.001
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(progress, "time", clock)
    return clock


def test_plain_lines_show_a_running_batch_and_say_when_it_stalls(
    monkeypatch: pytest.MonkeyPatch, clock: _Clock
) -> None:
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    monkeypatch.setattr(progress, "STALL_NOTICE_SECONDS", 0.2)
    stream = io.StringIO()
    lines = LinesProgress(stream)
    lines.planned(PLAN)
    lines.batch_started("shop__0002", 0)
    lines.batch_progress(_beat(3, 1, 128), 0)
    lines.batch_progress(_beat(5, 2, 256, "writing", "shop/b.py"), 0)
    lines.batch_progress(_beat(5, 2, 256, "writing", "shop/b.py"), 0)  # no move: nothing to say yet
    clock.now += 0.3
    lines.batch_progress(_beat(5, 2, 256, "writing", "shop/b.py"), 0)
    said = stream.getvalue().splitlines()[2:]
    assert said[:2] == [
        "[1/2] shop__0002: 1/3 files written, 128 chunks encoded; encoding shop/a.py",
        "[1/2] shop__0002: 2/3 files written, 256 chunks encoded; writing shop/b.py",
    ]
    assert len(said) == 3 and re.fullmatch(
        r"\[1/2\] shop__0002: no progress for 0 s: writing shop/b.py", said[2]
    )


def test_the_bar_moves_inside_a_batch_and_shows_its_stage(
    monkeypatch: pytest.MonkeyPatch, clock: _Clock
) -> None:
    monkeypatch.setattr(progress, "STALL_NOTICE_SECONDS", 0.2)
    bar = BarProgress(Console(file=io.StringIO(), force_terminal=True, color_system=None, width=160))
    bar.planned(PLAN)
    bar.batch_started("shop__0002", 0)
    bar.batch_progress(_beat(4, 2, 100), 0)
    task = bar.progress.tasks[0]
    assert (task.completed, task.fields["chunks"], task.description) == (2, 100, "encoding shop/a.py")
    clock.now += 0.3
    bar.batch_progress(_beat(4, 2, 100), 0)
    assert re.fullmatch(
        r"\[yellow\]no progress for 0 s: encoding shop/a.py", bar.progress.tasks[0].description
    )
    bar.batch_done(FIRST, 0)
    assert (bar.progress.tasks[0].completed, bar.progress.tasks[0].fields["chunks"]) == (3, 12)
    bar.close()


def test_the_bar_keeps_the_stage_and_cuts_a_long_file_name_from_the_left() -> None:
    bar = BarProgress(Console(file=io.StringIO(), force_terminal=True, color_system=None, width=112))
    bar.planned(PLAN)
    bar.batch_progress(_beat(1, 0, 0, file="src/very/deep/package/module_with_a_long_name.py (+9 files)"), 0)
    assert (
        bar.progress.tasks[0].description == "encoding .../module_with_a_long_name.py (+9 files)"
    )  # 112 - 62 cells
    bar.close()
