"""The symbol graph: nodes, edge resolution across files, and metrics, on hand-written records."""

from __future__ import annotations

import random

import pytest

from mnemo_dagster.graph import (
    CodeGraph,
    FileSymbols,
    GraphEdge,
    GraphMetrics,
    build_graph,
    compute_metrics,
)
from mnemo_dagster.models import Reference, Symbol, SymbolKind


def sym(path: str, kind: SymbolKind, start: int, end: int) -> Symbol:
    return Symbol(name=path.rpartition(".")[2], path=path, kind=kind, start_line=start, end_line=end)


def call(name: str, source: str, line: int) -> Reference:
    return Reference(kind="calls", name=name, source=source, line=line)


def imp(module: str, name: str, line: int, alias: str | None = None) -> Reference:
    return Reference(kind="imports", name=name, source="", line=line, module=module, alias=alias)


def base(name: str, source: str, line: int) -> Reference:
    return Reference(kind="inherits", name=name, source=source, line=line)


def python_package() -> list[FileSymbols]:
    """A small package: a re-export, a class hierarchy, a service <-> util import cycle."""
    return [
        FileSymbols("app/__init__.py", "python", (), (imp(".models", "User", 1),)),
        FileSymbols(
            "app/models.py",
            "python",
            (
                sym("Base", "class", 4, 6),
                sym("Base.save", "method", 5, 6),
                sym("User", "class", 9, 18),
                sym("User.__init__", "method", 10, 12),
                sym("User.validate", "method", 14, 15),
                sym("User.activate", "method", 17, 18),
                sym("make_user", "function", 21, 22),
            ),
            (
                imp("dataclasses", "dataclasses", 1),
                base("Base", "User", 9),
                call("validate", "User.__init__", 11),  # self.validate()
                call("User", "make_user", 22),
            ),
        ),
        FileSymbols(
            "app/service.py",
            "python",
            (
                sym("UserService", "class", 6, 20),
                sym("UserService.create", "method", 7, 13),
                sym("UserService.validate", "method", 15, 17),
            ),
            (
                imp(".models", "User", 1),
                imp(".", "util", 2),  # from . import util: a submodule
                imp("requests", "requests", 3),
                call("User", "UserService.create", 8),
                call("validate", "UserService.create", 9),  # self.validate(): this class, not User's
                call("slugify", "UserService.create", 10),  # util.slugify()
                call("activate", "UserService.create", 11),  # user.activate(): unique in the repo
                call("get", "UserService.create", 12),  # requests.get(): external
            ),
        ),
        FileSymbols(
            "app/util.py",
            "python",
            (sym("slugify", "function", 3, 4), sym("helper", "function", 7, 10)),
            (
                imp("app.service", "UserService", 1),  # absolute, closes the cycle with service
                call("slugify", "helper", 8),
                call("UserService", "helper", 9),
                call("run", "helper", 10),  # two definitions named run: ambiguous
                call("slugify", "", 12),
                call("slugify", "", 13),
            ),
        ),
        FileSymbols(
            "app/jobs.py",
            "python",
            (
                sym("JobA", "class", 1, 3),
                sym("JobA.run", "method", 2, 3),
                sym("JobB", "class", 5, 7),
                sym("JobB.run", "method", 6, 7),
            ),
            (),
        ),
        FileSymbols(
            "app/admin.py",
            "python",
            (sym("Admin", "class", 3, 6), sym("Admin.save", "method", 5, 6)),
            (
                imp("app", "User", 1),  # through the package's re-export
                base("User", "", 3),  # an extractor that names the scope around the class
                call("save", "Admin.save", 6),  # super().save(): not recursion
            ),
        ),
    ]


