"""Build the repository's symbol graph from per-file definitions and references, and measure it.

Pure logic: nothing here imports dagster or talks to the database.

**Nodes** are modules (one per file, qualified name = the file's path relative to the repository root)
and the definitions found in them (``<path>::<dotted symbol path>``, e.g.
``src/app/user.ts::UserService.validate``). **Edges** have one of four kinds:

- ``contains``: module -> top-level symbols, class -> methods, function -> nested functions (by the
  dotted path; a symbol whose parent path is not defined hangs off its nearest defined ancestor).
- ``imports``: module -> module, for the module specifiers that name a file of the repository.
- ``calls``: enclosing symbol (or module for module-level code) -> definition; calling a class
  reaches the class and (with flow facts) its ``__init__``/``constructor``.
- ``inherits``: class -> base class, resolved like calls but only onto class-like definitions.

The modules of this package:

- :mod:`.records`: the input (:class:`FileSymbols`) and output (:class:`CodeGraph`) records;
- :mod:`.modules`: module specifier -> file, per language family (what an ``imports`` edge needs);
- :mod:`.resolution`: import bindings and the order in which call and base-class names resolve;
- :mod:`.facts`, :mod:`.pyfacts`, :mod:`.pyflow`, :mod:`.pylink`, :mod:`.jsflow`: the flow analysis
  that resolves calls of files indexed with flow facts (what a name holds, the receiver of a call),
  never by a name match elsewhere in the repository;
- :mod:`.pynames`: the external names and repository-wide tables of the Python linker;
- :mod:`.memo`: memoized resolution whose answers do not depend on the order of questions, and that
  records what each read;
- :mod:`.building`: :func:`build_graph`, which collapses repeated references into weighted edges and
  keeps external imports out of the graph;
- :mod:`.incremental`: the graph refreshed by what changed (the files a change reaches), equal to a
  full build;
- :mod:`.metrics`: :func:`compute_metrics` (PageRank, betweenness, coupling, cycles, communities);
  :mod:`.carried`: the same with the costly ones carried, on arrays of node ids.
"""

from __future__ import annotations

from mnemo_dagster.graph.building import build_graph
from mnemo_dagster.graph.metrics import GraphMetrics, NodeMetrics, compute_metrics
from mnemo_dagster.graph.records import (
    DEPENDENCY_KINDS,
    CodeGraph,
    EdgeKind,
    FileSymbols,
    GraphEdge,
    GraphNode,
    NodeKind,
    ResolutionStats,
)

__all__ = [
    "DEPENDENCY_KINDS",
    "CodeGraph",
    "EdgeKind",
    "FileSymbols",
    "GraphEdge",
    "GraphMetrics",
    "GraphNode",
    "NodeKind",
    "NodeMetrics",
    "ResolutionStats",
    "build_graph",
    "compute_metrics",
]
