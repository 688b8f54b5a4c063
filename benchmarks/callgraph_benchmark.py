"""Precision and recall of the graph's ``calls`` edges on hand-written programs, and graph build time.

Each fixture is a folder ``callgraph_fixtures/<family>/<category>/`` holding a small program and
``expected.json``: ``{"edges": ["<caller> -> <callee>", ...]}`` in qualified names (``main.py::f``;
the bare path for module-level code). The expected edges are written from the programs' semantics:

- a call edge goes from the innermost function, method, lambda or class body (or the module) that
  makes it to the function, method, class or lambda it reaches at run time;
- calling a class reaches the class and the ``__init__``/``constructor`` its MRO finds;
- a Python lambda is a node named by its place, ``f.<lambda:LINE:COLUMN>``;
- calls into other packages and builtins (``<external>::json.loads``, ``<builtin>::len``) are left
  out here: PyCG's suite scores them;
- a decorator is called by the scope where the decorated definition stands;
- what a statement calls without call syntax is called by its scope: ``__enter__``/``__exit__`` of a
  ``with``, ``__iter__``/``__next__`` of a ``for`` over an instance, ``__init__`` of ``raise E``, and
  the callbacks that ``map``, ``filter`` and ``sorted(key=...)`` call.

Each file goes through the real pipeline: chunking, chunk metadata (with the flow facts), the
records the graph reads back from the store, and :func:`build_graph`.

    python benchmarks/callgraph_benchmark.py             # precision/recall per category and family
    python benchmarks/callgraph_benchmark.py --no-flow   # the same without flow facts (name matching)
    python benchmarks/callgraph_benchmark.py --time DIR  # graph build and flow analysis time on a tree
    python benchmarks/callgraph_benchmark.py --pycg DIR  # PyCG's micro-benchmark (below)

**PyCG's micro-benchmark** is the public suite: about 120 small programs in categories, each with
PyCG's hand-made ``callgraph.json``. It ships in PyCG's source distribution (Apache-2.0; not copied
into this repository), so download and unpack it anywhere and pass the folder:

    pip download --no-binary :all: --no-deps pycg && tar xzf pycg-*.tar.gz
    python benchmarks/callgraph_benchmark.py --pycg pycg-*/micro-benchmark/snippets

Each case goes through the same pipeline as the fixtures; mnemo's names map to PyCG's dotted names
(``pkg/mod.py::A.m`` -> ``pkg.mod.A.m``, ``pkg/__init__.py`` -> ``pkg``). PyCG's conventions apply:

- calling a class is an edge to the ``__init__`` its MRO finds, and no edge when none is defined:
  mnemo's edges to classes are dropped, its edges to the ``__init__`` kept;
- PyCG numbers lambdas per scope (``main.<lambda1>``); mnemo's ``main.py::<lambda:3:4>`` get those
  numbers in source order;
- ``<builtin>.len`` and names of modules the case lacks (``ext.Cls``) are builtin and external
  edges: mnemo's ``<builtin>::len`` and ``<external>::ext.Cls``. PyCG's names of the methods of
  builtin types (``<**PyStr**>.join``) have no counterpart.

Recall is reported twice: over all of PyCG's edges, and over the edges mnemo's graph can hold
(``own``: none to a method of a builtin type); precision is the same for both. ``--errata`` scores
against PyCG's files corrected where they contradict their own programs (:data:`PYCG_ERRATA`).
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
from mnemo_dagster.extract.languages import language_for, language_named
from mnemo_dagster.extract.parsing import GrammarError, parse
from mnemo_dagster.graph import CodeGraph, FileSymbols, build_graph
from mnemo_dagster.graph.facts import FLOW_KEY
from mnemo_dagster.graph.jsconfig import CONFIG_NAME
from mnemo_dagster.graph.pyfacts import python_facts
from mnemo_dagster.graph.pyflow import PythonFlow
from mnemo_dagster.graph.pynames import is_external
from mnemo_dagster.graph.pysummary import summary
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
    """The fixtures' kind of edge: calls between definitions of the repository (calls into other
    packages and builtins, ``<external>::``/``<builtin>::``, are scored on PyCG's suite)."""
    return {
        f"{e.source} -> {e.target}"
        for e in graph.edges
        if e.kind == "calls" and e.source != e.target and not is_external(e.target)
    }


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


