"""The documented `dagster job launch` / `dagster job backfill` commands, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from mnemo_dagster.defs.partitions import add_repositories, sync_partitions
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.launch.step_server import DAGSTER_STORAGE_ENV
from mnemo_dagster.store.database import IndexStore

REPO_ROOT = Path(__file__).parents[2]
SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


@pytest.fixture
def launch_home(tmp_path: Path) -> Path:
    """A Dagster home on the same Postgres storage, whose runs start at once (no daemon in tests)."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url:\n      env: " + DAGSTER_STORAGE_ENV + "\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    return home


def _dagster(home: Path, *args: str) -> str:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _wait(instance: DagsterInstance, tags: dict[str, str], count: int) -> list[DagsterRunStatus]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = instance.get_runs(RunsFilter(tags=tags))
        if len(runs) >= count and all(r.is_finished for r in runs):
            return [r.status for r in runs]
        time.sleep(1)
    raise AssertionError(
        f"runs with {tags} did not finish: {[r.status for r in instance.get_runs(RunsFilter(tags=tags))]}"
    )


@pytest.mark.slow
def test_launch_a_batch_then_the_graph_from_the_dagster_cli(
    launch_home: Path, instance: DagsterInstance, default_store: IndexStore
) -> None:
    plan = plan_pass(default_store, "launched", SAMPLE, max_file_bytes=1 << 20, max_files=4)
    sync_partitions(instance, plan.batches)
    add_repositories(instance, ["launched"])
    keys = ",".join(plan.to_run)
    _dagster(
        launch_home,
        "job",
        "backfill",
        "-w",
        "workspace.yaml",
        "-j",
        "index_batches_job",
        "--partitions",
        keys,
        "--tags",
        json.dumps({"test/launch": "batches"}),
        "--noprompt",
    )
    assert _wait(instance, {"test/launch": "batches"}, len(plan.to_run)) == [DagsterRunStatus.SUCCESS] * len(
        plan.to_run
    )
    assert {path: (f.status, f.error) for path, f in default_store.files.stored("launched").items()} == {
        ".gitignore": ("skipped", "not a recognised source file type"),
        "README.md": ("indexed", None),
        "shop/__init__.py": ("indexed", None),
        "shop/checkout.py": ("indexed", None),
        "shop/models.py": ("indexed", None),
        "shop/retry.py": ("indexed", None),
        "web/cart.ts": ("indexed", None),
        "web/format.ts": ("indexed", None),
    }

    _dagster(
        launch_home,
        "job",
        "launch",
        "-w",
        "workspace.yaml",
        "-j",
        "graph_job",
        "--tags",
        json.dumps({"test/launch": "graph", "dagster/partition": "launched"}),  # the repository's graph
    )
    assert _wait(instance, {"test/launch": "graph"}, 1) == [DagsterRunStatus.SUCCESS]
    # 7 modules (README.md included) and 16 definitions: 5 + 5 + 1 in shop, 4 + 1 in web.
    assert default_store.graph.node_count("launched") == 32  # 7 modules, 17 definitions, 8 external