def ts_project() -> list[FileSymbols]:
    return [
        FileSymbols(
            "src/db.ts",
            "typescript",
            (sym("connect", "function", 1, 3), sym("Db", "class", 5, 9), sym("Db.query", "method", 6, 8)),
            (),
        ),
        FileSymbols("src/lib/index.ts", "typescript", (sym("format", "function", 1, 3),), ()),
        FileSymbols("src/helpers.ts", "typescript", (sym("trim", "function", 1, 1),), ()),
        FileSymbols(
            "src/user.ts",
            "typescript",
            (
                sym("UserService", "class", 6, 20),
                sym("UserService.validate", "method", 7, 9),
                sym("UserService.save", "method", 11, 19),
            ),
            (
                imp("./db", "connect", 1),
                imp("./lib", "format", 2),  # a directory with index.ts
                imp("./helpers.js", "trim", 3, alias="t"),  # ESM spelling of helpers.ts
                imp("lodash", "debounce", 4),
                call("validate", "UserService.save", 12),
                call("connect", "UserService.save", 13),
                call("query", "UserService.save", 14),
                call("format", "UserService.save", 15),
                call("t", "UserService.save", 16),
                call("debounce", "UserService.save", 17),
            ),
        ),
        FileSymbols(
            "src/index.ts",
            "typescript",
            (),
            (
                imp("./user", "UserService", 1),
                imp("./db", "*", 2, alias="db"),
                imp("./db", "default", 3, alias="Db"),
                imp("react", "default", 4, alias="React"),
                call("UserService", "", 6),
                call("connect", "", 7),  # db.connect()
                call("Db", "", 8),
            ),
        ),
    ]


def edges_of(graph: CodeGraph, kind: str) -> dict[tuple[str, str], GraphEdge]:
    return {(e.source, e.target): e for e in graph.edges if e.kind == kind}


@pytest.fixture(scope="module")
def py_graph() -> CodeGraph:
    return build_graph(python_package())


@pytest.fixture(scope="module")
def py_metrics(py_graph: CodeGraph) -> GraphMetrics:
    return compute_metrics(py_graph)


# -- nodes and containment ---------------------------------------------------------------------------


def test_nodes_are_modules_and_definitions_with_qualified_names(py_graph: CodeGraph) -> None:
    names = [n.qualified_name for n in py_graph.nodes]
    assert names == sorted(names)
    assert len(names) == 6 + 7 + 3 + 2 + 4 + 2
    assert py_graph.node("app/models.py::User.validate") is not None
    user = py_graph.node("app/models.py::User")
    assert user is not None
    assert (user.name, user.kind, user.file_path, user.start_line, user.end_line) == (
        "User",
        "class",
        "app/models.py",
        9,
        18,
    )
    service = py_graph.node("app/service.py")
    assert service is not None
    assert (service.kind, service.name, service.start_line, service.end_line) == (
        "module",
        "service.py",
        1,
        20,
    )
    init = py_graph.node("app/__init__.py")
    assert init is not None and (init.start_line, init.end_line) == (1, 1)
    assert py_graph.node("app/models.py::Nope") is None


def test_contains_follows_the_dotted_path(py_graph: CodeGraph) -> None:
    contains = set(edges_of(py_graph, "contains"))
    assert {t for s, t in contains if s == "app/models.py"} == {
        "app/models.py::Base",
        "app/models.py::User",
        "app/models.py::make_user",
    }
    assert {t for s, t in contains if s == "app/models.py::User"} == {
        "app/models.py::User.__init__",
        "app/models.py::User.validate",
        "app/models.py::User.activate",
    }
    assert len(contains) == 7 + 3 + 2 + 4 + 2


def test_nested_symbols_hang_off_their_nearest_defined_ancestor() -> None:
    graph = build_graph(
        [
            FileSymbols(
                "m.py",
                "python",
                (
                    sym("outer", "function", 1, 9),
                    sym("outer.inner", "function", 2, 5),
                    sym("outer.Local.method", "method", 6, 8),  # Local itself was not reported
                ),
                (),
            )
        ]
    )
    assert set(edges_of(graph, "contains")) == {
        ("m.py", "m.py::outer"),
        ("m.py::outer", "m.py::outer.inner"),
        ("m.py::outer", "m.py::outer.Local.method"),
    }


# -- imports -----------------------------------------------------------------------------------------


