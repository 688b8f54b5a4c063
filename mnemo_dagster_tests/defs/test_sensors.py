"""Sensor ticks against a real instance, a real index database and real files on disk; the scans they
ask for run as the real ``scan_job``, in this process."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.test_utils import create_run_for_test

from mnemo_dagster.config.defaults import FULL_SCAN_SECONDS
from mnemo_dagster.defs import sensors, tags
from mnemo_dagster.defs.definitions import defs
from mnemo_dagster.defs.resources import IndexDatabase, IndexSettings
from mnemo_dagster.defs.scans import scan_job
from mnemo_dagster.defs.sensors import evaluate_directory_changes
from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.indexing import change_signals, planning
from mnemo_dagster.indexing.graph_build import rebuild_metrics, rebuild_nodes
from mnemo_dagster.indexing.planning import PassPlan, plan_pass
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls
from mnemo_dagster_tests.rows import parsed_rows

SENSOR_TAGS = {tags.REPOSITORY: "watched", tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR}


@pytest.fixture(autouse=True)
def exact_mtimes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files here change moments before their scan starts: without the slack kept for coarse
    timestamps, a scan does not see its own files as changed after it."""
    monkeypatch.setattr(change_signals, "MTIME_SLACK_NS", 0)


def _tick(
    instance: DagsterInstance, store: IndexStore, cursor: str | None = None, **kw: datetime
) -> SensorResult:
    context = build_sensor_context(instance=instance, definitions=defs, cursor=cursor)
    return evaluate_directory_changes(context, store, **kw)


def _scan(instance: DagsterInstance, urls: DatabaseUrls, request: RunRequest) -> None:
    """Run ``scan_job`` as the daemon would for ``request`` (in this process)."""
    assert request.job_name == "scan_job" and request.tags == {**SENSOR_TAGS, tags.PRIORITY: "1"}
    result = scan_job.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        resources={"index_database": IndexDatabase(url=urls.index), "index_settings": IndexSettings()},
        tags=request.tags,
    )
    assert result.success


def _scan_asked(result: SensorResult) -> RunRequest:
    [request] = result.run_requests
    return request


def _indexed(store: IndexStore, *keys: str) -> None:
    """Leave the pending files of batches ``keys`` indexed, as their runs would (their chunks with one
    constant vector: nothing here reads them)."""
    root = Path(store.files.root("watched") or "")
    for key in keys:
        for path, file in store.files.stored("watched", batch_key=key).items():
            if file.status == "pending":
                parsed = parse_file(path, (root / path).read_bytes(), "python")
                store.chunks.write_file(
                    "watched",
                    path,
                    language="python",
                    content_hash=file.content_hash or "",
                    chunks=parsed_rows(parsed, path),
                    warning=None,
                )


def _files(store: IndexStore) -> dict[str, tuple[str, str | None]]:
    return {path: (f.status, f.batch_key) for path, f in store.files.stored("watched").items()}


