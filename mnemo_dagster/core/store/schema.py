"""Tables of the index (a storage contract: see DESIGN.md). SQLAlchemy Core, PostgreSQL + pgvector.

``code_chunks.embedding`` is declared without a dimension here; :func:`dimensioned_metadata` gives a
copy of the tables whose vector column has the model's dimension, which is what creates them, and
``mnemo_meta`` records which model that was and the schema version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA_VERSION = 2
"""Version of the tables below. 1: the first release (no version stored); 2: ``graph_nodes`` by name."""

metadata = MetaData()

mnemo_meta = Table(
    "mnemo_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

repositories = Table(
    "repositories",
    metadata,
    Column("name", Text, primary_key=True),
    Column("root_path", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("scanned_at", DateTime(timezone=True)),
    Column("batch_max_files", Integer, doc="files-per-batch cap given to `mnemo index --batch-size`"),
    Column("graph_built_at", DateTime(timezone=True)),
    Column("graph_stats", JSONB),
)

source_files = Table(
    "source_files",
    metadata,
    Column("repository", Text, ForeignKey("repositories.name", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),
    Column("language", Text),
    Column("size_bytes", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("content_hash", Text),
    Column("indexed_hash", Text, doc="content_hash of the version whose chunks are stored"),
    Column("batch_key", Text),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("chunk_count", Integer, nullable=False, server_default="0"),
    Column("indexed_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("repository", "path"),
    Index("source_files_batch", "batch_key"),
)

code_chunks = Table(
    "code_chunks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("repository", Text, nullable=False),
    Column("file_path", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text),
    Column("qualified_name", Text, nullable=False),
    Column("start_line", Integer, nullable=False),
    Column("end_line", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("embedding", Vector(), nullable=False),
    Column("metadata", JSONB, nullable=False),
    ForeignKeyConstraint(
        ["repository", "file_path"], ["source_files.repository", "source_files.path"], ondelete="CASCADE"
    ),
    Index("code_chunks_file", "repository", "file_path"),
    Index("code_chunks_content_hash", "content_hash"),
)

VECTOR_INDEX = Index(
    "code_chunks_embedding_hnsw",
    code_chunks.c.embedding,
    postgresql_using="hnsw",
    postgresql_ops={"embedding": "vector_cosine_ops"},
)
"""The HNSW cosine index. Bulk loads drop it and build it again afterwards (inserts into it are slow)."""

graph_nodes = Table(
    "graph_nodes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("repository", Text, ForeignKey("repositories.name", ondelete="CASCADE"), nullable=False),
    Column("qualified_name", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("file_path", Text, nullable=False),
    Column("start_line", Integer, nullable=False),
    Column("end_line", Integer, nullable=False),
    Column("language", Text),
    UniqueConstraint("repository", "qualified_name"),
    Index("graph_nodes_name", "repository", "name"),
)

graph_edges = Table(
    "graph_edges",
    metadata,
    Column("repository", Text, nullable=False),
    Column("source_id", BigInteger, ForeignKey("graph_nodes.id", ondelete="CASCADE"), nullable=False),
    Column("target_id", BigInteger, ForeignKey("graph_nodes.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("weight", Integer, nullable=False, server_default="1"),
    PrimaryKeyConstraint("source_id", "target_id", "kind"),
    Index("graph_edges_target", "target_id"),
    Index("graph_edges_repository", "repository"),
)

graph_metrics = Table(
    "graph_metrics",
    metadata,
    Column("node_id", BigInteger, ForeignKey("graph_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("repository", Text, nullable=False),
    Column("pagerank", Float, nullable=False),
    Column("in_degree", Integer, nullable=False),
    Column("out_degree", Integer, nullable=False),
    Column("betweenness", Float, nullable=False),
    Column("community", Integer),
    Column("afferent", Integer, doc="modules only: how many other modules depend on this one"),
    Column("efferent", Integer, doc="modules only: how many other modules this one depends on"),
    Column("instability", Float, doc="modules only: efferent / (afferent + efferent)"),
    Index("graph_metrics_repository", "repository"),
)


def dimensioned_metadata(dimension: int) -> MetaData:
    """A copy of the tables whose ``code_chunks.embedding`` is ``vector(dimension)``, for CREATE.

    HNSW needs a fixed dimension, so the index can only be created on a dimensioned column.
    """
    copy = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["code_chunks"].c.embedding.type = Vector(dimension)
    return copy


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def slices(items: Sequence[Any], size: int = 1000) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size`` (bounds the parameters of one statement)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
