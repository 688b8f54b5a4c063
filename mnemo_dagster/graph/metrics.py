"""Measure a code graph: centrality, module coupling, import cycles and communities."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mnemo_dagster.graph.records import (
    DEPENDENCY_KINDS,
    OUTSIDE_KINDS,
    CodeGraph,
    GraphEdge,
    GraphNode,
    NodeKind,
)

CommunityLevel = Literal["symbol", "module"]


@dataclass(frozen=True, slots=True)
class NodeMetrics:
    """Centrality and coupling of one node. Degrees and PageRank ignore ``contains`` edges."""

    qualified_name: str
    kind: NodeKind
    pagerank: float
    in_degree: int
    """Distinct incoming imports/calls/inherits edges (not their weights)."""
    out_degree: int
    """Distinct outgoing imports/calls/inherits edges (not their weights)."""
    betweenness: float
    """Normalized; exact on small graphs, estimated from a seeded sample of sources on large ones."""
    community: int | None
    """Community id (0 = the largest community), or None when communities were not computed."""
    afferent: int | None = None
    """Modules only: how many other modules depend on this one (Ca)."""
    efferent: int | None = None
    """Modules only: how many other modules this one depends on (Ce)."""
    instability: float | None = None
    """Modules only: Ce / (Ca + Ce); 0.0 for a module with no dependencies either way."""


@dataclass(frozen=True, slots=True)
class GraphMetrics:
    """Metrics of a :class:`CodeGraph`: per node, plus import cycles and communities."""

    nodes: dict[str, NodeMetrics]
    """Qualified name -> metrics, for every node, in qualified-name order."""
    import_cycles: list[list[str]]
    """Strongly connected sets (size > 1) of the module import graph, each sorted, largest first;
    at most ``max_cycles`` of them."""
    import_cycle_count: int
    """How many such sets there are in all (may exceed ``len(import_cycles)``)."""
    community_count: int
    community_level: CommunityLevel | None
    """``symbol``: Louvain ran on the whole graph; ``module``: on modules, symbols inherit theirs;
    None: not computed."""
    betweenness_sampled: bool
    """True when betweenness was estimated from ``betweenness_sample`` sources instead of exact."""
    carried: bool = False
    """True when betweenness and communities were carried over from ``previous`` metrics (see
    :func:`compute_metrics`) instead of computed."""

    def top(self, n: int = 10, *, kinds: Iterable[str] | None = None) -> list[NodeMetrics]:
        """The ``n`` nodes with the highest PageRank (ties by qualified name), optionally of some kinds."""
        wanted = None if kinds is None else frozenset(kinds)
        pool = (m for m in self.nodes.values() if wanted is None or m.kind in wanted)
        return sorted(pool, key=lambda m: (-m.pagerank, m.qualified_name))[:n]


def compute_metrics(
    graph: CodeGraph,
    *,
    betweenness_sample: int = 64,
    seed: int = 0,
    exact_betweenness_limit: int = 2000,
    communities: bool = True,
    symbol_community_limit: int = 20_000,
    max_cycles: int = 100,
    previous: Mapping[str, Previous] | None = None,
) -> GraphMetrics:
    """Measure a graph: PageRank, degrees, betweenness, module coupling, import cycles, communities.

    - PageRank runs on the imports/calls/inherits edges, weighted by their counts; every node gets
      a value, nodes without edges included.
    - Betweenness is exact while the nodes that have dependency edges number at most
      ``exact_betweenness_limit``; beyond that it is estimated from ``betweenness_sample`` sources
      drawn with ``seed``. Edge weights are counts, not distances, so it is unweighted.
    - Module coupling lifts every dependency edge to the modules of its two ends: module A depends
      on B when anything in A imports, calls or inherits from anything in B. Ca counts the other
      modules depending on a module, Ce the modules it depends on.
    - Import cycles are the strongly connected sets of the module ``imports`` graph.
    - Communities are Louvain communities (seeded) on the undirected graph of all edges, so a
      class stays with its methods. Louvain on a symbol graph costs about a minute per 100k nodes,
      so above ``symbol_community_limit`` nodes it runs on the graph of modules instead and each
      symbol takes its module's community (``GraphMetrics.community_level`` says which). Skipped
      when ``communities`` is False.
    - Self-loops (recursion) are edges of the graph but count in none of the metrics.
    - External and builtin nodes (:data:`~.records.OUTSIDE_KINDS`) and their edges are left out: they
      get no metrics.
    - With ``previous`` (qualified name -> :data:`Previous`, the metrics of an earlier version of the
      graph), the costly metrics are carried over instead of computed: a node keeps its betweenness
      and community, a new node has betweenness 0 and joins the community most of its neighbours
      are in (else its module's, else a community of its own). PageRank starts from the previous
      values, so it converges in a few iterations to the same values (within its tolerance) as
      from scratch. Degrees, coupling and cycles are always computed: they are cheap.
    """
    graph = _own(graph)
    names = [n.qualified_name for n in graph.nodes]
    file_of = {n.qualified_name: n.file_path for n in graph.nodes}
    modules = [n.qualified_name for n in graph.nodes if n.kind == "module"]
    deps = _Dependencies.of(graph.edges, file_of)

    start = {name: values[0] for name, values in previous.items()} if previous else None
    pagerank = _pagerank(names, deps.weighted, start=start) if names else {}
    level: CommunityLevel | None = None
    community: dict[str, int] = {}
    sampled = False
    if previous is not None:
        betweenness = {name: previous[name][1] if name in previous else 0.0 for name in names}
        if communities and names:
            level = "symbol" if len(names) <= symbol_community_limit else "module"
            community = _carried_communities(names, graph.edges, file_of, previous)
    else:
        betweenness, sampled = _betweenness(
            names, deps.weighted, sample=betweenness_sample, seed=seed, exact_limit=exact_betweenness_limit
        )
        if communities and names:
            level = "symbol" if len(names) <= symbol_community_limit else "module"
            community = _communities(names, graph.edges, seed, file_of if level == "module" else None)
    cycles = sorted(
        (sorted(c) for c in _sccs(modules, deps.import_pairs) if len(c) > 1), key=lambda c: (-len(c), c)
    )
    return GraphMetrics(
        nodes={n.qualified_name: deps.node_metrics(n, pagerank, betweenness, community) for n in graph.nodes},
        import_cycles=cycles[:max_cycles],
        import_cycle_count=len(cycles),
        community_count=len(set(community.values())),
        community_level=level,
        betweenness_sampled=sampled,
        carried=previous is not None,
    )


Previous = tuple[float, float, "int | None"]
"""A node's stored (PageRank, betweenness, community)."""


def _carried_communities(
    names: list[str], edges: Iterable[GraphEdge], file_of: dict[str, str], previous: Mapping[str, Previous]
) -> dict[str, int]:
    """Each node's previous community; a new node takes the one most of its neighbours (of any edge)
    with a previous community are in (the smallest id on a tie), else its module's, else a new one."""
    community: dict[str, int] = {}
    for name in names:
        carried = previous[name][2] if name in previous else None
        if carried is not None:
            community[name] = carried
    fresh = [name for name in names if name not in community]
    if not fresh:
        return community
    wanted = set(fresh)
    votes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in edges:
        for node, other in ((e.source, e.target), (e.target, e.source)):
            if node in wanted and other in community:
                votes[node][community[other]] += 1
    next_id = max(community.values(), default=-1) + 1
    for name in fresh:
        tally = votes.get(name)
        if tally:
            community[name] = min(tally, key=lambda c: (-tally[c], c))
        elif file_of[name] in community:
            community[name] = community[file_of[name]]
        else:
            community[name] = next_id
            next_id += 1
    return community


def _own(graph: CodeGraph) -> CodeGraph:
    """``graph`` without its external and builtin nodes and the edges to them."""
    outside = {n.qualified_name for n in graph.nodes if n.kind in OUTSIDE_KINDS}
    if not outside:
        return graph
    return CodeGraph(
        [n for n in graph.nodes if n.qualified_name not in outside],
        [e for e in graph.edges if e.target not in outside and e.source not in outside],
        graph.stats,
        graph.external_imports,
    )


@dataclass(slots=True)
class _Dependencies:
    """The dependency edges of a graph (no ``contains``, no self-loops), tallied once."""

    weighted: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    """(source, target) -> summed weight of its imports/calls/inherits edges."""
    in_degree: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    out_degree: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    depends_on: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Module -> the other modules it depends on."""
    depended_by: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Module -> the other modules that depend on it."""
    import_pairs: list[tuple[str, str]] = field(default_factory=list)
    """(source, target) of every ``imports`` edge."""

    @classmethod
    def of(cls, edges: Iterable[GraphEdge], file_of: dict[str, str]) -> _Dependencies:
        """Tally ``edges``; ``file_of`` maps a node to its module, to lift edges to module coupling."""
        deps = cls()
        for e in edges:
            if e.kind not in DEPENDENCY_KINDS or e.source == e.target:
                continue
            deps.weighted[(e.source, e.target)] += e.weight
            deps.out_degree[e.source] += 1
            deps.in_degree[e.target] += 1
            src_module, dst_module = file_of[e.source], file_of[e.target]
            if src_module != dst_module:
                deps.depends_on[src_module].add(dst_module)
                deps.depended_by[dst_module].add(src_module)
            if e.kind == "imports":
                deps.import_pairs.append((e.source, e.target))
        return deps

    def node_metrics(
        self,
        node: GraphNode,
        pagerank: dict[str, float],
        betweenness: dict[str, float],
        community: dict[str, int],
    ) -> NodeMetrics:
        """The metrics of one node, with module coupling for a module."""
        name = node.qualified_name
        afferent = efferent = None
        instability = None
        if node.kind == "module":
            afferent, efferent = len(self.depended_by.get(name, ())), len(self.depends_on.get(name, ()))
            instability = efferent / (afferent + efferent) if afferent + efferent else 0.0
        return NodeMetrics(
            qualified_name=name,
            kind=node.kind,
            pagerank=pagerank.get(name, 0.0),
            in_degree=self.in_degree.get(name, 0),
            out_degree=self.out_degree.get(name, 0),
            betweenness=betweenness.get(name, 0.0),
            community=community.get(name),
            afferent=afferent,
            efferent=efferent,
            instability=instability,
        )


def _pagerank(
    nodes: list[str],
    weighted: dict[tuple[str, str], int],
    alpha: float = 0.85,
    start: Mapping[str, float] | None = None,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> dict[str, float]:
    """Weighted PageRank, as networkx's ``pagerank`` computes it (dangling nodes spread their rank
    uniformly; converged when the L1 change is under ``len(nodes) * tol``), on a sparse matrix built
    straight from the edges: networkx's conversion of a 170k-edge graph alone took 3 s. ``start``
    (earlier values) only shortens the iteration."""
    try:
        import numpy as np
        import scipy.sparse  # noqa: F401  (what pagerank_arrays computes with)
    except ModuleNotFoundError:
        return _pagerank_python(nodes, weighted, alpha, max_iter)
    index = {name: i for i, name in enumerate(nodes)}
    order = list(nodes)
    for pair in weighted:  # an edge's end that is not a node becomes one, as networkx adds it
        for name in pair:
            if name not in index:
                index[name] = len(order)
                order.append(name)
    n = len(order)
    if n == 0:
        return {}
    sources = np.fromiter((index[s] for s, _ in weighted), dtype=np.int64, count=len(weighted))
    targets = np.fromiter((index[t] for _, t in weighted), dtype=np.int64, count=len(weighted))
    weights = np.fromiter(weighted.values(), dtype=float, count=len(weighted))
    initial = [start.get(name) for name in order] if start else [None] * n
    x = pagerank_arrays(n, sources, targets, weights, initial, alpha, max_iter, tol)
    return dict(zip(order, x.tolist(), strict=True))


def pagerank_arrays(
    n: int,
    sources: Any,
    targets: Any,
    weights: Any,
    start: list[float | None],
    alpha: float = 0.85,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> Any:
    """Weighted PageRank of ``n`` nodes by position, from edge arrays (a pair given twice adds up),
    as :func:`_pagerank` defines it; ``start`` holds each node's earlier value or None (1/n)."""
    import numpy as np
    from scipy import sparse

    matrix = sparse.csr_array((weights, (sources, targets)), shape=(n, n))
    matrix.sum_duplicates()
    out = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, out, out=np.zeros(n), where=out != 0)
    matrix = sparse.csr_array(matrix.multiply(scale[:, None]))
    uniform = np.full(n, 1.0 / n)
    x = np.array([1.0 / n if value is None else value for value in start], dtype=float)
    x /= x.sum()
    dangling = np.flatnonzero(out == 0)
    for _ in range(max_iter):
        last = x
        x = alpha * (x @ matrix + x[dangling].sum() * uniform) + (1 - alpha) * uniform
        if np.abs(x - last).sum() < n * tol:
            break
    return x


def _pagerank_python(
    nodes: list[str], weighted: dict[tuple[str, str], int], alpha: float, max_iter: int = 200
) -> dict[str, float]:
    n = len(nodes)
    out_weight: dict[str, float] = defaultdict(float)
    for (s, _), w in weighted.items():
        out_weight[s] += w
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(max_iter):
        dangling = sum(rank[v] for v in nodes if v not in out_weight)
        base = (1.0 - alpha) / n + alpha * dangling / n
        new = dict.fromkeys(nodes, base)
        for (s, t), w in weighted.items():
            new[t] += alpha * rank[s] * w / out_weight[s]
        if sum(abs(new[v] - rank[v]) for v in nodes) < n * 1e-10:
            return new
        rank = new
    return rank


def _communities(
    nodes: list[str], edges: Iterable[GraphEdge], seed: int, unit_of: dict[str, str] | None = None
) -> dict[str, int]:
    """Louvain communities of the undirected graph of all edges, weighted by counts.

    With ``unit_of`` (node -> its module), the graph is first collapsed to modules and every node
    takes its module's community. Ids are ordered by community size, largest first.
    """
    import networkx as nx

    unit = unit_of.__getitem__ if unit_of is not None else (lambda name: name)
    graph = nx.Graph()
    graph.add_nodes_from(sorted({unit(n) for n in nodes}))
    for e in edges:
        a, b = unit(e.source), unit(e.target)
        if a == b:
            continue
        if graph.has_edge(a, b):
            graph[a][b]["weight"] += e.weight
        else:
            graph.add_edge(a, b, weight=e.weight)
    groups = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    ordered = sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0]))
    by_unit = {member: cid for cid, group in enumerate(ordered) for member in group}
    return {n: by_unit[unit(n)] for n in nodes}


def _betweenness(
    nodes: list[str], pairs: Iterable[tuple[str, str]], *, sample: int, seed: int, exact_limit: int
) -> tuple[dict[str, float], bool]:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_edges_from((s, t) for s, t in pairs if s != t)
    values = dict.fromkeys(nodes, 0.0)
    if graph.number_of_nodes() < 3:
        return values, False
    # Isolated nodes have zero betweenness: computing on the connected part only is exact and cheaper.
    sampled = graph.number_of_nodes() > exact_limit and sample < graph.number_of_nodes()
    k = sample if sampled else None
    scores = nx.betweenness_centrality(graph, k=k, seed=random.Random(seed) if sampled else None)
    # networkx normalizes by the connected part's size; rescale to the whole graph so values stay
    # comparable with graphs that have more isolated nodes.
    n_part, n_all = graph.number_of_nodes(), len(nodes)
    scale = ((n_part - 1) * (n_part - 2)) / ((n_all - 1) * (n_all - 2))
    values.update((node, score * scale) for node, score in scores.items())
    return values, sampled


def _sccs(nodes: Iterable[str], pairs: Iterable[tuple[str, str]]) -> Iterator[set[str]]:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(pairs)
    return nx.strongly_connected_components(graph)