def test_python_imports_resolve_relative_absolute_and_submodules(py_graph: CodeGraph) -> None:
    imports = edges_of(py_graph, "imports")
    assert set(imports) == {
        ("app/__init__.py", "app/models.py"),  # from .models import User
        ("app/admin.py", "app/__init__.py"),  # from app import User
        ("app/service.py", "app/models.py"),
        ("app/service.py", "app/util.py"),  # from . import util
        ("app/util.py", "app/service.py"),  # from app.service import UserService
    }
    assert imports[("app/service.py", "app/util.py")].line == 2
    assert py_graph.external_imports == {
        "app/models.py": ("dataclasses",),
        "app/service.py": ("requests",),
    }


def test_python_imports_under_a_source_root_and_by_suffix() -> None:
    files = [
        FileSymbols("src/pkg/__init__.py", "python", (), ()),
        FileSymbols("src/pkg/core/engine.py", "python", (sym("run", "function", 1, 2),), ()),
        FileSymbols("src/pkg/core/__init__.py", "python", (), ()),
        FileSymbols(
            "src/pkg/cli.py",
            "python",
            (sym("main", "function", 5, 6),),
            (
                imp("pkg.core.engine", "pkg.core.engine", 1),  # import pkg.core.engine
                imp("pkg.core", "*", 2),  # from pkg.core import *
                imp("..", "x", 3),  # beyond the package: src/x.py does not exist
                imp("os.path", "join", 4),
                call("run", "main", 6),
            ),
        ),
        FileSymbols("tools/gen.py", "python", (), (imp("core.engine", "core.engine", 1),)),
    ]
    graph = build_graph(files)
    assert set(edges_of(graph, "imports")) == {
        ("src/pkg/cli.py", "src/pkg/core/engine.py"),
        ("src/pkg/cli.py", "src/pkg/core/__init__.py"),
        ("tools/gen.py", "src/pkg/core/engine.py"),  # by suffix
    }
    assert graph.external_imports == {"src/pkg/cli.py": ("..", "os.path")}
    # import pkg.core.engine makes engine a namespace: engine.run() resolves.
    assert set(edges_of(graph, "calls")) == {("src/pkg/cli.py::main", "src/pkg/core/engine.py::run")}
    assert graph.stats.imports_total == 5 and graph.stats.imports_resolved == 3


def test_ts_imports_resolve_extensions_index_files_and_esm_spelling() -> None:
    graph = build_graph(ts_project())
    imports = edges_of(graph, "imports")
    assert set(imports) == {
        ("src/user.ts", "src/db.ts"),
        ("src/user.ts", "src/lib/index.ts"),
        ("src/user.ts", "src/helpers.ts"),
        ("src/index.ts", "src/user.ts"),
        ("src/index.ts", "src/db.ts"),
    }
    both = imports[("src/index.ts", "src/db.ts")]
    assert (both.weight, both.line) == (2, 2)
    assert graph.external_imports == {"src/index.ts": ("react",), "src/user.ts": ("lodash",)}


# -- calls and inheritance ---------------------------------------------------------------------------


def test_python_calls_resolve_by_scope_import_and_unique_name(py_graph: CodeGraph) -> None:
    calls = edges_of(py_graph, "calls")
    assert set(calls) == {
        ("app/models.py::User.__init__", "app/models.py::User.validate"),  # self.validate()
        ("app/models.py::make_user", "app/models.py::User"),
        ("app/service.py::UserService.create", "app/models.py::User"),  # from .models import User
        ("app/service.py::UserService.create", "app/service.py::UserService.validate"),
        ("app/service.py::UserService.create", "app/util.py::slugify"),  # util.slugify()
        ("app/service.py::UserService.create", "app/models.py::User.activate"),  # unique name
        ("app/util.py::helper", "app/util.py::slugify"),
        ("app/util.py::helper", "app/service.py::UserService"),
        ("app/util.py", "app/util.py::slugify"),  # module-level code
        ("app/admin.py::Admin.save", "app/models.py::Base.save"),  # super().save()
    }
    module_level = calls[("app/util.py", "app/util.py::slugify")]
    assert (module_level.weight, module_level.line) == (2, 12)
    assert calls[("app/models.py::make_user", "app/models.py::User")].line == 22


