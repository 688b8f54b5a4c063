"""``MNEMO_WORKERS``: a pass runs several batch runs at once, each step in its own process, and
stores exactly what a one-at-a-time pass stores."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from mnemo_dagster.core.passes import run_pass
from mnemo_dagster.core.runners import InProcessRunner
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.wiring import wire
from mnemo_dagster.defs.launch import DagsterRunner
from mnemo_dagster_tests.defs.test_in_process import SAMPLE
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
