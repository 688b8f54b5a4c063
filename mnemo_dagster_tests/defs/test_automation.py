"""The automation conditions: the graph refreshes once per pass, and the nightly pass is one backfill."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    evaluate_automation_conditions,
    execute_job,
    instance_for_test,
    reconstructable,
)

from mnemo_dagster.defs.definitions import defs, get_index_batches_job
from mnemo_dagster.defs.partitions import sync_partitions
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.launch.runner import QUIET
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster_tests.defs.waiting import wait_for_event

GRAPH = {AssetKey("graph_nodes"), AssetKey("graph_metrics")}


def _requested(result: object) -> set[AssetKey]:
    return {
        key
        for key in (AssetKey("graph_nodes"), AssetKey("graph_metrics"), AssetKey("code_chunks"))
        if result.get_num_requested(key)
    }  # type: ignore[attr-defined]


def test_graph_is_requested_once_after_batches_and_not_again() -> None:
    noon = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("file_batches", ["r__0001", "r__0002"])
        first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=noon)
        assert _requested(first) == set()

        for key in ("r__0001", "r__0002"):
            instance.report_runless_asset_event(AssetMaterialization("code_chunks", partition=key))
        second = evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor, evaluation_time=noon + dt.timedelta(minutes=1)
        )
        assert _requested(second) == GRAPH  # both batches done: one refresh, graph_nodes then graph_metrics

        third = evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=second.cursor, evaluation_time=noon + dt.timedelta(minutes=2)
        )
        assert _requested(third) == set()  # handled: no second refresh for the same pass


def test_the_nightly_tick_requests_every_batch_once() -> None:
    evening = dt.datetime(2026, 11, 22, 2, 58, tzinfo=dt.UTC)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("file_batches", ["r__0001", "r__0002", "s__0001"])
        before = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=evening)
        assert before.get_num_requested(AssetKey("code_chunks")) == 0
        at_three = evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=before.cursor,
            evaluation_time=evening + dt.timedelta(minutes=3),
        )
        assert at_three.get_requested_partitions(AssetKey("code_chunks")) == {"r__0001", "r__0002", "s__0001"}
        after = evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=at_three.cursor,
            evaluation_time=evening + dt.timedelta(minutes=4),
        )
        assert after.get_num_requested(AssetKey("code_chunks")) == 0


@pytest.mark.slow
def test_graph_waits_for_running_batches_and_still_refreshes_after_a_failed_one(
    tmp_path: Path, instance: DagsterInstance, default_store: IndexStore
) -> None:
    """Real runs on the real instance: one batch succeeds, then one is in progress and fails."""
    (tmp_path / "a.py").write_text("def alpha():\n    return 1\n")
    plan = plan_pass(default_store, "auto", tmp_path, max_file_bytes=1 << 20)
    failing = "unregistered__0001"  # no such repository: the step raises, is retried, then fails
    sync_partitions(instance, [*plan.to_run, failing])
    job = reconstructable(get_index_batches_job)
    selection = AssetSelection.assets("graph_nodes", "graph_metrics")
    start = evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection)

    done = execute_job(job, instance, run_config=QUIET, tags={"dagster/partition": plan.to_run[0]})
    assert done.success
    idle = evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=start.cursor
    )
    assert _requested(idle) == GRAPH  # with nothing running, this update alone would refresh the graph

    seen_while_running: list[set[AssetKey]] = []

    def evaluate_while_running() -> None:
        wait_for_event(instance, {"dagster/partition": failing}, DagsterEventType.STEP_START)
        result = evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=selection, cursor=start.cursor
        )
        seen_while_running.append(_requested(result))

    watcher = threading.Thread(target=evaluate_while_running)
    watcher.start()
    failed = execute_job(job, instance, run_config=QUIET, tags={"dagster/partition": failing})
    watcher.join()
    assert not failed.success
    # It failed for the reason planned, after the three retries of DATABASE_RETRY.
    failures = failed.get_step_failure_events()
    assert [event.step_key for event in failures] == ["code_chunks"]
    error = failures[0].step_failure_data.error
    assert error is not None and error.cause is not None
    assert (error.message, error.cause.cls_name, error.cause.message) == (
        "Exceeded max_retries of 3\n",
        "StoreError",
        "mnemo_dagster.errors.StoreError: "
        "batch unregistered__0001: repository 'unregistered' is not registered\n",
    )
    assert len(instance.all_logs(failed.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)) == 3
    assert seen_while_running == [set()]  # a batch was updated, but another was still running

    after = evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=start.cursor
    )
    assert _requested(after) == GRAPH  # every batch finished, one of them failed: refresh once
