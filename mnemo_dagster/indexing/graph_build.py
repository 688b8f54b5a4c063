"""Build the symbol graph from what ``code_chunks`` stored, and persist it and its metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from itertools import groupby
from typing import Any

from mnemo_dagster.graph import (
    CodeGraph,
    FileSymbols,
    GraphEdge,
    GraphNode,
    ResolutionStats,
    build_graph,
    compute_metrics,
)
from mnemo_dagster.graph.carried import carried_metrics
from mnemo_dagster.graph.facts import FLOW_KEY, has_python_summary
from mnemo_dagster.graph.incremental import refresh_graph
from mnemo_dagster.graph.jsconfig import CONFIG_NAME
from mnemo_dagster.models import Reference, Symbol
from mnemo_dagster.store.database import IndexStore

TOP_PAGERANK = 10


def files_from_chunks(rows: Iterable[tuple[str, str, dict[str, Any]]]) -> Iterable[FileSymbols]:
    """Regroup per-chunk symbol metadata (rows ordered by file) into one record per file."""
    for path, group in groupby(rows, key=lambda row: row[0]):
        symbols: list[Symbol] = []
        references: list[Reference] = []
        language = ""
        flow = None
        for _, chunk_language, meta in group:
            language = chunk_language
            flow = meta.get(FLOW_KEY, flow)  # the first chunk's: rows come by start line
            # The calls of a file with a Python flow summary resolve from the summary alone.
            by_flow = has_python_summary(flow)
            symbols += [Symbol(**s) for s in meta.get("symbols", ())]
            references += [
                Reference(**r) for r in meta.get("references", ()) if not (by_flow and r["kind"] == "calls")
            ]
        yield FileSymbols(path, language, tuple(symbols), tuple(references), flow)


def build_stored_graph(store: IndexStore, repository: str) -> CodeGraph:
    """The graph of ``repository`` built from what ``code_chunks`` holds (nothing is written)."""
    configs = {p: t for p, t in store.graph.config_texts(repository).items() if CONFIG_NAME.search(p)}
    return build_graph(files_from_chunks(store.graph.chunk_symbols(repository)), js_configs=configs)


def store_graph(store: IndexStore, repository: str, *, full: bool = False) -> dict[str, Any]:
    """Bring ``graph_nodes`` and ``graph_edges`` of ``repository`` up to date; return counts, with what
    changed.

    By default the graph is refreshed by what changed since it was built (:func:`refresh_stored_graph`:
    the files whose chunks changed, and those whose resolution read them), which gives the graph a
    full rebuild gives. A full build (``full``, or where no refresh can be made) resolves the whole
    graph again in memory and writes the nodes and edges that differ from the stored ones
    (:meth:`~mnemo_dagster.store.graph.GraphStore.update`), with every file's facts for the next
    refresh.

    The graph is also built in full when its last full build is older than :data:`FULL_GRAPH_SECONDS`
    (the nightly pass): after refreshing it, so that what the full build still writes is what the
    refreshes got wrong, kept as ``rebuild_drift`` (0 when they were exact; the
    ``graph_refresh_matches_rebuild`` check reports it)."""
    versions = store.graph_files.versions(repository)
    now = datetime.now(UTC)
    due = full or _old(store.graph.summary(repository).get("graph_full_at"), now, FULL_GRAPH_SECONDS)
    refreshed = refresh_stored_graph(store, repository, versions)
    if refreshed is not None and not due:
        return refreshed
    graph = build_stored_graph(store, repository)
    nodes = [{field: getattr(n, field) for field in GraphNode.__slots__} for n in graph.nodes]
    edges = [(e.source, e.target, e.kind, e.weight) for e in graph.edges]
    stats: dict[str, Any] = {
        "resolution": graph.stats.as_dict(),
        "own_package": graph.own_package,
        "graph_full_at": now.isoformat(),
    }
    if refreshed is not None:
        stats["rebuild_compared_at"] = now.isoformat()
    # A file indexed again while the graph was read has no version here: the next refresh is full.
    digests = store.graph_files.digests(repository)
    files = {
        path: (f"{versions[path]}#{digests.get(path, '')}", facts)
        for path, facts in graph.files.items()
        if path in versions
    }
    change = store.graph.update(repository, nodes, edges, stats, files)
    if refreshed is not None:
        drift = change.structural() + change.nodes_changed + change.edges_changed
        store.graph.merge_summary(repository, {"rebuild_drift": drift})
    by_kind: dict[str, int] = {}
    for e in graph.edges:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
    return {
        "nodes": len(nodes),
        "edges": len(edges),
        **by_kind,
        **graph.stats.as_dict(),
        **change.counts(),
        "files_resolved": len(graph.files),
        "graph_refresh": "full",
    }


def refresh_stored_graph(
    store: IndexStore, repository: str, versions: dict[str, str]
) -> dict[str, Any] | None:
    """Refresh the stored graph of ``repository`` (its files at ``versions``) by the files whose chunks
    changed (:func:`~mnemo_dagster.graph.incremental.refresh_graph`); None where a full build is due:
    no facts stored, a file added or removed, a ``tsconfig.json`` changed, or what the refresh itself
    refuses."""
    found = store.graph_files.previous(repository)
    if found is None:
        return None
    built, previous = found
    if built.keys() != versions.keys():
        return None
    # A file written again has a new version; it changed only where its chunks' metadata did (a file
    # indexed again unchanged, after a touch or a checkout, reaches nothing).
    written = sorted(path for path, version in versions.items() if built[path].partition("#")[0] != version)
    digests = store.graph_files.digests(repository, written)
    stamped = {path: f"{versions[path]}#{digests.get(path, '')}" for path in written}
    changed_paths = [path for path in written if built[path].partition("#")[2] != digests.get(path, "")]
    if any(CONFIG_NAME.search(path) for path in changed_paths):
        return None
    if not changed_paths:
        store.graph_files.restamp(repository, stamped)
        stats = store.graph.summary(repository).get("resolution") or {}
        return {
            **store.graph.totals(repository),
            **stats,
            **dict.fromkeys(GRAPH_CHANGES, 0),
            "files_resolved": 0,
            "graph_refresh": "incremental",
        }

    def load(paths: list[str]) -> dict[str, FileSymbols]:
        return {f.path: f for f in files_from_chunks(store.graph.chunk_symbols(repository, paths))}

    changed = load(changed_paths)
    if changed.keys() != set(changed_paths):
        return None  # a file lost its chunks meanwhile
    configs = {p: t for p, t in store.graph.config_texts(repository).items() if CONFIG_NAME.search(p)}
    outlines = partial(store.graph_files.outlines, repository)
    refresh = refresh_graph(previous, changed, load, outlines, js_configs=configs)
    if refresh is None:
        return None
    stats = {"resolution": refresh.stats.as_dict(), "own_package": previous.own_package}
    change = store.graph_files.apply(repository, refresh, {**built, **stamped}, stats)
    store.graph_files.restamp(repository, {p: v for p, v in stamped.items() if p not in refresh.affected})
    return {
        **store.graph.totals(repository),
        **refresh.stats.as_dict(),
        **change,
        "files_resolved": len(refresh.affected),
        "graph_refresh": "incremental",
    }


def load_graph(store: IndexStore, repository: str) -> tuple[CodeGraph, dict[str, int]]:
    """The graph as ``graph_nodes``/``graph_edges`` hold it, and qualified name -> node id."""
    node_rows, edge_rows, stats = store.graph.rows(repository)
    resolution = stats.get("resolution") or dict.fromkeys(ResolutionStats.__slots__, 0)
    graph = CodeGraph(
        nodes=[
            GraphNode(qn, name, kind, path, start, end, lang or "")
            for _, qn, name, kind, path, start, end, lang in node_rows
        ],
        edges=[GraphEdge(s, t, k, w) for s, t, k, w in sorted(edge_rows)],  # tuples sort faster
        stats=ResolutionStats(**resolution),
    )
    return graph, {row[1]: row[0] for row in node_rows}


FULL_METRICS_SHARE = 0.05
"""The costly metrics (betweenness, communities) are computed anew once the nodes and edges added or
removed since they last were exceed this share of the graph's edges; until then they are carried."""
FULL_METRICS_SECONDS = 20 * 3600
"""...and at least this often (so the nightly pass computes them all, whatever changed)."""


