"""One indexing pass, before anything runs: scan a repository, record what changed, plan its batches.

Used by ``mnemo index`` and by the directory-change sensor alike, so both see the same plan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mnemo_dagster.config.defaults import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES
from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.batching import BatchLimits, plan_batches
from mnemo_dagster.indexing.discovery import ScanResult, scan
from mnemo_dagster.indexing.targets import check_repository_name, default_repository_name
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.files import StoredFile

__all__ = ["PassPlan", "default_repository_name", "plan_pass"]


@dataclass(frozen=True, slots=True)
class PassPlan:
    """What a pass over one repository has to do."""

    repository: str
    batches: tuple[str, ...]
    """Every batch key of the repository after this scan."""
    to_run: tuple[str, ...]
    """Batches holding a file that is new, changed, or pending since an interrupted pass."""
    removed: tuple[str, ...]
    """Batch keys that no longer hold any file (their partitions should go)."""
    files_new_or_changed: int
    files_unchanged: int
    files_deleted: int
    files_skipped: int
    files_to_index: int = 0
    """Files waiting in ``to_run``: new, changed, or left pending by an interrupted pass."""
    files_pending: int = 0
    """Of ``files_to_index``, those unchanged on disk but left pending by an earlier pass (not counted
    in ``files_unchanged``)."""

    @property
    def files_to_write(self) -> int:
        """Files whose rows the pass writes: those to index, and those deleted."""
        return self.files_to_index + self.files_deleted


def plan_pass(
    store: IndexStore,
    repository: str,
    root: Path,
    *,
    max_file_bytes: int,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    max_files: int | None = None,
    candidates: Collection[str] | None = None,
) -> PassPlan:
    """Register ``root`` as ``repository``, scan it against the stored state and plan its batches.

    ``max_files`` caps files per batch and is remembered for the repository (so the sensor plans the
    same way); None keeps the remembered cap, or the default. ``candidates`` (from a ``git diff``) are
    the only known files the scan may find changed.
    """
    root = _check_target(store, repository, root)
    before_keys = set(store.files.batch_keys(repository))
    store.files.register(repository, str(root), batch_max_files=max_files)
    limits = BatchLimits(
        max_bytes=batch_bytes, max_files=store.files.batch_max_files(repository) or DEFAULT_BATCH_FILES
    )
    stored = store.files.stored(repository)
    started = datetime.now(UTC)  # what the walk finds is the tree as of now, or later
    result = scan(
        root, store.files.known_states(stored), max_file_bytes=max_file_bytes, candidates=candidates
    )

    changed = {f.path: f for f in result.changed}
    plan = plan_batches(repository, *_sizes_and_batches(result, stored), limits)

    store.files.apply_scan(
        repository,
        changed=result.changed,
        touched=result.touched,
        deleted=result.deleted,
        plan=plan,
        scanned_at=started,
    )
    # Stored files that were unassigned before (none in the normal case) get their key here.
    store.files.move_to_batches(
        repository,
        {p: k for p, k in plan.items() if p not in changed and p in stored and stored[p].batch_key != k},
    )
    after_keys = set(plan.values())
    to_index = store.files.pending_count(repository)
    new_or_changed = sum(1 for f in result.changed if f.skip_reason is None)
    left_pending = max(to_index - new_or_changed, 0)
    return PassPlan(
        repository=repository,
        batches=tuple(sorted(after_keys)),
        to_run=tuple(store.files.pending_batches(repository)),
        files_to_index=to_index,
        files_pending=left_pending,
        removed=tuple(sorted(before_keys - after_keys)),
        files_new_or_changed=new_or_changed,
        files_unchanged=len(result.unchanged) + len(result.touched) - left_pending,
        files_deleted=len(result.deleted),
        files_skipped=sum(1 for f in result.changed if f.skip_reason),
    )


def _check_target(store: IndexStore, repository: str, root: Path) -> Path:
    """The resolved root, after checking the name, the directory, and that the name is not taken."""
    check_repository_name(repository)
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory")
    existing_root = store.files.root(repository)
    if existing_root is not None and existing_root != str(root):
        raise ConfigError(
            f"repository {repository!r} is already registered for {existing_root}; pick another --name"
        )
    return root


def _sizes_and_batches(
    result: ScanResult, stored: Mapping[str, StoredFile]
) -> tuple[dict[str, int], dict[str, str | None]]:
    """Of every indexable file after the scan: its size, and the batch it was in (None if new)."""
    sizes: dict[str, int] = {}
    current: dict[str, str | None] = {}
    for path in result.unchanged:
        file = stored[path]
        if file.status != "skipped":
            sizes[path] = file.size_bytes
            current[path] = file.batch_key
    for file in (*result.touched, *result.changed):
        if file.skip_reason is None:
            sizes[file.path] = file.size_bytes
            current[file.path] = stored[file.path].batch_key if file.path in stored else None
    return sizes, current
