"""The asset checks against a real index (embedded PostgreSQL, the real model) and a real instance:
each passes on a healthy index and fails, with exact counts, on a deliberately broken one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    DagsterInstance,
    Definitions,
    TableMetadataValue,
    define_asset_job,
)

from mnemo_dagster.defs.assets.code_chunks import code_chunks as code_chunks_asset
from mnemo_dagster.defs.assets.graph import graph_metrics as graph_metrics_asset
from mnemo_dagster.defs.assets.graph import graph_nodes as graph_nodes_asset
from mnemo_dagster.defs.checks import asset_checks
from mnemo_dagster.defs.resources import RESOURCES, IndexDatabase
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.graph_build import store_graph, store_metrics
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import (
    code_chunks,
    graph_edges,
    graph_metrics,
    graph_nodes,
    mnemo_meta,
    source_files,
)
from mnemo_dagster.store.server import DatabaseUrls
from mnemo_dagster_tests.databases import new_database

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"
TINY = {
    "tiny/app.py": "from tiny.util import helper\n\n\ndef main():\n    return helper()\n",
    "tiny/util.py": "def helper():\n    return 1\n",
}


@pytest.fixture(scope="module")
def healthy(
    urls: DatabaseUrls, embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseUrls]:
    """A database holding a healthy index of two repositories, ``shop`` (the sample repository) and
    ``tiny``, built once: each test breaks its own copy."""
    root = tmp_path_factory.mktemp("tiny")
    for relative, text in TINY.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    with new_database(urls) as built:
        store = IndexStore(built.index)
        store.ensure_schema(embedder.model_name, embedder.dimension)
        for repository, source in (("shop", SAMPLE), ("tiny", root)):
            plan = plan_pass(store, repository, source, max_file_bytes=1 << 20)
            for key in plan.to_run:
                index_batch(store, embedder, key)
            store_graph(store, repository)
            store_metrics(store, repository)
        store.dispose()
        yield built


@pytest.fixture
def index(urls: DatabaseUrls, healthy: DatabaseUrls) -> Iterator[IndexStore]:
    """A copy of the healthy index, for this test to break."""
    with new_database(urls, copy_of=healthy) as copy:
        store = IndexStore(copy.index)
        yield store
        store.dispose()


def run_checks(
    instance: DagsterInstance, store: IndexStore, *only: AssetCheckKey
) -> dict[str, dict[str, AssetCheckEvaluation]]:
    """Execute the checks (``only`` these if given), not the graph assets, through ``instance``, on the
    partition of each repository; return their evaluations by repository, then check name."""
    instance.add_dynamic_partitions("repositories", ["shop", "tiny"])
    graph_job = Definitions(
        assets=[code_chunks_asset, graph_nodes_asset, graph_metrics_asset],
        asset_checks=asset_checks,
        jobs=[define_asset_job("graph_job", selection=[graph_nodes_asset, graph_metrics_asset])],
        resources={**RESOURCES, "index_database": IndexDatabase(url=store.url)},
    ).resolve_job_def("graph_job")
    every = {key for check in asset_checks for key in check.check_keys}
    job = graph_job.get_subset(asset_selection=set(), asset_check_selection=set(only) or every)
    found: dict[str, dict[str, AssetCheckEvaluation]] = {}
    for repository in ("shop", "tiny"):
        result = job.execute_in_process(instance=instance, partition_key=repository)
        assert result.success
        assert result.get_asset_materialization_events() == []  # the graph was not rebuilt
        evaluations = result.get_asset_check_evaluations()
        assert {e.partition for e in evaluations} == {repository}
        found[repository] = {e.check_name: e for e in evaluations}
    return found


def value(evaluation: AssetCheckEvaluation, key: str) -> Any:
    return evaluation.metadata[key].value


def table(evaluation: AssetCheckEvaluation, key: str = "by_repository") -> dict[str, dict[str, Any]]:
    """The per-repository table of a check, keyed by repository."""
    metadata = evaluation.metadata[key]
    assert isinstance(metadata, TableMetadataValue)
    rows = [record.data for record in metadata.records]
    return {str(row["repository"]): {k: v for k, v in row.items() if k != "repository"} for row in rows}


def count(store: IndexStore, query: sa.Select[Any]) -> int:
    with store.begin() as conn:
        return conn.execute(query).scalar_one()


def per_repository(store: IndexStore, table_: sa.Table) -> dict[str, int]:
    with store.begin() as conn:
        query = sa.select(table_.c.repository, sa.func.count()).group_by(table_.c.repository)
        return dict(conn.execute(query).all())


def test_every_check_passes_on_a_healthy_index(instance: DagsterInstance, index: IndexStore) -> None:
    by_repository = run_checks(instance, index)

    for checks in by_repository.values():
        assert {name: e.passed for name, e in checks.items()} == {
            "files_accounted_for": True,
            "embeddings_match_dimension": True,
            "edges_join_existing_nodes": True,
            "graph_refresh_matches_rebuild": True,
            "pagerank_sums_to_one": True,
        }
    files = by_repository["tiny"]["files_accounted_for"]
    assert (value(files, "repositories"), value(files, "pending"), value(files, "unexplained")) == (1, 0, 0)
    assert table(files)["tiny"] == {
        "indexed": 2,
        "skipped": 0,
        "failed": 0,
        "pending": 0,
        "other": 0,
        "unexplained": 0,
    }
    assert table(by_repository["shop"]["files_accounted_for"])["shop"]["indexed"] == count(
        index,
        sa.select(sa.func.count()).where(
            source_files.c.repository == "shop", source_files.c.status == "indexed"
        ),
    )
    assert value(files, "pending_examples") == "none"

    for name, chunks in per_repository(index, code_chunks).items():
        embeddings = by_repository[name]["embeddings_match_dimension"]
        assert (value(embeddings, "dimension"), value(embeddings, "chunks"), value(embeddings, "wrong")) == (
            384,
            chunks,
            0,
        )
    for name, n in per_repository(index, graph_edges).items():
        assert table(by_repository[name]["edges_join_existing_nodes"]) == {name: {"edges": n, "dangling": 0}}

    pagerank = {name: checks["pagerank_sums_to_one"] for name, checks in by_repository.items()}
    with index.begin() as conn:  # external and builtin nodes get no PageRank
        nodes = dict(
            conn.execute(
                sa.select(graph_nodes.c.repository, sa.func.count())
                .where(graph_nodes.c.kind.not_in(("external", "builtin")))
                .group_by(graph_nodes.c.repository)
            ).all()
        )
    for name, n in nodes.items():
        [row] = table(pagerank[name]).values()
        assert (row["nodes"], row["ranked"]) == (n, n) and abs(row["pagerank_sum"] - 1) < 1e-9
    for checks in by_repository.values():
        assert checks["pagerank_sums_to_one"].severity == AssetCheckSeverity.WARN
        assert {checks[c].severity for c in checks if c != "pagerank_sums_to_one"} == {
            AssetCheckSeverity.ERROR
        }


def test_a_pending_file_and_a_failure_without_reason_fail_the_file_check(
    instance: DagsterInstance, index: IndexStore
) -> None:
    with index.begin() as conn:
        for path, status in (("shop/retry.py", "pending"), ("web/format.ts", "failed")):
            conn.execute(
                source_files.update()
                .where(source_files.c.repository == "shop", source_files.c.path == path)
                .values(status=status, error=None)
            )

    checks = run_checks(instance, index)
    files = checks["shop"]["files_accounted_for"]

    assert not files.passed and checks["tiny"]["files_accounted_for"].passed
    assert (value(files, "pending"), value(files, "unexplained")) == (1, 1)
    assert (table(files)["shop"]["pending"], table(files)["shop"]["unexplained"]) == (1, 1)
    assert value(files, "pending_examples") == "shop: shop/retry.py"
    assert value(files, "unexplained_examples") == "shop: web/format.ts"


def test_embeddings_of_another_dimension_fail_the_embedding_check(
    instance: DagsterInstance, index: IndexStore
) -> None:
    with index.begin() as conn:
        conn.execute(mnemo_meta.update().where(mnemo_meta.c.key == "embedding_dim").values(value="768"))
    chunks = per_repository(index, code_chunks)

    embeddings = run_checks(instance, index)["tiny"]["embeddings_match_dimension"]

    assert not embeddings.passed
    assert (value(embeddings, "dimension"), value(embeddings, "wrong")) == (768, chunks["tiny"])
    assert table(embeddings)["tiny"] == {
        "chunks": chunks["tiny"],
        "wrong": chunks["tiny"],
        "dimensions": f"384: {chunks['tiny']}",
    }


def test_a_vector_column_altered_by_hand_is_read_chunk_by_chunk(
    instance: DagsterInstance, index: IndexStore
) -> None:
    # The schema declares vector(384) NOT NULL, which the check trusts instead of reading 42k vectors
    # on a large index; a column whose dimension was dropped by hand is read again, vector by vector.
    with index.begin() as conn:
        conn.execute(sa.text("DROP INDEX IF EXISTS code_chunks_embedding_hnsw"))
        conn.execute(sa.text("ALTER TABLE code_chunks ALTER COLUMN embedding TYPE vector"))
        first = conn.execute(
            sa.select(code_chunks.c.id, code_chunks.c.file_path, code_chunks.c.start_line)
            .where(code_chunks.c.repository == "tiny")
            .order_by(code_chunks.c.file_path, code_chunks.c.start_line)
            .limit(1)
        ).one()
        conn.execute(sa.text("UPDATE code_chunks SET embedding = '[1,2,3]' WHERE id = :id"), {"id": first.id})
    chunks = per_repository(index, code_chunks)

    embeddings = run_checks(instance, index)["tiny"]["embeddings_match_dimension"]

    assert not embeddings.passed and value(embeddings, "wrong") == 1
    assert table(embeddings)["tiny"]["dimensions"] == f"3: 1, 384: {chunks['tiny'] - 1}"
    assert value(embeddings, "wrong_examples") == f"tiny: {first.file_path}:{first.start_line}"


def test_edges_to_a_missing_node_or_another_repository_fail_the_edge_check(
    instance: DagsterInstance, index: IndexStore
) -> None:
    with index.begin() as conn:
        ids = dict(conn.execute(sa.select(graph_nodes.c.qualified_name, graph_nodes.c.id)).all())
        missing = max(ids.values()) + 1000
        # the foreign key would refuse an edge to a missing node: drop it, as a damaged database might
        conn.execute(sa.text("ALTER TABLE graph_edges DROP CONSTRAINT graph_edges_target_id_fkey"))
        conn.execute(
            graph_edges.insert(),
            [
                {
                    "repository": "shop",
                    "source_id": ids["shop/retry.py"],
                    "target_id": missing,
                    "kind": "calls",
                },
                {
                    "repository": "tiny",
                    "source_id": ids["tiny/app.py"],
                    "target_id": ids["shop/retry.py"],
                    "kind": "imports",
                },
            ],
        )

    checks = run_checks(instance, index)
    shop, tiny = (checks[name]["edges_join_existing_nodes"] for name in ("shop", "tiny"))

    assert not shop.passed and not tiny.passed
    assert value(shop, "dangling") == value(tiny, "dangling") == 1
    retry, app = ids["shop/retry.py"], ids["tiny/app.py"]
    assert value(shop, "dangling_examples") == f"shop: {retry} -calls-> {missing}"
    assert value(tiny, "dangling_examples") == f"tiny: {app} -imports-> {retry}"


def test_a_pagerank_off_by_a_percent_fails_and_one_off_by_rounding_passes(
    instance: DagsterInstance, index: IndexStore
) -> None:
    def bump(repository: str, amount: float) -> None:
        with index.begin() as conn:
            node = conn.execute(
                sa.select(sa.func.min(graph_metrics.c.node_id)).where(
                    graph_metrics.c.repository == repository
                )
            ).scalar_one()
            conn.execute(
                graph_metrics.update()
                .where(graph_metrics.c.node_id == node)
                .values(pagerank=graph_metrics.c.pagerank + amount)
            )

    bump("shop", 0.01)
    bump("tiny", 1e-9)

    by_repository = run_checks(
        instance, index, AssetCheckKey(graph_metrics_asset.key, "pagerank_sums_to_one")
    )

    # the UI can run one check of the four alone
    assert {name: list(checks) for name, checks in by_repository.items()} == {
        "shop": ["pagerank_sums_to_one"],
        "tiny": ["pagerank_sums_to_one"],
    }
    pagerank = by_repository["shop"]["pagerank_sums_to_one"]
    assert not pagerank.passed and by_repository["tiny"]["pagerank_sums_to_one"].passed
    assert value(pagerank, "repositories_off") == "shop"
    assert table(pagerank)["shop"]["pagerank_sum"] == pytest.approx(1.01, abs=1e-9)
    assert value(pagerank, "max_deviation") == pytest.approx(0.01, abs=1e-9)
