"""The metrics of a refreshed graph whose costly ones are carried, on arrays of node ids.

What :func:`~.metrics.compute_metrics` computes with ``previous`` (degrees, PageRank warm-started,
module coupling, import cycles; betweenness and communities carried, a new node joining its
neighbours' community), computed with numpy and scipy from the columns the store holds
(:class:`EdgeColumns`, :class:`MetricTable`), without building the graph's records or a row object
per edge: on Django's graph (46k nodes, 168k edges) a tenth of the time. Only the rows whose values
moved are handed back for writing (:meth:`CarriedMetrics.moved`). A test holds the two to the same
values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from mnemo_dagster.graph.metrics import pagerank_arrays
from mnemo_dagster.graph.records import DEPENDENCY_KINDS, OUTSIDE_KINDS

NodeRow = tuple[int, str, str, str]
"""(id, qualified name, kind, file path) of a node."""
EdgeRow = tuple[int, int, str, int]
"""(source id, target id, kind, weight) of an edge."""

METRICS = (
    "pagerank",
    "in_degree",
    "out_degree",
    "betweenness",
    "community",
    "afferent",
    "efferent",
    "instability",
)
"""The values of a ``graph_metrics`` row after its ``node_id``, in the order of a :class:`MetricTable`."""
FRACTIONS = np.array([name in ("pagerank", "betweenness", "instability") for name in METRICS])
"""Which of :data:`METRICS` are fractions (compared within a tolerance); the others are counts."""
PAGERANK, BETWEENNESS, COMMUNITY = (METRICS.index(name) for name in ("pagerank", "betweenness", "community"))


@dataclass(frozen=True, slots=True)
class EdgeColumns:
    """A graph's edges as columns: source and target node ids, whether the kind is a dependency
    (:data:`~.records.DEPENDENCY_KINDS`) or an import, and the weight."""

    source: np.ndarray
    target: np.ndarray
    depends: np.ndarray
    imports: np.ndarray
    weight: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[EdgeRow]) -> EdgeColumns:
        kinds = [row[2] for row in rows]
        return cls(
            np.array([row[0] for row in rows], dtype=np.int64),
            np.array([row[1] for row in rows], dtype=np.int64),
            np.array([kind in DEPENDENCY_KINDS for kind in kinds], dtype=bool),
            np.array([kind == "imports" for kind in kinds], dtype=bool),
            np.array([row[3] for row in rows], dtype=float),
        )


@dataclass(frozen=True, slots=True)
class MetricTable:
    """Stored ``graph_metrics`` rows: ``ids`` (sorted node ids) and ``values``, one row of
    :data:`METRICS` per id, NaN for NULL."""

    ids: np.ndarray
    values: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> MetricTable:
        """From rows of (node id, *:data:`METRICS`)."""
        table = np.array(rows, dtype=float).reshape(len(rows), len(METRICS) + 1)
        order = np.argsort(table[:, 0], kind="stable")
        return cls(table[order, 0].astype(np.int64), table[order, 1:])

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each of ``ids``' row position here, and whether it has a row at all."""
        if not len(self.ids):
            return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
        at = np.searchsorted(self.ids, ids).clip(max=len(self.ids) - 1)
        return at, self.ids[at] == ids


