"""The graph refreshed by what changed equals a full rebuild: random edit sequences (files deleted,
restored, copied, definitions renamed, calls added) over real code, this project's own graph
package, each followed by a refresh whose stored nodes and edges are compared with a graph built
from scratch; and the metrics carried between full computations stay true to a full computation
where they must (degrees, PageRank, coupling, cycles)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import mnemo_dagster.graph
from mnemo_dagster.defs.checks import graph_refresh_matches_rebuild
from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.graph import FileSymbols, build_graph, compute_metrics
from mnemo_dagster.indexing.batch import chunk_metadata
from mnemo_dagster.indexing.graph_build import (
    FULL_GRAPH_SECONDS,
    FULL_METRICS_SECONDS,
    build_stored_graph,
    files_from_chunks,
    load_graph,
    needs_refresh,
    refresh_reason,
    store_graph,
    store_metrics,
    wants_full_metrics,
)
from mnemo_dagster.models import SourceFile, qualified_name
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster_tests.rows import parsed_rows

SOURCES = (
    "__init__.py",
    "records.py",
    "facts.py",
    "building.py",
    "resolution.py",
    "modules.py",
    "answers.py",
)
"""Real modules that import and call each other (``mnemo_dagster/graph``)."""
PACKAGE = "mnemo_dagster/graph"
REPOSITORY = "real"
MOVES = ("nodes_added", "nodes_removed", "edges_added", "edges_removed")
"""What counts as the graph moving (towards computing the costly metrics in full again)."""
DEF = re.compile(r"^def ([a-z_][a-z0-9_]*)\(", re.MULTILINE)
CLASS = re.compile(r"^class ([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
METHOD = re.compile(r"^    def ([a-z_][a-z0-9_]*)\(self", re.MULTILINE)


def _real_files() -> dict[str, str]:
    root = Path(mnemo_dagster.graph.__file__).parent
    return {f"{PACKAGE}/{name}": (root / name).read_text() for name in SOURCES}


def _write(
    store: IndexStore,
    files: dict[str, str],
    changed: list[str],
    deleted: list[str],
    repository: str = REPOSITORY,
) -> None:
    """Record a pass over ``repository`` that changed ``changed`` (to their text in ``files``) and
    deleted ``deleted``."""
    sources = [
        SourceFile(path, _language(path), len(files[path]), 1, f"h{hash(files[path])}") for path in changed
    ]
    plan = {path: f"{repository}__0001" for path in files}
    store.files.apply_scan(repository, changed=sources, touched=[], deleted=deleted, plan=plan)
    for path in changed:
        parsed = parse_file(path, files[path].encode(), _language(path))
        rows = parsed_rows(parsed, f"{path}:{hash(files[path])}")
        store.chunks.write_file(
            repository,
            path,
            language=_language(path),
            content_hash=f"h{hash(files[path])}",
            chunks=rows,
            warning=None,
        )


def _language(path: str) -> str:
    return "typescript" if path.endswith(".ts") else "python"


def _edit(rng: random.Random, files: dict[str, str], gone: dict[str, str]) -> tuple[list[str], list[str]]:
    """One random edit of ``files`` (in place; ``gone`` keeps deleted files): the changed and the
    deleted paths."""
    paths = sorted(files)
    choice = rng.choice(("delete", "restore", "copy", "rename", "call", "subclass", "subclass"))
    if choice == "delete" and len(files) > 2:
        path = rng.choice(paths)
        gone[path] = files.pop(path)
        return [], [path]
    if choice == "restore" and gone:
        path = rng.choice(sorted(gone))
        files[path] = gone.pop(path)
        return [path], []
    if choice == "copy":
        source = rng.choice(paths)
        path = f"{PACKAGE}/copy_{rng.randrange(1000)}.py"
        files[path] = files[source]
        return [path], []
    path = rng.choice(paths)
    names = DEF.findall(files[path])
    if choice == "subclass":
        # A class of another file, subclassed here: its methods dispatch to the override.
        other = rng.choice([p for p in paths if CLASS.search(files[p])] or paths)
        classes, methods = CLASS.findall(files[other]), METHOD.findall(files[other]) or ["__repr__"]
        if classes:
            base, method = rng.choice(classes), rng.choice(methods)
            module = other.removesuffix(".py").replace("/", ".")
            files[path] += (
                f"\n\nfrom {module} import {base} as _Base{len(files[path])}\n\n\n"
                f"class Sub{len(files[path])}(_Base{len(files[path])}):\n"
                f"    def {method}(self, *args, **kwargs):\n        return self.{rng.choice(methods)}()\n"
            )
            return [path], []
    if choice == "rename" and names:
        name = rng.choice(names)
        files[path] = files[path].replace(f"def {name}(", f"def {name}_renamed(", 1)
        return [path], []
    # A new function that calls a function of another file, through the package's import.
    other = rng.choice(paths)
    called = DEF.findall(files[other])
    if not called or other == path:
        files[path] += "\n\ndef added():\n    return len([])\n"
        return [path], []
    module = other.removesuffix(".py").replace("/", ".")
    target = rng.choice(called)
    files[path] += f"\n\ndef added_{target}():\n    from {module} import {target}\n\n    return {target}\n"
    return [path], []


def _stored(store: IndexStore) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    nodes, edges, _ = store.graph.rows(REPOSITORY)
    return {tuple(row[1:]) for row in nodes}, {tuple(row) for row in edges}


def _records(files: dict[str, str]) -> list[FileSymbols]:
    """The records the graph is built from, as a pass stores them (no store involved)."""
    records = []
    for path in sorted(files):
        parsed = parse_file(path, files[path].encode(), _language(path))
        records += [(path, _language(path), meta) for meta in chunk_metadata(parsed)]
    return list(files_from_chunks(records))


def _expected(files: dict[str, str]) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """The nodes and edges of a graph built from scratch from ``files`` (no store involved)."""
    graph = build_graph(_records(files))
    nodes = {
        (n.qualified_name, n.name, n.kind, n.file_path, n.start_line, n.end_line, n.language)
        for n in graph.nodes
    }
    return nodes, {(e.source, e.target, e.kind, e.weight) for e in graph.edges}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_refreshing_after_random_edits_gives_the_graph_a_full_rebuild_gives(
    seed: int, fresh_store: IndexStore
) -> None:
    rng = random.Random(seed)
    files, gone = _real_files(), {}
    fresh_store.files.register(REPOSITORY, "/src/real")
    _write(fresh_store, files, sorted(files), [])
    first = store_graph(fresh_store, REPOSITORY)
    assert first["nodes_added"] == first["nodes"] > 100 and first["calls_resolved"] > 50
    ids = dict(load_graph(fresh_store, REPOSITORY)[1])

    moved = sum(first[key] for key in MOVES)
    refreshes = 0
    for _ in range(8):
        paths = set(files)
        changed, deleted = _edit(rng, files, gone)
        _write(fresh_store, files, changed, deleted)
        refreshed = store_graph(fresh_store, REPOSITORY)

        assert _stored(fresh_store) == _expected(files)
        # An edit in place resolves again what it reaches; a file added or deleted, everything.
        in_place = set(files) == paths
        assert refreshed["graph_refresh"] == ("incremental" if in_place else "full")
        refreshes += in_place
        # What stayed kept its id; what changed is what was written.
        now = load_graph(fresh_store, REPOSITORY)[1]
        assert all(now[name] == ids[name] for name in now.keys() & ids.keys())
        assert refreshed["nodes_added"] == len(now.keys() - ids.keys())
        assert refreshed["nodes_removed"] == len(ids.keys() - now.keys())
        moved += sum(
            refreshed[key] for key in ("nodes_added", "nodes_removed", "edges_added", "edges_removed")
        )
        ids = dict(now)
    assert fresh_store.graph.summary(REPOSITORY)["changes_since_full"] == moved
    assert refreshes >= 3


def test_carried_metrics_keep_the_costly_ones_and_compute_the_cheap_ones_again(
    fresh_store: IndexStore,
) -> None:
    files = _real_files()
    fresh_store.files.register(REPOSITORY, "/src/real")
    _write(fresh_store, files, sorted(files), [])
    store_graph(fresh_store, REPOSITORY)
    assert store_metrics(fresh_store, REPOSITORY)["metrics"] == "full"  # nothing to carry yet
    before = fresh_store.graph.metric_values(REPOSITORY)

    # A new function in records.py that calls into building.py.
    path = f"{PACKAGE}/records.py"
    files[path] += (
        "\n\ndef added():\n    from mnemo_dagster.graph.building import build_graph\n\n"
        "    return build_graph([])\n"
    )
    _write(fresh_store, files, [path], [])
    store_graph(fresh_store, REPOSITORY)
    summary = store_metrics(fresh_store, REPOSITORY)

    assert summary["metrics"] == "carried"  # one function and two edges: under the share
    graph, _ = load_graph(fresh_store, REPOSITORY)
    full = compute_metrics(graph)
    carried = fresh_store.graph.metric_values(REPOSITORY)
    added = qualified_name(path, "added")
    for name, (pagerank, betweenness, community) in carried.items():
        assert pagerank == pytest.approx(full.nodes[name].pagerank, abs=1e-8)
        if name in before:
            assert (betweenness, community) == before[name][1:]
    # The new function joins the community of its neighbours (its module, the function it calls).
    neighbours = {before[path][2], before[qualified_name(f"{PACKAGE}/building.py", "build_graph")][2]}
    assert carried[added][1] == 0.0 and carried[added][2] in neighbours

    assert store_metrics(fresh_store, REPOSITORY, full=True)["metrics"] == "full"
    assert fresh_store.graph.summary(REPOSITORY)["changes_since_full"] == 0
    recomputed = fresh_store.graph.metric_values(REPOSITORY)
    assert {n: v[1] for n, v in recomputed.items()} == pytest.approx(
        {n: m.betweenness for n, m in full.nodes.items()}
    )


def test_the_costly_metrics_are_computed_in_full_when_the_graph_moved_enough_or_a_day_passed() -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    recent = {"changes_since_full": 10, "metrics_full_at": (now - timedelta(hours=1)).isoformat()}
    assert not wants_full_metrics(recent, edges=1000, carried=True, now=now)
    assert wants_full_metrics(recent, edges=1000, carried=False, now=now)  # nothing stored to carry
    assert wants_full_metrics({**recent, "changes_since_full": 51}, edges=1000, carried=True, now=now)
    old = (now - timedelta(seconds=FULL_METRICS_SECONDS + 1)).isoformat()
    assert wants_full_metrics({**recent, "metrics_full_at": old}, edges=1000, carried=True, now=now)
    assert wants_full_metrics({"changes_since_full": 0}, edges=1000, carried=True, now=now)


def test_a_refresh_that_changes_nothing_writes_nothing(fresh_store: IndexStore) -> None:
    files = _real_files()
    fresh_store.files.register(REPOSITORY, "/src/real")
    _write(fresh_store, files, sorted(files), [])
    store_graph(fresh_store, REPOSITORY)

    again = store_graph(fresh_store, REPOSITORY)

    assert [again[k] for k in ("nodes_added", "nodes_removed", "nodes_changed")] == [0, 0, 0]
    assert [again[k] for k in ("edges_added", "edges_removed", "edges_changed")] == [0, 0, 0]
    assert build_stored_graph(fresh_store, REPOSITORY).nodes == load_graph(fresh_store, REPOSITORY)[0].nodes


def test_only_the_repositories_behind_their_files_want_a_refresh(fresh_store: IndexStore) -> None:
    def behind() -> list[str]:
        return [name for name in ("a", "b") if needs_refresh(fresh_store, name)]

    files = _real_files()
    for name in ("a", "b"):
        fresh_store.files.register(name, f"/src/{name}")
        _write(fresh_store, files, sorted(files), [], repository=name)
        assert refresh_reason(fresh_store, name).startswith("never built")
        store_graph(fresh_store, name)
        store_metrics(fresh_store, name)
    assert behind() == []

    path = f"{PACKAGE}/answers.py"
    files[path] += "\n\ndef added():\n    return 1\n"
    _write(fresh_store, files, [path], [], repository="b")  # a pass over b
    assert behind() == ["b"]
    reason = refresh_reason(fresh_store, "b")
    assert reason is not None and reason.startswith("files indexed until")
    store_graph(fresh_store, "b")
    assert behind() == ["b"]  # its metrics are still to come
    assert store_metrics(fresh_store, "b")["metrics"] == "carried"
    assert behind() == []

    del files[path]
    _write(fresh_store, files, [], [path], repository="a")  # a deletion indexes nothing
    assert behind() == ["a"]
    count = len(files)
    assert refresh_reason(fresh_store, "a") == f"{count} files hold chunks, the graph has {count + 1}"
    # Carried metrics a day old bring b back, so the nightly pass computes them in full.
    tomorrow = datetime.now(UTC) + timedelta(seconds=FULL_METRICS_SECONDS + 60)
    assert needs_refresh(fresh_store, "b", tomorrow) and not needs_refresh(fresh_store, "b")
    assert (refresh_reason(fresh_store, "b", tomorrow) or "").startswith("metrics carried since")

    # graph_metrics' metadata on each repository's partition says how fresh it is.
    from mnemo_dagster.defs.assets.graph import freshness

    a, b = freshness(fresh_store, "a"), freshness(fresh_store, "b")
    assert (a["metrics"], a["changes_since_full"]) == ("full", 0)
    assert b["metrics"] == "carried" and int(b["changes_since_full"]) > 0
    assert a["files_indexed"] == len(files) and b["files_indexed"] == len(files) + 1
    assert a["graph_built_at"] != "never" and a["files_pending"] == 0


TYPESCRIPT = {
    "src/base.ts": "export class Base {\n  run(): number {\n    return this.step();\n  }\n"
    "  step(): number {\n    return 1;\n  }\n}\n",
    "src/child.ts": "import { Base } from './base';\n\nexport class Child extends Base {\n"
    "  step(): number {\n    return super.step() + this.extra();\n  }\n  extra(): number {\n"
    "    return 2;\n  }\n}\n",
    "src/main.ts": "import { Child } from './child';\n\nexport function main(): number {\n"
    "  const child = new Child();\n  return child.run();\n}\n",
}


@pytest.mark.parametrize(
    ("path", "text"),
    [
        # A method added to the base class: the subclass's ``super.extra()`` finds it through the bases.
        (
            "src/base.ts",
            TYPESCRIPT["src/base.ts"].replace(
                "  step(): number", "  extra(): number {\n    return 3;\n  }\n  step(): number", 1
            ),
        ),
        # The subclass no longer extends the base: the ``inherits`` edge and what resolved through it go.
        ("src/child.ts", TYPESCRIPT["src/child.ts"].replace(" extends Base", "")),
        # A new caller of an imported class.
        (
            "src/main.ts",
            TYPESCRIPT["src/main.ts"] + "\nexport function again(): number {\n"
            "  return new Child().step();\n}\n",
        ),
    ],
)
def test_typescript_edits_refresh_to_the_graph_a_full_rebuild_gives(
    path: str, text: str, fresh_store: IndexStore
) -> None:
    files = dict(TYPESCRIPT)
    fresh_store.files.register(REPOSITORY, "/src/ts")
    _write(fresh_store, files, sorted(files), [])
    assert store_graph(fresh_store, REPOSITORY)["graph_refresh"] == "full"
    before = _stored(fresh_store)

    files[path] = text
    _write(fresh_store, files, [path], [])
    refreshed = store_graph(fresh_store, REPOSITORY)

    assert refreshed["graph_refresh"] == "incremental"
    assert _stored(fresh_store) == _expected(files) != before


def test_the_nightly_full_build_after_refreshes_reports_what_they_got_wrong(fresh_store: IndexStore) -> None:
    files = _real_files()
    fresh_store.files.register(REPOSITORY, "/src/real")
    _write(fresh_store, files, sorted(files), [])
    assert store_graph(fresh_store, REPOSITORY)["graph_refresh"] == "full"
    store_metrics(fresh_store, REPOSITORY)
    path = f"{PACKAGE}/answers.py"
    files[path] += "\n\ndef added():\n    return len([])\n"
    _write(fresh_store, files, [path], [])
    assert store_graph(fresh_store, REPOSITORY)["graph_refresh"] == "incremental"
    store_metrics(fresh_store, REPOSITORY)
    assert "rebuild_drift" not in fresh_store.graph.summary(REPOSITORY)  # not compared yet

    # A day later the graph is due a full build: the refresh comes first, then the full build, which
    # finds nothing to change.
    day_old = (datetime.now(UTC) - timedelta(seconds=FULL_GRAPH_SECONDS + 60)).isoformat()
    fresh_store.graph.merge_summary(REPOSITORY, {"graph_full_at": day_old})
    assert refresh_reason(fresh_store, REPOSITORY).startswith("graph refreshed since its full build")
    files[path] += "\n\ndef again():\n    return added()\n"
    _write(fresh_store, files, [path], [])
    assert store_graph(fresh_store, REPOSITORY)["graph_refresh"] == "full"
    summary = fresh_store.graph.summary(REPOSITORY)
    assert summary["rebuild_drift"] == 0 and summary["graph_full_at"] > day_old
    assert _stored(fresh_store) == _expected(files)

    assert graph_refresh_matches_rebuild(fresh_store, REPOSITORY).passed

    # What a refresh got wrong (here: an edge lost behind its back) is what the next full build finds.
    with fresh_store.begin() as conn:
        conn.execute(
            sa.text(
                "DELETE FROM graph_edges WHERE ctid IN "
                "(SELECT ctid FROM graph_edges WHERE kind = 'calls' ORDER BY source_id, target_id LIMIT 1)"
            )
        )
    fresh_store.graph.merge_summary(REPOSITORY, {"graph_full_at": day_old})
    assert store_graph(fresh_store, REPOSITORY)["graph_refresh"] == "full"
    assert fresh_store.graph.summary(REPOSITORY)["rebuild_drift"] == 1
    check = graph_refresh_matches_rebuild(fresh_store, REPOSITORY)
    assert not check.passed and check.metadata["rebuild_drift"].value == 1
    assert _stored(fresh_store) == _expected(files)  # and it wrote the edge back


def test_a_file_indexed_again_unchanged_reaches_nothing(fresh_store: IndexStore) -> None:
    files = _real_files()
    fresh_store.files.register(REPOSITORY, "/src/real")
    _write(fresh_store, files, sorted(files), [])
    store_graph(fresh_store, REPOSITORY)

    # Written again with the same content (a touch, a checkout back and forth): a new version of its
    # chunks, the same metadata.
    _write(fresh_store, files, [f"{PACKAGE}/resolution.py"], [])
    again = store_graph(fresh_store, REPOSITORY)

    assert (again["graph_refresh"], again["files_resolved"]) == ("incremental", 0)
    assert _stored(fresh_store) == _expected(files)
    # ...and its new version is recorded: the next refresh does not look at it again.
    files[f"{PACKAGE}/answers.py"] += "\n\ndef added():\n    return 1\n"
    _write(fresh_store, files, [f"{PACKAGE}/answers.py"], [])
    refreshed = store_graph(fresh_store, REPOSITORY)
    assert refreshed["graph_refresh"] == "incremental" and 1 <= refreshed["files_resolved"] < len(files)
    assert _stored(fresh_store) == _expected(files)
