"""Call edges from flow facts: the ground-truth fixtures of the call-graph benchmark, one test each,
plus what must never happen (a call resolved across languages by name, an unresolved call guessed)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.graph import CodeGraph, build_graph
from mnemo_dagster.graph.facts import FLOW_KEY, source_text
from mnemo_dagster.indexing.batch import chunk_metadata

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "callgraph_benchmark.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("callgraph_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _benchmark()
FIXTURES = sorted(p for p in bench.FIXTURES.glob("*/*") if (p / bench.EXPECTED).is_file())

KNOWN_MISSES = {
    # A method called on a local variable holding an instance: JS/TS calls resolve by receiver shape
    # only (this, super, a namespace import, a class name), never by a guess.
    "js/extends_super": {"src/users.ts::main -> src/users.ts::UserRepository.all"},
    # Each module is solved alone at index time: a callback that enters a module only through a call
    # from another module does not reach that module's parameters.
    "python/cross_module": {"shop/services.py::run_callback -> app.py::notify"},
    # Reflection and library wrappers hold what no assignment shows.
    "python/dynamic": {"main.py::main -> main.py::Worker.pause", "main.py::main -> main.py::task"},
}


def graph_of(root: Path, *, flow: bool = True) -> CodeGraph:
    return build_graph(bench.records(bench.chunk_rows(root), flow=flow), js_configs=bench.js_configs(root))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_call_edges_match_the_ground_truth(fixture: Path) -> None:
    expected = set(json.loads((fixture / bench.EXPECTED).read_text())["edges"])
    found = bench.call_edges(graph_of(fixture))
    assert found == expected - KNOWN_MISSES.get(f"{fixture.parent.name}/{fixture.name}", set())


def test_flow_beats_name_matching_on_the_python_fixtures() -> None:
    def totals(flow: bool) -> tuple[int, int, int]:
        tp = fp = fn = 0
        for fixture in (f for f in FIXTURES if f.parent.name == "python"):
            expected = set(json.loads((fixture / bench.EXPECTED).read_text())["edges"])
            a, b, c = bench.score(bench.call_edges(graph_of(fixture, flow=flow)), expected)
            tp, fp, fn = tp + a, fp + b, fn + c
        return tp, fp, fn

    tp, fp, fn = totals(flow=True)
    assert tp / (tp + fp) >= 0.95 and tp / (tp + fn) >= 0.75
    old_tp, _, old_fn = totals(flow=False)
    assert old_tp / (old_tp + old_fn) < tp / (tp + fn)


def test_unresolved_calls_are_counted_not_guessed() -> None:
    graph = graph_of(bench.FIXTURES / "python" / "unresolved")
    # json.loads, os.path.exists, thing.load (two classes define load), print, len
    assert (graph.stats.calls_total, graph.stats.calls_resolved) == (5, 0)
    assert [e for e in graph.edges if e.kind == "calls"] == []


def test_a_js_call_never_resolves_into_typescript_or_python_by_name(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "response.js").write_text("function send() {\n  return render();\n}\n")
    (tmp_path / "web" / "cache.ts").write_text("export function render(): void {}\n")
    (tmp_path / "tool.py").write_text("def render():\n    pass\n")
    for flow in (True, False):  # with facts, and as a file indexed before facts existed
        graph = graph_of(tmp_path, flow=flow)
        assert [e for e in graph.edges if e.kind == "calls"] == []
        assert (graph.stats.calls_total, graph.stats.calls_resolved) == (1, 0)


def test_facts_ride_in_the_first_chunk_and_the_text_comes_back_from_the_chunks() -> None:
    long_line = "TABLE = [" + ", ".join(f"f{i}" for i in range(400)) + "]"
    text = f"import os\n\n\ndef f0():\n    return os.sep\n\n\n{long_line}\n\n\nf0()\n"
    parsed = parse_file("m.py", text.encode(), "python", max_chunk_chars=200)
    assert any(c.start_line == c.end_line == 8 for c in parsed.chunks[1:])  # the long line was cut
    assert source_text(parsed.chunks) == text.rstrip("\n")
    meta = chunk_metadata(parsed)
    summary = meta[0][FLOW_KEY]["python"]
    assert all(FLOW_KEY not in m for m in meta[1:])
    assert (summary["v"], summary["sites"]) == (2, 1)  # os.sep is no call; f0() at module level is
    assert summary["calls"] == [["", 11, ["f0"]]]
    assert summary["names"]["os"] == [["x", "os", None]]
    assert summary["names"]["TABLE"] == ["f0"]  # f1... are defined nowhere


def test_facts_of_broken_code_still_resolve_what_parses() -> None:
    text = "def ok():\n    pass\n\n\ndef broken():\n    x = = 1\n\n\ndef caller():\n    ok()\n"
    parsed = parse_file("m.py", text.encode(), "python")
    assert FLOW_KEY in chunk_metadata(parsed)[0]
    graph = build_graph(bench.records([("m.py", "python", m) for m in chunk_metadata(parsed)], flow=True))
    assert ("m.py::caller", "m.py::ok") in {(e.source, e.target) for e in graph.edges if e.kind == "calls"}
