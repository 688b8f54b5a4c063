"""Call edges from flow facts: the ground-truth fixtures of the call-graph benchmark, one test each,
plus what must never happen (a call resolved across languages by name, an unresolved call guessed)."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.graph import CodeGraph, build_graph
from mnemo_dagster.graph.facts import FLOW_KEY, source_text
from mnemo_dagster.graph.pyflow import SUMMARY_VERSION
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
    assert (graph.stats.calls_total, graph.stats.calls_resolved, graph.stats.calls_external) == (5, 0, 4)
    # Calls into other packages and builtins reach external names; thing.load reaches nothing.
    assert sorted((e.source, e.target) for e in graph.edges if e.kind == "calls") == [
        ("main.py::Parser.load", "<external>::json.loads"),
        ("main.py::Reader.load", "<external>::os.path.exists"),
        ("main.py::process", "<builtin>::len"),
        ("main.py::process", "<builtin>::print"),
    ]
    outside = {n.qualified_name: (n.kind, n.name, n.file_path) for n in graph.nodes if n.file_path == ""}
    assert outside == {
        "<external>::json.loads": ("external", "loads", ""),
        "<external>::os.path.exists": ("external", "exists", ""),
        "<builtin>::len": ("builtin", "len", ""),
        "<builtin>::print": ("builtin", "print", ""),
    }


def test_external_names_follow_instances_of_other_packages_classes_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """\
            import requests
            from ext import Base
            class Client(Base):
                def fetch(self, url):
                    session = requests.Session()
                    session.get(url).json()
                    return requests.get(url).json()
                def close(self):
                    self.shutdown()
                    raise KeyError
            Client().fetch("u")
            """
        )
    )
    graph = graph_of(tmp_path)
    calls = sorted((e.source, e.target) for e in graph.edges if e.kind == "calls")
    # A class of another package called: an instance, whose methods are named through the class;
    # what a function of another package returns is unknown (no ``requests.get.json``); a class with
    # no __init__ of its own reaches its external base's; a method it lacks is its base's; a bare
    # ``raise KeyError`` calls nothing.
    assert calls == [
        ("app.py", "<external>::ext.Base.__init__"),
        ("app.py", "app.py::Client"),
        ("app.py", "app.py::Client.fetch"),
        ("app.py::Client.close", "<external>::ext.Base.shutdown"),
        ("app.py::Client.fetch", "<external>::requests.Session"),
        ("app.py::Client.fetch", "<external>::requests.Session.get"),
        ("app.py::Client.fetch", "<external>::requests.get"),
    ]


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
    assert (summary["v"], summary["sites"]) == (
        SUMMARY_VERSION,
        1,
    )  # os.sep is no call; f0() at module level is
    assert summary["calls"] == [["", 11, ["f0"]]]
    assert summary["names"]["os"] == [["x", "os", None]]
    assert summary["names"]["TABLE"] == ["f0"]  # f1... are defined nowhere


def test_facts_of_broken_code_still_resolve_what_parses() -> None:
    text = "def ok():\n    pass\n\n\ndef broken():\n    x = = 1\n\n\ndef caller():\n    ok()\n"
    parsed = parse_file("m.py", text.encode(), "python")
    assert FLOW_KEY in chunk_metadata(parsed)[0]
    graph = build_graph(bench.records([("m.py", "python", m) for m in chunk_metadata(parsed)], flow=True))
    assert ("m.py::caller", "m.py::ok") in {(e.source, e.target) for e in graph.edges if e.kind == "calls"}


def calls_in(tmp_path: Path, files: dict[str, str]) -> set[str]:
    """Every call edge (self-calls included) of a small program written under ``tmp_path``."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return {f"{e.source} -> {e.target}" for e in graph_of(tmp_path).edges if e.kind == "calls"}


def test_an_item_reaches_what_was_stored_under_its_key_and_no_other_container(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "m.py": """
            def f(): pass
            def g(): pass
            def h(): pass
            FNS = [f, g]
            TABLE = {"a": f, "b": g}
            OTHER = [h]
            def index(): FNS[1]()
            def key(): TABLE["a"]()
            def get(): TABLE.get("b")()
            def sliced(): FNS[1:][0]()
            def unpacked():
                first, second = FNS
                second()
            def values():
                for name, value in TABLE.items():
                    value()
            def anything(name):
                TABLE[name]()
            def appended():
                later = []
                later.append(h)
                later[0]()
            """
        },
    )
    assert {e.partition("::")[2] for e in found} == {
        "index -> m.py::g",
        "key -> m.py::f",
        "get -> m.py::g",
        "sliced -> m.py::g",
        "unpacked -> m.py::g",
        "values -> m.py::f",
        "values -> m.py::g",
        "anything -> m.py::f",  # a key that is no literal: any item of that dict, no other container's
        "anything -> m.py::g",
        "appended -> m.py::h",
    }


