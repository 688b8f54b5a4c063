"""Precision and recall of the graph's ``calls`` edges on hand-written programs, and graph build time.

Each fixture is a folder ``callgraph_fixtures/<family>/<category>/`` holding a small program and
``expected.json``: ``{"edges": ["<caller> -> <callee>", ...]}`` in qualified names (``main.py::f``;
the bare path for module-level code). The expected edges are written from the programs' semantics:

- a call edge goes from the innermost function, method or class body (or the module) that makes it
  to the function, method or class it reaches at run time;
- calling a class reaches the class and the ``__init__``/``constructor`` its MRO finds;
- lambdas are no graph nodes: a call written in a lambda belongs to the symbol around it, and calling
  a lambda adds no edge;
- a decorator is called by the scope where the decorated definition stands.

Each file goes through the real pipeline: chunking, chunk metadata (with the flow facts), the
records the graph reads back from the store, and :func:`build_graph`.

    python benchmarks/callgraph_benchmark.py             # precision/recall per category and family
    python benchmarks/callgraph_benchmark.py --no-flow   # the same without flow facts (name matching)
    python benchmarks/callgraph_benchmark.py --time DIR  # graph build time on a real source tree
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import language_for
from mnemo_dagster.graph import CodeGraph, FileSymbols, build_graph
from mnemo_dagster.graph.facts import FLOW_KEY
from mnemo_dagster.graph.jsconfig import CONFIG_NAME
from mnemo_dagster.indexing.batch import chunk_metadata
from mnemo_dagster.indexing.graph_build import files_from_chunks

FIXTURES = Path(__file__).parent / "callgraph_fixtures"
EXPECTED = "expected.json"


def chunk_rows(root: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, language, chunk metadata) per chunk of every source file under ``root``, by file."""
    rows = []
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != EXPECTED):
        rel = file.relative_to(root).as_posix()
        spec = language_for(rel)
        if spec is None or not spec.has_queries:
            continue
        parsed = parse_file(rel, file.read_bytes(), spec.name)
        rows += [(rel, parsed.language, meta) for meta in chunk_metadata(parsed)]
    return rows


def js_configs(root: Path) -> dict[str, str]:
    """tsconfig/jsconfig files under ``root``: path -> text (what the store hands the graph)."""
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*.json"))
        if CONFIG_NAME.search(p.relative_to(root).as_posix())
    }


def stored(rows: list[tuple[str, str, dict[str, Any]]], *, flow: bool) -> list[tuple[str, str, str]]:
    """The rows as the store holds them (metadata as JSON); without flow facts when ``flow`` is False,
    as for a file indexed before they existed."""
    return [
        (p, lang, json.dumps(m if flow else {k: v for k, v in m.items() if k != FLOW_KEY}))
        for p, lang, m in rows
    ]


def records(rows: list[tuple[str, str, dict[str, Any]]], *, flow: bool) -> list[FileSymbols]:
    """What ``graph_nodes`` reads back from the store."""
    return read_back(stored(rows, flow=flow))


def read_back(encoded: list[tuple[str, str, str]]) -> list[FileSymbols]:
    """Decode the stored metadata and regroup it per file, as :func:`store_graph` does."""
    return list(files_from_chunks((path, lang, json.loads(meta)) for path, lang, meta in encoded))


def call_edges(graph: CodeGraph) -> set[str]:
    return {f"{e.source} -> {e.target}" for e in graph.edges if e.kind == "calls" and e.source != e.target}


def score(found: set[str], expected: set[str]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives)."""
    return len(found & expected), len(found - expected), len(expected - found)


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def run_fixtures(flow: bool, verbose: bool) -> dict[str, tuple[int, int, int]]:
    """Print precision and recall per category and per family; return the family totals."""
    totals: dict[str, tuple[int, int, int]] = {}
    for family_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        tp_sum = fp_sum = fn_sum = 0
        print(f"\n{family_dir.name}")
        print(f"  {'category':<22} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
        for fixture in sorted(p for p in family_dir.iterdir() if (p / EXPECTED).is_file()):
            expected = set(json.loads((fixture / EXPECTED).read_text())["edges"])
            graph = build_graph(records(chunk_rows(fixture), flow=flow), js_configs=js_configs(fixture))
            found = call_edges(graph)
            tp, fp, fn = score(found, expected)
            tp_sum, fp_sum, fn_sum = tp_sum + tp, fp_sum + fp, fn_sum + fn
            precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
            print(f"  {fixture.name:<22} {precision:>9.2f} {recall:>7.2f} {tp:>4} {fp:>4} {fn:>4}")
            if verbose:
                for edge in sorted(found - expected):
                    print(f"      false positive: {edge}")
                for edge in sorted(expected - found):
                    print(f"      missed:         {edge}")
        precision, recall = ratio(tp_sum, tp_sum + fp_sum), ratio(tp_sum, tp_sum + fn_sum)
        print(f"  {'OVERALL':<22} {precision:>9.2f} {recall:>7.2f} {tp_sum:>4} {fp_sum:>4} {fn_sum:>4}")
        totals[family_dir.name] = (tp_sum, fp_sum, fn_sum)
    return totals


def time_build(root: Path, repeats: int) -> None:
    """Median seconds of the stored-metadata decode + :func:`build_graph`, without and with flow facts."""
    rows = chunk_rows(root)
    size = len(json.dumps([meta for _, _, meta in rows]))
    print(f"{root.name}: {len(rows)} chunks, {size / 1e6:.1f} MB of chunk metadata")
    for flow in (False, True):
        encoded = stored(rows, flow=flow)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            graph = build_graph(read_back(encoded))
            seconds.append(time.perf_counter() - start)
        stats = graph.stats
        print(
            f"  flow={flow!s:<5} {statistics.median(seconds):.3f} s  calls resolved "
            f"{stats.calls_resolved}/{stats.calls_total}, call edges {len(call_edges(graph))}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-flow", action="store_true", help="drop the flow facts (name matching only)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list false positives and misses")
    parser.add_argument("--time", type=Path, metavar="DIR", help="time the graph build on a source tree")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.time is not None:
        time_build(args.time, args.repeats)
        return 0
    run_fixtures(flow=not args.no_flow, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