def wants_full_metrics(stats: dict[str, Any], edges: int, carried: bool, now: datetime) -> bool:
    """Whether the metrics of a graph whose summary is ``stats`` (``changes_since_full``,
    ``metrics_full_at``), with ``edges`` edges, are computed in full rather than carried (``carried``:
    there are stored metrics to carry)."""
    if not carried:
        return True
    moved = stats.get("changes_since_full")
    full_at = stats.get("metrics_full_at")
    if moved is None or full_at is None:
        return True
    return moved > FULL_METRICS_SHARE * max(edges, 1) or _full_metrics_are_old(stats, now)


def _full_metrics_are_old(stats: dict[str, Any], now: datetime) -> bool:
    return _old(stats.get("metrics_full_at"), now, FULL_METRICS_SECONDS)


def _old(at: str | None, now: datetime, seconds: float) -> bool:
    """Whether ``at`` (an ISO time, None for never) is more than ``seconds`` before ``now``."""
    return at is None or (now - datetime.fromisoformat(at)).total_seconds() > seconds


FULL_GRAPH_SECONDS = FULL_METRICS_SECONDS
"""The graph is built in full at least this often (:func:`store_graph`), on the nightly pass."""


def needs_refresh(store: IndexStore, repository: str, now: datetime | None = None) -> bool:
    """Whether the graph of ``repository`` wants a refresh (:func:`refresh_reason`)."""
    return refresh_reason(store, repository, now) is not None


