"""Precision and recall of the graph's ``calls`` edges on real Python projects from PyPI sdists.

Each project has a truth file ``callgraph_real/<project>.json`` for a sample of its functions and
methods (sources): ``{"project", "version", "sdist", "sha256", "package_dir", "package", "sample",
"sources": {source: {"callees": [...], "checked": [...], "external": [...]}}}``. Names are dotted,
relative to ``package_dir`` (the folder holding the package): ``requests.sessions.Session.send``.

- ``callees``: every function or method of the project that the source calls (project-internal
  targets only); the sample's precision and recall are scored against them.
- ``checked``: the edges checked by reading the source, each ``{"target", "verdict", "found_by",
  "reason"}``: the edges that only one of the two analyses (mnemo and PyCG 0.0.8) had, the edges that
  neither had but the code makes (``found_by: "neither"``), and the false edges. Edges both had were
  accepted, after a read. ``"cha": true`` marks a false edge that class hierarchy analysis would
  accept: ``self.m()`` reaching the override of a subclass on which the calling method never runs.
- ``external``: mnemo's edges from the source into other packages and builtins, each with a verdict.

The sample: every function or method whose own body makes a call (``@overload`` stubs left out),
drawn with ``random.Random(seed).sample`` per kind (module functions, then methods); ``--draw``
repeats the draw. The truth follows the conventions of ``callgraph_benchmark.py``, with these rules
for what a call reaches at run time with the project's own classes:

- calling a class reaches the ``__init__`` its MRO finds (edges to class nodes are dropped, as
  ``pycg_found`` does); ``raise E(...)`` too; ``with``/``for`` reach ``__enter__``/``__exit__`` and
  ``__iter__``; ``super().m()`` reaches the next ``m`` in the MRO of each instance it can run on;
- ``self.m()`` in ``C.f`` reaches the ``m`` of ``C`` and of each project subclass on which ``C.f``
  runs (the subclass inherits ``f`` or calls it through ``super()``), not of those overriding ``f``;
- other receivers: the project classes their values can have (defaults, class attributes, what the
  project passes, and the declared or documented type with its subclasses, abstract methods too);
- callables stored in attributes or hooks reach the project functions the project stores there;
  callbacks that other packages call, property reads, subscripts and operators are not counted.

An edge from a lambda counts as an edge from the definition around it; edges to lambdas are left out.

Scores print to three decimals, cut rather than rounded. The sdists are not part of this repository;
download and unpack them anywhere and pass the folder:

    mkdir sdists && cd sdists
    pip download --no-binary :all: --no-deps itsdangerous==2.2.0 requests==2.32.3
    for f in *.tar.gz; do tar xzf "$f"; done

    python benchmarks/callgraph_real.py --sdists sdists              # precision/recall per project
    python benchmarks/callgraph_real.py --sdists sdists -v           # with each false positive and miss
    python benchmarks/callgraph_real.py --sdists sdists --draw requests   # repeat a project's draw

PyCG (the second analysis) was run in its own virtualenv on each package folder, from the folder
holding the package (the absolute path matters: with ``--package .`` PyCG also analyses the
standard library). Its fixpoint depends on set order: on requests, one run without a fixed hash seed
had not ended after 15 minutes, while ``PYTHONHASHSEED=0`` ends in seconds (the sampled sources'
internal edges were the same under seeds 0 and 1 and with ``--max-iter`` 2, 10 and 15):

    PYTHONHASHSEED=0 python -m pycg --package "$PWD" $(find requests -name '*.py') -o requests.json
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from callgraph_benchmark import chunk_rows, pycg_module, pycg_name, records

from mnemo_dagster.graph import build_graph

TRUTH = Path(__file__).parent / "callgraph_real"
OUTSIDE = ("<external>::", "<builtin>::")

Calls = dict[str, set[str]]


def shown(part: int, whole: int) -> str:
    """``part / whole`` to three decimals, cut rather than rounded (0.9699 shows as 0.969)."""
    thousandths = part * 1000 // whole if whole else 1000
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def dotted(qualified: str) -> str:
    """The dotted name of a mnemo node, an edge from a lambda moved to the definition around it."""
    parts = pycg_name(qualified).split(".")
    cut = next((i for i, part in enumerate(parts) if part.startswith("<lambda")), len(parts))
    return ".".join(parts[:cut])


def mnemo_calls(root: Path) -> tuple[Calls, Calls, dict[str, int]]:
    """(project-internal callees, external/builtin callees, edge counts) per source of the graph built
    from the ``.py`` files under ``root``; edges to classes are dropped."""
    rows = [row for row in chunk_rows(root) if row[0].endswith(".py")]
    graph = build_graph(records(rows, flow=True))
    kinds = {n.qualified_name: n.kind for n in graph.nodes}
    internal: Calls = {}
    outside: Calls = {}
    counts = dict.fromkeys(("internal", "external", "builtin", "class", "lambda"), 0)
    for edge in graph.edges:
        if edge.kind != "calls":
            continue
        kind = kinds.get(edge.target, "")
        if edge.target.startswith(OUTSIDE):
            counts["builtin" if edge.target.startswith("<builtin>") else "external"] += 1
            outside.setdefault(dotted(edge.source), set()).add(edge.target)
        elif kind in ("class", "lambda"):
            counts[kind] += 1
        else:
            counts["internal"] += 1
            internal.setdefault(dotted(edge.source), set()).add(pycg_name(edge.target))
    return internal, outside, counts


def score(truth: dict[str, Any], internal: Calls) -> tuple[set[tuple[str, str]], set[tuple[str, str]], int]:
    """(false positives, false negatives, true positives) over the sampled sources."""
    fps: set[tuple[str, str]] = set()
    fns: set[tuple[str, str]] = set()
    tp = 0
    for source, entry in truth["sources"].items():
        found, expected = internal.get(source, set()), set(entry["callees"])
        tp += len(found & expected)
        fps |= {(source, target) for target in found - expected}
        fns |= {(source, target) for target in expected - found}
    return fps, fns, tp


def verdicts(truth: dict[str, Any], key: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The checked edges (``key`` is ``checked`` or ``external``) by (source, target)."""
    return {
        (source, item["target"]): item
        for source, entry in truth["sources"].items()
        for item in entry.get(key, [])
    }


