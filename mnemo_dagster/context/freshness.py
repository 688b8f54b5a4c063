"""Whether the index is current: what it holds, what waits to be indexed, what changed on disk since,
and whether a pass is running now, so that an agent knows how far to trust an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnemo_dagster.errors import UnknownRepositoryError, unknown_repository
from mnemo_dagster.indexing.discovery import scan
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.reports import status_report

MAX_LISTED = 20
"""Changed paths listed per repository (all are counted)."""


def disk_changes(store: IndexStore, repository: str, root: str, max_file_bytes: int) -> dict[str, Any]:
    """What changed under ``root`` since the last pass recorded it (a scan that writes nothing): counts
    of changed, new and deleted files, and the first :data:`MAX_LISTED` of their paths."""
    if not Path(root).is_dir():
        return {"checked": False, "reason": f"the root {root} is not a directory here"}
    stored = store.files.stored(repository)
    found = scan(Path(root), store.files.known_states(stored), max_file_bytes=max_file_bytes)
    changed = sorted(f.path for f in found.changed if f.path in stored)
    new = sorted(f.path for f in found.changed if f.path not in stored)
    return {
        "checked": True,
        "changed": len(changed),
        "new": len(new),
        "deleted": len(found.deleted),
        "paths": (changed + new + sorted(found.deleted))[:MAX_LISTED],
    }


def _state(report: dict[str, Any], disk: dict[str, Any] | None, running: bool) -> str:
    if running:
        return "indexing"
    if report["files"]["pending"] or (
        disk and disk.get("checked") and (disk["changed"] or disk["new"] or disk["deleted"])
    ):
        return "stale"
    if report["scanned_at"] is None:
        return "empty"
    return "current"


def index_status(
    store: IndexStore,
    repository: str | None = None,
    *,
    check_disk: bool = True,
    max_file_bytes: int = 1 << 20,
) -> dict[str, Any]:
    """Per repository (or the one named): files indexed, pending and failed, the last scan and graph
    build, whether a pass holds its lock now, and (``check_disk``) the files changed on disk since.

    ``state`` sums it up: ``indexing`` (a pass runs), ``stale`` (files wait or changed on disk),
    ``current``."""
    known = store.files.repository_names() if store.has_schema() else []
    if repository is not None and repository not in known:
        raise UnknownRepositoryError(unknown_repository(repository, known, "none (run `mnemo index PATH`)"))
    answers = []
    for name in [repository] if repository else known:
        report = status_report(store, name)
        with store.pass_lock(name) as free:
            running = not free
        disk = disk_changes(store, name, report["root_path"], max_file_bytes) if check_disk else None
        answers.append(
            {
                "repository": name,
                "state": _state(report, disk, running),
                "pass_running": running,
                "root_path": report["root_path"],
                "files": report["files"],
                "chunks": report["chunks"],
                "nodes": report["nodes"],
                "edges": report["edges"],
                "last_scan": report["scanned_at"],
                "graph_built_at": report["graph_built_at"],
                "changed_on_disk": disk,
                "failed": report["failed"][:MAX_LISTED],
            }
        )
    return {"repositories": answers}
