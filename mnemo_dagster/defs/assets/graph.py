"""``graph_nodes`` and ``graph_metrics``: the symbol graph over everything ``code_chunks`` holds."""

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from mnemo_dagster.core.graph_store import store_graph, store_metrics
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY, code_chunks
from mnemo_dagster.defs.resources import IndexDatabase

GRAPH_REFRESH = (
    AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
)
"""Once after a pass: some dependency partition changed, and none is still running (failed ones count
as done, so the graph then covers what is indexed)."""


class GraphConfig(Config):
    """Which repositories to rebuild; empty means every registered repository."""

    repositories: list[str] = []  # noqa: RUF012  (pydantic copies defaults)

    def selected(self, store: IndexStore) -> list[str]:
        return self.repositories or store.repository_names()


@asset(
    deps=[code_chunks],
    retry_policy=DATABASE_RETRY,
    kinds={"networkx", "postgres"},
    automation_condition=GRAPH_REFRESH,
    description="Symbols (modules, classes, functions, methods) and the edges between them.",
)
def graph_nodes(
    context: AssetExecutionContext, config: GraphConfig, index_database: IndexDatabase
) -> MaterializeResult:
    store = index_database.get_store()
    names = config.selected(store)
    totals = {"repositories": len(names), "nodes": 0, "edges": 0, "calls_resolved": 0, "calls_total": 0}
    for name in names:
        stats = store_graph(store, name)
        context.log.info(f"{name}: {stats}")
        for key in ("nodes", "edges", "calls_resolved", "calls_total"):
            totals[key] += stats.get(key, 0)
    if store.ensure_vector_index():
        context.log.info("built the HNSW index on code_chunks.embedding")
    store.dispose()
    return MaterializeResult(metadata=totals)


@asset(
    deps=[graph_nodes],
    retry_policy=DATABASE_RETRY,
    kinds={"networkx", "postgres"},
    automation_condition=GRAPH_REFRESH,
    description="PageRank, degrees, betweenness, module coupling and import cycles per repository.",
)
def graph_metrics(
    context: AssetExecutionContext, config: GraphConfig, index_database: IndexDatabase
) -> MaterializeResult:
    store = index_database.get_store()
    names = config.selected(store)
    lines = []
    cycles = 0
    for name in names:
        summary = store_metrics(store, name)
        cycles += summary["import_cycles"]
        lines += [f"| {name} | `{qn}` | {rank:.4f} |" for qn, rank in summary["top_pagerank"]]
        context.log.info(f"{name}: {summary['nodes']} nodes, {summary['import_cycles']} import cycles")
    store.dispose()
    table = "| repository | symbol | PageRank |\n|---|---|---|\n" + "\n".join(lines)
    return MaterializeResult(
        metadata={
            "repositories": len(names),
            "import_cycles": cycles,
            "top_pagerank": MetadataValue.md(table),
        }
    )
