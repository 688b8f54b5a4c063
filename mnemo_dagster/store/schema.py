"""Tables of the index (SQLAlchemy Core, PostgreSQL + pgvector): a storage contract, stable names.

Users and scripts rely on the table and column names: extend them, never rename them.

``code_chunks.embedding`` is declared without a dimension here; :func:`dimensioned_metadata` gives a
copy of the tables whose vector column has the model's dimension, which is what creates them, and
``mnemo_meta`` records which model that was and the schema version.

``code_chunks.lexemes`` is the lexical index of a chunk: a STORED generated ``tsvector`` over its
qualified name (weight A) and content (weight D), both passed through ``mnemo_code_words``, an SQL
function that splits identifiers on camelCase and snake_case and also keeps each identifier whole.
PostgreSQL computes it in the statement that writes the row, so the GIN index over it and the HNSW
index over ``embedding`` can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
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
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

SCHEMA_VERSION = 4
"""Version of the tables below. 1: the first release (no version stored); 2: ``graph_nodes`` by name;
3: the lexical index of ``code_chunks`` and the git source columns of ``repositories``; 4:
``graph_files``."""

TEXT_SEARCH_CONFIG = "english"
"""Text-search configuration of the queries against ``code_chunks.lexemes`` (the same as
:data:`LEXEMES_SQL` names): it drops stop words and stems, so "parses" meets ``parse``."""

CODE_WORDS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION mnemo_code_words(source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
RETURN lower(
  regexp_replace(
    regexp_replace(
      regexp_replace(source, '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z]+)([A-Z][a-z])', '\1 \2', 'g'
    ),
    '[^A-Za-z0-9]+', ' ', 'g'
  )
  || ' '
  || regexp_replace(
    regexp_replace(source, '([A-Za-z0-9])_+(?=[A-Za-z0-9])', '\1', 'g'), '[^A-Za-z0-9]+', ' ', 'g'
  )
)
"""
"""``mnemo_code_words('Checkout.place_order')`` is ``'checkout place order checkout placeorder'``: the
words of every identifier, then each snake_case identifier joined, so a query for ``parse_price`` or
``parsePrice`` can match the whole name as one lexeme. Created before the tables (the generated column
calls it)."""

LEXEMES_SQL = (
    "setweight(to_tsvector('english'::regconfig, mnemo_code_words(qualified_name)), 'A') || "
    "setweight(to_tsvector('english'::regconfig, mnemo_code_words(content)), 'D')"
)
"""The generated expression of ``code_chunks.lexemes``."""

MIGRATION_3 = (
    CODE_WORDS_FUNCTION,
    "ALTER TABLE code_chunks ADD COLUMN IF NOT EXISTS lexemes tsvector GENERATED ALWAYS AS ("
    + LEXEMES_SQL
    + ") STORED",
    "ALTER TABLE repositories ADD COLUMN IF NOT EXISTS source_url text",
    "ALTER TABLE repositories ADD COLUMN IF NOT EXISTS source_ref text",
    "ALTER TABLE repositories ADD COLUMN IF NOT EXISTS source_commit text",
)
"""Version 2 -> 3, before :data:`LEXICAL_INDEXES`: PostgreSQL fills ``lexemes`` for every existing row."""

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
    Column("source_url", Text, doc="git URL the repository was cloned from (None for a local directory)"),
    Column("source_ref", Text, doc="the branch, tag or commit asked for with the git URL"),
    Column("source_commit", Text, doc="the commit the last pass indexed"),
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
    Column("lexemes", TSVECTOR, Computed(LEXEMES_SQL, persisted=True)),
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

LEXICAL_INDEXES = (
    "CREATE INDEX IF NOT EXISTS code_chunks_lexemes ON code_chunks USING gin (lexemes)",
    "CREATE INDEX IF NOT EXISTS code_chunks_name_lower ON code_chunks (lower(name))",
    "CREATE INDEX IF NOT EXISTS code_chunks_symbol_lower "
    "ON code_chunks (lower(split_part(qualified_name, '::', 2)))",
    "CREATE INDEX IF NOT EXISTS code_chunks_path_reversed "
    "ON code_chunks (reverse(file_path) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS code_chunks_symbols "
    "ON code_chunks USING gin ((metadata -> 'symbols') jsonb_path_ops)",
)
"""Indexes of the lexical and exact-name search: full text, bare name, symbol path, file path suffix
(a btree over the reversed path serves ``LIKE 'suffix%'`` without pg_trgm, which the embedded server
lacks), and the symbols defined inside a chunk (a small class is one chunk with its methods)."""

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

NODE_OUTLINE = (
    graph_nodes.c.id,
    graph_nodes.c.qualified_name,
    graph_nodes.c.name,
    graph_nodes.c.kind,
    graph_nodes.c.file_path,
    graph_nodes.c.start_line,
    graph_nodes.c.end_line,
)
"""The columns that place a node (what the graph is rebuilt from and the repo map ranks)."""

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


graph_files = Table(
    "graph_files",
    metadata,
    Column("repository", Text, ForeignKey("repositories.name", ondelete="CASCADE"), nullable=False),
    Column("file_path", Text, nullable=False),
    Column("version", Text, nullable=False, doc="the version of the file's chunks the graph holds"),
    Column("facts", JSONB, nullable=False, doc="what the next refresh needs of the file"),
    Column("outline", JSONB, nullable=False, doc="what resolving other files needs of the file"),
    PrimaryKeyConstraint("repository", "file_path"),
)
"""Per file of a repository's graph, what its edges were resolved from and what resolving them read
(:class:`~mnemo_dagster.graph.records.FileFacts`): a refresh resolves again only what a change
reaches (:mod:`mnemo_dagster.graph.incremental`). Written in the transaction that writes the graph."""


def dimensioned_metadata(dimension: int) -> MetaData:
    """A copy of the tables whose ``code_chunks.embedding`` is ``vector(dimension)``, for CREATE.

    HNSW needs a fixed dimension, so the index can only be created on a dimensioned column.
    """
    copy = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["code_chunks"].c.embedding.type = Vector(dimension)
    return copy


COPY_TYPES: dict[type[Any], str] = {
    Text: "text",
    Integer: "int4",
    BigInteger: "int8",
    Float: "float8",
    Vector: "vector",
    JSONB: "jsonb",
}
"""PostgreSQL type name of each column type a bulk ``COPY`` writes."""


def copy_columns(table: Table) -> tuple[tuple[str, str], ...]:
    """(name, PostgreSQL type) of the columns of ``table`` a bulk ``COPY`` writes, in the table's order:
    all but those PostgreSQL fills itself (an autoincrement ``id``, a generated column)."""
    return tuple(
        (column.name, COPY_TYPES[type(column.type)])
        for column in table.columns
        if column.autoincrement is not True and column.computed is None
    )


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def slices(items: Sequence[Any], size: int = 1000) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size`` (bounds the parameters of one statement)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
