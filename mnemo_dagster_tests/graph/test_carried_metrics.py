"""The carried metrics on arrays of node ids equal those :func:`compute_metrics` carries, on real code."""

from __future__ import annotations

import pytest

from mnemo_dagster.graph import build_graph, compute_metrics
from mnemo_dagster.graph.carried import carried_metrics
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
    got = carried_metrics(
        [(ids[n.qualified_name], n.qualified_name, n.kind, n.file_path) for n in graph.nodes],
        [(ids[e.source], ids[e.target], e.kind, e.weight) for e in graph.edges],
        {ids[name]: values for name, values in previous.items() if name in ids},
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
