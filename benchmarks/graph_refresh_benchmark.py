"""The graph refresh after a one-function edit, against a full rebuild, on an indexed repository.

    python benchmarks/graph_refresh_benchmark.py --home DIR --repository NAME [--file PATH] [--runs 3]

``DIR`` is a MNEMO_HOME whose index holds ``NAME`` (indexed with ``mnemo index``, its tree still on
disk). For each run it times:

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
    args = parser.parse_args()
    os.environ["MNEMO_HOME"] = str(args.home)

    from mnemo_dagster.indexing.batch import index_batch
    from mnemo_dagster.indexing.graph_build import build_stored_graph, store_graph, store_metrics
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        store, name = wiring.store, args.repository
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
            finally:
                target.write_bytes(original)
                index_batch(store, wiring.embedder, key)
            fresh = build_stored_graph(store, name)
            store_graph(store, name)  # back to the original file's graph
            written = {k: v for k, v in wrote.items() if k.startswith(("nodes_", "edges_"))}
            print(
                f"run {run + 1}: full {full[-1]:.2f} s ({built['nodes']} nodes, {built['edges']} edges); "
                f"refresh {refresh[-1]:.2f} s, metrics {metrics['metrics']}, wrote {written}; "
                f"graph after restoring = rebuild: {len(fresh.nodes) == built['nodes']}"
            )
        share = statistics.median(refresh) / statistics.median(full)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"median: full {statistics.median(full):.2f} s, refresh {statistics.median(refresh):.2f} s "
            f"({share:.0%} of full); peak RSS {peak:.0f} MB"
        )


if __name__ == "__main__":
    main()
