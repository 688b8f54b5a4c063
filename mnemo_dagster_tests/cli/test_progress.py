"""What `mnemo index` draws while a pass runs: the rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
import re

from rich.console import Console

from mnemo_dagster.cli.progress import BarProgress, LinesProgress, observer_for
from mnemo_dagster.core.passes import BatchOutcome, GraphOutcome
from mnemo_dagster.core.planning import PassPlan

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
FIRST = BatchOutcome("shop__0002", True, files_indexed=3, chunks=12, embedded=10, reused=2)
SECOND = BatchOutcome("shop__0001", False, files_indexed=1, files_failed=1, chunks=4, errors=("boom",))


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
    from mnemo_dagster.core.passes import PassSummary

    database_error = "(psycopg2.OperationalError) server closed the connection\n[SQL: INSERT INTO event_logs]"
    failed = BatchOutcome("shop__0001", False, errors=(database_error,))
    report = {
        "files": {"indexed": 3, "failed": 0, "skipped": 0, "pending": 1},
        "chunks": 9,
        "nodes": 0,
        "edges": 0,
    }
    summary = PassSummary("shop", 1.0, PLAN, (FIRST, failed), GraphOutcome(True), report)
    assert failures_text(summary) == (
        "shop__0001 failed: (psycopg2.OperationalError) server closed the connection\n"
        "mnemo: run the same `mnemo index` again to retry what failed: finished files are kept"
    )
    assert failures_text(PassSummary("shop", 1.0, PLAN, (FIRST,), None, report)) is None
