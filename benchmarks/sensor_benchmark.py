"""Measure ticks of the directory sensor with several large trees registered.

    python benchmarks/sensor_benchmark.py [--trees 5] [--files 100000] [--home DIR]

Builds ``--trees`` trees of ``--files`` small Python files each (100 to a directory, three levels of
directories), registers each through the planner (the first scan and plan a first ``mnemo index``
makes) and marks its files indexed, exactly the state a finished pass leaves in ``source_files`` but
with no chunks (embedding 500k files is what ``index_benchmark.py`` would measure, for days). Then,
in this process, against the embedded PostgreSQL and a Dagster instance stored in it, it times:

1. a full scan and plan of every tree, one after the other: the work every tick did before the
   sensor became cheap, and what one ``scan_job`` run now does for one tree;
2. whole ticks of ``directory_change_sensor`` with no change (orphan reaping, database, every tree's
   directories and the tick's share of the file sweep);
3. ticks after the last file a sweep reaches is edited in place, until one asks for a scan: within
   ``ceil(all files / SENSOR_FILE_STATS)`` ticks; then that tree's scan (what its run does) and the
   tick that asks for the edited batch;
4. a tick after a file is added.

Re-running with the same ``--home`` reuses the trees and their registration.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

FILES_PER_DIRECTORY = 100


def build_tree(root: Path, count: int) -> None:
    """``count`` small Python files, 100 to a directory, under ``a/b/c`` directories."""
    for n in range(count):
        directory, index = divmod(n, FILES_PER_DIRECTORY)
        a, rest = divmod(directory, 100)
        b, c = divmod(rest, 10)
        path = root / f"pkg{a}" / f"mod{b}" / f"sub{c}" / f"f{index}.py"
        if index == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def f_{n}():\n    return {n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trees", type=int, default=5)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--home", type=Path, help="work directory (default: a new temporary one)")
    args = parser.parse_args()
    work = args.home or Path(tempfile.mkdtemp(prefix="mnemo-sensor-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.update({"MNEMO_HOME": str(work / "home"), "MNEMO_SEARCH_SERVICE": "0"})
    os.environ.pop("MNEMO_DATABASE_URL", None)
    os.environ.pop("DAGSTER_HOME", None)

    # Imported once the environment names this run's home.
    from dagster import DagsterInstance, build_sensor_context

    from mnemo_dagster.config.defaults import SENSOR_FILE_STATS
    from mnemo_dagster.defs.definitions import defs
    from mnemo_dagster.defs.partitions import sync_partitions
    from mnemo_dagster.defs.scans import scan_and_sync
    from mnemo_dagster.defs.sensors import directory_change_sensor
    from mnemo_dagster.defs.tags import REPOSITORY
    from mnemo_dagster.indexing.change_signals import MTIME_SLACK_NS
    from mnemo_dagster.indexing.graph_build import rebuild_metrics, rebuild_nodes
    from mnemo_dagster.indexing.passes import locked_plan
    from mnemo_dagster.launch.step_server import prepare_dagster_home
    from mnemo_dagster.store.schema import source_files
    from mnemo_dagster.wiring import wire

    wiring = wire()
    wiring.ensure_schema()
    store, settings = wiring.store, wiring.settings
    prepare_dagster_home(work / "home", wiring.urls.dagster)
    names = [f"tree{n}" for n in range(args.trees)]
    roots = {name: work / name for name in names}

    with DagsterInstance.get() as instance:
        registered = set(store.files.repository_names())
        for name, root in roots.items():
            if not root.exists():
                started = time.perf_counter()
                build_tree(root, args.files)
                seconds = time.perf_counter() - started
                print(f"built {name:14} {args.files} files in {seconds:.0f} s", flush=True)
            if name not in registered:
                started = time.perf_counter()
                with locked_plan(store, settings, name, root) as plan:
                    assert plan is not None
                sync_partitions(instance, plan.batches)
                seconds = time.perf_counter() - started
                print(f"registered {name:9} {len(plan.batches)} batches in {seconds:.0f} s", flush=True)
        total = args.trees * args.files
        # A tree written moments before its scan looks changed after it (mtimes are coarse): let the
        # mtimes of the trees just built fall behind the scans below, as a real tree's last edit does.
        time.sleep(MTIME_SLACK_NS / 1e9)

        started = time.perf_counter()
        for name, root in roots.items():
            with locked_plan(store, settings, name, root) as plan:
                assert plan is not None
        full = time.perf_counter() - started
        print(f"\nfull scan of every tree (old tick's work): {full:.1f} s, {full / args.trees:.1f} s each")

        f = source_files.c
        with store.begin() as conn:  # as a finished pass leaves them (an earlier run's edits included)
            conn.execute(
                source_files.update()
                .where(f.repository.in_(names), f.status == "pending")
                .values(status="indexed", indexed_hash=f.content_hash)
            )
        for name in names:  # and its graph built (here empty), so a quiet tick asks for no refresh
            if store.graph.is_stale(name):
                rebuild_nodes(store, [name])
                rebuild_metrics(store, [name])

        cursor: str | None = None

        def tick() -> tuple[float, list[tuple[str, str]]]:
            nonlocal cursor
            context = build_sensor_context(instance=instance, definitions=defs, cursor=cursor)
            started = time.perf_counter()
            result = directory_change_sensor(context)
            seconds = time.perf_counter() - started
            cursor = getattr(result, "cursor", None) or cursor
            asked = [(r.job_name or "", r.partition_key or r.tags[REPOSITORY]) for r in result.run_requests]
            return seconds, asked

        sweep_ticks = -(-total // SENSOR_FILE_STATS)
        quiet = [tick() for _ in range(sweep_ticks + 1)]
        assert all(not requests for _, requests in quiet), quiet
        seconds = [s for s, _ in quiet]
        print(
            f"tick, no change ({len(quiet)} ticks, {SENSOR_FILE_STATS} file stats each): median "
            f"{statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"
        )

        edited = roots[names[-1]] / "pkg0" / "mod0" / "sub0" / "f99.py"  # the last file a sweep reaches
        with edited.open("a") as handle:
            handle.write("# edited in place\n")
        time.sleep(MTIME_SLACK_NS / 1e9)  # ticks come a while after an edit (else its scan sees it as new)
        found: list[float] = []
        requests: list[tuple[str, str]] = []
        while not requests and len(found) <= sweep_ticks + 1:
            seconds, requests = tick()
            found.append(seconds)
        print(
            f"edit in place: asked for {requests} at tick {len(found)} "
            f"(ticks {', '.join(f'{s:.2f}' for s in found)} s)"
        )
        started = time.perf_counter()
        plan = scan_and_sync(instance, store, settings, names[-1])
        assert plan is not None
        print(f"  the scan run's work: {time.perf_counter() - started:.1f} s, batches to run {plan.to_run}")
        seconds, requests = tick()
        print(f"  next tick: {seconds:.2f} s, asks for {requests}")

        added = roots[names[0]] / "pkg0" / "mod0" / "sub5" / f"added_{time.time_ns()}.py"  # new on every run
        added.write_text("def added():\n    return 1\n")
        seconds, requests = tick()
        print(f"file added: tick {seconds:.2f} s, asks for {requests}")
        print("cursor:", json.loads(cursor or "{}"))
    wiring.close()


if __name__ == "__main__":
    main()
