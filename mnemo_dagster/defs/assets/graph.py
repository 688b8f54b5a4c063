"""``graph_nodes`` and ``graph_metrics``: the symbol graph over everything ``code_chunks`` holds."""

from collections.abc import Callable, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY, code_chunks
from mnemo_dagster.defs.resources import IndexDatabase
from mnemo_dagster.graph.diagrams import (
    MODULE_GRAPH_LEGEND,
    module_graph_mermaid,
    module_graph_svg,
    repository_sections,
    svg_image,
    top_symbols_table,
)
from mnemo_dagster.indexing.graph_build import needs_refresh, rebuild_metrics, rebuild_nodes
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.insights import module_links, top_modules, top_symbols
from mnemo_dagster.store.reports import status_report

GRAPH_REFRESH = (
    AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
)
"""Once after a pass: some dependency partition changed, and none is still running (failed ones count
as done, so the graph then covers what is indexed)."""

DIAGRAM_MODULES = 25
"""Modules drawn in the module picture of each repository (the most PageRank first): more is unreadable."""
TOP_SYMBOLS = 15
"""Rows of the top-symbols table of each repository."""


class GraphConfig(Config):
    """Which repositories to refresh: those named in ``repositories``; else, with ``all_repositories``,
    every registered one; else those whose graph is behind their files or whose carried metrics are a
    day old (:func:`~mnemo_dagster.indexing.graph_build.needs_refresh`), so a pass over one repository
    refreshes that one alone. ``full_metrics`` computes betweenness and communities anew even where they would
    be carried over (see :func:`~mnemo_dagster.indexing.graph_build.store_metrics`)."""

    repositories: list[str] = []  # noqa: RUF012  (pydantic copies defaults)
    all_repositories: bool = False
    full_metrics: bool = False

    def selected(self, store: IndexStore) -> list[str]:
        if self.repositories:
            return list(self.repositories)
        names = store.files.repository_names()
        return names if self.all_repositories else [name for name in names if needs_refresh(store, name)]


Rebuild = Callable[[IndexStore, list[str], Callable[[str], None], GraphConfig], Mapping[str, Any]]
"""What a graph asset does to the selected repositories (store, names, log, config); it returns the
metadata."""


def graph_asset(
    name: str, upstream: AssetsDefinition, description: str, rebuild: Rebuild
) -> AssetsDefinition:
    """A graph asset: after ``upstream`` (:data:`GRAPH_REFRESH`), ``rebuild`` on the selected repositories."""

    @asset(
        name=name,
        deps=[upstream],
        retry_policy=DATABASE_RETRY,
        kinds={"networkx", "postgres"},
        automation_condition=GRAPH_REFRESH,
        description=description,
    )
    def graph_step(
        context: AssetExecutionContext, config: GraphConfig, index_database: IndexDatabase
    ) -> MaterializeResult:
        store = index_database.get_store()
        try:
            metadata = rebuild(store, config.selected(store), context.log.info, config)
        finally:
            store.dispose()
        return MaterializeResult(metadata=metadata)

    return graph_step


def nodes_step(
    store: IndexStore, names: list[str], log: Callable[[str], None], config: GraphConfig
) -> dict[str, int]:
    """``graph_nodes``: each repository's graph brought up to date (only what changed is written)."""
    return rebuild_nodes(store, names, log)


def metrics_and_pictures(
    store: IndexStore, names: list[str], log: Callable[[str], None], config: GraphConfig
) -> dict[str, int | MetadataValue]:
    """``graph_metrics``: the metrics of each repository, then its pictures (:func:`graph_pictures`)."""
    summaries = rebuild_metrics(store, names, log, full=True if config.full_metrics else None)
    cycles = sum(summary["import_cycles"] for summary in summaries.values())
    carried = sum(summary["metrics"] == "carried" for summary in summaries.values())
    return {
        "repositories": len(names),
        "import_cycles": cycles,
        "repositories_with_carried_metrics": carried,
        "freshness": freshness_table(store),
        **graph_pictures(store, names),
    }


FRESHNESS_COLUMNS = (
    ("repository", "string"),
    ("indexed", "int"),
    ("pending", "int"),
    ("scanned_at", "string"),
    ("graph_built_at", "string"),
    ("metrics", "string"),
    ("changes_since_full", "int"),
)


def freshness_table(store: IndexStore) -> MetadataValue:
    """Every registered repository (refreshed by this run or not): files indexed, files pending (found
    changed on disk by the last scan, waiting for their batch), when it was last scanned and its
    graph built, and whether its costly metrics were computed in full or carried."""
    records = []
    for name in store.files.repository_names():
        report = status_report(store, name)
        graph = report["graph"]
        records.append(
            TableRecord(
                {
                    "repository": name,
                    "indexed": report["files"]["indexed"],
                    "pending": report["files"]["pending"],
                    "scanned_at": report["scanned_at"] or "never",
                    "graph_built_at": report["graph_built_at"] or "never",
                    "metrics": graph.get("metrics", "none"),
                    "changes_since_full": int(graph.get("changes_since_full", 0)),
                }
            )
        )
    schema = TableSchema(columns=[TableColumn(name, kind) for name, kind in FRESHNESS_COLUMNS])
    return MetadataValue.table(records=records, schema=schema)


graph_nodes = graph_asset(
    "graph_nodes",
    code_chunks,
    "Symbols (modules, classes, functions, methods) and the edges between them.",
    nodes_step,
)
graph_metrics = graph_asset(
    "graph_metrics",
    graph_nodes,
    "PageRank, degrees, betweenness, module coupling and import cycles per repository (betweenness and "
    "communities are carried over between full computations while the graph moves little).",
    metrics_and_pictures,
)


def graph_pictures(store: IndexStore, names: list[str]) -> dict[str, MetadataValue]:
    """Markdown metadata of ``graph_metrics``, per repository: the module picture (an SVG image, which
    the UI shows; it does not render Mermaid), the same graph as Mermaid text, and the top symbols."""
    pictures, mermaid, tables = [], [], []
    for name in names:
        modules = top_modules(store, name, DIAGRAM_MODULES)
        links = module_links(store, name, [path for path, _ in modules])
        caption = f"The {len(modules)} modules holding the most PageRank. {MODULE_GRAPH_LEGEND}"
        image = svg_image(module_graph_svg(modules, links), f"module graph of {name}")
        pictures.append((name, f"{caption}\n\n{image}"))
        mermaid.append((name, module_graph_mermaid(modules, links)))
        tables.append((name, top_symbols_table(top_symbols(store, name, TOP_SYMBOLS))))
    return {
        "module_graph": MetadataValue.md(repository_sections(pictures)),
        "top_pagerank": MetadataValue.md(repository_sections(tables)),
        "module_graph_mermaid": MetadataValue.md(repository_sections(mermaid)),
    }