def test_inherits_resolves_through_reexports_and_enclosing_class(py_graph: CodeGraph) -> None:
    assert set(edges_of(py_graph, "inherits")) == {
        ("app/models.py::User", "app/models.py::Base"),
        ("app/admin.py::Admin", "app/models.py::User"),  # from app import User, re-exported
    }


def test_resolution_stats_count_unresolved_and_ambiguous(py_graph: CodeGraph) -> None:
    assert py_graph.stats.as_dict() == {
        "files": 6,
        "calls_total": 13,
        "calls_resolved": 11,  # requests.get() and the ambiguous run() are dropped
        "imports_total": 7,
        "imports_resolved": 5,
        "inherits_total": 2,
        "inherits_resolved": 2,
        "calls_ambiguous": 1,
        "calls_external": 0,
    }


def test_global_fallback_takes_up_to_max_global_candidates() -> None:
    graph = build_graph(python_package(), max_global_candidates=2)
    targets = {t for s, t in edges_of(graph, "calls") if s == "app/util.py::helper"}
    assert targets == {
        "app/util.py::slugify",
        "app/service.py::UserService",
        "app/jobs.py::JobA.run",  # run() has two candidates: both are taken
        "app/jobs.py::JobB.run",
    }
    assert graph.stats.calls_resolved == 12 and graph.stats.calls_ambiguous == 0


def test_ts_calls_resolve_named_aliased_default_and_namespace_imports() -> None:
    graph = build_graph(ts_project())
    assert set(edges_of(graph, "calls")) == {
        ("src/user.ts::UserService.save", "src/user.ts::UserService.validate"),  # this.validate()
        ("src/user.ts::UserService.save", "src/db.ts::connect"),
        ("src/user.ts::UserService.save", "src/db.ts::Db.query"),  # unique in the repository
        ("src/user.ts::UserService.save", "src/lib/index.ts::format"),
        ("src/user.ts::UserService.save", "src/helpers.ts::trim"),  # import { trim as t }
        ("src/index.ts", "src/user.ts::UserService"),
        ("src/index.ts", "src/db.ts::connect"),  # import * as db; db.connect()
        ("src/index.ts", "src/db.ts::Db"),  # import Db from './db'
    }
    assert (graph.stats.calls_total, graph.stats.calls_resolved) == (9, 8)
    assert (graph.stats.imports_total, graph.stats.imports_resolved) == (8, 6)


def test_unique_name_fallback_stays_within_a_language_family() -> None:
    extra = FileSymbols("scripts/query.py", "python", (sym("query", "function", 1, 2),), ())
    graph = build_graph([*ts_project(), extra, *python_package()])
    calls = edges_of(graph, "calls")
    # query() resolves to the one TypeScript definition, as without the Python file named query.
    assert {t for s, t in calls if s == "src/user.ts::UserService.save"} == {
        "src/user.ts::UserService.validate",
        "src/db.ts::connect",
        "src/db.ts::Db.query",
        "src/lib/index.ts::format",
        "src/helpers.ts::trim",
    }
    assert [(s, t) for s, t in calls if t == "scripts/query.py::query"] == []


def test_recursion_of_functions_is_kept_and_bases_never_point_at_themselves() -> None:
    graph = build_graph(
        [
            FileSymbols(
                "a.py",
                "python",
                (sym("walk", "function", 1, 3), sym("Node", "class", 5, 6), sym("fn", "function", 8, 9)),
                (call("walk", "walk", 2), base("Node", "Node", 5), base("fn", "Node", 5)),
            )
        ]
    )
    assert set(edges_of(graph, "calls")) == {("a.py::walk", "a.py::walk")}
    assert edges_of(graph, "inherits") == {}
    assert graph.stats.inherits_resolved == 0