def _watched(root: Path, store: IndexStore, instance: DagsterInstance) -> PassPlan:
    """Four files in batches of two, registered and indexed."""
    for i in range(4):
        (root / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    plan = plan_pass(store, "watched", root, max_file_bytes=1 << 20, max_files=2)
    _indexed(store, *plan.to_run)
    instance.add_dynamic_partitions("file_batches", list(plan.batches))
    rebuild_nodes(store, ["watched"])  # the graph is current: no tick asks for it
    rebuild_metrics(store, ["watched"])
    return plan


def test_ticks_follow_adds_edits_deletes_and_renames(
    tmp_path: Path, instance: DagsterInstance, fresh_urls: DatabaseUrls, fresh_store: IndexStore
) -> None:
    plan = _watched(tmp_path, fresh_store, instance)
    assert plan.batches == ("watched__0001", "watched__0002")
    quiet = _tick(instance, fresh_store)
    assert (quiet.run_requests, quiet.skip_reason) == ([], SkipReason("no changes in 1 repositories"))

    (tmp_path / "m0.py").write_text("def f0():\n    return 'edited'\n")  # in place: no directory moves
    with fresh_store.pass_lock("watched") as acquired:  # as `mnemo index` holds it during its pass
        assert acquired
        # The locked repository is left out of the tick altogether.
        assert _tick(instance, fresh_store).skip_reason == SkipReason("no changes in 0 repositories")
    scan = _scan_asked(_tick(instance, fresh_store))
    # Nothing is recorded until the scan runs: the tick only saw m0.py's mtime.
    assert _files(fresh_store)["m0.py"] == ("indexed", "watched__0001")
    _scan(instance, fresh_urls, scan)
    edited = _tick(instance, fresh_store)
    assert [(r.job_name, r.partition_key, r.tags) for r in edited.run_requests] == [
        (
            "index_batches_job",
            "watched__0001",
            {
                **SENSOR_TAGS,
                # 4 attempts, each 2 MiB at 2 KiB/s plus the 300 s stall window: run monitoring's bound
                tags.MAX_RUNTIME: str(4 * (1024 + 300)),
            },
        )
    ]
    assert edited.dynamic_partitions_requests == []
    # A tick whose result was lost (or a tick while the run is still going) asks for the same run key,
    # so nothing is lost and Dagster never launches the same change twice.
    again = _tick(instance, fresh_store)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in edited.run_requests]
    _indexed(fresh_store, "watched__0001")

    (tmp_path / "new.py").write_text("def brand_new():\n    return 5\n")
    _scan(instance, fresh_urls, _scan_asked(_tick(instance, fresh_store)))
    added = _tick(instance, fresh_store)
    assert [r.partition_key for r in added.run_requests] == ["watched__0003"]
    # The scan run added the batch's partition itself (the instance does it at once for any number).
    assert added.dynamic_partitions_requests == []
    assert "watched__0003" in instance.get_dynamic_partitions("file_batches")
    _indexed(fresh_store, "watched__0003")

    (tmp_path / "new.py").rename(tmp_path / "renamed.py")
    _scan(instance, fresh_urls, _scan_asked(_tick(instance, fresh_store)))
    renamed = _tick(instance, fresh_store)
    # renamed.py takes new.py's place in the newest batch, which has room again.
    assert _files(fresh_store) == {
        "m0.py": ("indexed", "watched__0001"),
        "m1.py": ("indexed", "watched__0001"),
        "m2.py": ("indexed", "watched__0002"),
        "m3.py": ("indexed", "watched__0002"),
        "renamed.py": ("pending", "watched__0003"),
    }
    assert [r.partition_key for r in renamed.run_requests] == ["watched__0003"]

    (tmp_path / "m2.py").unlink()
    (tmp_path / "m3.py").unlink()
    deleted = _tick(instance, fresh_store)
    # renamed.py is still waiting: its batch is asked for again, under the same run key, beside the scan.
    assert [r.run_key for r in deleted.run_requests[:1]] == [r.run_key for r in renamed.run_requests]
    _scan(instance, fresh_urls, deleted.run_requests[1])
    assert "watched__0002" not in instance.get_dynamic_partitions("file_batches")
    assert _files(fresh_store) == {
        "m0.py": ("indexed", "watched__0001"),
        "m1.py": ("indexed", "watched__0001"),
        "renamed.py": ("pending", "watched__0003"),
    }


