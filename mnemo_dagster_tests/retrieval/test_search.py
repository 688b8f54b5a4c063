"""Search against a real store and the real model: hybrid ranking, exact names and paths, one hit per
place, ranking that knows what it was asked (the query's kind, file diversity and weight, parts of
one definition, definitions above uses, path and name priors), filters, and queries that are not
what they seem.

Most tests store vectors built from the query's own embedding (``_at_cosine``), so every cosine is
known in advance; the lexical rank comes from PostgreSQL's own full-text index of the chunk.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.errors import ModelMismatchError, QueryError
from mnemo_dagster.indexing.batch import embedding_text
from mnemo_dagster.models import SourceFile, qualified_name
from mnemo_dagster.retrieval.index import EXACT_MATCH_BONUS, Index, Ranking, SearchHit
from mnemo_dagster.retrieval.query import code_names, keywords, query_kind
from mnemo_dagster.store.chunks import ChunkRow
from mnemo_dagster.store.database import IndexStore


def search(
    store: IndexStore,
    embedder: SentenceTransformerEmbedder,
    query: str,
    *,
    ranking: Ranking | None = None,
    **kw,
) -> list[SearchHit]:
    """One search through a fresh :class:`Index` over ``store``: nothing cached between calls."""
    return Index(embedder=embedder, store=store, ranking=ranking or Ranking()).search(query, **kw)


def _register(store: IndexStore, repository: str, paths: list[str]) -> None:
    store.files.register(repository, f"/src/{repository}")
    store.files.apply_scan(
        repository,
        changed=[SourceFile(path, "python", 100, 1, f"hash-{path}") for path in paths],
        touched=[],
        deleted=[],
        plan={path: f"{repository}__0001" for path in paths},
    )


def _row(
    path: str,
    name: str | None,
    line: int,
    vector: np.ndarray,
    kind: str = "function",
    *,
    end: int | None = None,
    content: str | None = None,
    symbols: list[dict[str, object]] | None = None,
) -> ChunkRow:
    if content is None:
        content = f"def {name.rsplit('.', 1)[-1]}(): ..." if name else "import os"
    return ChunkRow(
        kind=kind,
        name=name.rsplit(".", 1)[-1] if name else None,
        qualified_name=qualified_name(path, name),
        start_line=line,
        end_line=end or line + 1,
        content=content,
        content_hash=f"{path}:{line}:{name}",
        embedding=vector,
        metadata={"symbols": symbols or [], "references": []},
    )


def _write(
    store: IndexStore, repository: str, path: str, rows: list[ChunkRow], language: str = "python"
) -> None:
    store.chunks.write_file(
        repository, path, language=language, content_hash=f"hash-{path}", chunks=rows, warning=None
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


FUSED = Ranking(rerank=False)
"""The fusion and the exact bonus alone: a hit's score is its cosine plus its weighted lexical rank."""


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


def _store_corpus(store: IndexStore, embedder: SentenceTransformerEmbedder) -> dict[str, np.ndarray]:
    _register(store, "shop", sorted(CORPUS))
    texts = {path: embedding_text(path, name, content) for path, (name, content) in CORPUS.items()}
    vectors = dict(zip(texts, embedder.encode(list(texts.values())), strict=True))
    for path, (name, content) in CORPUS.items():
        row = ChunkRow(
            "function", name, f"{path}::{name}", 1, content.count("\n") + 1, content, path, vectors[path], {}
        )
        _write(store, "shop", path, [row])
    return vectors


