"""``graph_nodes`` and ``graph_metrics``: the symbol graph over everything ``code_chunks`` holds."""

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
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
from mnemo_dagster.indexing.graph_build import rebuild_metrics, rebuild_nodes
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.insights import module_links, top_modules, top_symbols

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
    """Which repositories to rebuild; empty means every registered repository."""

    repositories: list[str] = []  # noqa: RUF012  (pydantic copies defaults)

    def selected(self, store: IndexStore) -> list[str]:
        return self.repositories or store.files.repository_names()


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
    try:
        totals = rebuild_nodes(store, config.selected(store), context.log.info)
    finally:
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
    try:
        names = config.selected(store)
        summaries = rebuild_metrics(store, names, context.log.info)
        pictures = graph_pictures(store, names)
    finally:
        store.dispose()
    cycles = sum(summary["import_cycles"] for summary in summaries.values())
    return MaterializeResult(metadata={"repositories": len(names), "import_cycles": cycles, **pictures})


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