def refresh_reason(store: IndexStore, repository: str, now: datetime | None = None) -> str | None:
    """Why the graph of ``repository`` wants a refresh, None when it does not: it is behind its files
    (:meth:`~mnemo_dagster.store.graph.GraphStore.staleness`), or its metrics carry costly values
    computed more than :data:`FULL_METRICS_SECONDS` ago (the nightly pass then computes them in full,
    even where no file changed). The words name the state: they change when it does."""
    behind = store.graph.staleness(repository)
    if behind is not None:
        return behind
    stats = store.graph.summary(repository)
    now = now or datetime.now(UTC)
    if stats.get("metrics") == "carried" and _full_metrics_are_old(stats, now):
        return f"metrics carried since {stats.get('metrics_full_at')}"
    if "graph_full_at" in stats and _old(stats["graph_full_at"], now, FULL_GRAPH_SECONDS):
        return f"graph refreshed since its full build at {stats['graph_full_at']}"
    return None


def store_metrics(store: IndexStore, repository: str, *, full: bool | None = None) -> dict[str, Any]:
    """Compute and store ``graph_metrics`` of ``repository``; return a summary for the UI.

    Degrees, PageRank, coupling and cycles are computed every time; betweenness and communities
    only when ``full``, and by default when :func:`wants_full_metrics` says so (else they are
    carried over from the stored metrics, on arrays of node ids: :mod:`~mnemo_dagster.graph.carried`,
    and only the rows that moved are written: :data:`METRIC_TOLERANCE`)."""
    stats = store.graph.summary(repository)
    nodes, edges = store.graph.id_rows(repository)
    stored = store.graph.metric_table(repository)
    now = datetime.now(UTC)
    if full is None:
        full = wants_full_metrics(stats, len(edges.source), len(stored) > 0, now)
    if full:
        return _store_full_metrics(store, repository, now)
    metrics = carried_metrics(nodes, edges, stored, top=TOP_PAGERANK)
    summary = {
        "nodes": len(metrics.ids),
        "import_cycles": len(metrics.import_cycles),
        "communities": metrics.community_count,
        "betweenness_sampled": stats.get("betweenness_sampled", False),
        "metrics": "carried",
        "top_pagerank": metrics.top,
    }
    kept = {"import_cycles": metrics.import_cycles[:20], **{k: v for k, v in summary.items() if k != "nodes"}}
    moved = metrics.moved(stored, METRIC_TOLERANCE)
    pagerank = metrics.drifted_pagerank(stored, METRIC_TOLERANCE, PAGERANK_DRIFT)
    store.graph.update_metrics(repository, moved, kept, pagerank=pagerank)
    summary["metrics_written"] = len(moved)
    summary["pagerank_rewritten"] = pagerank is not None
    return summary