def pycg_cases(root: Path) -> list[Path]:
    """The case folders under ``root`` (an unpacked sdist, its ``micro-benchmark``, or ``snippets``)."""
    for inner in (root / "micro-benchmark" / "snippets", root / "snippets"):
        if inner.is_dir():
            root = inner
            break
    return sorted(p.parent for p in root.rglob("callgraph.json"))


def pycg_module(path: str) -> str:
    """PyCG's name of a module file: ``pkg/mod.py`` -> ``pkg.mod``, ``pkg/__init__.py`` -> ``pkg``."""
    dotted = path.removesuffix(".py").replace("/", ".")
    return dotted.removesuffix(".__init__") if dotted != "__init__" else dotted


def pycg_name(qualified: str) -> str:
    """PyCG's dotted name of a mnemo qualified name (``main.py::A.m`` -> ``main.A.m``,
    ``<builtin>::len`` -> ``<builtin>.len``, ``<external>::ext.Cls`` -> ``ext.Cls``)."""
    if qualified.startswith("<builtin>::"):
        return "<builtin>." + qualified.removeprefix("<builtin>::")
    if qualified.startswith("<external>::"):
        return qualified.removeprefix("<external>::")
    path, _, dotted = qualified.partition("::")
    module = pycg_module(path)
    return f"{module}.{dotted}" if dotted else module


def pycg_lambdas(graph: CodeGraph) -> dict[str, str]:
    """mnemo's lambda nodes (``main.py::f.<lambda:3:8>``) -> PyCG's names of them (``main.f.<lambda1>``:
    numbered from 1 per enclosing scope, in source order)."""
    per_scope: dict[str, list[tuple[int, int, str]]] = {}
    for node in graph.nodes:
        if node.kind == "lambda":
            line, column = node.name.strip("<>").split(":")[1:]
            parent = node.qualified_name[: -len(node.name)].rstrip(".:")
            per_scope.setdefault(parent, []).append((int(line), int(column), node.qualified_name))
    names = {}
    for parent, found in per_scope.items():
        for n, (_, _, qualified) in enumerate(sorted(found), 1):
            names[qualified] = f"{pycg_name(parent)}.<lambda{n}>"
    return names


def pycg_found(graph: CodeGraph) -> set[tuple[str, str]]:
    """mnemo's call edges in PyCG's names, with PyCG's convention for classes (see the docstring)."""
    kinds = {n.qualified_name: n.kind for n in graph.nodes}
    lambdas = pycg_lambdas(graph)

    def name(qualified: str) -> str:
        for node, renamed in lambdas.items():  # a lambda, or a lambda inside one
            if qualified == node or qualified.startswith(node + "."):
                return renamed + qualified[len(node) :]
        return pycg_name(qualified)

    return {
        (name(e.source), name(e.target))
        for e in graph.edges
        if e.kind == "calls" and kinds.get(e.target) != "class"
    }


PYCG_ERRATA: dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]], str]] = {
    "dynamic/eval": (
        {("main.func", "<builtin>.eval")},
        {("main", "<builtin>.eval")},
        "eval() is called at the top level of main.py, not inside func",
    ),
}
"""Case -> (edges of PyCG's file that the program does not make, edges it makes that the file lacks,
why), applied with ``--errata``; each was checked by reading the case's program."""


