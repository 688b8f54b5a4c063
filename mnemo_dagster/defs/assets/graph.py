"""``graph_nodes`` and ``graph_metrics``: the symbol graph of each repository, one ``repositories``
partition each.

Each repository's graph depends on its own batches only, but Dagster has no partition mapping from a
batch key (``name__0001``) to its repository, so ``graph_nodes`` declares all of ``code_chunks``
upstream (``AllPartitionMapping``), and no automation condition: ``directory_change_sensor`` requests a
repository's partition once its graph is behind its files and none of its batches is still to run
(:mod:`mnemo_dagster.defs.sensors`), and ``mnemo index`` runs it at the end of its pass."""

from collections.abc import Callable, Mapping
from typing import Any

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from mnemo_dagster.defs.assets.code_chunks import DATABASE_RETRY, code_chunks
from mnemo_dagster.defs.partitions import repositories
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
from mnemo_dagster.store.reports import status_report

DIAGRAM_MODULES = 25
"""Modules drawn in the module picture of each repository (the most PageRank first): more is unreadable."""
TOP_SYMBOLS = 15
"""Rows of the top-symbols table of each repository."""


class GraphConfig(Config):
    """``full_metrics`` computes betweenness and communities anew even where they would be carried over
    (see :func:`~mnemo_dagster.indexing.graph_build.store_metrics`)."""

    full_metrics: bool = False


Rebuild = Callable[[IndexStore, str, Callable[[str], None], GraphConfig], Mapping[str, Any]]
"""What a graph asset does to its partition's repository (store, name, log, config); it returns the
metadata."""


def graph_asset(name: str, upstream: AssetDep, description: str, rebuild: Rebuild) -> AssetsDefinition:
    """A graph asset on the ``repositories`` partitions, after ``upstream``: ``rebuild`` on the
    partition's repository."""

    @asset(
        name=name,
        deps=[upstream],
        partitions_def=repositories,
        retry_policy=DATABASE_RETRY,
        kinds={"networkx", "postgres"},
        description=description,
    )
    def graph_step(
        context: AssetExecutionContext, config: GraphConfig, index_database: IndexDatabase
    ) -> MaterializeResult:
        repository = context.partition_key
        store = index_database.get_store()
        try:
            if store.files.root(repository) is None:
                raise Failure(
                    f"repository {repository!r} is not registered (`mnemo index PATH --name {repository}`)",
                    allow_retries=False,
                )
            metadata = rebuild(store, repository, context.log.info, config)
        finally:
            store.dispose()
        return MaterializeResult(metadata=metadata)

    return graph_step


def nodes_step(
    store: IndexStore, repository: str, log: Callable[[str], None], config: GraphConfig
) -> dict[str, int]:
    """``graph_nodes``: the repository's graph brought up to date (only what changed is written)."""
    return rebuild_nodes(store, [repository], log)


def metrics_and_pictures(
    store: IndexStore, repository: str, log: Callable[[str], None], config: GraphConfig
) -> dict[str, int | str | MetadataValue]:
    """``graph_metrics``: the repository's metrics, its freshness (:func:`freshness`), then its pictures
    (:func:`graph_pictures`)."""
    summaries = rebuild_metrics(store, [repository], log, full=True if config.full_metrics else None)
    summary = summaries[repository]
    return {
        "import_cycles": summary["import_cycles"],
        **freshness(store, repository),
        **graph_pictures(store, [repository]),
    }


def freshness(store: IndexStore, repository: str) -> dict[str, int | str]:
    """How current the repository's index and graph are: files indexed, files pending (found changed on
    disk by the last scan, waiting for their batch), when it was last scanned and its graph built,
    whether its costly metrics were computed in full or carried, and the changes since they were."""
    report = status_report(store, repository)
    graph = report["graph"]
    return {
        "files_indexed": report["files"]["indexed"],
        "files_pending": report["files"]["pending"],
        "scanned_at": report["scanned_at"] or "never",
        "graph_built_at": report["graph_built_at"] or "never",
        "metrics": graph.get("metrics", "none"),
        "changes_since_full": int(graph.get("changes_since_full", 0)),
    }


graph_nodes = graph_asset(
    "graph_nodes",
    AssetDep(code_chunks, partition_mapping=AllPartitionMapping()),
    "Symbols (modules, classes, functions, methods) and the edges between them.",
    nodes_step,
)
graph_metrics = graph_asset(
    "graph_metrics",
    AssetDep(graph_nodes),
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