def _store_full_metrics(store: IndexStore, repository: str, now: datetime) -> dict[str, Any]:
    """Every metric computed anew (:func:`~mnemo_dagster.graph.metrics.compute_metrics`) and stored."""
    graph, ids = load_graph(store, repository)
    metrics = compute_metrics(graph)
    rows = [
        {
            "node_id": ids[qn],
            "pagerank": m.pagerank,
            "in_degree": m.in_degree,
            "out_degree": m.out_degree,
            "betweenness": m.betweenness,
            "community": m.community,
            "afferent": m.afferent,
            "efferent": m.efferent,
            "instability": m.instability,
        }
        for qn, m in metrics.nodes.items()
    ]
    top = [
        (m.qualified_name, m.pagerank)
        for m in metrics.top(TOP_PAGERANK, kinds=("class", "function", "method"))
    ]
    summary = {
        "nodes": len(rows),
        "import_cycles": metrics.import_cycle_count,
        "communities": metrics.community_count,
        "betweenness_sampled": metrics.betweenness_sampled,
        "metrics": "full",
        "top_pagerank": top,
    }
    kept = {"import_cycles": metrics.import_cycles[:20], **{k: v for k, v in summary.items() if k != "nodes"}}
    kept["metrics_full_at"] = now.isoformat()
    store.graph.replace_metrics(repository, rows, kept, full=True)
    summary["metrics_written"] = len(rows)
    return summary


METRIC_TOLERANCE = 1e-9
"""A carried metric row is written again when a value moved by more than this. PageRank, warm-started,
moves every value by less than its own convergence error (1e-10 per node on average) where the
graph did not change; a cold start differs from a warm one by about as much."""
PAGERANK_DRIFT = 1e-8
"""Where the PageRank of the rows left unwritten moved by more than this in sum (a node added or
removed), every node's PageRank is written (one ``UPDATE`` from arrays): the stored values keep
summing to 1 well within the ``pagerank_sums_to_one`` check's 1e-6."""


GRAPH_TOTALS = ("nodes", "edges", "calls_resolved", "calls_total")
GRAPH_CHANGES = (
    "nodes_added",
    "nodes_removed",
    "nodes_changed",
    "edges_added",
    "edges_removed",
    "edges_changed",
)
"""What a graph refresh reports it wrote (:class:`~mnemo_dagster.store.graph.GraphChange`)."""


def rebuild_nodes(
    store: IndexStore, repositories: Iterable[str], log: Callable[[str], None] = lambda message: None
) -> dict[str, int]:
    """What the ``graph_nodes`` step does: rebuild the graph of each repository while PostgreSQL
    makes sure the HNSW index exists (a bulk load dropped it; the build runs on another core, and only
    blocks writes to ``code_chunks``, which the graph does not make). Returns totals over the
    repositories."""
    names = list(repositories)
    totals = {"repositories": len(names), **dict.fromkeys(GRAPH_TOTALS, 0)}
    with ThreadPoolExecutor(1, thread_name_prefix="mnemo-vector-index") as pool:
        built = pool.submit(store.chunks.ensure_vector_index)
        for name in names:
            stats = store_graph(store, name)
            log(f"{name}: {stats}")
            for key in GRAPH_TOTALS:
                totals[key] += stats.get(key, 0)
        if built.result():
            log("built the HNSW index on code_chunks.embedding")
    return totals


def rebuild_metrics(
    store: IndexStore,
    repositories: Iterable[str],
    log: Callable[[str], None] = lambda message: None,
    *,
    full: bool | None = None,
) -> dict[str, dict[str, Any]]:
    """What the ``graph_metrics`` step does: repository -> the summary of :func:`store_metrics`
    (``full``: see there)."""
    summaries = {}
    for name in repositories:
        summaries[name] = summary = store_metrics(store, name, full=full)
        log(
            f"{name}: {summary['nodes']} nodes, {summary['import_cycles']} import cycles; "
            f"betweenness and communities {'computed' if summary['metrics'] == 'full' else 'carried over'}"
        )
    return summaries
