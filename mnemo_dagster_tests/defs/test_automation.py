"""The automation condition of ``code_chunks``: the nightly pass is one backfill (each repository's graph
refresh is the directory sensor's: ``test_sensors.py``)."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    evaluate_automation_conditions,
    instance_for_test,
)

from mnemo_dagster.defs.definitions import defs


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
