"""The automation conditions: the graph refreshes once per pass, and the nightly pass is one backfill."""

from __future__ import annotations

import datetime as dt

from dagster import AssetKey, AssetMaterialization, evaluate_automation_conditions, instance_for_test

from mnemo_dagster.defs.definitions import defs

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
