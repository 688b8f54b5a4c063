"""The ``repositories`` and ``source_files`` tables: which files a repository has, and their state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from mnemo_dagster.models import KnownState, SourceFile
from mnemo_dagster.store.schema import code_chunks, repositories, slices, source_files, utc_now

if TYPE_CHECKING:
    from mnemo_dagster.store.engine import Database


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A ``source_files`` row."""

    path: str
    language: str | None
    size_bytes: int
    mtime_ns: int
    content_hash: str | None
    indexed_hash: str | None
    batch_key: str | None
    status: str
    error: str | None


@dataclass(frozen=True, slots=True)
class IndexedState:
    """What the index knows of one file's version on disk: where its repository lives, the size and
    mtime its last scan saw, and whether its stored chunks are of that version."""

    root_path: str
    size_bytes: int
    mtime_ns: int
    current: bool


@dataclass(frozen=True, slots=True)
class Registration:
    """A registered repository, as the directory sensor reads it on each tick."""

    name: str
    root_path: str
    scanned_at: datetime | None
    """When the walk of its last scan started (every change made before then is recorded); None
    before a first scan finished."""


class FileStore:
    """Repositories and their files: registration, scan results, batch assignment."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(self, name: str, root_path: str, *, batch_max_files: int | None = None) -> None:
        """Add or update a repository; ``batch_max_files`` None keeps the stored cap."""
        changes: dict[str, Any] = {"root_path": root_path}
        if batch_max_files is not None:
            changes["batch_max_files"] = batch_max_files
        with self.db.begin() as conn:
            stmt = pg_insert(repositories).values(name=name, **changes)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=changes))

    def batch_max_files(self, name: str) -> int | None:
        with self.db.begin() as conn:
            return conn.execute(
                sa.select(repositories.c.batch_max_files).where(repositories.c.name == name)
            ).scalar_one_or_none()

    def root(self, name: str) -> str | None:
        with self.db.begin() as conn:
            return conn.execute(
                sa.select(repositories.c.root_path).where(repositories.c.name == name)
            ).scalar_one_or_none()

    def record_source(self, name: str, url: str, ref: str, commit: str) -> None:
        """Record the git URL, ref and commit of repository ``name`` (its row exists once a pass planned)."""
        with self.db.begin() as conn:
            conn.execute(
                sa.update(repositories)
                .where(repositories.c.name == name)
                .values(source_url=url, source_ref=ref, source_commit=commit)
            )

    def recorded_source(self, name: str) -> tuple[str, str | None, str | None] | None:
        """``(root_path, source_url, source_commit)`` of repository ``name``; None if it is not registered."""
        with self.db.begin() as conn:
            row = conn.execute(
                sa.select(
                    repositories.c.root_path, repositories.c.source_url, repositories.c.source_commit
                ).where(repositories.c.name == name)
            ).first()
        return (row[0], row[1], row[2]) if row else None

    def registrations(self) -> list[Registration]:
        """Every registered repository, by name."""
        if not self.db.has_schema():
            return []
        r = repositories.c
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(r.name, r.root_path, r.scanned_at).order_by(r.name)).all()
        return [Registration(*row) for row in rows]

    def repository_names(self) -> list[str]:
        if not self.db.has_schema():
            return []
        with self.db.begin() as conn:
            return list(conn.execute(sa.select(repositories.c.name).order_by(repositories.c.name)).scalars())

    def stored(self, repository: str, batch_key: str | None = None) -> dict[str, StoredFile]:
        query = sa.select(
            source_files.c.path,
            source_files.c.language,
            source_files.c.size_bytes,
            source_files.c.mtime_ns,
            source_files.c.content_hash,
            source_files.c.indexed_hash,
            source_files.c.batch_key,
            source_files.c.status,
            source_files.c.error,
        ).where(source_files.c.repository == repository)
        if batch_key is not None:
            query = query.where(source_files.c.batch_key == batch_key)
        with self.db.begin() as conn:
            return {row.path: StoredFile(*row) for row in conn.execute(query)}

    def indexed_states(
        self, files: Sequence[tuple[str, str]], conn: Connection | None = None
    ) -> dict[tuple[str, str], IndexedState]:
        """(repository, path) -> :class:`IndexedState`, for those of ``files`` the index holds (read
        through ``conn`` when given: a search reads them in its own transaction)."""
        if not files:
            return {}
        f, r = source_files.c, repositories.c
        current = sa.and_(
            f.status == "indexed", f.indexed_hash.is_not(None), f.indexed_hash == f.content_hash
        )
        query = (
            sa.select(f.repository, f.path, r.root_path, f.size_bytes, f.mtime_ns, current)
            .join(repositories, r.name == f.repository)
            .where(sa.tuple_(f.repository, f.path).in_(sorted(set(files))))
        )
        if conn is not None:
            return {(row[0], row[1]): IndexedState(*row[2:]) for row in conn.execute(query)}
        with self.db.begin() as own:
            return self.indexed_states(files, own)

    @staticmethod
    def known_states(files: Mapping[str, StoredFile]) -> dict[str, KnownState]:
        """The part of the stored state a scan compares against."""
        return {
            path: KnownState(
                f.size_bytes, f.mtime_ns, f.content_hash, f.error if f.status == "skipped" else None
            )
            for path, f in files.items()
        }

    def apply_scan(
        self,
        repository: str,
        *,
        changed: Sequence[SourceFile],
        touched: Sequence[SourceFile],
        deleted: Sequence[str],
        plan: Mapping[str, str],
        scanned_at: datetime | None = None,
    ) -> None:
        """Record a scan: new/changed files become pending (or skipped), deleted files lose everything.

        ``plan`` maps every indexable path to its batch key; a stored file whose key changes is updated.
        ``scanned_at`` is when the scan's walk started (default: now): the directory sensor looks for
        changes made after it.
        """
        with self.db.begin() as conn:
            for part in slices(deleted):
                conn.execute(
                    source_files.delete().where(
                        source_files.c.repository == repository, source_files.c.path.in_(part)
                    )
                )
            _upsert_changed(conn, repository, changed, plan)
            for part in slices([f.path for f in changed if f.skip_reason]):
                conn.execute(
                    code_chunks.delete().where(
                        code_chunks.c.repository == repository, code_chunks.c.file_path.in_(part)
                    )
                )
            if touched:
                conn.execute(
                    source_files.update()
                    .where(
                        source_files.c.repository == repository,
                        source_files.c.path == sa.bindparam("p_path"),
                    )
                    .values(mtime_ns=sa.bindparam("p_mtime")),
                    [{"p_path": f.path, "p_mtime": f.mtime_ns} for f in touched],
                )
            conn.execute(
                repositories.update()
                .where(repositories.c.name == repository)
                .values(scanned_at=scanned_at or utc_now())
            )

    def move_to_batches(self, repository: str, moves: Mapping[str, str]) -> None:
        """Set the batch key of the stored files in ``moves`` (path -> key)."""
        if not moves:
            return
        with self.db.begin() as conn:
            conn.execute(
                source_files.update()
                .where(source_files.c.repository == repository, source_files.c.path == sa.bindparam("p_path"))
                .values(batch_key=sa.bindparam("p_key")),
                [{"p_path": path, "p_key": key} for path, key in moves.items()],
            )

    def batch_keys(self, repository: str | None = None) -> list[str]:
        query = sa.select(source_files.c.batch_key).where(source_files.c.batch_key.is_not(None)).distinct()
        if repository is not None:
            query = query.where(source_files.c.repository == repository)
        with self.db.begin() as conn:
            return sorted(conn.execute(query).scalars())

    def indexed_count(self) -> int:
        """How many files are indexed, over every repository."""
        query = sa.select(sa.func.count()).where(source_files.c.status == "indexed")
        with self.db.begin() as conn:
            return conn.execute(query).scalar_one()

    def pending_count(self, repository: str) -> int:
        """How many files of ``repository`` wait to be indexed."""
        query = sa.select(sa.func.count()).where(
            source_files.c.repository == repository, source_files.c.status == "pending"
        )
        with self.db.begin() as conn:
            return conn.execute(query).scalar_one()

    def pending_by_batch(self) -> dict[str, dict[str, list[tuple[str, str]]]]:
        """Repository -> batch key -> ``(path, content hash)`` of its pending files, sorted by path;
        each repository's batches in the order of :meth:`pending_batches`. One query for every
        repository (the directory sensor's, on each tick)."""
        f = source_files.c
        query = (
            sa.select(f.repository, f.batch_key, f.path, f.content_hash, f.mtime_ns)
            .where(f.batch_key.is_not(None), f.status == "pending")
            .order_by(f.repository, f.batch_key, f.path)
        )
        files: dict[str, dict[str, list[tuple[str, str]]]] = {}
        newest: dict[str, int] = {}
        with self.db.begin() as conn:
            for repository, key, path, digest, mtime in conn.execute(query):
                files.setdefault(repository, {}).setdefault(key, []).append((path, digest or ""))
                newest[key] = max(newest.get(key, mtime), mtime)
        return {
            repository: {key: batches[key] for key in sorted(batches, key=lambda k: (-newest[k], k))}
            for repository, batches in files.items()
        }

    def pending_batches(self, repository: str) -> list[str]:
        """Batches holding a file whose current content is not yet indexed (or recorded as failed),
        the batch with the most recently modified such file first (ties: by key)."""
        newest = sa.func.max(source_files.c.mtime_ns)
        query = (
            sa.select(source_files.c.batch_key)
            .where(
                source_files.c.repository == repository,
                source_files.c.batch_key.is_not(None),
                source_files.c.status == "pending",
            )
            .group_by(source_files.c.batch_key)
            .order_by(newest.desc(), source_files.c.batch_key)
        )
        with self.db.begin() as conn:
            return list(conn.execute(query).scalars())


_SCANNED_COLUMNS = ("language", "size_bytes", "mtime_ns", "content_hash", "batch_key", "status", "error")


def _upsert_changed(
    conn: Connection, repository: str, changed: Sequence[SourceFile], plan: Mapping[str, str]
) -> None:
    """New and changed files become ``pending`` (or ``skipped``, with the reason) in their batch."""
    rows = [
        {
            "repository": repository,
            "path": f.path,
            "language": f.language,
            "size_bytes": f.size_bytes,
            "mtime_ns": f.mtime_ns,
            "content_hash": f.content_hash,
            "batch_key": plan.get(f.path),
            "status": "skipped" if f.skip_reason else "pending",
            "error": f.skip_reason,
        }
        for f in changed
    ]
    if not rows:
        return
    stmt = pg_insert(source_files)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["repository", "path"],
            set_={name: stmt.excluded[name] for name in _SCANNED_COLUMNS},
        ),
        rows,
    )
