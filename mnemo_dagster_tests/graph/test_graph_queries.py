"""Graph questions against a real store: a hand-built graph whose every answer is known, and a real
index of ``fixtures/graph_repo`` built by a pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.store import graph_queries as gq
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import graph_nodes
from mnemo_dagster.wiring import Wiring

GRAPH_REPO = Path(__file__).parents[1] / "fixtures" / "graph_repo"

SYMBOLS = {
    "a.py::Orders": "class",
    "a.py::Orders.submit": "method",
    "a.py::helper": "function",
    "b.py::Orders": "class",
    "b.py::Orders.submit": "method",
    "b.py::load_data": "function",
    "c.py::run": "function",
    "d.py::finish": "function",
}
CALLS = [
    ("a.py::helper", "a.py::Orders.submit", 2),
    ("c.py::run", "a.py::helper", 1),
    ("c.py::run", "b.py::Orders.submit", 1),
    ("c.py::run", "c.py::run", 1),  # recursion
    ("a.py::Orders.submit", "d.py::finish", 1),
    ("b.py::Orders.submit", "d.py::finish", 1),
]
IMPORTS = [
    ("a.py", "b.py"),
    ("b.py", "a.py"),  # a 2-cycle
    ("c.py", "d.py"),
    ("d.py", "e.py::later"),  # an import of a symbol counts as one of its module
    ("e.py", "c.py"),  # c -> d -> e -> c: a 3-cycle
    ("c.py", "a.py"),  # into the 2-cycle, not part of it
]
PAGERANK = {"a.py::Orders.submit": 0.3, "d.py::finish": 0.25, "a.py::helper": 0.1, "b.py::Orders.submit": 0.1}


def _node(qualified_name: str, kind: str) -> dict[str, object]:
    path, _, dotted = qualified_name.partition("::")
    return {
        "qualified_name": qualified_name,
        "name": dotted.rpartition(".")[2] if dotted else path,
        "kind": kind,
        "file_path": path,
        "start_line": 1,
        "end_line": 9,
        "language": "python",
    }


def _store_graph(
    store: IndexStore,
    repository: str,
    symbols: dict[str, str],
    edges: list[tuple[str, str, str, int]],
    ranks: dict[str, float],
) -> None:
    """Store a graph: a module per file, each containing its symbols, plus ``edges``; metrics too."""
    modules = sorted({qn.partition("::")[0] for qn in symbols})
    nodes = [_node(m, "module") for m in modules] + [_node(qn, kind) for qn, kind in symbols.items()]
    contains = [(qn.partition("::")[0], qn, "contains", 1) for qn in symbols]
    store.files.register(repository, f"/src/{repository}")
    store.graph.replace(repository, nodes, contains + edges, {})
    with store.begin() as conn:
        ids = dict(
            conn.execute(
                sa.select(graph_nodes.c.qualified_name, graph_nodes.c.id).where(
                    graph_nodes.c.repository == repository
                )
            ).all()
        )
    metrics = {"in_degree": 1, "out_degree": 2, "betweenness": 0.5}
    rows = [
        {"node_id": ids[n["qualified_name"]], "pagerank": ranks.get(n["qualified_name"], 0.01), **metrics}
        for n in nodes
    ]
    store.graph.replace_metrics(repository, rows, {})


@pytest.fixture
def store(fresh_store: IndexStore) -> IndexStore:
    edges = [(s, t, "calls", w) for s, t, w in CALLS] + [(s, t, "imports", 1) for s, t in IMPORTS]
    _store_graph(fresh_store, "shop", {**SYMBOLS, "e.py::later": "function"}, edges, PAGERANK)
    _store_graph(fresh_store, "lib", {"lib.py::run": "function"}, [], {"lib.py::run": 0.5})
    return fresh_store


def _names(links: tuple[gq.Link, ...]) -> list[tuple[str, str, int]]:
    return [(link.symbol.qualified_name, link.kind, link.weight) for link in links]


# -- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "repository", "expected"),
    [
        ("a.py::Orders.submit", None, "a.py::Orders.submit"),  # qualified
        ("helper", None, "a.py::helper"),  # unique bare name
        ("  helper ", None, "a.py::helper"),
        ("d.py", None, "d.py"),  # a module by its path
        ("run", "shop", "c.py::run"),  # unique within the repository
        ("load_data", None, "b.py::load_data"),
    ],
)
def test_a_name_resolves_to_one_symbol(
    store: IndexStore, name: str, repository: str | None, expected: str
) -> None:
    assert gq.resolve(store, name, repository).qualified_name == expected


def test_an_ambiguous_name_lists_its_candidates(store: IndexStore) -> None:
    with pytest.raises(gq.AmbiguousNameError) as raised:
        gq.resolve(store, "Orders.submit")
    assert str(raised.value) == (
        "'Orders.submit' is ambiguous: 2 symbols match; give a qualified name or a repository:\n"
        "  a.py::Orders.submit (method, shop)\n"
        "  b.py::Orders.submit (method, shop)"
    )
    with pytest.raises(gq.AmbiguousNameError) as across:
        gq.resolve(store, "run")  # one in each repository
    assert [c.label for c in across.value.candidates] == [
        "c.py::run (function, shop)",
        "lib.py::run (function, lib)",
    ]


@pytest.mark.parametrize(
    ("name", "repository", "error", "message"),
    [
        ("fin", None, gq.SymbolNotFoundError, "no symbol named 'fin'; did you mean: d.py::finish"),
        ("nothing", "lib", gq.SymbolNotFoundError, "no symbol named 'nothing' in 'lib'"),
        # LIKE wildcards and SQL are data: '%' and '_' match only themselves, nothing is executed
        ("%", None, gq.SymbolNotFoundError, "no symbol named '%'"),
        ("load_dat_", None, gq.SymbolNotFoundError, "no symbol named 'load_dat_'"),
        (
            "x'; DROP TABLE graph_nodes; --",
            None,
            gq.SymbolNotFoundError,
            'no symbol named "x\'; DROP TABLE graph_nodes; --"',
        ),
        ("", None, gq.GraphQueryError, "an empty symbol name matches nothing; give one"),
        ("   ", None, gq.GraphQueryError, "an empty symbol name matches nothing; give one"),
        (
            "a\x00b",
            None,
            gq.GraphQueryError,
            "symbol name 'a\\x00b' cannot be in the index: it is over 1000 characters or holds a NUL",
        ),
        ("helper", "nope", gq.UnknownRepositoryError, "no repository named 'nope'; known: lib, shop"),
        ("helper", "", gq.GraphQueryError, "an empty repository name matches nothing; give one"),
    ],
)
def test_bad_names_get_a_clear_error(
    store: IndexStore, name: str, repository: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        gq.resolve(store, name, repository)
    assert str(raised.value) == message
    assert gq.resolve(store, "d.py::finish").kind == "function"  # the table is still there


def test_an_empty_index_says_to_index_first(empty_store: IndexStore) -> None:
    with pytest.raises(gq.GraphQueryError, match=r"nothing is indexed yet; run `mnemo index PATH` first"):
        gq.callers(empty_store, "x")


# -- callers, callees, top, cycles -------------------------------------------------------------------


def test_callers_and_callees(store: IndexStore) -> None:
    finish = gq.callers(store, "finish")
    assert finish.subject.qualified_name == "d.py::finish" and finish.direction == "callers"
    assert _names(finish.links) == [("a.py::Orders.submit", "calls", 1), ("b.py::Orders.submit", "calls", 1)]
    assert _names(gq.callees(store, "c.py::run").links) == [
        ("a.py::helper", "calls", 1),
        ("b.py::Orders.submit", "calls", 1),
        ("c.py::run", "calls", 1),
    ]
    assert _names(gq.callers(store, "a.py::Orders.submit").links) == [("a.py::helper", "calls", 2)]
    assert gq.callers(store, "c.py").links == ()  # a module is imported, not called
    assert _names(gq.callers(store, "c.py", kinds=["imports"]).links) == [("e.py", "imports", 1)]
    assert gq.callees(store, "b.py", kinds=["contains", "imports"]).as_dict()["callees"][0] == {
        "repository": "shop",
        "qualified_name": "a.py",
        "kind": "module",
        "file_path": "a.py",
        "start_line": 1,
        "end_line": 9,
        "edge": "imports",
        "weight": 1,
    }
    with pytest.raises(gq.GraphQueryError, match=r"unknown edge kind.*'calls;'.*choose from calls, imports"):
        gq.callers(store, "finish", kinds=["calls;"])


def test_top_ranks_by_pagerank_with_kind_repository_and_limit(store: IndexStore) -> None:
    ranked = gq.top(store, limit=3)
    assert [(r.symbol.qualified_name, r.pagerank) for r in ranked] == [
        ("lib.py::run", 0.5),
        ("a.py::Orders.submit", 0.3),
        ("d.py::finish", 0.25),
    ]
    assert [r.symbol.qualified_name for r in gq.top(store, "shop", "function", 2)] == [
        "d.py::finish",
        "a.py::helper",
    ]
    assert {r.symbol.kind for r in gq.top(store, "shop", "module", 50)} == {"module"}
    assert len(gq.top(store, "shop", "module", 50)) == 5
    assert "module" not in {r.symbol.kind for r in gq.top(store, limit=50)}
    with pytest.raises(
        gq.GraphQueryError, match="no symbols of kind 'klass'; kinds: class, function, method, module"
    ):
        gq.top(store, kind="klass")
    with pytest.raises(gq.GraphQueryError, match="limit must be at least 1, not 0"):
        gq.top(store, limit=0)


def test_cycles_lift_imports_to_modules(store: IndexStore) -> None:
    assert [c.as_dict() for c in gq.cycles(store)] == [
        {"repository": "shop", "modules": ["c.py", "d.py", "e.py"]},
        {"repository": "shop", "modules": ["a.py", "b.py"]},
    ]
    assert gq.cycles(store, "lib") == []


# -- paths -------------------------------------------------------------------------------------------


def _steps(answer: gq.GraphPath) -> list[tuple[str, str | None]]:
    return [(step.symbol.qualified_name, step.via) for step in answer.steps]


def test_path_is_the_shortest_along_the_kinds_asked_for(store: IndexStore) -> None:
    # run -> helper -> a.Orders.submit -> finish is longer than run -> b.Orders.submit -> finish
    assert _steps(gq.path(store, "c.py::run", "finish")) == [
        ("c.py::run", None),
        ("b.py::Orders.submit", "calls"),
        ("d.py::finish", "calls"),
    ]
    assert _steps(gq.path(store, "e.py", "b.py")) == [
        ("e.py", None),
        ("c.py", "imports"),
        ("a.py", "imports"),
        ("b.py", "imports"),
    ]
    contains = gq.path(store, "c.py", "finish", kinds=["imports", "contains"])
    assert _steps(contains) == [("c.py", None), ("d.py", "imports"), ("d.py::finish", "contains")]
    assert _steps(gq.path(store, "helper", "helper")) == [("a.py::helper", None)]
    against = gq.path(store, "finish", "c.py::run")  # edges are followed in their direction only
    assert against.found is False and against.steps == ()
    assert against.as_dict()["kinds"] == ["calls", "imports"]


def test_a_path_stays_in_one_repository(store: IndexStore) -> None:
    with pytest.raises(gq.GraphQueryError, match="a path stays in one repository"):
        gq.path(store, "lib.py::run", "finish")


# -- a real index ------------------------------------------------------------------------------------


def test_questions_about_a_real_index(fresh_wiring: Wiring) -> None:
    summary = run_pass(fresh_wiring, GRAPH_REPO, InProcessRunner(fresh_wiring), name="graphs")
    assert summary.ok
    store = fresh_wiring.store
    assert _names(gq.callers(store, "validate").links) == [
        ("app/billing.py::charge", "calls", 1),
        ("app/orders.py::submit", "calls", 1),
    ]
    assert [link.symbol.qualified_name for link in gq.callees(store, "main").links] == [
        "app/jobs.py::run",
        "app/orders.py::submit",
    ]
    assert _steps(gq.path(store, "main", "audit")) == [
        ("app/main.py::main", None),
        ("app/orders.py::submit", "calls"),
        ("app/billing.py::charge", "calls"),
        ("app/billing.py::audit", "calls"),
    ]
    assert _steps(gq.path(store, "app/main.py", "app/billing.py")) == [
        ("app/main.py", None),
        ("app/orders.py", "imports"),
        ("app/billing.py", "imports"),
    ]
    assert [c.modules for c in gq.cycles(store, "graphs")] == [
        ("plugins/alpha.py", "plugins/beta.py", "plugins/gamma.py"),
        ("app/billing.py", "app/orders.py"),
    ]
    with pytest.raises(gq.AmbiguousNameError) as raised:
        gq.callers(store, "run")
    assert [c.qualified_name for c in raised.value.candidates] == [
        "app/jobs.py::Worker.run",
        "app/jobs.py::run",
    ]
    ranked = gq.top(store, "graphs", limit=100)
    assert [r.pagerank for r in ranked] == sorted((r.pagerank for r in ranked), reverse=True)
    assert {r.symbol.kind for r in ranked} == {"class", "function", "method"}