def report_external(truth: dict[str, Any], outside: Calls, verbose: bool) -> None:
    """Precision of mnemo's external and builtin edges from the sampled sources, over those checked."""
    checked = verdicts(truth, "external")
    found = {(source, target) for source in truth["sources"] for target in outside.get(source, set())}
    good = sum(1 for edge in found if edge in checked and checked[edge]["verdict"])
    bad = sorted(edge for edge in found if edge in checked and not checked[edge]["verdict"])
    unchecked = sorted(edge for edge in found if edge not in checked)
    print(
        f"  external   edges {len(found)}: true {good}, false {len(bad)}, unchecked {len(unchecked)}; "
        f"precision over the checked {shown(good, good + len(bad))}"
    )
    if verbose:
        for source, target in bad:
            print(f"      false external: {source} -> {target}  ({checked[(source, target)]['reason']})")
        for source, target in unchecked:
            print(f"      unchecked:      {source} -> {target}")


def run_project(truth: dict[str, Any], sdists: Path, verbose: bool) -> tuple[int, int, int] | None:
    """Print one project's scores; return (tp, fp, fn), or None when its sdist is missing."""
    root = sdists / truth["package_dir"]
    name = f"{truth['project']} {truth['version']}"
    if not (root / truth["package"]).is_dir():
        print(f"{name}: {root / truth['package']} is missing (see the docstring: pip download ...)")
        return None
    internal, outside, counts = mnemo_calls(root)
    fps, fns, tp = score(truth, internal)
    checked = verdicts(truth, "checked")
    cha = sum(1 for edge in fps if checked.get(edge, {}).get("cha"))
    sample = truth["sample"]["candidates"]
    print(
        f"\n{name}: {len(truth['sources'])} sampled sources of {sum(sample.values())} "
        f"({sample['function']} functions, {sample['method']} methods); graph call edges: "
        + ", ".join(f"{kind} {n}" for kind, n in counts.items())
    )
    fp, fn = len(fps), len(fns)
    print(
        f"  internal   precision {shown(tp, tp + fp)}  recall {shown(tp, tp + fn)}  "
        f"tp {tp}  fp {fp}  fn {fn}  (fp that CHA accepts: {cha}; "
        f"precision counting them true {shown(tp + cha, tp + fp)})"
    )
    if verbose:
        for source, target in sorted(fps):
            item = checked.get((source, target))
            why = item["reason"] if item else "not in the truth file: read the code and add a verdict"
            print(f"      false positive: {source} -> {target}  ({why})")
        for source, target in sorted(fns):
            item = checked.get((source, target))
            why = f"  ({item['reason']})" if item else ""
            print(f"      missed:         {source} -> {target}{why}")
    report_external(truth, outside, verbose)
    return tp, fp, fn


