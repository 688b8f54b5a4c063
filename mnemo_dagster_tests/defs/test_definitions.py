from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dagster import DagsterInstance
from sqlalchemy.engine import make_url

import mnemo_dagster
from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY
from mnemo_dagster.defs.definitions import defs, get_graph_job, get_index_batches_job
from mnemo_dagster.defs.resources import IndexDatabase
from mnemo_dagster.launch.step_server import DAGSTER_STORAGE_ENV, prepare_dagster_home
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls


def test_definitions_load_with_the_three_assets_and_the_jobs() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"code_chunks", "graph_nodes", "graph_metrics"}
    assert get_index_batches_job().partitions_def is not None
    assert get_index_batches_job().partitions_def.name == "file_batches"  # type: ignore[attr-defined]
    assert get_graph_job().partitions_def.name == "repositories"  # type: ignore[union-attr]
    assert {node.name for node in get_graph_job().nodes_in_topological_order} == {
        "graph_nodes",
        "graph_metrics",
        "index_checks",  # the five asset checks, in one step
    }
    scan = defs.resolve_job_def("scan_job")
    assert [node.name for node in scan.nodes_in_topological_order] == ["scan_repository"]
    assert scan.executor_def.name == "in_process"  # in the run's own process, on the machine of the tree
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        "files_accounted_for",
        "embeddings_match_dimension",
        "edges_join_existing_nodes",
        "graph_refresh_matches_rebuild",
        "pagerank_sums_to_one",
    }


def test_the_instance_has_one_config_file() -> None:
    root = Path(mnemo_dagster.__file__).parents[1]
    listed = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout
    configs = [name for name in listed.split() if name.endswith("dagster.yaml")]
    assert configs == ["dagster.yaml", "mnemo_dagster/launch/dagster.yaml"]
    # The one at the top is a link to the packaged one, so the two can never differ.
    assert (root / "dagster.yaml").is_symlink()
    assert (root / "dagster.yaml").resolve() == (root / configs[1]).resolve()


def test_a_failed_step_is_retried_by_its_policy_only(
    tmp_path: Path, urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare_dagster_home sets both variables: monkeypatch puts them back afterwards.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv(DAGSTER_STORAGE_ENV, urls.dagster)
    prepare_dagster_home(tmp_path, urls.dagster)
    with DagsterInstance.get() as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        # A run whose step failed is not run again: the step's RetryPolicy already tried it 4 times.
        assert instance.run_retries_retry_on_asset_or_op_failure is False
    assert DATABASE_RETRY.max_retries == 3


def test_a_plain_postgresql_url_gets_the_index_driver(urls: DatabaseUrls) -> None:
    plain = make_url(urls.index).set(drivername="postgresql").render_as_string(hide_password=False)
    store = IndexDatabase(url=plain).get_store()
    try:
        assert store.engine.dialect.driver == "psycopg"  # the binary COPY writes need psycopg 3
        with store.begin() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        assert IndexStore(plain).engine.dialect.driver == "psycopg"
    finally:
        store.dispose()
