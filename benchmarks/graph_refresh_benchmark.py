"""The graph refresh after a one-function edit, against a full rebuild, on an indexed repository.

    python benchmarks/graph_refresh_benchmark.py --home DIR --repository NAME [--file PATH] [--runs 3]
    python benchmarks/graph_refresh_benchmark.py --home DIR --repository NAME --graph-only SOURCE

``DIR`` is a MNEMO_HOME whose index holds ``NAME`` (indexed with ``mnemo index``, its tree still on
disk). With ``--graph-only SOURCE``, ``NAME`` is instead indexed here from the tree ``SOURCE`` without
the model: every file is discovered and parsed as a pass does (symbols, references, flow facts) and
its chunks are stored with one constant vector, since the graph never reads embeddings; a large tree
(Django's sdist) takes a minute instead of an hour, and edits are indexed the same way. For each run
it times:

- **full**: the graph emptied, then built and stored, and every metric computed (what each pass did
  before graph refreshes were incremental);
- **edit**: a function appended to ``PATH`` (default: the repository's largest Python file, else its
  largest file) and its batch indexed again through the real pipeline (only that file is re-read),
  then the graph refreshed as a pass refreshes it (``store_graph``, ``store_metrics``): the
  refresh is timed, and the graph it stored is compared with one built from scratch;
- the file is then restored and indexed again.

It prints the times, the share of the refresh in the full rebuild, what each refresh wrote, and the
peak RSS of this process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

EDITS = {
    ".py": "\n\ndef mnemo_benchmark_added(value):\n    return len(str(value))\n",
    ".ts": "\n\nexport function mnemoBenchmarkAdded(value: unknown): number {\n"
    "  return String(value).length;\n}\n",
    ".js": "\n\nexport function mnemoBenchmarkAdded(value) {\n  return String(value).length;\n}\n",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--file", help="the file to edit, relative to the repository's root")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--graph-only", type=Path, metavar="SOURCE", help="index SOURCE here without the model"
    )
    args = parser.parse_args()
    os.environ["MNEMO_HOME"] = str(args.home)

    from mnemo_dagster.indexing.batch import index_batch
    from mnemo_dagster.indexing.graph_build import store_graph, store_metrics
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        store, name = wiring.store, args.repository
        if args.graph_only is not None:
            started = time.perf_counter()
            count = index_without_model(store, name, args.graph_only.resolve())
            took = time.perf_counter() - started
            print(f"{name}: {count} files parsed and stored without the model in {took:.0f} s")

            def index_batch(store: Any, embedder: Any, key: str) -> None:
                index_without_model(store, name, args.graph_only.resolve(), only=[args.file])

        root = Path(store.files.root(name) or "")
        files = store.files.stored(name)
        if args.file is None:
            edible = [f for f in files.values() if f.status == "indexed" and Path(f.path).suffix in EDITS]
            python = [f for f in edible if f.path.endswith(".py")]
            args.file = max(python or edible, key=lambda f: f.size_bytes).path
        target, key = root / args.file, files[args.file].batch_key
        original = target.read_bytes()
        edit = EDITS[target.suffix].encode()
        print(f"{name}: editing {args.file} (batch {key})")

        full, refresh = [], []
        for run in range(args.runs):
            started = time.perf_counter()
            store.graph.replace(name, [], [], {})
            built = store_graph(store, name)
            store_metrics(store, name, full=True)
            full.append(time.perf_counter() - started)
            try:
                target.write_bytes(original + edit)
                index_batch(store, wiring.embedder, key)
                started = time.perf_counter()
                wrote = store_graph(store, name)
                metrics = store_metrics(store, name)
                refresh.append(time.perf_counter() - started)
                same = _same_as_rebuild(store, name)
            finally:
                target.write_bytes(original)
                index_batch(store, wiring.embedder, key)
            back = store_graph(store, name)  # back to the original file's graph
            written = {k: v for k, v in wrote.items() if k.startswith(("nodes_", "edges_"))}
            print(
                f"run {run + 1}: full {full[-1]:.2f} s ({built['nodes']} nodes, {built['edges']} edges); "
                f"refresh {refresh[-1]:.2f} s ({wrote['files_resolved']} files resolved again), metrics "
                f"{metrics['metrics']}, wrote {written}; the refreshed graph = a rebuild: {same}; "
                f"restored: {back['files_resolved']} files resolved again, = a rebuild: "
                f"{_same_as_rebuild(store, name)}"
            )
        share = statistics.median(refresh) / statistics.median(full)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"median: full {statistics.median(full):.2f} s, refresh {statistics.median(refresh):.2f} s "
            f"({share:.0%} of full); peak RSS {peak:.0f} MB"
        )


def _same_as_rebuild(store: Any, name: str) -> bool:
    """Whether the stored nodes and edges of ``name`` are those of a graph built from scratch."""
    from mnemo_dagster.indexing.graph_build import build_stored_graph

    nodes, edges, _ = store.graph.rows(name)
    fresh = build_stored_graph(store, name)
    return {tuple(row[1:]) for row in nodes} == {
        (n.qualified_name, n.name, n.kind, n.file_path, n.start_line, n.end_line, n.language)
        for n in fresh.nodes
    } and {tuple(row) for row in edges} == {(e.source, e.target, e.kind, e.weight) for e in fresh.edges}


def index_without_model(store: Any, name: str, root: Path, only: list[str] | None = None) -> int:
    """Register ``root`` as ``name`` and store every file's chunks (or those of ``only``), parsed as a
    pass parses them, with one constant vector; returns how many files were stored."""
    import numpy as np

    from mnemo_dagster.extract.languages import language_for
    from mnemo_dagster.indexing.batch import NotIndexed, _read_and_parse, chunk_rows
    from mnemo_dagster.indexing.discovery import describe, walk

    store.ensure_schema("sentence-transformers/all-MiniLM-L6-v2", 384)
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    if only is None:
        store.files.register(name, str(root))
        found = [
            describe(root, path, stat, 1_000_000)
            for path, stat in walk(root)
            if language_for(path) is not None
        ]
    else:
        found = [describe(root, path, (root / path).stat(), 1_000_000) for path in only]
    plan = {f.path: f"{name}__0001" for f in found}
    store.files.apply_scan(name, changed=found, touched=[], deleted=[], plan=plan)
    stored = 0
    for source in found:
        read = _read_and_parse(root, source.path, 1_000_000)
        if isinstance(read, NotIndexed):
            continue
        parsed, digest = read
        count = len(parsed.chunks)
        rows = chunk_rows(parsed, [f"{digest}:{i}" for i in range(count)], [vector] * count)
        store.chunks.write_file(
            name, parsed.path, language=parsed.language, content_hash=digest, chunks=rows, warning=None
        )
        stored += 1
    return stored


if __name__ == "__main__":
    main()