def test_an_assignment_at_the_top_level_of_a_body_replaces_what_the_name_held(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "m.py": """
            def dec1(f): return f
            def dec2(f): return f
            a = dec1
            a = dec2
            @a
            def func(): pass
            table = {"k": dec1}
            table["k"] = dec2
            table["k"](func)
            def pick(flag):
                h = dec1
                if flag:
                    h = dec2
                h(None)
            def reset(flag):
                h = dec1
                h = None
                if flag:
                    h = dec2
                h(None)
            """
        },
    )
    assert {e for e in found if e.startswith("m.py ->")} == {"m.py -> m.py::dec2"}
    assert {e for e in found if e.startswith("m.py::pick ->")} == {
        "m.py::pick -> m.py::dec1",
        "m.py::pick -> m.py::dec2",  # a branch may or may not replace
    }
    assert {e for e in found if e.startswith("m.py::reset ->")} == {"m.py::reset -> m.py::dec2"}


def test_an_attribute_of_an_unknown_attribute_of_self_is_no_attribute_of_self(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "m.py": """
            class Storage:
                def __init__(self, engine):
                    self._engine = engine
                def connect(self):
                    pass
                def close(self):
                    self._engine.connect()
                    self._engine.close()
            class Job:
                def __init__(self, graph):
                    self._graph = graph
                def make(*, graph):  # called on the class: its first parameter is no ``self``
                    return Job(graph)
                def count(self):
                    return self._graph.count()
            """
        },
    )
    assert not {e for e in found if e.startswith("m.py::Storage.close ->")}
    assert "m.py::Job.count -> m.py::Job.count" not in found


def test_a_field_holding_an_instance_of_an_imported_class_resolves_its_methods(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "seg.py": """
            class Segmentation:
                def segment(self, text): pass
            """,
            "app.py": """
            from seg import Segmentation
            class App:
                def __init__(self):
                    self.seg = Segmentation()
                def run(self, text):
                    return self.seg.segment(text)
            """,
        },
    )
    assert "app.py::App.run -> seg.py::Segmentation.segment" in found


def test_raise_with_and_for_call_the_methods_they_imply(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "m.py": """
            class AppError(Exception):
                def __init__(self): pass
                def report(self): pass
            class Conn:
                def query(self): pass
            class Pool:
                def __enter__(self): return Conn()
                def __exit__(self, *exc): return False
                def query(self): pass
            class Rows:
                def __iter__(self): return self
                def __next__(self): return report
            def report(): pass
            def fail():
                raise AppError
            def use():
                with Pool() as conn:
                    conn.query()
                for each in Rows():
                    each()
                try:
                    fail()
                except AppError as error:
                    error.report()
            """
        },
    )
    assert "m.py::fail -> m.py::AppError.__init__" in found
    assert {e for e in found if e.startswith("m.py::use ->")} == {
        "m.py::use -> m.py::Pool",
        "m.py::use -> m.py::Pool.__enter__",
        "m.py::use -> m.py::Pool.__exit__",
        "m.py::use -> m.py::Conn.query",  # what __enter__ returns, not the pool
        "m.py::use -> m.py::Rows",
        "m.py::use -> m.py::Rows.__iter__",
        "m.py::use -> m.py::Rows.__next__",
        "m.py::use -> m.py::report",
        "m.py::use -> m.py::fail",
        "m.py::use -> m.py::AppError.report",
    }


