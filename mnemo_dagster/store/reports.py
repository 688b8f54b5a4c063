"""What ``mnemo status`` reports about a repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mnemo_dagster.store.schema import code_chunks, graph_edges, graph_nodes, repositories, source_files

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore


def status_report(store: IndexStore, repository: str) -> dict[str, Any]:
    """Counts and failures of one repository, for ``mnemo status``."""
    with store.begin() as conn:
        root, scanned, graph_built, graph_stats = conn.execute(
            sa.select(
                repositories.c.root_path,
                repositories.c.scanned_at,
                repositories.c.graph_built_at,
                repositories.c.graph_stats,
            ).where(repositories.c.name == repository)
        ).one()
        by_status = dict(
            conn.execute(
                sa.select(source_files.c.status, sa.func.count())
                .where(source_files.c.repository == repository)
                .group_by(source_files.c.status)
            ).all()
        )
        batches = conn.execute(
            sa.select(sa.func.count(sa.distinct(source_files.c.batch_key))).where(
                source_files.c.repository == repository
            )
        ).scalar_one()
        problems = conn.execute(
            sa.select(source_files.c.path, source_files.c.status, source_files.c.error)
            .where(source_files.c.repository == repository, source_files.c.error.is_not(None))
            .order_by(source_files.c.status, source_files.c.path)
        ).all()

        def count(table: sa.Table) -> int:
            return conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.repository == repository)
            ).scalar_one()

        counts = {"chunks": count(code_chunks), "nodes": count(graph_nodes), "edges": count(graph_edges)}
    files = {status: int(by_status.get(status, 0)) for status in ("indexed", "pending", "failed", "skipped")}
    return {
        "repository": repository,
        "root_path": root,
        "scanned_at": scanned.isoformat() if scanned else None,
        "graph_built_at": graph_built.isoformat() if graph_built else None,
        "files": files,
        "batches": batches,
        **counts,
        "failed": [{"path": p, "reason": e} for p, s, e in problems if s == "failed"],
        "skipped": [{"path": p, "reason": e} for p, s, e in problems if s == "skipped"],
        "warnings": [{"path": p, "warning": e} for p, s, e in problems if s == "indexed"],
        "graph": graph_stats or {},
    }
