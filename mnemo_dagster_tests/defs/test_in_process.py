"""`mnemo index --in-process` writes exactly what a pass through Dagster writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.launch.runner import DagsterRunner
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import wire
from mnemo_dagster_tests.rows import assert_same_index, index_rows

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


@pytest.mark.slow
def test_an_in_process_pass_stores_the_same_rows_as_a_dagster_pass(
    instance: DagsterInstance, tmp_path: Path, default_store: IndexStore
) -> None:
    for name in ("viadagster", "inprocess"):
        shutil.copytree(SAMPLE, tmp_path / name)
    with wire() as wiring:
        runner = DagsterRunner(instance)
        try:
            via_dagster = run_pass(wiring, tmp_path / "viadagster", runner, batch_size=3)
        finally:
            runner.close()
        in_process = run_pass(wiring, tmp_path / "inprocess", InProcessRunner(wiring), batch_size=3)
    assert via_dagster.ok and in_process.ok
    assert [b.run_id is not None for b in via_dagster.batches] == [True, True, True]
    assert [b.run_id for b in in_process.batches] == [None, None, None]  # no Dagster run at all

    dagster_rows, local_rows = index_rows(default_store, "viadagster"), index_rows(default_store, "inprocess")
    # 29 edges between the sample's own symbols (its lambda's contains edge among them), 8 to builtins
    # and other packages.
    assert len(dagster_rows["chunks"]) == 15 and len(dagster_rows["edges"]) == 37
    assert_same_index(dagster_rows, local_rows)