def pycg_truth(case: Path, errata: bool = False) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(all edges, edges mnemo's graph can hold: none to a method of a builtin type) of a case's
    ``callgraph.json`` (corrected by :data:`PYCG_ERRATA` with ``errata``)."""
    every: set[tuple[str, str]] = set()
    for source, targets in json.loads((case / "callgraph.json").read_text()).items():
        every |= {(source, target) for target in targets}
    if errata and f"{case.parent.name}/{case.name}" in PYCG_ERRATA:
        wrong, missing, _ = PYCG_ERRATA[f"{case.parent.name}/{case.name}"]
        every = (every - wrong) | missing
    return every, {edge for edge in every if not edge[1].startswith("<**")}


def run_pycg(root: Path, verbose: bool, errata: bool = False) -> tuple[int, int, int, int]:
    """Print precision and recall per PyCG category; return (tp, fp, fn, fn of own edges) overall."""
    per_category: dict[str, list[int]] = {}
    for case in pycg_cases(root):
        rows = [row for row in chunk_rows(case) if row[0].endswith(".py")]
        graph = build_graph(records(rows, flow=True))
        found = pycg_found(graph)
        every, own = pycg_truth(case, errata)
        tp, fp, fn = score(found, every)
        counts = per_category.setdefault(case.parent.name, [0, 0, 0, 0])
        for i, value in enumerate((tp, fp, fn, len(own - found))):
            counts[i] += value
        if verbose and (found - every or every - found):
            print(f"  {case.parent.name}/{case.name}")
            for source, target in sorted(found - every):
                print(f"      false positive: {source} -> {target}")
            for source, target in sorted(every - found):
                note = "" if (source, target) in own else "  (builtin type/lambda)"
                print(f"      missed:         {source} -> {target}{note}")
    header = ("category", "precision", "recall", "own", "tp", "fp", "fn", "fn own")
    print("\n{:<14} {:>9} {:>7} {:>6} {:>4} {:>4} {:>4} {:>6}".format(*header))
    total = [0, 0, 0, 0]
    for category, (tp, fp, fn, fn_own) in sorted(per_category.items()):
        total = [a + b for a, b in zip(total, (tp, fp, fn, fn_own), strict=True)]
        print(
            f"{category:<14} {ratio(tp, tp + fp):>9.2f} {ratio(tp, tp + fn):>7.2f} "
            f"{ratio(tp, tp + fn_own):>6.2f} {tp:>4} {fp:>4} {fn:>4} {fn_own:>6}"
        )
    tp, fp, fn, fn_own = total
    print(
        f"{'OVERALL':<14} {ratio(tp, tp + fp):>9.2f} {ratio(tp, tp + fn):>7.2f} "
        f"{ratio(tp, tp + fn_own):>6.2f} {tp:>4} {fp:>4} {fn:>4} {fn_own:>6}"
    )
    return tp, fp, fn, fn_own


def time_flow(root: Path, repeats: int) -> None:
    """Median seconds of the Python flow analysis of every ``.py`` file under ``root`` (trees parsed
    beforehand): extracting the facts, and solving them into summaries (with the passes it took)."""
    spec = language_named("python")
    trees = []
    for file in sorted(root.rglob("*.py")):
        try:
            trees.append(parse(file.read_bytes(), spec))
        except GrammarError:
            continue
    extract_s, solve_s = [], []
    passes = 0
    for _ in range(repeats):
        facts, start = [], time.perf_counter()
        for tree in trees:
            try:
                facts.append(python_facts(tree.root_node))
            except RecursionError:
                continue
        extract_s.append(time.perf_counter() - start)
        start, passes = time.perf_counter(), 0
        for fact in facts:
            try:
                flow = PythonFlow(fact)
                flow.solve()
            except RecursionError:
                continue
            summary(flow)
            passes += flow.passes
        solve_s.append(time.perf_counter() - start)
    print(
        f"  python flow: {len(trees)} files, facts {statistics.median(extract_s):.3f} s, "
        f"solve {statistics.median(solve_s):.3f} s, {passes / max(len(trees), 1):.1f} passes per file"
    )


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
    time_flow(root, repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-flow", action="store_true", help="drop the flow facts (name matching only)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list false positives and misses")
    parser.add_argument("--time", type=Path, metavar="DIR", help="time the graph build on a source tree")
    parser.add_argument("--pycg", type=Path, metavar="DIR", help="run PyCG's micro-benchmark (see above)")
    parser.add_argument(
        "--errata",
        action="store_true",
        help="with --pycg: correct PyCG's ground truth where it errs (PYCG_ERRATA)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.time is not None:
        time_build(args.time, args.repeats)
        return 0
    if args.pycg is not None:
        run_pycg(args.pycg, args.verbose, args.errata)
        return 0
    run_fixtures(flow=not args.no_flow, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
