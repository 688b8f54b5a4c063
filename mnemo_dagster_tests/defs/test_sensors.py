"""Sensor ticks against a real instance, a real index database and real files on disk."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DeleteDynamicPartitionsRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from mnemo_dagster.defs import tags
from mnemo_dagster.defs.definitions import defs
from mnemo_dagster.defs.sensors import evaluate_directory_changes
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.store.database import IndexStore


def _tick(instance: DagsterInstance, store: IndexStore) -> SensorResult | SkipReason:
    return evaluate_directory_changes(build_sensor_context(instance=instance, definitions=defs), store)


def _files(store: IndexStore) -> dict[str, tuple[str, str | None]]:
    return {path: (f.status, f.batch_key) for path, f in store.files.stored("watched").items()}


def _index_everything(
    store: IndexStore, embedder: SentenceTransformerEmbedder, keys: tuple[str, ...]
) -> None:
    for key in keys:
        index_batch(store, embedder, key)


def test_ticks_follow_adds_edits_deletes_and_renames(
    tmp_path: Path, instance: DagsterInstance, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    for i in range(4):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    plan = plan_pass(fresh_store, "watched", tmp_path, max_file_bytes=1 << 20, max_files=2)
    _index_everything(fresh_store, embedder, plan.to_run)
    assert plan.batches == ("watched__0001", "watched__0002")
    instance.add_dynamic_partitions("file_batches", list(plan.batches))

    quiet = _tick(instance, fresh_store)
    assert quiet == SkipReason("no changes in 1 repositories")

    (tmp_path / "m0.py").write_text("def f0():\n    return 'edited'\n")
    with fresh_store.pass_lock("watched") as acquired:  # as `mnemo index` holds it during its pass
        assert acquired
        # The locked repository is left out of the tick altogether.
        assert _tick(instance, fresh_store) == SkipReason("no changes in 0 repositories")
    edited = _tick(instance, fresh_store)
    assert isinstance(edited, SensorResult)
    assert [(r.partition_key, r.tags) for r in edited.run_requests] == [
        (
            "watched__0001",
            {
                tags.REPOSITORY: "watched",
                tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR,
                # 4 attempts, each 2 MiB at 2 KiB/s plus the 300 s stall window: run monitoring's bound
                tags.MAX_RUNTIME: str(4 * (1024 + 300)),
            },
        )
    ]
    assert edited.dynamic_partitions_requests == []
    assert json.loads(edited.cursor or "") == {"watched": {"changed": 1, "deleted": 0, "batches_to_run": 1}}
    # A tick whose result was lost (or a tick while the run is still going) asks for the same run key,
    # so nothing is lost and Dagster never launches the same change twice.
    again = _tick(instance, fresh_store)
    assert isinstance(again, SensorResult)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in edited.run_requests]
    _index_everything(fresh_store, embedder, ("watched__0001",))

    (tmp_path / "new.py").write_text("def brand_new():\n    return 5\n")
    added = _tick(instance, fresh_store)
    assert isinstance(added, SensorResult)
    assert [r.partition_key for r in added.run_requests] == ["watched__0003"]
    assert added.dynamic_partitions_requests == [
        AddDynamicPartitionsRequest("file_batches", ["watched__0003"])
    ]
    _index_everything(fresh_store, embedder, ("watched__0003",))
    instance.add_dynamic_partitions("file_batches", ["watched__0001", "watched__0002", "watched__0003"])

    (tmp_path / "new.py").rename(tmp_path / "renamed.py")
    renamed = _tick(instance, fresh_store)
    assert isinstance(renamed, SensorResult)
    # renamed.py takes new.py's place in the newest batch, which has room again.
    assert _files(fresh_store) == {
        "m0.py": ("indexed", "watched__0001"),
        "m1.py": ("indexed", "watched__0001"),
        "m2.py": ("indexed", "watched__0002"),
        "m3.py": ("indexed", "watched__0002"),
        "renamed.py": ("pending", "watched__0003"),
    }
    assert [r.partition_key for r in renamed.run_requests] == ["watched__0003"]
    assert renamed.dynamic_partitions_requests == []
    assert json.loads(renamed.cursor or "") == {"watched": {"changed": 1, "deleted": 1, "batches_to_run": 1}}

    (tmp_path / "m2.py").unlink()
    (tmp_path / "m3.py").unlink()
    deleted = _tick(instance, fresh_store)
    assert isinstance(deleted, SensorResult)
    assert deleted.dynamic_partitions_requests == [
        DeleteDynamicPartitionsRequest("file_batches", ["watched__0002"])
    ]
    # renamed.py is still waiting: its batch is asked for again, under the same run key.
    assert [r.run_key for r in deleted.run_requests] == [r.run_key for r in renamed.run_requests]
    assert _files(fresh_store) == {
        "m0.py": ("indexed", "watched__0001"),
        "m1.py": ("indexed", "watched__0001"),
        "renamed.py": ("pending", "watched__0003"),
    }
