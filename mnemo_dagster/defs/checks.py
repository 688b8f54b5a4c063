"""Asset checks on the index: every file accounted for, embeddings of the right size, edges that join
existing nodes, graph refreshes that equal a full build, PageRank that sums to 1. Like the graph
assets, each check is on the ``repositories`` partitions: a run of ``graph_job`` checks its
repository, and the UI shows each repository's results on its partition. The SQL lives in
:mod:`mnemo_dagster.store.insights`.

**Why the file and embedding checks hang off ``graph_nodes`` and not ``code_chunks``.** They are
questions about a whole pass over a repository, and ``code_chunks`` is split into ``file_batches``
partitions, one run each: a check there would see its own batch only, never the batches that did not
run. A repository's graph refreshes once after its batches have finished, so its checks see the pass
as a whole, and ``graph_job`` evaluates them on every graph refresh.

**Why one ``@multi_asset_check``.** Every step of the multiprocess executor is a process of its own
that costs seconds to start on a small machine, so five ``@asset_check`` steps would more than double
a ``graph_job`` run. One step runs all five checks on one connection pool after both graph assets;
``can_subset`` still lets the UI run any one of them.

Checks never raise on a bad index (a failed check does not fail the run); they fail with metadata
that says where. The integrity checks have severity ERROR; the PageRank sum is a numeric sanity
check of the metrics and has severity WARN.
"""

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetsDefinition,
    MetadataValue,
    PreviewWarning,
    TableColumn,
    TableRecord,
    TableSchema,
    multi_asset_check,
)

from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY
from mnemo_dagster.defs.assets.graph import graph_metrics, graph_nodes
from mnemo_dagster.defs.partitions import repositories
from mnemo_dagster.defs.resources import IndexDatabase
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.insights import (
    EdgeTally,
    EmbeddingTally,
    FileTally,
    edge_tallies,
    embedding_tallies,
    file_tallies,
    index_dimension,
    pagerank_tallies,
)

PAGERANK_TOLERANCE = 1e-6
"""How far from 1 (relative) a repository's PageRank sum may be; networkx iterates to 1e-10."""

Cell = str | int | float | bool | None


def per_repository(columns: Sequence[tuple[str, str]], rows: Iterable[Mapping[str, Cell]]) -> MetadataValue:
    """A table metadata value with one row per repository; ``columns`` are (name, type) pairs."""
    return MetadataValue.table(
        records=[TableRecord(dict(row)) for row in rows],
        schema=TableSchema(columns=[TableColumn(name, kind) for name, kind in columns]),
    )


def examples(pairs: Iterable[tuple[str, Sequence[str]]]) -> MetadataValue:
    """``repository: a, b; other: c`` as text (shown inline, unlike markdown), or ``none``."""
    parts = [f"{repository}: {', '.join(items)}" for repository, items in pairs if items]
    return MetadataValue.text("; ".join(parts) or "none")


def integrity_result(
    check_name: str,
    tallies: Sequence[FileTally | EmbeddingTally | EdgeTally],
    totals: Mapping[str, int],
    table: MetadataValue,
    samples: Mapping[str, MetadataValue],
) -> AssetCheckResult:
    """The result of an integrity check of ``graph_nodes`` (severity ERROR): passed when every tally is
    ok; its metadata is ``totals``, then the per-repository ``table``, then the example ``samples``."""
    return AssetCheckResult(
        asset_key=graph_nodes.key,
        check_name=check_name,
        passed=all(t.ok for t in tallies),
        severity=AssetCheckSeverity.ERROR,
        metadata={**totals, "by_repository": table, **samples},
    )


def files_accounted_for(store: IndexStore, repository: str) -> AssetCheckResult:
    """Each ``source_files`` row is indexed, skipped or failed, and a skipped or failed one says why."""
    tallies = file_tallies(store, repository)
    statuses = ("indexed", "skipped", "failed", "pending")
    columns = [("repository", "string"), *((s, "int") for s in statuses), ("other", "int")]
    columns.append(("unexplained", "int"))
    rows: list[dict[str, Cell]] = [
        {
            "repository": t.repository,
            **{s: t.by_status.get(s, 0) for s in statuses},
            "other": sum(n for s, n in t.by_status.items() if s not in statuses),
            "unexplained": t.unexplained,
        }
        for t in tallies
    ]
    totals = {
        "repositories": len(tallies),
        "pending": sum(t.unsettled for t in tallies),
        "unexplained": sum(t.unexplained for t in tallies),
    }
    samples = {
        "pending_examples": examples((t.repository, t.unsettled_examples) for t in tallies),
        "unexplained_examples": examples((t.repository, t.unexplained_examples) for t in tallies),
    }
    return integrity_result("files_accounted_for", tallies, totals, per_repository(columns, rows), samples)


def embeddings_match_dimension(store: IndexStore, repository: str) -> AssetCheckResult:
    """Every chunk has an embedding of the dimension recorded in ``mnemo_meta``."""
    dimension = index_dimension(store)
    if dimension is None:
        return AssetCheckResult(
            asset_key=graph_nodes.key,
            check_name="embeddings_match_dimension",
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description="mnemo_meta has no embedding_dim: the index schema was never created.",
        )
    tallies = embedding_tallies(store, dimension, repository)
    rows: list[dict[str, Cell]] = [
        {
            "repository": t.repository,
            "chunks": t.chunks,
            "wrong": t.wrong,
            "dimensions": ", ".join(f"{d}: {n}" for d, n in sorted(t.by_dimension.items(), key=str)),
        }
        for t in tallies
    ]
    columns = [("repository", "string"), ("chunks", "int"), ("wrong", "int"), ("dimensions", "string")]
    totals = {
        "dimension": dimension,
        "chunks": sum(t.chunks for t in tallies),
        "wrong": sum(t.wrong for t in tallies),
    }
    samples = {"wrong_examples": examples((t.repository, t.examples) for t in tallies)}
    return integrity_result(
        "embeddings_match_dimension", tallies, totals, per_repository(columns, rows), samples
    )


