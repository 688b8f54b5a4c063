"""Runs of the real jobs through a real instance, with the multiprocess executor."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import sqlalchemy as sa
import torch
from dagster import AssetKey, DagsterEventType, DagsterInstance, execute_job, reconstructable

from mnemo_dagster.defs import tags
from mnemo_dagster.defs.definitions import get_index_batches_job
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.launch.runner import DagsterRunner, sync_partitions
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls
from mnemo_dagster_tests.databases import admin, database_urls
from mnemo_dagster_tests.defs.waiting import wait_for_event

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


def test_partitions_run_in_their_own_processes_then_the_graph(
    instance: DagsterInstance, default_store: IndexStore
) -> None:
    plan = plan_pass(default_store, "runs", SAMPLE, max_file_bytes=1 << 20, max_files=3)
    assert sorted(plan.to_run) == ["runs__0001", "runs__0002", "runs__0003"]  # newest edit first
    runner = DagsterRunner(instance)
    runner.prepare(plan)
    outcomes = [runner.run_batch("runs", key) for key in plan.to_run]
    assert all(o.success for o in outcomes), [o.errors for o in outcomes]
    for outcome in outcomes:
        run = instance.get_run_by_id(outcome.run_id or "")
        assert run is not None and run.tags[tags.PARTITION] == outcome.key
        assert run.tags[tags.REPOSITORY] == "runs" and run.tags[tags.PID] == str(os.getpid())
        workers = instance.all_logs(outcome.run_id or "", of_type=DagsterEventType.STEP_WORKER_STARTED)
        assert len(workers) == 1  # the step ran in a subprocess of the multiprocess executor
    if not torch.backends.cuda.is_built():  # a CPU-only torch: the fork server loaded the model
        assert all(o.model_preloaded for o in outcomes), [o.load_seconds for o in outcomes]
    indexed = sum(o.files_indexed for o in outcomes)
    assert indexed == sum(1 for f in default_store.files.stored("runs").values() if f.status == "indexed")
    assert indexed == 7  # 4 Python, 2 TypeScript, README.md

    graph = runner.run_graph(["runs"])
    assert graph.success, graph.errors
    nodes = instance.get_latest_materialization_event(AssetKey("graph_nodes"))
    assert nodes is not None and nodes.run_id == graph.run_id
    metadata = nodes.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["nodes"].value == default_store.graph.node_count("runs")
    with default_store.begin() as conn:
        edges = set(
            conn.execute(
                sa.text(
                    "SELECT s.qualified_name, t.qualified_name, e.kind FROM graph_edges e "
                    "JOIN graph_nodes s ON s.id = e.source_id JOIN graph_nodes t ON t.id = e.target_id "
                    "WHERE e.repository = 'runs'"
                )
            ).all()
        )
    place_order = "shop/checkout.py::Checkout.place_order"
    # Every import, call and base class of the sample that names something defined in it; builtins
    # (int, dict, sum...), the standard library and methods of unknown objects stay unresolved.
    assert {edge for edge in edges if edge[2] != "contains"} == {
        ("shop/checkout.py", "shop/models.py", "imports"),
        ("shop/checkout.py", "shop/retry.py", "imports"),
        ("web/cart.ts", "web/format.ts", "imports"),
        (place_order, "shop/models.py::Product", "calls"),
        (place_order, "shop/checkout.py::parse_price", "calls"),
        (place_order, "shop/models.py::Order", "calls"),
        (place_order, "shop/checkout.py::Checkout.validate", "calls"),  # self.validate(order)
        (place_order, "shop/retry.py::retry_with_backoff", "calls"),
        (place_order, "shop/models.py::Order.total_cents", "calls"),  # the only total_cents
        ("web/cart.ts::Cart.totalLabel", "web/format.ts::formatCents", "calls"),
        ("shop/models.py::Product", "shop/models.py::Base", "inherits"),
        ("shop/models.py::Order", "shop/models.py::Base", "inherits"),
    }
    # One contains edge up to each of the 16 definitions (5 + 5 + 1 in shop, 4 + 1 in web); with the
    # 7 modules (README.md included) that is 23 nodes.
    assert sum(1 for edge in edges if edge[2] == "contains") == 16
    assert metadata["nodes"].value == 23


def test_a_step_whose_database_is_unavailable_is_retried_and_then_succeeds(
    tmp_path: Path, instance: DagsterInstance, urls: DatabaseUrls, embedder: SentenceTransformerEmbedder
) -> None:
    name = f"late_{uuid.uuid4().hex[:8]}"
    url = database_urls(urls, name).index
    (tmp_path / "app.py").write_text("def late_function():\n    return 42\n")
    token = uuid.uuid4().hex

    def bring_the_database_up() -> None:
        wait_for_event(instance, {"test/token": token}, DagsterEventType.STEP_UP_FOR_RETRY)
        admin(urls, f'CREATE DATABASE "{name}"')
        store = IndexStore(url)
        store.ensure_schema(embedder.model_name, embedder.dimension)
        plan_pass(store, "late", tmp_path, max_file_bytes=1 << 20)
        store.dispose()

    sync_partitions(instance, ["late__0001"])
    helper = threading.Thread(target=bring_the_database_up)
    helper.start()
    result = execute_job(
        reconstructable(get_index_batches_job),
        instance,
        run_config={"resources": {"index_database": {"config": {"url": url}}}},
        tags={"dagster/partition": "late__0001", "test/token": token},
    )
    helper.join()
    assert result.success
    retries = instance.all_logs(result.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retries) >= 1  # more if the retry comes before the helper has planned the pass
    first_error = retries[0].dagster_event.event_specific_data.error  # type: ignore[union-attr]
    # The step raised StoreError (Dagster wraps it as the cause of its retry request); the middle of
    # the message names the server's socket, which lives under the session's temporary directory.
    cause = first_error.cause
    assert cause is not None and cause.cls_name == "StoreError"
    assert cause.message.startswith(
        "mnemo_dagster.errors.StoreError: the index database is unreachable: connection failed: "
    )
    assert cause.message.endswith(f'failed: FATAL:  database "{name}" does not exist\n')
    store = IndexStore(url)
    assert store.files.stored("late")["app.py"].status == "indexed"
    store.dispose()
    admin(urls, f'DROP DATABASE "{name}" WITH (FORCE)')
