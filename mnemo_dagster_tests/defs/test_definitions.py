from __future__ import annotations

from mnemo_dagster.defs.definitions import defs, get_graph_job, get_index_batches_job


def test_definitions_load_with_the_three_assets_and_both_jobs() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"code_chunks", "graph_nodes", "graph_metrics"}
    assert get_index_batches_job().partitions_def is not None
    assert get_index_batches_job().partitions_def.name == "file_batches"  # type: ignore[attr-defined]
    assert {node.name for node in get_graph_job().nodes_in_topological_order} == {
        "graph_nodes",
        "graph_metrics",
        "index_checks",  # the four asset checks, in one step
    }
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        "files_accounted_for",
        "embeddings_match_dimension",
        "edges_join_existing_nodes",
        "pagerank_sums_to_one",
    }