def edges_join_existing_nodes(store: IndexStore, repository: str) -> AssetCheckResult:
    """Every edge joins two nodes of its own repository."""
    tallies = edge_tallies(store, repository)
    rows: list[dict[str, Cell]] = [
        {"repository": t.repository, "edges": t.edges, "dangling": t.dangling} for t in tallies
    ]
    columns = [("repository", "string"), ("edges", "int"), ("dangling", "int")]
    totals = {"edges": sum(t.edges for t in tallies), "dangling": sum(t.dangling for t in tallies)}
    samples = {"dangling_examples": examples((t.repository, t.examples) for t in tallies)}
    return integrity_result(
        "edges_join_existing_nodes", tallies, totals, per_repository(columns, rows), samples
    )


def pagerank_sums_to_one(store: IndexStore, repository: str) -> AssetCheckResult:
    """The PageRank of every repository sums to 1 within :data:`PAGERANK_TOLERANCE`."""
    tallies = pagerank_tallies(store, repository)
    off = [t.repository for t in tallies if not t.ok(PAGERANK_TOLERANCE)]
    deviation = max((abs(t.total - 1.0) for t in tallies if t.ranked), default=0.0)
    rows: list[dict[str, Cell]] = [
        {"repository": t.repository, "nodes": t.nodes, "ranked": t.ranked, "pagerank_sum": t.total}
        for t in tallies
    ]
    columns = [("repository", "string"), ("nodes", "int"), ("ranked", "int"), ("pagerank_sum", "float")]
    return AssetCheckResult(
        asset_key=graph_metrics.key,
        check_name="pagerank_sums_to_one",
        passed=not off,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "max_deviation": MetadataValue.float(deviation),
            "tolerance": MetadataValue.text(f"{PAGERANK_TOLERANCE:g}"),
            "repositories_off": MetadataValue.text(", ".join(off) or "none"),
            "by_repository": per_repository(columns, rows),
        },
    )


def graph_refresh_matches_rebuild(store: IndexStore, repository: str) -> AssetCheckResult:
    """The last full build of the graph (nightly, after a refresh) wrote nothing: the refreshes since
    the one before had given the graph a full build gives."""
    stats = store.graph.summary(repository)
    drift = stats.get("rebuild_drift")
    return AssetCheckResult(
        asset_key=graph_nodes.key,
        check_name="graph_refresh_matches_rebuild",
        passed=not drift,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "rebuild_drift": MetadataValue.int(drift or 0),
            "compared_at": MetadataValue.text(stats.get("rebuild_compared_at") or "not yet"),
            "graph_full_at": MetadataValue.text(stats.get("graph_full_at") or "never"),
        },
    )


def _spec(name: str, asset: AssetsDefinition, description: str) -> AssetCheckSpec:
    """A check of ``asset`` on the ``repositories`` partitions (a preview feature of Dagster 1.13 that
    says so with a warning on every definition: this one is known and wanted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(name, asset=asset, description=description, partitions_def=repositories)


CHECKS: dict[str, tuple[AssetCheckSpec, Callable[[IndexStore, str], AssetCheckResult]]] = {
    check.__name__: (_spec(check.__name__, asset, description), check)
    for check, asset, description in (
        (
            files_accounted_for,
            graph_nodes,
            "Every scanned file is indexed, skipped or failed; a skipped or failed file says why.",
        ),
        (
            embeddings_match_dimension,
            graph_nodes,
            "Every chunk has an embedding of the index's dimension (mnemo_meta.embedding_dim).",
        ),
        (
            edges_join_existing_nodes,
            graph_nodes,
            "Every edge joins two nodes of its own repository (no edge points at a missing node).",
        ),
        (
            graph_refresh_matches_rebuild,
            graph_nodes,
            "The graph's last full build (nightly, after refreshing it) found nothing to change: the "
            "refreshes that follow changes give the graph a full build gives.",
        ),
        (
            pagerank_sums_to_one,
            graph_metrics,
            f"PageRank sums to 1 in every repository (within {PAGERANK_TOLERANCE:g}).",
        ),
    )
}
"""Check name -> (its spec, the function that evaluates it)."""


@multi_asset_check(
    specs=[spec for spec, _ in CHECKS.values()],
    can_subset=True,
    retry_policy=DATABASE_RETRY,
    description="Integrity of the index, for the partition's repository.",
)
def index_checks(
    context: AssetCheckExecutionContext, index_database: IndexDatabase
) -> Iterator[AssetCheckResult]:
    store = index_database.get_store()
    try:
        selected = {key.name for key in context.selected_asset_check_keys}
        for name, (_, check) in CHECKS.items():
            if name in selected:
                yield check(store, context.partition_key)
    finally:
        store.dispose()


asset_checks = [index_checks]
"""Every check definition, for ``Definitions(asset_checks=...)``."""
