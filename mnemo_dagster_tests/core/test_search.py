"""Search against a real store and the real model: ranking, the exact-name bonus, collapsing, filters.

Most tests store vectors built from the query's own embedding (``_at_cosine``), so every score is
known in advance: a chunk stored at cosine 0.6 to the query scores exactly 0.6, or 0.75 with the bonus.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
from mnemo_dagster.core.errors import ModelMismatchError
from mnemo_dagster.core.indexing import embedding_text
from mnemo_dagster.core.models import SourceFile, qualified_name
from mnemo_dagster.core.search import NAME_MATCH_BONUS, SearchHit, search
from mnemo_dagster.core.store.chunks import ChunkRow
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.server import DatabaseUrls


def _register(store: IndexStore, repository: str, paths: list[str]) -> None:
    store.files.register(repository, f"/src/{repository}")
    store.files.apply_scan(
        repository,
        changed=[SourceFile(path, "python", 100, 1, f"hash-{path}") for path in paths],
        touched=[],
        deleted=[],
        plan={path: f"{repository}__0001" for path in paths},
    )


def _row(path: str, name: str | None, line: int, vector: np.ndarray, kind: str = "function") -> ChunkRow:
    content = f"def {name}(): ..." if name else "import os"
    return ChunkRow(
        kind=kind,
        name=name,
        qualified_name=qualified_name(path, name),
        start_line=line,
        end_line=line + 1,
        content=content,
        content_hash=f"{path}:{line}:{name}",
        embedding=vector,
        metadata={"symbols": [], "references": []},
    )


def _write(store: IndexStore, repository: str, path: str, rows: list[ChunkRow]) -> None:
    store.chunks.write_file(
        repository, path, language="python", content_hash=f"hash-{path}", chunks=rows, warning=None
    )


def _query_vector(embedder: SentenceTransformerEmbedder, query: str) -> tuple[np.ndarray, np.ndarray]:
    """The query's unit vector and a unit vector orthogonal to it."""
    q = embedder.encode([query])[0].astype(np.float64)
    axis = np.zeros_like(q)
    axis[int(np.argmin(np.abs(q)))] = 1.0
    u = axis - (axis @ q) * q
    return q, u / np.linalg.norm(u)


