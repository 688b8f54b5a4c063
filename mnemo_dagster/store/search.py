"""The SQL of search: three candidate arms over ``code_chunks``, each scored by both measures.

- **vector**: the nearest chunks by cosine distance (the HNSW index);
- **lexical**: chunks whose ``lexemes`` match any word of the query (the GIN index), best
  ``ts_rank`` first;
- **exact**: chunks whose qualified name, symbol path, bare name or file path is the query itself
  (btree expression indexes), for queries that look like an identifier, a dotted name or a path.

Every candidate carries its cosine similarity, its lexical rank and the symbols it defines, so the
ranking in :mod:`mnemo_dagster.retrieval.index` can fuse them and tell a definition from a use. Every
value is a bound parameter; LIKE patterns are escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL, TSQUERY
from sqlalchemy.engine import Connection

from mnemo_dagster.store.schema import TEXT_SEARCH_CONFIG, code_chunks

LEXICAL_WEIGHTS = (0.1, 0.2, 0.4, 1.0)
"""``ts_rank`` weights of lexemes labelled D, C, B, A: content counts a tenth of the qualified name."""
RANK_NORMALIZATION = 0
"""``ts_rank`` length normalisation: none. Chunks are size-bounded already, and dividing by
1 + log(length) scored lower on ``benchmarks/search_eval.py`` (MRR@10 0.585 vs 0.600 at weight 0.2)."""
EF_SEARCH = 100
"""HNSW candidate list size (recall vs latency; pgvector's default is 40)."""
EXACT_CANDIDATES = 50
"""At most this many chunks share an exact name before the rest are left out."""

LEXICAL_SCAN_ROWS = 1000
"""The lexical arm matches about this many chunks at most: on a large index it searches with the
query's rarer words only (a docstring's common words match a tenth of all chunks, and ranking 20k
matches takes 120 ms), while every candidate is still scored with all the words."""

_WORDS = sa.text(
    "SELECT tsvector_to_array(to_tsvector(CAST(:config AS regconfig), mnemo_code_words(:query)))"
)
_WORD_STATS = sa.text(
    "SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs "
    "FROM pg_class c LEFT JOIN pg_stats s ON s.tablename = 'code_chunks' AND s.attname = 'lexemes' "
    "AND s.schemaname = current_schema() WHERE c.oid = CAST('code_chunks' AS regclass)"
)
_LEXEME = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search is restricted to; None means any."""

    repository: str | None = None
    language: str | None = None
    kind: str | None = None
    path_regex: str | None = None
    """A PostgreSQL regular expression the whole ``file_path`` must match (from a glob)."""

    def clause(self) -> sa.ColumnElement[bool]:
        c = code_chunks.c
        parts = [
            column == value
            for column, value in (
                (c.repository, self.repository),
                (c.language, self.language),
                (c.kind, self.kind),
            )
            if value is not None
        ]
        if self.path_regex is not None:
            parts.append(c.file_path.regexp_match(self.path_regex))
        return sa.and_(sa.true(), *parts)


@dataclass(frozen=True, slots=True)
class Lexical:
    """The lexical side of a search: the OR-query of its words and how ``ts_rank`` weighs matches."""

    tsquery: str
    """Every word of the query: what each candidate's lexical rank is computed with."""
    match: str
    """The words the lexical arm searches with (:func:`selective_words`)."""
    weights: tuple[float, float, float, float] = LEXICAL_WEIGHTS
    normalization: int = RANK_NORMALIZATION
    words: tuple[str, ...] = ()
    """The query's lexemes."""


@dataclass(frozen=True, slots=True)
class ChunkHit:
    """A chunk returned by a search arm, before ranking."""

    id: int
    repository: str
    qualified_name: str
    name: str | None
    file_path: str
    start_line: int
    end_line: int
    kind: str
    language: str
    similarity: float
    lexical: float
    content: str
    symbols: list[str] | None = None
    """The names of the symbols the chunk defines (``metadata -> 'symbols'``), its own included; None
    when the search did not ask for them (only exact matches always carry them)."""
    defined: list[dict[str, Any]] | None = None
    """The symbols the chunk defines, each with its ``name``, ``path``, ``kind``, ``start_line`` and
    ``end_line``; only exact matches carry them."""


@dataclass(frozen=True, slots=True)
class WordStats:
    """How many chunks the index holds and which share of them holds each common lexeme (from
    PostgreSQL's own statistics of ``lexemes``, refreshed by ANALYZE)."""

    rows: float
    shares: dict[str, float]
    rare: float
    """Upper bound of the share of a lexeme that is not among the common ones."""


def word_stats(conn: Connection) -> WordStats:
    """The statistics of ``code_chunks.lexemes`` as PostgreSQL last gathered them."""
    row = conn.execute(_WORD_STATS).one()
    rows, words, freqs = row
    if not words or not freqs:
        return WordStats(max(float(rows), 0.0), {}, 1.0)
    # most_common_elem_freqs ends with the minimum, the maximum and the null fraction.
    return WordStats(float(rows), dict(zip(words, freqs, strict=False)), float(freqs[len(words)]))


def query_words(conn: Connection, text: str) -> list[str]:
    """The lexemes of ``text``, split and stemmed exactly as the chunks' lexemes are."""
    words = conn.execute(_WORDS, {"config": TEXT_SEARCH_CONFIG, "query": text}).scalar() or []
    return [word for word in words if _LEXEME.fullmatch(word)]


def or_query(words: list[str]) -> str:
    """A tsquery matching any of ``words`` (lexemes of letters and digits only, so quoting is plain)."""
    return " | ".join(f"'{word}'" for word in words if _LEXEME.fullmatch(word))


def selective_words(words: list[str], stats: WordStats) -> list[str]:
    """The rarest of ``words`` whose matches add up to at most about :data:`LEXICAL_SCAN_ROWS` chunks
    (all of them on an index that small); none when each alone matches more."""
    if stats.rows <= LEXICAL_SCAN_ROWS:
        return words
    ranked = sorted(words, key=lambda word: (stats.shares.get(word, stats.rare / 2), word))
    chosen, expected = [], 0.0
    for word in ranked:
        expected += stats.shares.get(word, stats.rare / 2) * stats.rows
        if expected > LEXICAL_SCAN_ROWS:
            break
        chosen.append(word)
    return chosen


def query_vector(vector: Any) -> sa.BindParameter[Any]:
    """``vector`` as one named parameter: a statement that uses it several times sends it once."""
    if isinstance(vector, sa.BindParameter):
        return vector
    return sa.bindparam("query_vector", vector, type_=Vector())


def _select(vector: Any, words: Lexical | None, symbols: bool = False) -> sa.Select[Any]:
    """The candidate columns; with ``vector`` None, ``similarity`` is 0 for :func:`with_similarity` to
    fill in (an arm that does not need the query's embedding can run while it is computed)."""
    c = code_chunks.c
    if words is None:
        lexical: sa.ColumnElement[Any] = sa.literal(0.0)
    else:
        weights = sa.cast(sa.literal(list(words.weights)), ARRAY(REAL))
        query = sa.cast(words.tsquery, TSQUERY)
        lexical = sa.func.ts_rank(weights, c.lexemes, query, words.normalization)
    similarity: sa.ColumnElement[Any] = sa.literal(0.0)
    if vector is not None:
        similarity = 1 - c.embedding.cosine_distance(query_vector(vector))
    names: sa.ColumnElement[Any] = sa.null()
    if symbols:
        names = sa.func.jsonb_path_query_array(c["metadata"], sa.literal_column("'$.symbols[*].name'"))
    return sa.select(
        c.id,
        c.repository,
        c.qualified_name,
        c.name,
        c.file_path,
        c.start_line,
        c.end_line,
        c.kind,
        c.language,
        similarity.label("similarity"),
        lexical.label("lexical"),
        c.content,
        names.label("symbols"),
    )


def _rows(conn: Connection, query: sa.Select[Any]) -> list[ChunkHit]:
    return [ChunkHit(*row) for row in conn.execute(query)]


_TUNE_VECTOR_SCAN = sa.text(
    "SELECT set_config('hnsw.ef_search', :ef, true), "
    "CASE WHEN (SELECT string_to_array(extversion, '.')::int[] >= '{0,8}' FROM pg_extension "
    "WHERE extname = 'vector') THEN set_config('hnsw.iterative_scan', 'relaxed_order', true) END"
)
"""The HNSW search settings, for this transaction, in one round trip. ``iterative_scan`` keeps
scanning the graph when a filter drops candidates (pgvector >= 0.8; the embedded one is 0.8.5)."""


def _tune_vector_scan(conn: Connection) -> None:
    conn.execute(_TUNE_VECTOR_SCAN, {"ef": str(EF_SEARCH)})


def nearest_chunks(
    conn: Connection, vector: Any, words: Lexical | None, filters: Filters, limit: int, symbols: bool = False
) -> list[ChunkHit]:
    """The ``limit`` nearest chunks by cosine distance, with their lexical rank (and the names of the
    symbols they define, with ``symbols``)."""
    vector = query_vector(vector)
    query = _select(vector, words, symbols).where(filters.clause())
    query = query.order_by(code_chunks.c.embedding.cosine_distance(vector)).limit(limit)
    _tune_vector_scan(conn)
    return _rows(conn, query)


def with_similarity(conn: Connection, vector: Any, hits: list[ChunkHit]) -> list[ChunkHit]:
    """``hits`` (found without the query's embedding) with their cosine similarity to ``vector``, in
    one statement."""
    if not hits:
        return hits
    c = code_chunks.c
    similarity = 1 - c.embedding.cosine_distance(query_vector(vector))
    query = sa.select(c.id, similarity).where(c.id.in_(sorted({hit.id for hit in hits})))
    found = {row[0]: row[1] for row in conn.execute(query)}
    return [replace(hit, similarity=found.get(hit.id, 0.0)) for hit in hits]


def lexical_chunks(
    conn: Connection, vector: Any, words: Lexical, filters: Filters, limit: int, symbols: bool = False
) -> list[ChunkHit]:
    """The ``limit`` chunks with the best lexical rank among those matching ``words.match`` (and the
    names of the symbols they define, with ``symbols``); ``vector`` may be None (see :func:`_select`)."""
    c = code_chunks.c
    matches = c.lexemes.op("@@")(sa.cast(words.match, TSQUERY))
    # Rank the matches on their lexemes alone; read the rest of the row for the best ones only.
    best = (
        sa.select(c.id, _select(vector, words).selected_columns.lexical)
        .where(filters.clause(), matches)
        .order_by(sa.desc("lexical"), c.id)
        .limit(limit)
        .subquery()
    )
    query = _select(vector, words, symbols).join_from(code_chunks, best, best.c.id == c.id)
    return _rows(conn, query.order_by(best.c.lexical.desc(), c.id))


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _assignment(name: str) -> str:
    """A PostgreSQL regular expression for a line that assigns ``name`` at the top level (no indent),
    with an optional ``export`` and ``const``/``let``/``var``, and an optional type annotation."""
    escaped = name.replace("$", "\\$")
    return rf"(^|\n)(export\s+)?((const|let|var)\s+)?{escaped}\s*(:[^=\n]*)?=([^=]|$)"


def _has_symbol(**fields: str) -> sa.ColumnElement[bool]:
    """The chunk defines a symbol with these fields (``metadata -> 'symbols'``, GIN-indexed)."""
    symbols = code_chunks.c["metadata"].op("->")(sa.literal_column("'symbols'"))
    return symbols.op("@>")(sa.cast(sa.literal([fields], JSONB), JSONB))


def exact_chunks(
    conn: Connection,
    vector: Any,
    words: Lexical | None,
    name: str,
    filters: Filters,
    assigned: list[str] | None = None,
) -> list[tuple[ChunkHit, int]]:
    """Chunks that ``name`` names, each with how exactly: 4 its qualified name, 3 its symbol path
    (or a symbol defined inside it), 2 its bare name (with the dotted qualifier, if given), 1 its
    file path (``name`` or ending in ``/name``); ``vector`` may be None (see :func:`_select`). Names
    compare case-insensitively, except symbols
    inside a chunk. With ``assigned`` (the lexemes of a bare ``name``), a chunk with all of them that
    assigns ``name`` at the top level, case included, is a bare-name match too: a module-level
    ``g: _AppCtxGlobals = LocalProxy(...)`` or ``export const ZodType = ...``, which no symbol holds."""
    c = code_chunks.c
    symbol = name.rpartition("::")[2] if "::" in name else name
    last = symbol.rsplit(".", 1)[-1]
    stored_symbol = sa.func.lower(sa.func.split_part(c.qualified_name, "::", 2))
    reversed_path = sa.func.reverse(c.file_path)
    by_path = sa.or_(
        reversed_path == name[::-1], reversed_path.startswith(("/" + name)[::-1], autoescape=True)
    )
    by_symbol = sa.or_(stored_symbol == symbol.lower(), _has_symbol(path=symbol))
    by_name = sa.or_(sa.func.lower(c.name) == last.lower(), _has_symbol(name=last))
    if "." in symbol:
        by_name = sa.and_(by_name, stored_symbol.endswith("." + symbol.lower(), autoescape=True))
    by_assignment = sa.false()
    if assigned and _IDENTIFIER.fullmatch(name):
        every = sa.cast(" & ".join(f"'{word}'" for word in assigned if _LEXEME.fullmatch(word)), TSQUERY)
        by_assignment = sa.and_(c.lexemes.op("@@")(every), c.content.regexp_match(_assignment(name)))
    level = sa.case(
        (sa.func.lower(c.qualified_name) == name.lower(), 4),
        (by_symbol, 3),
        (by_name, 2),
        (by_assignment, 2),
        (by_path, 1),
        else_=0,
    ).label("level")
    # One indexed lookup per way of naming a chunk, each bounded: an OR of them all, sorted, would
    # read every chunk of a common file name (``__init__.py``) or method name.
    branches = (
        stored_symbol == symbol.lower(),
        _has_symbol(path=symbol),
        sa.func.lower(c.name) == last.lower(),
        _has_symbol(name=last),
        by_path,
        by_assignment,
    )
    if vector is not None:
        vector = query_vector(vector)  # sent once for all the lookups
    defined = code_chunks.c["metadata"].op("->")(sa.literal_column("'symbols'")).label("defined")
    lookups = [
        _select(vector, words, symbols=True)
        .add_columns(defined, level)
        .where(filters.clause(), branch)
        .limit(EXACT_CANDIDATES)
        for branch in branches
    ]
    found: dict[int, tuple[ChunkHit, int]] = {}
    for row in conn.execute(sa.union_all(*lookups)):
        if row[-1] > 0:
            found.setdefault(row[0], (ChunkHit(*row[:-1]), row[-1]))
    return sorted(found.values(), key=lambda pair: (-pair[1], pair[0].file_path, pair[0].start_line))
