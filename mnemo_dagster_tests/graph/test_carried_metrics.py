"""The carried metrics on arrays of node ids equal those :func:`compute_metrics` carries, on real code."""

from __future__ import annotations

import pytest

from mnemo_dagster.graph import build_graph, compute_metrics
from mnemo_dagster.graph.carried import METRICS, EdgeColumns, MetricTable, carried_metrics
from mnemo_dagster.graph.records import CodeGraph
from mnemo_dagster_tests.graph.test_incremental_graph import PACKAGE, _real_files, _records


def _graph(files: dict[str, str]) -> CodeGraph:
    return build_graph(_records(files))


def test_carried_metrics_on_arrays_equal_the_carried_metrics_of_compute_metrics() -> None:
    files = _real_files()
    before = compute_metrics(_graph(files))
    # A new function calling into another module, and a new module importing two others (a new
    # node without neighbours of its own community, edges that move PageRank and coupling).
    files[f"{PACKAGE}/records.py"] += (
        "\n\ndef added():\n    from mnemo_dagster.graph.building import build_graph\n\n"
        "    return build_graph([])\n"
    )
    files[f"{PACKAGE}/extra.py"] = (
        "from mnemo_dagster.graph import modules, records\n\n\ndef lone():\n    return modules, records\n"
    )
    graph = _graph(files)
    previous = {name: (m.pagerank, m.betweenness, m.community) for name, m in before.nodes.items()}
    expected = compute_metrics(graph, previous=previous)

    ids = {node.qualified_name: i for i, node in enumerate(reversed(graph.nodes))}  # any ids, any order
    stored = [
        (
            ids[name],
            m.pagerank,
            m.in_degree,
            m.out_degree,
            m.betweenness,
            m.community,
            m.afferent,
            m.efferent,
            m.instability,
        )
        for name, m in before.nodes.items()
        if name in ids
    ]
    got = carried_metrics(
        [(ids[n.qualified_name], n.qualified_name, n.kind, n.file_path) for n in graph.nodes],
        EdgeColumns.from_rows([(ids[e.source], ids[e.target], e.kind, e.weight) for e in graph.edges]),
        MetricTable.from_rows(stored),
    )

    assert len(got.rows) == len(expected.nodes) > 100
    for name, m in expected.nodes.items():
        row = got.rows[ids[name]]
        assert row["pagerank"] == pytest.approx(m.pagerank, rel=1e-9, abs=1e-15), name
        assert (row["in_degree"], row["out_degree"], row["betweenness"], row["community"]) == (
            m.in_degree,
            m.out_degree,
            m.betweenness,
            m.community,
        ), name
        assert (row["afferent"], row["efferent"], row["instability"]) == (
            m.afferent,
            m.efferent,
            m.instability,
        )
    assert got.import_cycles == expected.import_cycles
    assert got.community_count == expected.community_count
    assert [name for name, _ in got.top] == [
        m.qualified_name for m in expected.top(10, kinds=("class", "function", "method"))
    ]
    assert got.rows[ids[f"{PACKAGE}/extra.py::lone"]]["community"] is not None


def test_only_rows_that_moved_are_written_again() -> None:
    graph = _graph(_real_files())
    ids = {node.qualified_name: i for i, node in enumerate(graph.nodes)}
    nodes = [(ids[n.qualified_name], n.qualified_name, n.kind, n.file_path) for n in graph.nodes]
    edges = EdgeColumns.from_rows([(ids[e.source], ids[e.target], e.kind, e.weight) for e in graph.edges])
    first = carried_metrics(nodes, edges, MetricTable.from_rows([]))
    assert len(first.moved(MetricTable.from_rows([]), 1e-9)) == len(first.ids) > 100  # nothing stored yet

    rows = [[row[name] for name in ("node_id", *METRICS)] for row in first.rows.values()]
    stored = MetricTable.from_rows(rows)
    again = carried_metrics(nodes, edges, stored)
    assert again.moved(stored, 1e-9) == []  # PageRank warm-started from itself moves by less than 1e-9

    col = {name: i + 1 for i, name in enumerate(METRICS)}
    modules = [row for row in rows if row[col["afferent"]] is not None]
    others = [row for row in rows if row[col["afferent"]] is None]
    modules[0][col["afferent"]] += 1  # a count that differs at all
    others[0][col["pagerank"]] += 1e-6  # a fraction beyond the tolerance
    others[1][col["pagerank"]] += 1e-12  # one within it
    gone = others[2][0]
    stored = MetricTable.from_rows([row for row in rows if row[0] != gone])  # a node with no stored row
    moved = {row["node_id"]: row for row in again.moved(stored, 1e-9)}
    assert set(moved) == {modules[0][0], others[0][0], gone}
    assert all(moved[node] == again.rows[node] for node in moved)  # the new values, whole


def test_a_node_added_rewrites_every_pagerank_so_they_still_sum_to_one() -> None:
    files = _real_files()
    graph = _graph(files)
    ids = {node.qualified_name: i for i, node in enumerate(graph.nodes)}
    nodes = [(ids[n.qualified_name], n.qualified_name, n.kind, n.file_path) for n in graph.nodes]
    edges = EdgeColumns.from_rows([(ids[e.source], ids[e.target], e.kind, e.weight) for e in graph.edges])
    first = carried_metrics(nodes, edges, MetricTable.from_rows([]))
    stored = MetricTable.from_rows(
        [[row[name] for name in ("node_id", *METRICS)] for row in first.rows.values()]
    )
    assert carried_metrics(nodes, edges, stored).drifted_pagerank(stored, 1e-9, 1e-8) is None  # nothing moved

    # A new node with no edges: every other value shrinks by about 1/n of itself, each by less than the
    # tolerance (on this small graph 1e-4 stands for what 1e-9 is on Django's 45k nodes).
    lone = len(ids)
    grown = carried_metrics(
        [*nodes, (lone, f"{PACKAGE}/records.py::lone", "function", nodes[0][3])], edges, stored
    )
    moved = {row["node_id"]: row["pagerank"] for row in grown.moved(stored, 1e-4)}
    kept = {int(i): v for i, v in zip(stored.ids, stored.values[:, 0], strict=True) if int(i) not in moved}
    assert abs(sum(moved.values()) + sum(kept.values()) - 1.0) > 1e-8  # the moved rows alone leave it off

    assert lone in moved and len(moved) < len(nodes) // 2
    rewritten = grown.drifted_pagerank(stored, 1e-4, 1e-8)
    assert rewritten is not None
    assert rewritten[1].sum() == pytest.approx(1.0, abs=1e-12)
    assert dict(zip(rewritten[0].tolist(), rewritten[1].tolist(), strict=True)) == {
        int(i): row["pagerank"] for i, row in grown.rows.items()
    }