def _at_cosine(q: np.ndarray, u: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector whose cosine similarity to ``q`` is ``cosine``."""
    return (cosine * q + math.sqrt(1 - cosine**2) * u).astype(np.float32)


def _ranked(hits: list[SearchHit]) -> list[tuple[str, float]]:
    return [(h.qualified_name, h.score) for h in hits]


# -- ranking -----------------------------------------------------------------------------------------

CORPUS = {
    "mail.py": (
        "send_email",
        "def send_email(recipient, subject, body):\n"
        '    """Send an email message over SMTP."""\n'
        "    smtp.sendmail(SENDER, recipient, f'Subject: {subject}\\n\\n{body}')",
    ),
    "sms.py": (
        "send_sms",
        "def send_sms(phone, text):\n"
        '    """Send a text message to a phone number."""\n'
        "    gateway.post(phone, text)",
    ),
    "config.py": (
        "load_config",
        "def load_config(path):\n"
        '    """Read the settings from a JSON file."""\n'
        "    with open(path) as f:\n"
        "        return json.load(f)",
    ),
    "maths.py": (
        "fibonacci",
        "def fibonacci(n):\n"
        '    """The n-th Fibonacci number."""\n'
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b\n"
        "    return a",
    ),
}


def test_the_nearest_chunk_ranks_first_with_its_cosine_score(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    _register(fresh_store, "shop", sorted(CORPUS))
    texts = {path: embedding_text(path, name, content) for path, (name, content) in CORPUS.items()}
    vectors = dict(zip(texts, embedder.encode(list(texts.values())), strict=True))
    for path, (name, content) in CORPUS.items():
        row = ChunkRow(
            "function", name, f"{path}::{name}", 1, content.count("\n") + 1, content, path, vectors[path], {}
        )
        _write(fresh_store, "shop", path, [row])
    query = "send an email message"  # no word of it is a chunk's name: no bonus
    q = embedder.encode([query])[0]

    hits = search(fresh_store, embedder, query)

    # By meaning: the email sender, then the other sender of messages; the two unrelated functions
    # score near zero and follow in the order of their cosine to the query.
    assert [h.qualified_name for h in hits] == [
        "mail.py::send_email",
        "sms.py::send_sms",
        "maths.py::fibonacci",
        "config.py::load_config",
    ]
    # Each score is the cosine similarity, as numpy computes it from the same vectors, to 4 places.
    assert [h.score for h in hits] == [round(float(vectors[h.file_path] @ q), 4) for h in hits]
    assert hits[0].as_dict() == {
        "repository": "shop",
        "qualified_name": "mail.py::send_email",
        "file_path": "mail.py",
        "start_line": 1,
        "end_line": 3,
        "kind": "function",
        "language": "python",
        "score": round(float(vectors["mail.py"] @ q), 4),
        "content": CORPUS["mail.py"][1],
    }
    assert search(fresh_store, embedder, query, limit=2) == hits[:2]


# -- the exact-name bonus ----------------------------------------------------------------------------


def test_a_chunk_named_by_a_word_of_the_query_gets_exactly_the_bonus(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "where is parse_header called"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["h.py"])
    rows = [
        _row("h.py", "closest", 1, _at_cosine(q, u, 1.0)),
        _row("h.py", "tokenize", 10, _at_cosine(q, u, 0.7)),
        _row("h.py", "Parse_Header", 20, _at_cosine(q, u, 0.6)),  # names match case-insensitively
        _row("h.py", "header", 30, _at_cosine(q, u, 0.65)),  # a part of a query word is no match
    ]
    _write(fresh_store, "r", "h.py", rows)

    hits = search(fresh_store, embedder, query)

    assert NAME_MATCH_BONUS == 0.15
    # Parse_Header is found twice (nearest, and by name) and listed once, lifted above tokenize.
    assert _ranked(hits) == [
        ("h.py::closest", 1.0),
        ("h.py::Parse_Header", round(0.6 + NAME_MATCH_BONUS, 4)),
        ("h.py::tokenize", 0.7),
        ("h.py::header", 0.65),
    ]
    assert hits[1].score == 0.75


def test_a_named_chunk_is_found_even_beyond_the_nearest_candidates(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "who calls rebuild_index"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["f.py"])
    # 30 chunks nearer than rebuild_index fill the 30 nearest candidates (max(limit * 3, 30)).
    fillers = [_row("f.py", f"filler_{i:02d}", 1 + 2 * i, _at_cosine(q, u, 0.3)) for i in range(30)]
    named = _row("f.py", "rebuild_index", 100, _at_cosine(q, u, 0.2))
    _write(fresh_store, "r", "f.py", [*fillers, named])

    hits = search(fresh_store, embedder, query, limit=2)

    assert _ranked(hits) == [("f.py::rebuild_index", 0.35), ("f.py::filler_00", 0.3)]


# -- collapsing and filters --------------------------------------------------------------------------


def test_chunks_at_the_same_place_collapse_to_the_best_scored_one(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "the Parser class"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["d.py", "e.py"])
    _write(
        fresh_store,
        "r",
        "d.py",
        [
            _row("d.py", None, 1, _at_cosine(q, u, 0.9), kind="module"),
            _row("d.py", "Parser", 1, _at_cosine(q, u, 0.8), kind="class"),  # 0.8 + 0.15 beats 0.9
            _row("d.py", "Lexer", 1, _at_cosine(q, u, 0.85), kind="class"),
        ],
    )
    _write(fresh_store, "r", "e.py", [_row("e.py", None, 1, _at_cosine(q, u, 0.5), kind="module")])

    hits = search(fresh_store, embedder, query)

    # One hit per (repository, file, start line): d.py's three chunks at line 1 give one, e.py its own.
    assert [(h.qualified_name, h.kind, h.start_line, h.score) for h in hits] == [
        ("d.py::Parser", "class", 1, 0.95),
        ("e.py", "module", 1, 0.5),
    ]


def test_the_repository_filter_applies_to_nearest_and_named_chunks(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "find lookup"
    q, u = _query_vector(embedder, query)
    for repository in ("alpha", "beta"):
        _register(fresh_store, repository, ["a.py"])
    _write(
        fresh_store,
        "alpha",
        "a.py",
        [_row("a.py", "shared", 1, _at_cosine(q, u, 1.0)), _row("a.py", "lookup", 5, _at_cosine(q, u, 0.1))],
    )
    _write(fresh_store, "beta", "a.py", [_row("a.py", "shared", 1, _at_cosine(q, u, 1.0))])

    def found(repository: str | None) -> list[tuple[str, str, float]]:
        hits = search(fresh_store, embedder, query, repository=repository)
        return sorted((h.repository, h.qualified_name, h.score) for h in hits)

    # The same file and line in two repositories are two hits.
    assert found(None) == [
        ("alpha", "a.py::lookup", 0.25),
        ("alpha", "a.py::shared", 1.0),
        ("beta", "a.py::shared", 1.0),
    ]
    assert found("alpha") == [("alpha", "a.py::lookup", 0.25), ("alpha", "a.py::shared", 1.0)]
    assert found("beta") == [("beta", "a.py::shared", 1.0)]
    assert found("gamma") == []


# -- nothing to search, or the wrong model -----------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   \n\t"])
def test_an_empty_query_finds_nothing(
    query: str, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, "anything")
    _register(fresh_store, "r", ["a.py"])
    _write(fresh_store, "r", "a.py", [_row("a.py", "anything", 1, _at_cosine(q, u, 1.0))])
    assert search(fresh_store, embedder, query) == []


def test_an_empty_index_finds_nothing(
    fresh_urls: DatabaseUrls, embedder: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(fresh_urls.index)
    try:
        assert search(store, embedder, "send an email") == []  # no tables yet
        store.ensure_schema(embedder.model_name, embedder.dimension)
        store.files.register("r", "/src/r")
        assert search(store, embedder, "send an email") == []  # tables, no chunks
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("model", "dimension"),
    [("some/other-model", 384), ("sentence-transformers/all-MiniLM-L6-v2", 768)],
)
def test_an_index_of_another_model_is_refused(
    model: str, dimension: int, fresh_urls: DatabaseUrls, embedder: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(fresh_urls.index)
    try:
        store.ensure_schema(model, dimension)
        with pytest.raises(ModelMismatchError) as raised:
            search(store, embedder, "send an email")
    finally:
        store.dispose()
    assert str(raised.value) == (
        f"this index was built with {model} ({dimension}-d vectors) but the configured model is "
        "sentence-transformers/all-MiniLM-L6-v2 (384-d). Set MNEMO_EMBEDDING_MODEL back to "
        f"{model}, or use another MNEMO_HOME / MNEMO_DATABASE_URL for the new model."
    )