def test_the_score_fuses_cosine_and_the_max_normalised_lexical_rank(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    vectors = _store_corpus(fresh_store, embedder)
    query = "send an email message"
    q = embedder.encode([query])[0]

    # The steps after fusion (priors, file weight, per-file decay) are off: the score is the fusion's.
    hits = search(fresh_store, embedder, query, ranking=FUSED)

    assert [h.qualified_name for h in search(fresh_store, embedder, query)][:2] == [
        "mail.py::send_email",
        "sms.py::send_sms",
    ]
    assert [h.qualified_name for h in hits][:2] == ["mail.py::send_email", "sms.py::send_sms"]
    # Each similarity is the cosine numpy computes from the same vectors; the lexical rank is
    # PostgreSQL's: send_email matches three words of the query (send, email, message), send_sms two.
    assert [h.similarity for h in hits] == [round(float(vectors[h.file_path] @ q), 4) for h in hits]
    assert hits[0].lexical > hits[1].lexical > 0
    assert {h.file_path: h.lexical for h in hits}["config.py"] == 0.0
    top = hits[0].lexical
    for hit in hits:
        assert hit.score == pytest.approx(
            hit.similarity + Ranking().lexical_weight * hit.lexical / top, abs=2e-4
        )
    assert hits[0].as_dict() == {
        "repository": "shop",
        "qualified_name": "mail.py::send_email",
        "file_path": "mail.py",
        "start_line": 1,
        "end_line": 3,
        "kind": "function",
        "language": "python",
        "score": hits[0].score,
        "content": CORPUS["mail.py"][1],
        "name": "send_email",
        "signature": "def send_email(recipient, subject, body):",
        "match": "ranked",
        "similarity": round(float(vectors["mail.py"] @ q), 4),
        "lexical": hits[0].lexical,
        "stale": False,  # its root (/src/shop) is not on this machine: not judged
    }
    assert search(fresh_store, embedder, query, limit=2, ranking=FUSED) == hits[:2]


def test_the_vector_only_ranking_scores_by_cosine_alone(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    vectors = _store_corpus(fresh_store, embedder)
    query = "send an email message"
    q = embedder.encode([query])[0]

    hits = search(
        fresh_store, embedder, query, ranking=Ranking(lexical_weight=0.0, exact=False, rerank=False)
    )

    cosines = {path: round(float(v @ q), 4) for path, v in vectors.items()}
    assert [(h.file_path, h.score) for h in hits] == sorted(cosines.items(), key=lambda item: -item[1])
    assert all(h.lexical == 0.0 for h in hits)


# -- exact identifiers, qualified names and paths ----------------------------------------------------


def test_an_identifier_query_puts_its_chunk_first_even_beyond_the_nearest_candidates(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "rebuild_index"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["f.py"])
    # 80 chunks nearer than rebuild_index fill every candidate list of the vector arm.
    fillers = [
        _row("f.py", f"filler_{i:02d}", 1 + 2 * i, _at_cosine(q, u, 0.9 - i / 1000)) for i in range(80)
    ]
    named = _row("f.py", "Rebuild_Index", 500, _at_cosine(q, u, 0.1))  # names match case-insensitively
    _write(fresh_store, "r", "f.py", [*fillers, named])

    hits = search(fresh_store, embedder, query, limit=3)

    assert [(h.qualified_name, h.match) for h in hits] == [
        ("f.py::Rebuild_Index", "exact"),
        ("f.py::filler_00", "ranked"),
        ("f.py::filler_01", "ranked"),
    ]
    assert hits[0].score > EXACT_MATCH_BONUS > hits[1].score
    # Found while the query was embedded, its similarity is read once the vector is there.
    assert hits[0].similarity == pytest.approx(0.1, abs=1e-3)


def test_a_name_defined_inside_a_chunk_is_answered_with_its_own_lines(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, "Checkout.place_order")
    _register(fresh_store, "r", ["shop/checkout.py", "orders.py"])
    method = {
        "name": "place_order",
        "path": "Checkout.place_order",
        "kind": "method",
        "start_line": 5,
        "end_line": 8,
    }
    nested = {
        "name": "retry",
        "path": "Checkout.place_order.retry",
        "kind": "function",
        "start_line": 6,
        "end_line": 7,
    }
    source = [
        "class Checkout:",
        "    total = 0",
        "",
        "    # Orders are placed once.",
        "    def place_order(self):",
        "        def retry():",
        "            return 1",
        "        return retry()",
        "",
        "    def cancel(self):",
        "        pass",
        "",
    ]
    # A small class is one chunk; its method and the function nested in it are only among the
    # symbols the chunk defines.
    checkout = _row(
        "shop/checkout.py",
        "Checkout",
        1,
        _at_cosine(q, u, 0.2),
        kind="class",
        end=12,
        content="\n".join(source),
        symbols=[
            {"name": "Checkout", "path": "Checkout", "kind": "class", "start_line": 1, "end_line": 12},
            method,
            nested,
        ],
    )
    _write(fresh_store, "r", "shop/checkout.py", [checkout])
    _write(fresh_store, "r", "orders.py", [_row("orders.py", "place_order", 1, _at_cosine(q, u, 0.8))])

    def first(query: str) -> list[tuple[str, str, int, int, str]]:
        return [
            (h.qualified_name, h.match, h.start_line, h.end_line, h.kind)
            for h in search(fresh_store, embedder, query, limit=2)
        ]

    # The dotted name only fits the class's method, answered with the method's own lines and kind;
    # the module function of the same name is ranked.
    own = ("shop/checkout.py::Checkout.place_order", "exact", 5, 8, "method")
    assert first("Checkout.place_order") == [own, ("orders.py::place_order", "ranked", 1, 2, "function")]
    hit = search(fresh_store, embedder, "Checkout.place_order", limit=1)[0]
    assert hit.content == "\n".join(source[4:8])
    assert hit.name == "place_order" and hit.signature == "def place_order(self):"
    assert first("shop/checkout.py::Checkout.place_order")[0] == own
    # The bare name fits both: a symbol path equal to the name outranks a symbol inside a chunk.
    assert first("place_order") == [("orders.py::place_order", "exact", 1, 2, "function"), own]
    # A nested function is its own lines too; the class itself stays the whole chunk.
    assert first("retry")[0] == ("shop/checkout.py::Checkout.place_order.retry", "exact", 6, 7, "function")
    assert first("Checkout")[0] == ("shop/checkout.py::Checkout", "exact", 1, 12, "class")
    # Without the ranking steps, the hit is the chunk that holds the name.
    plain = search(fresh_store, embedder, "Checkout.place_order", limit=1, ranking=Ranking(rerank=False))
    assert (plain[0].qualified_name, plain[0].start_line) == ("shop/checkout.py::Checkout", 1)


@pytest.mark.parametrize(
    ("query", "exact"), [("shop/retry.py", True), ("retry.py", True), ("SHOP/RETRY.PY", False)]
)
def test_a_path_query_puts_that_file_first(
    query: str, exact: bool, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, query)
    paths = ["shop/retry.py", "shop/retry_policy.py", "shop/retryXpy"]
    _register(fresh_store, "r", paths)
    _write(fresh_store, "r", "shop/retry.py", [_row("shop/retry.py", "backoff", 3, _at_cosine(q, u, 0.1))])
    for path in paths[1:]:
        _write(fresh_store, "r", path, [_row(path, "near", 1, _at_cosine(q, u, 0.95))])

    hits = search(fresh_store, embedder, query)

    # Paths compare exactly (case included); `_` and `.` in the query are not wildcards.
    assert [(h.file_path, h.match) for h in hits if h.match == "exact"] == (
        [("shop/retry.py", "exact")] if exact else []
    )
    if exact:
        assert hits[0].file_path == "shop/retry.py"


# -- one hit per place, and filters ------------------------------------------------------------------


def test_a_method_and_its_class_chunk_count_as_one_place(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "tokenize the input"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["d.py"])
    _register(fresh_store, "s", ["d.py"])
    rows = [
        _row("d.py", "Parser", 1, _at_cosine(q, u, 0.8), kind="class", end=40),
        _row("d.py", "Parser.tokenize", 10, _at_cosine(q, u, 0.9), kind="method", end=20),
        _row("d.py", "Parser.parse", 21, _at_cosine(q, u, 0.7), kind="method", end=30),
        _row("d.py", "helper", 50, _at_cosine(q, u, 0.5), end=55),
    ]
    _write(fresh_store, "r", "d.py", rows)
    _write(fresh_store, "s", "d.py", [_row("d.py", "Parser", 1, _at_cosine(q, u, 0.6), kind="class", end=40)])

    hits = search(fresh_store, embedder, query, ranking=Ranking(lexical_weight=0.0, rerank=False))

    # The class overlaps its better-scored method: one place, and the method stands for it. The other
    # method is another place, and so are the same lines in another repository.
    assert [(h.repository, h.qualified_name, h.score) for h in hits] == [
        ("r", "d.py::Parser.tokenize", 0.9),
        ("r", "d.py::Parser.parse", 0.7),
        ("s", "d.py::Parser", 0.6),
        ("r", "d.py::helper", 0.5),
    ]


def test_filters_by_repository_language_kind_and_path_glob(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "find lookup"
    q, u = _query_vector(embedder, query)
    files = {
        "src/app/a.py": ("python", "function"),
        "src/app/b.ts": ("typescript", "function"),
        "src/c.py": ("python", "class"),
        "tests/test_a.py": ("python", "function"),
    }
    for repository in ("alpha", "beta"):
        _register(fresh_store, repository, sorted(files))
    for n, (path, (language, kind)) in enumerate(sorted(files.items())):
        row = _row(path, f"f{n}", 1, _at_cosine(q, u, 0.9 - n / 10), kind=kind)
        _write(fresh_store, "alpha", path, [row], language=language)
    _write(fresh_store, "beta", "src/c.py", [_row("src/c.py", "other", 1, _at_cosine(q, u, 1.0))])

    def found(**filters: str) -> list[tuple[str, str]]:
        return sorted((h.repository, h.file_path) for h in search(fresh_store, embedder, query, **filters))

    assert found(repository="beta") == [("beta", "src/c.py")]
    assert found(repository="alpha", language="typescript") == [("alpha", "src/app/b.ts")]
    assert found(kind="class") == [("alpha", "src/c.py")]
    assert found(repository="alpha", path="src/**") == [
        ("alpha", "src/app/a.py"),
        ("alpha", "src/app/b.ts"),
        ("alpha", "src/c.py"),
    ]
    assert found(repository="alpha", path="src/*.py") == [("alpha", "src/c.py")]
    assert found(path="test_*") == [("alpha", "tests/test_a.py")]
    assert found(repository="alpha", path="*.py", kind="function") == [
        ("alpha", "src/app/a.py"),
        ("alpha", "tests/test_a.py"),
    ]
    assert found(repository="gamma") == []


def test_the_lexical_index_follows_each_rewrite_of_a_file(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, "zebrafish")
    _register(fresh_store, "r", ["z.py"])
    content = "def swim():\n    return zebrafish_school.move()"
    _write(fresh_store, "r", "z.py", [_row("z.py", "swim", 1, _at_cosine(q, u, 0.5), content=content)])
    assert search(fresh_store, embedder, "zebrafish")[0].lexical > 0

    replaced = "def swim():\n    return goldfish.move()"
    _write(fresh_store, "r", "z.py", [_row("z.py", "swim", 1, _at_cosine(q, u, 0.5), content=replaced)])
    assert [(h.qualified_name, h.lexical) for h in search(fresh_store, embedder, "zebrafish")] == [
        ("z.py::swim", 0.0)
    ]
    assert search(fresh_store, embedder, "goldfish")[0].lexical > 0


# -- ranking that knows what it was asked ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("Session", "symbol"),
        ("session", "symbol"),
        ("Checkout.place_order", "symbol"),
        ("shop::Checkout", "symbol"),
        ("app.py", "path"),
        ("src/flask/app.py", "path"),
        ("how are routes registered", "question"),
        ("where is the cache cleared?", "question"),
        ("WebSocket client implementation", "text"),
        ("Return the parsed settings.", "text"),
        ("foo-bar", "text"),
    ],
)
def test_a_query_is_typed_as_a_symbol_a_path_a_question_or_a_description(query: str, kind: str) -> None:
    assert query_kind(query) == kind


def test_code_names_and_content_words_of_a_text_query() -> None:
    query = "how does safeParse call ZodType._parse with snake_case, e.g. for the HTTPAdapter?"
    assert code_names(query) == {"safeParse", "ZodType._parse", "snake_case", "HTTPAdapter"}
    assert keywords("how does dependency injection work in the HTTPAdapter") == {
        "dependency",
        "injection",
        "work",
        "http",
        "adapter",
    }


@pytest.mark.parametrize(
    ("query", "files"),
    [
        # A question wants the files that matter: a file's second place decays by half.
        ("how are tokens parsed", ["a.py", "b.py", "c.py", "a.py", "a.py"]),
        # A description wants its code: a file's strong siblings stay, a little lower each.
        ("tokens are parsed into a tree", ["a.py", "a.py", "a.py", "b.py", "c.py"]),
    ],
)
def test_a_files_further_chunks_make_room_for_other_files(
    query: str, files: list[str], fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["a.py", "b.py", "c.py"])
    rows = [_row("a.py", f"alpha_{n}", 1 + 10 * n, _at_cosine(q, u, 0.9 - n / 100)) for n in range(4)]
    _write(fresh_store, "r", "a.py", rows)
    _write(fresh_store, "r", "b.py", [_row("b.py", "beta", 1, _at_cosine(q, u, 0.8))])
    _write(fresh_store, "r", "c.py", [_row("c.py", "gamma", 1, _at_cosine(q, u, 0.75))])

    hits = search(fresh_store, embedder, query, limit=5)

    assert [h.file_path for h in hits] == files
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Without the steps after fusion, a.py's four chunks come first whatever the query.
    fused = search(fresh_store, embedder, query, limit=5, ranking=FUSED)
    assert [h.file_path for h in fused] == ["a.py", "a.py", "a.py", "a.py", "b.py"]


def test_a_file_with_several_strong_chunks_rises(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "tokens are parsed into a tree"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["a.py", "b.py"])
    rows = [_row("a.py", f"alpha_{n}", 1 + 10 * n, _at_cosine(q, u, 0.7 - n / 100)) for n in range(3)]
    _write(fresh_store, "r", "a.py", rows)
    _write(fresh_store, "r", "b.py", [_row("b.py", "beta", 1, _at_cosine(q, u, 0.72))])

    def files(ranking: Ranking) -> list[str]:
        return [h.file_path for h in search(fresh_store, embedder, query, limit=2, ranking=ranking)]

    assert files(Ranking()) == ["a.py", "b.py"]
    assert files(Ranking(file_weight=0.0)) == ["b.py", "a.py"]


def _lines(first: int, last: int) -> str:
    return "\n".join(f"    step_{n}()" for n in range(first, last + 1))


def test_parts_of_one_definition_are_one_hit_led_by_its_head(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "visit every node of the ast"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["p.py"])
    head = "def run_pass(node):\n" + _lines(2, 3)
    rows = [
        # run_pass, cut into three windows (blank lines 4 and 8 between them).
        _row("p.py", "run_pass", 1, _at_cosine(q, u, 0.6), end=3, content=head),
        # (0.85: the head's 0.6 plus its full-text rank for "node" makes 0.8, a tie to float noise)
        _row("p.py", "run_pass", 5, _at_cosine(q, u, 0.85), end=7, content=_lines(5, 7)),
        _row("p.py", "run_pass", 9, _at_cosine(q, u, 0.5), end=10, content=_lines(9, 10)),
        # Parser, split into its header, its method and its fields after the method.
        _row("p.py", "Parser", 12, _at_cosine(q, u, 0.3), kind="class", end=13),
        _row("p.py", "Parser.parse", 15, _at_cosine(q, u, 0.4), kind="method", end=25),
        _row("p.py", "Parser", 27, _at_cosine(q, u, 0.7), kind="class", end=28),
    ]
    _write(fresh_store, "r", "p.py", rows)

    hits = search(fresh_store, embedder, query)

    # Consecutive parts span one hit with the best part's score and similarity; the class's parts
    # are apart, so the class is one hit at its header, scored by its best part (the fields).
    assert [(h.qualified_name, h.start_line, h.end_line, h.similarity) for h in hits] == [
        ("p.py::run_pass", 1, 10, 0.85),
        ("p.py::Parser", 12, 13, 0.3),
        ("p.py::Parser.parse", 15, 25, 0.4),
    ]
    assert hits[0].content == "\n".join([head, "", _lines(5, 7), "", _lines(9, 10)])
    assert hits[0].content.count("\n") == 10 - 1
    assert hits[0].signature == "def run_pass(node):"
    assert len(search(fresh_store, embedder, query, ranking=FUSED)) == 6


def test_a_name_in_the_querys_own_case_beats_its_namesakes(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "Session"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["sessions.py", "api.py"])
    rows = [
        _row("sessions.py", "Session", 1, _at_cosine(q, u, 0.8), kind="class", end=30),
        _row("sessions.py", "session", 40, _at_cosine(q, u, 0.9), end=45),
    ]
    _write(fresh_store, "r", "sessions.py", rows)
    use = "def request():\n    return Session().request()"
    _write(fresh_store, "r", "api.py", [_row("api.py", "request", 1, _at_cosine(q, u, 0.95), content=use)])

    def found(ranking: Ranking) -> list[tuple[str, str]]:
        return [(h.qualified_name, h.match) for h in search(fresh_store, embedder, query, ranking=ranking)]

    assert found(Ranking()) == [
        ("sessions.py::Session", "exact"),
        ("sessions.py::session", "exact"),
        ("api.py::request", "ranked"),
    ]
    assert found(FUSED)[:2] == [("sessions.py::session", "exact"), ("sessions.py::Session", "exact")]


def test_a_bare_name_finds_where_it_is_assigned(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    query = "g"
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", ["globals.py", "helpers.py"])
    assigned = "from .ctx import _AppCtxGlobals\n\ng: _AppCtxGlobals = LocalProxy(_cv_app)"
    _write(
        fresh_store,
        "r",
        "globals.py",
        [_row("globals.py", None, 1, _at_cosine(q, u, 0.3), "module", end=3, content=assigned)],
    )
    # A use, and a local of the same name inside a function: neither defines the module's g.
    used = "def stream():\n    g = current()\n    return g.value"
    _write(
        fresh_store,
        "r",
        "helpers.py",
        [_row("helpers.py", "stream", 1, _at_cosine(q, u, 0.8), end=3, content=used)],
    )

    hits = search(fresh_store, embedder, query)

    assert [(h.file_path, h.match) for h in hits] == [("globals.py", "exact"), ("helpers.py", "ranked")]
    assert [h.file_path for h in search(fresh_store, embedder, query, ranking=FUSED)] == [
        "helpers.py",
        "globals.py",
    ]


@pytest.mark.parametrize(
    ("query", "rows", "off"),
    [
        # A query word naming the file (its stem or directory) lifts it.
        (
            "retry settings",
            [("shop/retry.py", "wait", 0.70, ""), ("shop/util.py", "pause", 0.72, "")],
            Ranking(lexical_weight=0.0, path_weight=0.0),
        ),
        # A code name in the query lifts the chunk that defines it above one that uses it.
        (
            "the loadConfig entry point",
            [("a.py", "loadConfig", 0.60, ""), ("b.py", "main", 0.65, "def main():\n    loadConfig()")],
            Ranking(lexical_weight=0.0, name_weight=0.0),
        ),
        # Tests score a little less than the code they test.
        (
            "evict stale entries",
            [("store.py", "evict", 0.75, ""), ("tests/test_store.py", "check", 0.80, "")],
            Ranking(lexical_weight=0.0, secondary=1.0),
        ),
    ],
)
def test_a_text_querys_words_and_names_and_a_files_role_move_it(
    query: str,
    rows: list[tuple[str, str, float, str]],
    off: Ranking,
    fresh_store: IndexStore,
    embedder: SentenceTransformerEmbedder,
) -> None:
    q, u = _query_vector(embedder, query)
    _register(fresh_store, "r", [path for path, *_ in rows])
    for path, name, cosine, content in rows:
        _write(
            fresh_store, "r", path, [_row(path, name, 1, _at_cosine(q, u, cosine), content=content or None)]
        )

    def files(ranking: Ranking) -> list[str]:
        return [h.file_path for h in search(fresh_store, embedder, query, ranking=ranking)]

    assert files(Ranking(lexical_weight=0.0)) == [path for path, *_ in rows]
    assert files(off) == [path for path, *_ in rows][::-1]


# -- queries that are not what they seem -------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE code_chunks; --",
        "a & b | !c:* <-> (d",
        "100% of_the_ \\\\ backslash",
        "x" * 10_000,
        "lookup " * 2_000,
        "\x00 nul",
    ],
)
def test_queries_with_metacharacters_or_great_length_search_safely(
    query: str, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, "lookup")
    _register(fresh_store, "r", ["a.py"])
    _write(fresh_store, "r", "a.py", [_row("a.py", "lookup", 1, _at_cosine(q, u, 0.5))])

    hits = search(fresh_store, embedder, query)

    assert [h.qualified_name for h in hits] == ["a.py::lookup"]
    assert fresh_store.chunks.reusable_embeddings(["a.py:1:lookup"]).keys() == {"a.py:1:lookup"}