def test_generators_partial_callbacks_and_the_class_of_self(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "m.py": """
            import functools
            def target(): pass
            def other(): pass
            def inner():
                yield target
            def outer():
                yield from inner()
            def run(callback, value):
                callback()
            def key(item): return item
            class Node:
                def copy(self):
                    return type(self)()
                def clone(self):
                    return self.__class__()
            def main(items):
                for fn in outer():
                    fn()
                functools.partial(run, target)(other)
                sorted(items, key=key)
                getattr(Node(), "copy")()
            """
        },
    )
    assert "m.py::main -> m.py::target" in found  # through yield from
    assert "m.py::run -> m.py::target" in found
    assert "m.py::run -> m.py::other" not in found  # ``other`` is bound to ``value``
    assert "m.py::main -> m.py::key" in found
    assert "m.py::main -> m.py::Node.copy" in found
    assert {"m.py::Node.copy -> m.py::Node", "m.py::Node.clone -> m.py::Node"} <= found


def test_a_method_passed_as_a_value_stays_bound_and_a_function_in_a_field_gets_no_self(
    tmp_path: Path,
) -> None:
    found = calls_in(
        tmp_path,
        {
            "m.py": """
            def beep(): pass
            def log(event):
                event()
            class Button:
                def __init__(self, handler):
                    self.handler = handler
                def press(self, event):
                    self.handler(event)
            class App:
                def run(self, callback):
                    callback(beep)
                def on(self, fn):
                    fn()
            def main():
                Button(log).press(beep)
                app = App()
                app.run(app.on)
            """
        },
    )
    assert {"m.py::log -> m.py::beep", "m.py::App.run -> m.py::App.on", "m.py::App.on -> m.py::beep"} <= found


def test_a_for_over_another_modules_object_calls_iter_only_on_an_instance_made_there(tmp_path: Path) -> None:
    found = calls_in(
        tmp_path,
        {
            "rows.py": """
            class Row:
                def __iter__(self):
                    return iter(())
            class Table:
                def __iter__(self):
                    return iter(())
            def load():
                return [Row()]
            """,
            "main.py": """
            from rows import Table, load
            def main():
                for row in load():
                    pass
                for row in Table():
                    pass
            """,
        },
    )
    assert {e for e in found if e.startswith("main.py::main ->")} == {
        "main.py::main -> rows.py::load",
        "main.py::main -> rows.py::Table",
        "main.py::main -> rows.py::Table.__iter__",  # not Row.__iter__: load() returns a list of rows
    }


def test_a_folder_that_is_a_package_resolves_imports_of_its_own_name(tmp_path: Path) -> None:
    # `mnemo index src/shop`: the tree's root is the package, and its code imports `shop.*`.
    (tmp_path / "__init__.py").write_text("from shop.util import helper\n")
    (tmp_path / "util.py").write_text("def helper():\n    pass\n")
    (tmp_path / "path.py").write_text("def join():\n    pass\n")
    (tmp_path / "app.py").write_text(
        "import os.path\nimport shop.util\nfrom shop import helper\n\n"
        "def run():\n    helper()\n    shop.util.helper()\n    os.path.join('a')\n"
    )
    graph = graph_of(tmp_path)
    calls = sorted((e.source, e.target) for e in graph.edges if e.kind == "calls")
    # `shop` is the tree itself; `os` is not, though the tree has a path.py.
    assert calls == [("app.py::run", "<external>::os.path.join"), ("app.py::run", "util.py::helper")]
    imports = sorted((e.source, e.target) for e in graph.edges if e.kind == "imports")
    assert imports == [("__init__.py", "util.py"), ("app.py", "__init__.py"), ("app.py", "util.py")]


def test_a_self_call_reaches_only_the_subclasses_on_which_its_method_runs(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(
        textwrap.dedent(
            """\
            import typing
            from collections import OrderedDict, abc

            class Base(typing.Generic[typing.T]):
                hook = None

                def run(self):
                    self.hook()
                    return self.step()

                def step(self):
                    pass

            class Inherits(Base):
                def step(self):
                    pass

            class Overrides(Base):
                def run(self):
                    return 1

                def step(self):
                    pass

            class Both(OrderedDict, abc.MutableMapping):
                def size(self):
                    return self.count()
            """
        )
    )
    calls = sorted((e.source, e.target) for e in graph_of(tmp_path).edges if e.kind == "calls")
    # Overrides.run replaces Base.run, so Base.run never runs on an Overrides; a marker base
    # (typing.Generic) provides no `hook`; of two bases from other packages, none is guessed.
    assert calls == [
        ("jobs.py::Base.run", "jobs.py::Base.step"),
        ("jobs.py::Base.run", "jobs.py::Inherits.step"),
    ]