def test_a_quiet_tick_walks_no_tree_and_stats_only_its_share_of_files(
    tmp_path: Path, instance: DagsterInstance, fresh_store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _watched(tmp_path, fresh_store, instance)

    def no_walk(*args: object, **kwargs: object) -> None:
        raise AssertionError("a tick walked the tree")

    monkeypatch.setattr(planning, "scan", no_walk)
    monkeypatch.setattr(sensors, "SENSOR_FILE_STATS", 3)
    cursor = None
    sweeps = []
    for _ in range(3):
        result = _tick(instance, fresh_store, cursor)
        assert result.run_requests == [] and result.dynamic_partitions_requests == []
        cursor = result.cursor
        sweeps.append(json.loads(cursor or "")["watched"])
    # [next file, files]: 3 files a tick, so each file is looked at every other tick.
    assert sweeps == [[3, 4], [0, 4], [3, 4]]

    # An hour after the last scan, one is asked for without a sign; once per hour, and one at a time.
    later = datetime.now(UTC) + timedelta(seconds=FULL_SCAN_SECONDS)
    due = _scan_asked(_tick(instance, fresh_store, cursor, now=later))
    assert due.run_key is not None and due.run_key.endswith(":1")
    assert _scan_asked(_tick(instance, fresh_store, cursor, now=later)).run_key == due.run_key
    running = DagsterRun(
        job_name="scan_job", run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED, tags=SENSOR_TAGS
    )
    instance.add_run(running)
    try:
        assert _tick(instance, fresh_store, cursor, now=later).run_requests == []
    finally:
        instance.delete_run(running.run_id)


def _graph_asked(result: SensorResult) -> list[tuple[str | None, str | None]]:
    return [(r.job_name, r.partition_key) for r in result.run_requests if r.job_name == "graph_job"]


def test_a_repository_graph_is_refreshed_once_its_batches_are_done(
    tmp_path: Path, instance: DagsterInstance, fresh_urls: DatabaseUrls, fresh_store: IndexStore
) -> None:
    _watched(tmp_path, fresh_store, instance)
    (tmp_path / "m0.py").write_text("def f0():\n    return 'edited'\n")
    changed = _tick(instance, fresh_store)
    assert _graph_asked(changed) == []  # a change on disk: its scan and batch come first
    _scan(instance, fresh_urls, _scan_asked(changed))
    [batch] = _tick(instance, fresh_store).run_requests  # the batch is yet to be launched: no graph

    # The daemon launches it: while it runs, no graph.
    run = create_run_for_test(
        instance,
        job_name=batch.job_name,
        status=DagsterRunStatus.STARTED,
        tags={**batch.tags, "dagster/run_key": batch.run_key},
    )
    assert _graph_asked(_tick(instance, fresh_store)) == []
    _indexed(fresh_store, "watched__0001")
    instance.report_run_failed(run)  # finished (failed or not, the graph covers what is indexed)

    # A backfill over its batches (the nightly one) launches its runs a few at a time: no graph meanwhile.
    nightly = PartitionBackfill.from_asset_partitions(
        backfill_id="nightly",
        asset_graph=defs.resolve_asset_graph(),
        partition_names=["watched__0001", "watched__0002"],
        asset_selection=[AssetKey("code_chunks")],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    instance.add_backfill(nightly)
    assert _graph_asked(_tick(instance, fresh_store)) == []
    instance.update_backfill(nightly.with_status(BulkActionStatus.COMPLETED_SUCCESS))

    done = _tick(instance, fresh_store)
    assert _graph_asked(done) == [("graph_job", "watched")]
    assert [r.run_key for r in _tick(instance, fresh_store).run_requests] == [
        r.run_key for r in done.run_requests
    ]
    # The repository's graph partition existed from its scan on.
    assert done.dynamic_partitions_requests == [] and "watched" in instance.get_dynamic_partitions(
        "repositories"
    )

    # The daemon runs it: the graph of this partition, with its checks on the same partition.
    graph = defs.resolve_job_def("graph_job").execute_in_process(
        instance=instance,
        partition_key="watched",
        resources={"index_database": IndexDatabase(url=fresh_urls.index)},
    )
    assert graph.success
    checks = graph.get_asset_check_evaluations()
    assert {(c.check_name, c.partition, c.passed) for c in checks} == {
        ("files_accounted_for", "watched", True),
        ("embeddings_match_dimension", "watched", True),
        ("edges_join_existing_nodes", "watched", True),
        ("graph_refresh_matches_rebuild", "watched", True),
        ("pagerank_sums_to_one", "watched", True),
    }
    assert _tick(instance, fresh_store).run_requests == []

    # A scan that only deletes files starts no batch, but the graph follows.
    (tmp_path / "m3.py").unlink()
    _scan(instance, fresh_urls, _scan_asked(_tick(instance, fresh_store)))
    assert _graph_asked(_tick(instance, fresh_store)) == [("graph_job", "watched")]


def test_a_new_sign_of_change_gets_a_scan_of_its_own_though_no_scan_recorded_since() -> None:
    # A scan that found the pass lock taken records nothing (the pass scans for itself): the next edit
    # must still get its scan, and the same sign only one.
    at = datetime.now(UTC)
    first = sensors.scan_request("watched", at, at, change_signals.Change("a.py", 1))
    again = sensors.scan_request("watched", at, at, change_signals.Change("a.py", 1))
    edited = sensors.scan_request("watched", at, at, change_signals.Change("a.py", 2))
    assert first is not None and again is not None and edited is not None
    assert first.run_key == again.run_key != edited.run_key