def test_output_is_deterministic_regardless_of_input_order() -> None:
    files = python_package() + ts_project()
    first = build_graph(files)
    rng = random.Random(7)
    shuffled = []
    for f in files:
        refs = list(f.references)
        rng.shuffle(refs)
        shuffled.append(FileSymbols(f.path, f.language, f.symbols, tuple(refs)))
    rng.shuffle(shuffled)
    second = build_graph(shuffled)
    assert first.nodes == second.nodes
    assert first.edges == second.edges == sorted(second.edges)
    assert first.nodes == sorted(second.nodes)
    assert first.stats == second.stats
    assert compute_metrics(first) == compute_metrics(second)


def test_to_networkx_keeps_kinds_and_weights(py_graph: CodeGraph) -> None:
    g = py_graph.to_networkx()
    assert g.number_of_nodes() == len(py_graph.nodes)
    assert g.number_of_edges() == len(py_graph.edges)
    assert g.nodes["app/models.py::User"]["kind"] == "class"
    data = g.get_edge_data("app/util.py", "app/util.py::slugify")
    assert data == {
        "contains": {"kind": "contains", "weight": 1, "line": None},
        "calls": {"kind": "calls", "weight": 2, "line": 12},
    }


# -- metrics -----------------------------------------------------------------------------------------


def test_pagerank_ranks_the_most_called_function_first(py_metrics: GraphMetrics) -> None:
    top = py_metrics.top(3, kinds={"function", "method"})
    assert top[0].qualified_name == "app/util.py::slugify"
    assert sum(m.pagerank for m in py_metrics.nodes.values()) == pytest.approx(1.0)
    isolated = py_metrics.nodes["app/jobs.py::JobA.run"]
    assert 0 < isolated.pagerank < top[0].pagerank
    assert len(py_metrics.top(5)) == 5
    overall = [m.pagerank for m in py_metrics.top(len(py_metrics.nodes))]
    assert overall == sorted(overall, reverse=True)


def test_degrees_count_distinct_dependency_edges(py_metrics: GraphMetrics) -> None:
    slugify = py_metrics.nodes["app/util.py::slugify"]
    assert (slugify.in_degree, slugify.out_degree) == (3, 0)
    create = py_metrics.nodes["app/service.py::UserService.create"]
    assert (create.in_degree, create.out_degree) == (0, 4)
    models = py_metrics.nodes["app/models.py"]
    assert (models.in_degree, models.out_degree) == (2, 0)  # contains edges do not count
    # make_user and UserService.create call it, Admin inherits it; imports stay module -> module.
    assert py_metrics.nodes["app/models.py::User"].in_degree == 3


def test_module_coupling_and_instability(py_metrics: GraphMetrics) -> None:
    coupling = {
        name: (m.afferent, m.efferent, m.instability)
        for name, m in py_metrics.nodes.items()
        if m.kind == "module"
    }
    assert coupling == {
        "app/__init__.py": (1, 1, 0.5),
        "app/admin.py": (0, 2, 1.0),
        "app/jobs.py": (0, 0, 0.0),
        "app/models.py": (3, 0, 0.0),
        "app/service.py": (1, 2, pytest.approx(2 / 3)),
        "app/util.py": (1, 1, 0.5),
    }
    symbol = py_metrics.nodes["app/util.py::slugify"]
    assert (symbol.afferent, symbol.efferent, symbol.instability) == (None, None, None)


def test_import_cycles_are_reported_sorted(py_metrics: GraphMetrics) -> None:
    assert py_metrics.import_cycles == [["app/service.py", "app/util.py"]]
    assert py_metrics.import_cycle_count == 1


def test_import_cycles_are_capped() -> None:
    files = []
    for i in range(5):
        a, b = f"p{i}/a.py", f"p{i}/b.py"
        files.append(FileSymbols(a, "python", (), (imp(f"p{i}.b", "*", 1),)))
        files.append(FileSymbols(b, "python", (), (imp(f"p{i}.a", "*", 1),)))
    metrics = compute_metrics(build_graph(files), max_cycles=2)
    assert metrics.import_cycle_count == 5
    assert metrics.import_cycles == [["p0/a.py", "p0/b.py"], ["p1/a.py", "p1/b.py"]]


