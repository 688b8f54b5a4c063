"""Reading and writing the index. Every statement is parameterised; nothing user-supplied becomes SQL.

Writes are idempotent: a file's rows are replaced in one transaction, so a retried or orphaned step
can never leave duplicates or half a file behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from mnemo_dagster.core.discovery import KnownState
from mnemo_dagster.core.errors import ModelMismatchError, StoreError
from mnemo_dagster.core.models import SourceFile
from mnemo_dagster.core.store.schema import (
    code_chunks,
    graph_edges,
    graph_metrics,
    graph_nodes,
    metadata,
    mnemo_meta,
    repositories,
    source_files,
)

VECTOR_INDEX = "code_chunks_embedding_hnsw"


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
class ChunkRow:
    """One chunk ready to be written: text, place, symbols and its embedding."""

    kind: str
    name: str | None
    qualified_name: str
    start_line: int
    end_line: int
    content: str
    content_hash: str
    embedding: Any
    metadata: dict[str, Any]


def check_model(stored: tuple[str, int], model: str, dimension: int) -> None:
    """Raise :class:`ModelMismatchError` unless ``stored`` is (``model``, ``dimension``)."""
    stored_model, stored_dim = stored
    if (stored_model, stored_dim) != (model, dimension):
        raise ModelMismatchError(
            f"this index was built with {stored_model} ({stored_dim}-d vectors) but the configured model is "
            f"{model} ({dimension}-d). Set MNEMO_EMBEDDING_MODEL back to {stored_model}, or use another "
            "MNEMO_HOME / MNEMO_DATABASE_URL for the new model."
        )


def now() -> datetime:
    return datetime.now(UTC)


class IndexStore:
    """The index database. Cheap to construct; connects on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=2, max_overflow=2)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; connection failures surface as :class:`StoreError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the index database is unreachable: {exc.orig or exc}") from exc

    @contextmanager
    def pass_lock(self, repository: str, *, wait_seconds: float = 0.0) -> Iterator[bool]:
        """Hold the lock that marks a pass over ``repository`` as running; yields False if it stays
        taken for ``wait_seconds``.

        ``mnemo index`` holds it for its whole pass and the directory sensor skips a repository whose
        lock it cannot take, so the two never plan or run the same batches twice.
        """
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the index database is unreachable: {exc.orig or exc}") from exc
        try_lock = sa.text("SELECT pg_try_advisory_lock(7412, hashtext(:name))")
        key = {"name": repository}
        with conn:
            deadline = time.monotonic() + wait_seconds
            while True:
                acquired = bool(conn.execute(try_lock, key).scalar())
                conn.commit()
                if acquired or time.monotonic() >= deadline:
                    break
                time.sleep(0.5)
            try:
                yield acquired
            finally:
                if acquired:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(7412, hashtext(:name))"), key)
                    conn.commit()

    # -- schema -------------------------------------------------------------------------------------

    def has_schema(self) -> bool:
        with self.begin() as conn:
            return sa.inspect(conn).has_table("code_chunks")

    def stored_model(self) -> tuple[str, int] | None:
        """(model name, dimension) the index was built with, or None before the first build."""
        if not self.has_schema():
            return None
        with self.begin() as conn:
            rows = dict(conn.execute(sa.select(mnemo_meta.c.key, mnemo_meta.c.value)).all())
        if "embedding_model" not in rows:
            return None
        return rows["embedding_model"], int(rows["embedding_dim"])

    def ensure_schema(self, model: str, dimension: int) -> None:
        """Create the tables for ``model`` or check that the existing index was built with it."""
        with self.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7411)"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
            metadata.create_all(conn, checkfirst=True)
            rows = dict(conn.execute(sa.select(mnemo_meta.c.key, mnemo_meta.c.value)).all())
            if "embedding_model" not in rows:
                conn.execute(
                    sa.text(f"ALTER TABLE code_chunks ALTER COLUMN embedding TYPE vector({int(dimension)})")
                )
                conn.execute(
                    mnemo_meta.insert(),
                    [
                        {"key": "embedding_model", "value": model},
                        {"key": "embedding_dim", "value": str(dimension)},
                    ],
                )
                return
        check_model((rows["embedding_model"], int(rows["embedding_dim"])), model, dimension)

    def ensure_vector_index(self) -> bool:
        """Build the HNSW cosine index if it is missing; True if it was built now."""
        with self.begin() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :name"), {"name": VECTOR_INDEX}
            ).first()
            if exists:
                return False
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
            conn.execute(
                sa.text(
                    f"CREATE INDEX IF NOT EXISTS {VECTOR_INDEX} ON code_chunks "
                    "USING hnsw (embedding vector_cosine_ops)"
                )
            )
        return True

    def drop_vector_index(self) -> None:
        """Drop the HNSW index before a bulk load (inserts into it are ~45x slower)."""
        with self.begin() as conn:
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {VECTOR_INDEX}"))

    # -- repositories and files ---------------------------------------------------------------------

    def register_repository(self, name: str, root_path: str, *, batch_max_files: int | None = None) -> None:
        """Add or update a repository; ``batch_max_files`` None keeps the stored cap."""
        changes: dict[str, Any] = {"root_path": root_path}
        if batch_max_files is not None:
            changes["batch_max_files"] = batch_max_files
        with self.begin() as conn:
            stmt = pg_insert(repositories).values(name=name, **changes)
            conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=changes))

    def batch_max_files(self, name: str) -> int | None:
        with self.begin() as conn:
            return conn.execute(
                sa.select(repositories.c.batch_max_files).where(repositories.c.name == name)
            ).scalar_one_or_none()

    def repository_root(self, name: str) -> str | None:
        with self.begin() as conn:
            return conn.execute(
                sa.select(repositories.c.root_path).where(repositories.c.name == name)
            ).scalar_one_or_none()

    def repository_names(self) -> list[str]:
        if not self.has_schema():
            return []
        with self.begin() as conn:
            return list(conn.execute(sa.select(repositories.c.name).order_by(repositories.c.name)).scalars())

    def stored_files(self, repository: str, batch_key: str | None = None) -> dict[str, StoredFile]:
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
        with self.begin() as conn:
            return {row.path: StoredFile(*row) for row in conn.execute(query)}

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
    ) -> None:
        """Record a scan: new/changed files become pending (or skipped), deleted files lose everything.

        ``plan`` maps every indexable path to its batch key; a stored file whose key changes is updated.
        """
        with self.begin() as conn:
            scanned_at = now()
            if deleted:
                for part in _slices(deleted):
                    conn.execute(
                        source_files.delete().where(
                            source_files.c.repository == repository, source_files.c.path.in_(part)
                        )
                    )
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
            if rows:
                stmt = pg_insert(source_files)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["repository", "path"],
                        set_={
                            name: stmt.excluded[name]
                            for name in (
                                "language",
                                "size_bytes",
                                "mtime_ns",
                                "content_hash",
                                "batch_key",
                                "status",
                                "error",
                            )
                        },
                    ),
                    rows,
                )
            skipped_now = [f.path for f in changed if f.skip_reason]
            for part in _slices(skipped_now):
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
                repositories.update().where(repositories.c.name == repository).values(scanned_at=scanned_at)
            )

    def move_to_batches(self, repository: str, moves: Mapping[str, str]) -> None:
        """Set the batch key of the stored files in ``moves`` (path -> key)."""
        if not moves:
            return
        with self.begin() as conn:
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
        with self.begin() as conn:
            return sorted(conn.execute(query).scalars())

    def pending_batches(self, repository: str) -> list[str]:
        """Batches holding a file whose current content is not yet indexed (or recorded as failed)."""
        query = (
            sa.select(source_files.c.batch_key)
            .where(
                source_files.c.repository == repository,
                source_files.c.batch_key.is_not(None),
                source_files.c.status == "pending",
            )
            .distinct()
        )
        with self.begin() as conn:
            return sorted(conn.execute(query).scalars())

    # -- per-file writes ----------------------------------------------------------------------------

    def reusable_embeddings(self, hashes: Iterable[str]) -> dict[str, Any]:
        """Embeddings already stored for any of these chunk content hashes."""
        found: dict[str, Any] = {}
        unique = sorted(set(hashes))
        with self.begin() as conn:
            for part in _slices(unique, 2000):
                query = (
                    sa.select(code_chunks.c.content_hash, code_chunks.c.embedding)
                    .where(code_chunks.c.content_hash.in_(part))
                    .ext(distinct_on(code_chunks.c.content_hash))
                )
                for content_hash, embedding in conn.execute(query):
                    found[content_hash] = embedding
        return found

    def write_file(
        self,
        repository: str,
        path: str,
        *,
        language: str,
        content_hash: str,
        chunks: Sequence[ChunkRow],
        warning: str | None,
    ) -> None:
        """Replace ``path``'s chunks and mark it indexed, in one transaction."""
        with self.begin() as conn:
            conn.execute(
                code_chunks.delete().where(
                    code_chunks.c.repository == repository, code_chunks.c.file_path == path
                )
            )
            if chunks:
                conn.execute(
                    code_chunks.insert(),
                    [
                        {
                            "repository": repository,
                            "file_path": path,
                            "language": language,
                            "kind": c.kind,
                            "name": c.name,
                            "qualified_name": c.qualified_name,
                            "start_line": c.start_line,
                            "end_line": c.end_line,
                            "content": c.content,
                            "content_hash": c.content_hash,
                            "embedding": c.embedding,
                            "metadata": c.metadata,
                        }
                        for c in chunks
                    ],
                )
            conn.execute(
                source_files.update()
                .where(source_files.c.repository == repository, source_files.c.path == path)
                .values(
                    status="indexed",
                    error=warning,
                    indexed_hash=content_hash,
                    chunk_count=len(chunks),
                    indexed_at=now(),
                )
            )

    def mark_file(self, repository: str, path: str, status: str, reason: str) -> None:
        """Record that ``path`` failed or is skipped, removing any chunks it had."""
        with self.begin() as conn:
            conn.execute(
                code_chunks.delete().where(
                    code_chunks.c.repository == repository, code_chunks.c.file_path == path
                )
            )
            conn.execute(
                source_files.update()
                .where(source_files.c.repository == repository, source_files.c.path == path)
                .values(status=status, error=reason, chunk_count=0, indexed_hash=None, indexed_at=now())
            )

    # -- graph --------------------------------------------------------------------------------------

    def chunk_symbols(self, repository: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(file_path, language, chunk metadata) for every chunk of ``repository``, by file."""
        query = (
            sa.select(code_chunks.c.file_path, code_chunks.c.language, code_chunks.c.metadata)
            .where(code_chunks.c.repository == repository)
            .order_by(code_chunks.c.file_path, code_chunks.c.start_line)
        )
        with self.engine.connect() as conn:
            yield from conn.execution_options(stream_results=True, yield_per=5000).execute(query)

    def replace_graph(
        self,
        repository: str,
        nodes: Sequence[Mapping[str, Any]],
        edges: Sequence[tuple[str, str, str, int]],
        stats: dict[str, Any],
    ) -> dict[str, int]:
        """Replace the repository's nodes and edges; return qualified name -> node id."""
        with self.begin() as conn:
            conn.execute(
                repositories.update().where(repositories.c.name == repository).values(graph_stats=stats)
            )
            conn.execute(graph_nodes.delete().where(graph_nodes.c.repository == repository))
            ids: dict[str, int] = {}
            for part in _slices(list(nodes), 5000):
                result = conn.execute(
                    pg_insert(graph_nodes)
                    .values([{"repository": repository, **node} for node in part])
                    .returning(graph_nodes.c.id, graph_nodes.c.qualified_name)
                )
                ids.update({qn: node_id for node_id, qn in result})
            edge_rows = [
                {"repository": repository, "source_id": ids[s], "target_id": ids[t], "kind": k, "weight": w}
                for s, t, k, w in edges
            ]
            if edge_rows:
                conn.execute(graph_edges.insert(), edge_rows)
        return ids

    def replace_metrics(
        self, repository: str, rows: Sequence[Mapping[str, Any]], stats: dict[str, Any]
    ) -> None:
        """Replace the repository's per-node metrics; merge ``stats`` into its graph summary."""
        with self.begin() as conn:
            conn.execute(graph_metrics.delete().where(graph_metrics.c.repository == repository))
            if rows:
                conn.execute(graph_metrics.insert(), [{"repository": repository, **row} for row in rows])
            conn.execute(
                repositories.update()
                .where(repositories.c.name == repository)
                .values(graph_built_at=now(), graph_stats=repositories.c.graph_stats.concat(stats))
            )

    def graph_is_stale(self, repository: str) -> bool:
        """True when the graph was never built or a file was indexed after it was."""
        with self.begin() as conn:
            built = conn.execute(
                sa.select(repositories.c.graph_built_at).where(repositories.c.name == repository)
            ).scalar_one_or_none()
            newest = conn.execute(
                sa.select(sa.func.max(source_files.c.indexed_at)).where(
                    source_files.c.repository == repository
                )
            ).scalar_one_or_none()
        return built is None or (newest is not None and newest > built)

    def node_count(self, repository: str) -> int:
        with self.begin() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(graph_nodes)
                .where(graph_nodes.c.repository == repository)
            ).scalar_one()

    def graph_rows(self, repository: str) -> tuple[list[Any], list[Any], dict[str, Any]]:
        """The stored nodes, edges (with qualified names) and graph summary of ``repository``."""
        source, target = graph_nodes.alias("source"), graph_nodes.alias("target")
        with self.begin() as conn:
            nodes = conn.execute(
                sa.select(
                    graph_nodes.c.id,
                    graph_nodes.c.qualified_name,
                    graph_nodes.c.name,
                    graph_nodes.c.kind,
                    graph_nodes.c.file_path,
                    graph_nodes.c.start_line,
                    graph_nodes.c.end_line,
                    graph_nodes.c.language,
                )
                .where(graph_nodes.c.repository == repository)
                .order_by(graph_nodes.c.qualified_name)
            ).all()
            edges = conn.execute(
                sa.select(
                    source.c.qualified_name, target.c.qualified_name, graph_edges.c.kind, graph_edges.c.weight
                )
                .join(source, source.c.id == graph_edges.c.source_id)
                .join(target, target.c.id == graph_edges.c.target_id)
                .where(graph_edges.c.repository == repository)
            ).all()
            stats = conn.execute(
                sa.select(repositories.c.graph_stats).where(repositories.c.name == repository)
            ).scalar_one_or_none()
        return nodes, edges, stats or {}


def _slices(items: Sequence[Any], size: int = 1000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class ChunkHit:
    """A chunk returned by a search query, before ranking."""

    repository: str
    qualified_name: str
    name: str | None
    file_path: str
    start_line: int
    end_line: int
    kind: str
    language: str
    similarity: float
    content: str


def _hits(
    conn: Connection, where: sa.ColumnElement[bool], order: Any, limit: int, vector: Any
) -> list[ChunkHit]:
    similarity = (1 - code_chunks.c.embedding.cosine_distance(vector)).label("similarity")
    query = (
        sa.select(
            code_chunks.c.repository,
            code_chunks.c.qualified_name,
            code_chunks.c.name,
            code_chunks.c.file_path,
            code_chunks.c.start_line,
            code_chunks.c.end_line,
            code_chunks.c.kind,
            code_chunks.c.language,
            similarity,
            code_chunks.c.content,
        )
        .where(where)
        .order_by(order)
        .limit(limit)
    )
    return [ChunkHit(*row) for row in conn.execute(query)]


def search_chunks(
    store: IndexStore, vector: Any, *, repository: str | None, names: Sequence[str], limit: int
) -> list[ChunkHit]:
    """Nearest chunks by cosine distance, plus chunks whose symbol name is one of ``names``."""
    scope = code_chunks.c.repository == repository if repository else sa.true()
    with store.begin() as conn:
        conn.execute(sa.text("SET LOCAL hnsw.ef_search = 100"))
        extension = sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        version = conn.execute(extension).scalar()
        if version and tuple(int(part) for part in version.split(".")[:2]) >= (0, 8):
            # Keep scanning the graph when a repository filter drops candidates (pgvector >= 0.8).
            conn.execute(sa.text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        hits = _hits(conn, scope, code_chunks.c.embedding.cosine_distance(vector), limit, vector)
        if names:
            by_name = sa.func.lower(code_chunks.c.name).in_([n.lower() for n in names])
            hits += _hits(conn, sa.and_(scope, by_name), code_chunks.c.id, limit, vector)
    return hits


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