def makes_calls(node: ast.AST) -> bool:
    """Whether a definition's own body (not the definitions nested in it) makes a call."""
    todo = list(ast.iter_child_nodes(node))
    while todo:
        child = todo.pop()
        if isinstance(child, ast.Call):
            return True
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            todo += child.decorator_list
            continue
        todo += ast.iter_child_nodes(child)
    return False


def is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        (isinstance(d, ast.Attribute) and d.attr == "overload")
        or (isinstance(d, ast.Name) and d.id == "overload")
        for d in node.decorator_list
    )


def definitions(root: Path, package: str) -> dict[str, str]:
    """The sample's candidates: dotted name -> ``function`` or ``method``, for every definition under
    ``root/package`` whose own body makes a call."""
    found: dict[str, str] = {}

    def walk(node: ast.AST, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}.{child.name}", True)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}.{child.name}"
                if not is_overload(child) and makes_calls(child):
                    found[name] = "method" if in_class else "function"
                walk(child, name, False)
            else:
                walk(child, prefix, in_class)

    for file in sorted((root / package).rglob("*.py")):
        walk(ast.parse(file.read_text()), pycg_module(file.relative_to(root).as_posix()), False)
    return found


def draw(root: Path, package: str, per_kind: int, seed: int) -> list[str]:
    """The sample: ``per_kind`` module functions, then ``per_kind`` methods (all when fewer), drawn
    with one ``random.Random(seed)``."""
    candidates = definitions(root, package)
    rng = random.Random(seed)
    sample: list[str] = []
    for kind in ("function", "method"):
        names = sorted(name for name, k in candidates.items() if k == kind)
        sample += sorted(rng.sample(names, min(per_kind, len(names))))
    return sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sdists", type=Path, required=True, metavar="DIR", help="where the sdists are unpacked"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="list false positives and misses")
    parser.add_argument(
        "--draw", metavar="PROJECT", help="print the project's sample as drawn from its sdist"
    )
    args = parser.parse_args(argv)
    truths = [json.loads(path.read_text()) for path in sorted(TRUTH.glob("*.json"))]
    if args.draw is not None:
        truth = next(t for t in truths if t["project"] == args.draw)
        sample = truth["sample"]
        names = draw(args.sdists / truth["package_dir"], truth["package"], sample["per_kind"], sample["seed"])
        print("\n".join(names))
        same = set(names) == set(truth["sources"])
        print(f"{len(names)} sources; {'the same as' if same else 'NOT the same as'} the truth file's")
        return 0
    total = [0, 0, 0]
    for truth in truths:
        counts = run_project(truth, args.sdists, args.verbose)
        if counts is None:
            return 1
        total = [a + b for a, b in zip(total, counts, strict=True)]
    tp, fp, fn = total
    print(
        f"\nOVERALL internal precision {shown(tp, tp + fp)}  recall {shown(tp, tp + fn)}  "
        f"tp {tp}  fp {fp}  fn {fn}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
