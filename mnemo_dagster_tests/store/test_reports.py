"""``mnemo status``'s report, on a real store holding files in every state."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from mnemo_dagster.models import SourceFile
from mnemo_dagster.store.chunks import ChunkRow
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.reports import status_report

DIM = 384
WARNING = "syntax error near line 3 (1 error regions); indexed with error recovery"


def _chunks(path: str, *names: str) -> list[ChunkRow]:
    vector = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    return [
        ChunkRow(
            "function", name, f"{path}::{name}", 1 + 3 * i, 2 + 3 * i, f"def {name}(): ...", name, vector, {}
        )
        for i, name in enumerate(names)
    ]


def _node(qualified_name: str, kind: str, file_path: str) -> dict[str, object]:
    name = qualified_name.rpartition("::")[2] or file_path
    return {
        "qualified_name": qualified_name,
        "name": name,
        "kind": kind,
        "file_path": file_path,
        "start_line": 1,
        "end_line": 5,
        "language": "python",
    }


def _scan(store: IndexStore, repository: str, files: list[SourceFile], plan: dict[str, str]) -> None:
    store.files.register(repository, f"/src/{repository}")
    store.files.apply_scan(repository, changed=files, touched=[], deleted=[], plan=plan)


def test_the_report_counts_every_state_and_lists_each_problem(fresh_store: IndexStore) -> None:
    before_scan = datetime.now(UTC)
    _scan(
        fresh_store,
        "proj",
        [
            SourceFile("a.py", "python", 10, 1, "ha"),
            SourceFile("b.py", "python", 10, 1, "hb"),
            SourceFile("c.py", "python", 10, 1, "hc"),
            SourceFile("d.py", "python", 10, 1, "hd"),
            SourceFile("e.py", "python", 10, 1, "he"),
            SourceFile("f.py", "python", 10, 1, "hf"),
            SourceFile("logo.png", None, 10, 1, None, "not a recognised source file type"),
            SourceFile("empty.py", "python", 0, 1, "h0", "empty file"),
        ],
        # Skipped files get no batch; the six others fill two.
        {"a.py": "proj__0001", "b.py": "proj__0001", "c.py": "proj__0001"}
        | {"d.py": "proj__0002", "e.py": "proj__0002", "f.py": "proj__0002"},
    )
    after_scan = datetime.now(UTC)
    chunks = fresh_store.chunks
    chunks.write_file(
        "proj", "a.py", language="python", content_hash="ha", chunks=_chunks("a.py", "f", "g"), warning=None
    )
    chunks.write_file(
        "proj", "b.py", language="python", content_hash="hb", chunks=_chunks("b.py", "h"), warning=WARNING
    )
    chunks.write_file(
        "proj", "f.py", language="python", content_hash="hf", chunks=_chunks("f.py", "k"), warning=None
    )
    chunks.mark_file("proj", "e.py", "failed", "not valid UTF-8 (first bad byte at offset 8)")
    chunks.mark_file("proj", "d.py", "failed", "file vanished after the scan (deleted or moved)")
    chunks.mark_file("proj", "f.py", "skipped", "minified or generated (a line of 40,000 characters)")
    # c.py stays pending.
    nodes = [
        _node("a.py", "module", "a.py"),
        _node("a.py::f", "function", "a.py"),
        _node("a.py::g", "function", "a.py"),
        _node("b.py", "module", "b.py"),
    ]
    edges = [
        ("a.py", "a.py::f", "contains", 1),
        ("a.py", "a.py::g", "contains", 1),
        ("a.py::f", "a.py::g", "calls", 2),
    ]
    fresh_store.graph.replace("proj", nodes, edges, {"files": 2, "calls_total": 1})
    before_graph = datetime.now(UTC)
    fresh_store.graph.replace_metrics("proj", [], {"import_cycle_count": 0})
    after_graph = datetime.now(UTC)

    # Another repository's files, chunks and graph are not counted.
    _scan(fresh_store, "other", [SourceFile("z.py", "python", 10, 1, "hz")], {"z.py": "other__0001"})
    chunks.write_file(
        "other", "z.py", language="python", content_hash="hz", chunks=_chunks("z.py", "z"), warning="w"
    )
    fresh_store.graph.replace("other", [_node("z.py", "module", "z.py")], [], {})

    report = status_report(fresh_store, "proj")

    scanned_at, graph_built_at = report.pop("scanned_at"), report.pop("graph_built_at")
    assert before_scan <= datetime.fromisoformat(scanned_at) <= after_scan
    assert before_graph <= datetime.fromisoformat(graph_built_at) <= after_graph
    assert report == {
        "repository": "proj",
        "root_path": "/src/proj",
        "files": {"indexed": 2, "pending": 1, "failed": 2, "skipped": 3},
        "batches": 2,
        "chunks": 3,  # a.py's two and b.py's one; f.py's went when it was marked skipped
        "nodes": 4,
        "edges": 3,
        "failed": [
            {"path": "d.py", "reason": "file vanished after the scan (deleted or moved)"},
            {"path": "e.py", "reason": "not valid UTF-8 (first bad byte at offset 8)"},
        ],
        "skipped": [
            {"path": "empty.py", "reason": "empty file"},
            {"path": "f.py", "reason": "minified or generated (a line of 40,000 characters)"},
            {"path": "logo.png", "reason": "not a recognised source file type"},
        ],
        "warnings": [{"path": "b.py", "warning": WARNING}],
        "graph": {"files": 2, "calls_total": 1, "changes_since_full": 0, "import_cycle_count": 0},
    }


def test_a_repository_registered_but_never_scanned_reports_zeros(fresh_store: IndexStore) -> None:
    fresh_store.files.register("new", "/src/new")
    assert status_report(fresh_store, "new") == {
        "repository": "new",
        "root_path": "/src/new",
        "scanned_at": None,
        "graph_built_at": None,
        "files": {"indexed": 0, "pending": 0, "failed": 0, "skipped": 0},
        "batches": 0,
        "chunks": 0,
        "nodes": 0,
        "edges": 0,
        "failed": [],
        "skipped": [],
        "warnings": [],
        "graph": {},
    }
