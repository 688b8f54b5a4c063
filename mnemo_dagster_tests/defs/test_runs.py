"""Runs of the real jobs through a real instance, with the multiprocess executor."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
import torch
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    execute_job,
    reconstructable,
)

from mnemo_dagster.defs import tags
from mnemo_dagster.defs.definitions import get_index_batches_job
from mnemo_dagster.defs.orphans import STALE_SECONDS, RunHeartbeat, cancel_runs, end_orphaned_runs
from mnemo_dagster.defs.partitions import sync_partitions
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.launch.runner import DagsterRunner
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
    outside = {edge for edge in edges if edge[1].startswith("<")}
    # Every import, call and base class of the sample that names something defined in it; methods of
    # unknown objects stay unresolved.
    assert {edge for edge in edges if edge[2] != "contains"} - outside == {
        ("shop/checkout.py", "shop/models.py", "imports"),
        ("shop/checkout.py", "shop/retry.py", "imports"),
        ("web/cart.ts", "web/format.ts", "imports"),
        (place_order, "shop/models.py::Product", "calls"),
        (place_order, "shop/checkout.py::parse_price", "calls"),
        (place_order, "shop/models.py::Order", "calls"),
        (place_order, "shop/checkout.py::Checkout.validate", "calls"),  # self.validate(order)
        (place_order, "shop/retry.py::retry_with_backoff", "calls"),
        # The lambda calls total_cents; retry_with_backoff calls the lambda from another module.
        (f"{place_order}.<lambda:19:34>", "shop/models.py::Order.total_cents", "calls"),
        ("web/cart.ts::Cart.totalLabel", "web/format.ts::formatCents", "calls"),
        ("shop/models.py::Product", "shop/models.py::Base", "inherits"),
        ("shop/models.py::Order", "shop/models.py::Base", "inherits"),
    }
    # Calls into builtins and the standard library reach external nodes.
    assert outside == {
        ("shop/checkout.py::parse_price", "<builtin>::int", "calls"),
        ("shop/checkout.py::Checkout.validate", "<builtin>::ValueError", "calls"),
        ("shop/models.py", "<external>::dataclasses.dataclass", "calls"),  # @dataclass
        ("shop/models.py::Base.to_dict", "<builtin>::dict", "calls"),
        ("shop/models.py::Order.total_cents", "<builtin>::sum", "calls"),
        ("shop/retry.py::retry_with_backoff", "<builtin>::range", "calls"),
        ("shop/retry.py::retry_with_backoff", "<external>::random.uniform", "calls"),
        ("shop/retry.py::retry_with_backoff", "<external>::time.sleep", "calls"),
    }
    # One contains edge up to each of the 17 definitions (5 + 5 + 1 in shop and a lambda, 4 + 1 in
    # web); with the 7 modules (README.md included) and the 8 external nodes that is 32 nodes.
    assert sum(1 for edge in edges if edge[2] == "contains") == 17
    assert metadata["nodes"].value == 32


def test_a_step_whose_database_is_unavailable_is_retried_and_then_succeeds(
    tmp_path: Path, instance: DagsterInstance, urls: DatabaseUrls, embedder: SentenceTransformerEmbedder
) -> None:
    name = f"late_{uuid.uuid4().hex[:8]}"
    url = database_urls(urls, name).index
    (tmp_path / "app.py").write_text("def late_function():\n    return 42\n")
    token = uuid.uuid4().hex

    def bring_the_database_up() -> None:
        wait_for_event(instance, {"test/token": token}, DagsterEventType.STEP_UP_FOR_RETRY)
        # Built under another name, then renamed: a retry never sees it registered but not planned.
        staging = f"{name}_staging"
        admin(urls, f'CREATE DATABASE "{staging}"')
        store = IndexStore(database_urls(urls, staging).index)
        store.ensure_schema(embedder.model_name, embedder.dimension)
        plan_pass(store, "late", tmp_path, max_file_bytes=1 << 20)
        store.dispose()
        admin(urls, f'ALTER DATABASE "{staging}" RENAME TO "{name}"')

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


def test_a_run_whose_process_stopped_beating_on_another_host_is_ended_from_any_host(
    instance: DagsterInstance,
) -> None:
    now = time.time()

    def started(host: str, beat: float, pass_id: str = "", launched_by: str = tags.CLI) -> str:
        run_tags = {
            tags.LAUNCHED_BY: launched_by,
            tags.HOST: host,
            tags.PID: "4242",
            tags.HEARTBEAT: f"{beat:.0f}",
        }
        run = DagsterRun(
            job_name="index_batches_job",
            run_id=uuid.uuid4().hex,
            status=DagsterRunStatus.STARTED,
            tags={**run_tags, tags.PASS: pass_id} if pass_id else run_tags,
        )
        return instance.add_run(run).run_id

    silent = started("host-a.example", now - STALE_SECONDS - 60)
    served = started("host-d.example", now - STALE_SECONDS - 60, launched_by=tags.SERVICE)  # a resident pass
    alive = started("host-b.example", now - 100)
    beaten = started("host-c.example", now - STALE_SECONDS - 60, pass_id="pass-c")
    # The pass on host-c still runs: its heartbeat tags its runs with the time now.
    assert RunHeartbeat(instance, "pass-c").beat() == [beaten]
    try:
        assert sorted(end_orphaned_runs(instance, now=now + 1)) == sorted([silent, served])
        statuses = {
            run_id: instance.get_run_by_id(run_id).status  # type: ignore[union-attr]
            for run_id in (silent, served, alive, beaten)
        }
        assert statuses == {
            silent: DagsterRunStatus.FAILURE,
            served: DagsterRunStatus.FAILURE,
            alive: DagsterRunStatus.STARTED,
            beaten: DagsterRunStatus.STARTED,
        }
        failure = instance.all_logs(silent, of_type=DagsterEventType.RUN_FAILURE)[-1]
        assert "mnemo index (pid 4242 on host-a.example) that executed this run is gone" in (
            failure.dagster_event.message or ""  # type: ignore[union-attr]
        )
        failure = instance.all_logs(served, of_type=DagsterEventType.RUN_FAILURE)[-1]
        assert "the resident service (pid 4242 on host-d.example) that executed this run is gone" in (
            failure.dagster_event.message or ""  # type: ignore[union-attr]
        )
        # Once its beats stop too, the other run is ended as well.
        assert end_orphaned_runs(instance, now=now + STALE_SECONDS - 50) == [alive]
    finally:
        cancel_runs(instance, [alive, beaten], "test over")