# -- nothing to search, or the wrong model -----------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   \n\t"])
def test_an_empty_query_finds_nothing(
    query: str, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    q, u = _query_vector(embedder, "anything")
    _register(fresh_store, "r", ["a.py"])
    _write(fresh_store, "r", "a.py", [_row("a.py", "anything", 1, _at_cosine(q, u, 1.0))])
    assert search(fresh_store, embedder, query) == []


def test_an_empty_index_finds_nothing(empty_store: IndexStore, embedder: SentenceTransformerEmbedder) -> None:
    assert search(empty_store, embedder, "send an email") == []  # no tables yet
    empty_store.ensure_schema(embedder.model_name, embedder.dimension)
    empty_store.files.register("r", "/src/r")
    assert search(empty_store, embedder, "send an email") == []  # tables, no chunks


@pytest.mark.parametrize(
    ("model", "dimension"),
    [("some/other-model", 384), ("sentence-transformers/all-MiniLM-L6-v2", 768)],
)
def test_an_index_of_another_model_is_refused(
    model: str, dimension: int, empty_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    empty_store.ensure_schema(model, dimension)
    with pytest.raises(ModelMismatchError) as raised:
        search(empty_store, embedder, "send an email")
    assert str(raised.value) == (
        f"this index was built with {model} ({dimension}-d vectors) but the configured model is "
        "sentence-transformers/all-MiniLM-L6-v2 (384-d). Set MNEMO_EMBEDDING_MODEL back to "
        f"{model}, or use another MNEMO_HOME / MNEMO_DATABASE_URL for the new model."
    )


class _StuckEmbedder(SentenceTransformerEmbedder):
    """The real model, whose query embedding never comes (a hung device or a deadlocked pool)."""

    def __init__(self, embedder: SentenceTransformerEmbedder) -> None:
        super().__init__(embedder.model_name)
        self.release = threading.Event()

    def encode(self, texts, on_progress=None):  # type: ignore[no-untyped-def]
        self.release.wait(30)
        return super().encode(texts, on_progress)


def test_a_query_model_that_never_answers_fails_the_search_in_bounded_time(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mnemo_dagster.retrieval.index as index_module

    _store_corpus(fresh_store, embedder)
    monkeypatch.setattr(index_module, "ENCODE_SECONDS", 0.3)
    stuck = _StuckEmbedder(embedder)
    client = Index(embedder=stuck, store=fresh_store)
    try:
        with pytest.raises(QueryError, match=r"the query model gave no embedding in 0\.3 s"):
            client.search("send an email message")
    finally:
        stuck.release.set()
        client.close()