@dataclass(frozen=True, slots=True)
class CarriedMetrics:
    """The metrics of the own nodes ``ids``, one row of :data:`METRICS` each (NaN for NULL); and what
    the graph summary keeps."""

    ids: np.ndarray
    values: np.ndarray
    import_cycles: list[list[str]]
    """Strongly connected sets of the module imports (size > 1), each sorted, largest first."""
    community_count: int
    top: list[tuple[str, float]]
    """The functions, methods and classes of highest PageRank, with it."""

    @property
    def rows(self) -> dict[int, dict[str, Any]]:
        """Node id -> its whole ``graph_metrics`` row."""
        return {int(node): _row(node, values) for node, values in zip(self.ids, self.values, strict=True)}

    def moved(self, stored: MetricTable, tolerance: float) -> list[dict[str, Any]]:
        """The rows that differ from their ``stored`` ones (or have none): any count or community,
        or a fraction by more than ``tolerance``."""
        _, _, changed = self._changed(stored, tolerance)
        return [_row(self.ids[i], self.values[i]) for i in np.flatnonzero(changed)]

    def drifted_pagerank(
        self, stored: MetricTable, tolerance: float, drift: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Every node's PageRank (ids, values), where the rows :meth:`moved` leaves out moved by more
        than ``drift`` in sum: a node added or removed shifts every value by about 1/n of itself, each
        by less than ``tolerance``, and the stored values would no longer sum to 1. None otherwise."""
        at, found, changed = self._changed(stored, tolerance)
        if not found.any():
            return None
        left = found & ~changed
        moved = float(np.abs((self.values[left, PAGERANK] - stored.values[at[left], PAGERANK]).sum()))
        return (self.ids, self.values[:, PAGERANK]) if moved > drift else None

    def _changed(self, stored: MetricTable, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each node's stored row is (``at``, where ``found``), and whether its row ``changed``."""
        at, found = stored.find(self.ids)
        old = stored.values[at] if len(stored) else np.full_like(self.values, np.nan)
        new = self.values
        same = (new == old) | (np.isnan(new) & np.isnan(old))
        with np.errstate(invalid="ignore"):
            same |= FRACTIONS & (np.abs(new - old) <= tolerance)
        return at, found, ~found | ~same.all(axis=1)


def _row(node: Any, values: np.ndarray) -> dict[str, Any]:
    row: dict[str, Any] = {"node_id": int(node)}
    for name, value, fraction in zip(METRICS, values.tolist(), FRACTIONS, strict=True):
        row[name] = None if value != value else value if fraction else int(value)  # NaN: NULL
    return row


def carried_metrics(
    nodes: Sequence[NodeRow],
    edges: EdgeColumns,
    previous: MetricTable,
    *,
    top: int = 10,
    alpha: float = 0.85,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> CarriedMetrics:
    """The metrics of the graph of ``nodes`` and ``edges``, with the ``previous`` ones (PageRank,
    betweenness, community) carried as :func:`~.metrics.compute_metrics` carries them."""
    own = sorted((row for row in nodes if row[2] not in OUTSIDE_KINDS), key=lambda row: row[1])
    n = len(own)
    names = [row[1] for row in own]
    ids = np.array([row[0] for row in own], dtype=np.int64)
    source, target, known = _positions(ids, edges)
    depends = known & edges.depends & (source != target)
    imports = depends & edges.imports
    ds, dt, dw = source[depends], target[depends], edges.weight[depends]
    values = np.full((n, len(METRICS)), np.nan)
    values[:, METRICS.index("out_degree")] = np.bincount(ds, minlength=n)
    values[:, METRICS.index("in_degree")] = np.bincount(dt, minlength=n)

    at, carried = previous.find(ids)
    before = previous.values[at] if len(previous) else values
    start = np.where(carried, before[:, PAGERANK], np.nan).tolist()
    pagerank = (
        pagerank_arrays(n, ds, dt, dw, [None if s != s else s for s in start], alpha, max_iter, tol)
        if n
        else np.zeros(0)
    )
    values[:, PAGERANK] = pagerank
    values[:, BETWEENNESS] = np.where(carried, before[:, BETWEENNESS], 0.0)
    community = np.where(carried, before[:, COMMUNITY], np.nan)
    values[:, COMMUNITY] = _communities(own, source[known], target[known], community)
    _coupling(own, ds, dt, values)
    cycles = _import_cycles(n, source[imports], target[imports], names)
    ranked = sorted(
        (i for i, row in enumerate(own) if row[2] in ("class", "function", "method")),
        key=lambda i: (-pagerank[i], names[i]),
    )
    return CarriedMetrics(
        ids=ids,
        values=values,
        import_cycles=cycles,
        community_count=len(np.unique(values[:, COMMUNITY])) if n else 0,
        top=[(names[i], float(pagerank[i])) for i in ranked[:top]],
    )


def _positions(ids: np.ndarray, edges: EdgeColumns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each edge's source and target position in ``ids``, and whether both ends are there."""
    if not len(ids) or not len(edges.source):
        empty = np.zeros(len(edges.source), dtype=np.int64)
        return empty, empty, np.zeros(len(edges.source), dtype=bool)
    order = np.argsort(ids)
    by_id = ids[order]

    def find(node_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = np.searchsorted(by_id, node_ids).clip(max=len(by_id) - 1)
        return order[at], by_id[at] == node_ids

    source, known_source = find(edges.source)
    target, known_target = find(edges.target)
    return source, target, known_source & known_target


def _coupling(own: Sequence[NodeRow], ds: np.ndarray, dt: np.ndarray, values: np.ndarray) -> None:
    """A module's afferent and efferent coupling (other files it is depended on by, and depends on)
    and instability, into ``values``' rows of the modules."""
    files = {path: i for i, path in enumerate(sorted({row[3] for row in own}))}
    count = max(len(files), 1)
    module_of = np.array([files[row[3]] for row in own], dtype=np.int64)
    ms, mt = module_of[ds], module_of[dt]
    across = ms != mt
    pairs = np.unique(ms[across] * count + mt[across])
    efferent = np.bincount(pairs // count, minlength=len(files))
    afferent = np.bincount(pairs % count, minlength=len(files))
    modules = np.array([i for i, row in enumerate(own) if row[2] == "module"], dtype=np.int64)
    a, e = afferent[module_of[modules]], efferent[module_of[modules]]
    values[modules, METRICS.index("afferent")] = a
    values[modules, METRICS.index("efferent")] = e
    instability = np.divide(e, a + e, out=np.zeros(len(modules)), where=a + e > 0)
    values[modules, METRICS.index("instability")] = instability


def _import_cycles(n: int, source: np.ndarray, target: np.ndarray, names: list[str]) -> list[list[str]]:
    if n == 0 or not len(source):
        return []
    graph = sparse.csr_array((np.ones(len(source)), (source, target)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    members: dict[int, list[str]] = defaultdict(list)
    for i in np.unique(np.concatenate([source, target])):
        members[int(labels[i])].append(names[i])
    return sorted((sorted(group) for group in members.values() if len(group) > 1), key=lambda c: (-len(c), c))


def _communities(
    own: Sequence[NodeRow], source: np.ndarray, target: np.ndarray, community: np.ndarray
) -> np.ndarray:
    """Each node's previous ``community`` (NaN for a new node); a new node takes the one most of its
    neighbours (of any edge) with a previous community are in (the smallest id on a tie), else its
    module's, else a new one (:func:`~.metrics._carried_communities`)."""
    fresh = np.flatnonzero(np.isnan(community))
    if not len(fresh):
        return community
    community = community.copy()
    wanted = np.zeros(len(own), dtype=bool)
    wanted[fresh] = True
    carried = ~np.isnan(community)
    votes: dict[int, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    near = np.flatnonzero(wanted[source] | wanted[target])
    for s, t in zip(source[near].tolist(), target[near].tolist(), strict=True):
        for node, other in ((s, t), (t, s)):
            if wanted[node] and carried[other]:
                votes[node][float(community[other])] += 1
    module = {row[1]: i for i, row in enumerate(own) if row[2] == "module"}
    next_id = float(np.nanmax(community)) + 1 if carried.any() else 0.0
    for i in fresh.tolist():
        tally = votes.get(i)
        home = module.get(own[i][3])
        if tally:
            community[i] = min(tally, key=lambda c: (-tally[c], c))
        elif home is not None and not np.isnan(community[home]):
            community[i] = community[home]
        else:
            community[i] = next_id
            next_id += 1
    return community