def test_betweenness_is_exact_on_small_graphs(py_metrics: GraphMetrics) -> None:
    assert py_metrics.betweenness_sampled is False
    assert py_metrics.nodes["app/jobs.py::JobA.run"].betweenness == 0.0
    # One shortest path passes through each module of the import cycle, and only one:
    # util.py -> service.py -> models.py, and service.py -> util.py -> util.py::slugify. Normalized
    # by the (n - 1)(n - 2) = 23 * 22 = 506 ordered pairs that exclude the node, each scores 1 / 506.
    assert len(py_metrics.nodes) == 24
    assert py_metrics.nodes["app/service.py"].betweenness == pytest.approx(1 / 506)
    assert py_metrics.nodes["app/util.py"].betweenness == pytest.approx(1 / 506)
    assert py_metrics.nodes["app/models.py"].betweenness == 0.0  # a sink


def test_communities_group_each_class_with_its_methods(py_metrics: GraphMetrics) -> None:
    community = {name: m.community for name, m in py_metrics.nodes.items()}
    assert community["app/jobs.py::JobA"] == community["app/jobs.py::JobA.run"]
    assert community["app/models.py::User"] == community["app/models.py::User.validate"]
    assert community["app/jobs.py::JobA"] != community["app/util.py::slugify"]
    assert py_metrics.community_level == "symbol"
    assert py_metrics.community_count == len(set(community.values()))
    assert min(community.values()) == 0
    no_communities = compute_metrics(build_graph(python_package()), communities=False)
    assert {m.community for m in no_communities.nodes.values()} == {None}
    assert (no_communities.community_count, no_communities.community_level) == (0, None)


def test_large_graph_samples_betweenness_deterministically() -> None:
    files = []
    for i in range(600):
        nxt = (i + 1) % 600
        symbols = tuple(sym(f"f{i}_{j}", "function", j * 3 + 1, j * 3 + 2) for j in range(4))
        calls = (call(f"f{nxt}_{j}", f"f{i}_{j}", j * 3 + 2) for j in range(4))
        refs = (imp(f"./m{nxt}", "*", 1), *calls)
        files.append(FileSymbols(f"m{i}.ts", "typescript", symbols, refs))
    graph = build_graph(files)
    assert len(graph.nodes) == 3000
    assert graph.stats.calls_resolved == graph.stats.calls_total == 2400
    first = compute_metrics(graph, betweenness_sample=16, seed=3)
    second = compute_metrics(graph, betweenness_sample=16, seed=3)
    assert first.betweenness_sampled is True
    assert first == second
    assert first.import_cycle_count == 1 and len(first.import_cycles[0]) == 600
    # Five rings of 600 (the modules and four call chains). A node of a ring scores 0 only if every
    # sampled source in its ring is the node itself or its successor; seed 3 puts two to five
    # sources, none adjacent, in every ring, so every node lies on a sampled shortest path.
    assert sum(1 for m in first.nodes.values() if m.betweenness > 0) == 3000


def test_communities_fall_back_to_modules_on_large_graphs() -> None:
    metrics = compute_metrics(build_graph(python_package()), symbol_community_limit=10)
    assert metrics.community_level == "module"
    community = {name: m.community for name, m in metrics.nodes.items()}
    for name, cid in community.items():
        assert cid == community[name.partition("::")[0]]  # each symbol sits with its module
    assert community["app/jobs.py"] != community["app/models.py"]


def test_recursion_counts_in_no_metric() -> None:
    graph = build_graph(
        [FileSymbols("a.py", "python", (sym("walk", "function", 1, 3),), (call("walk", "walk", 2),))]
    )
    walk = compute_metrics(graph).nodes["a.py::walk"]
    assert (walk.in_degree, walk.out_degree, walk.betweenness) == (0, 0, 0.0)
    assert walk.pagerank == pytest.approx(0.5)


def test_an_empty_repository_has_an_empty_graph() -> None:
    graph = build_graph([])
    assert (graph.nodes, graph.edges, graph.stats.files) == ([], [], 0)
    metrics = compute_metrics(graph)
    assert (metrics.nodes, metrics.import_cycles, metrics.top(3)) == ({}, [], [])
