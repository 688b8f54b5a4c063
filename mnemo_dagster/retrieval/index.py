"""Hybrid search over the index, and :class:`Index`, the long-lived client that holds the model and
the database engine.

A query gathers candidates from three arms (:mod:`mnemo_dagster.store.search`): the nearest
chunks by cosine similarity, the best full-text matches of its words, and, when the query reads as
an identifier, a qualified name or a path, the chunks it names exactly. Each candidate's score is its
cosine similarity plus :attr:`Ranking.lexical_weight` times its lexical rank, max-normalised over the
candidates (the fusion chosen on ``benchmarks/search_eval.py``).

Then ranking uses what the query is (:func:`~mnemo_dagster.retrieval.query.query_kind`: a symbol, a
path, a question or a description) and where each candidate lives (:mod:`.rerank`), each step kept
for what it measured on ``benchmarks/semble_eval.py`` and ``benchmarks/search_eval.py``:

- tests, docs, examples and TypeScript declarations score a little less (:attr:`Ranking.secondary`);
- a text query's words that name a file or its directory lift that file's chunks
  (:attr:`Ranking.path_weight`), and the code names in it lift the chunks that define them
  (:attr:`Ranking.name_weight`);
- a file with several strong candidates lifts all of them (:attr:`Ranking.file_weight`);
- an exact match is lifted above every other hit by :data:`EXACT_MATCH_BONUS`; for a bare name a
  chunk that assigns the name at the top level (``g = LocalProxy(...)``) counts as a match of its
  bare name, and a name written in the query's own case wins over another (``Session`` the class
  over ``session`` the function);
- consecutive parts of one split definition are one hit spanning them, and a definition's parts
  that are apart are one hit at its head;
- hits that overlap in the same file (a method and its class) are one place, the better one kept;
  each file's places after its first score less (:attr:`Ranking.file_decay`, and
  :attr:`Ranking.broad_file_decay` for a question or a name, which want files rather than lines);
- for a symbol, one hit per definition, a base named like it but for a sigil right after it, and the
  file named for a bare name before its methods (:func:`.rerank.symbol_places`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mnemo_dagster.errors import QueryError, unknown_repository
from mnemo_dagster.retrieval import rerank
from mnemo_dagster.retrieval.hits import SearchHit, hit_of
from mnemo_dagster.retrieval.query import (
    QueryKind,
    bounded,
    check_filters,
    code_names,
    glob_regex,
    keywords,
    name_like,
    query_kind,
)
from mnemo_dagster.retrieval.stale import mark_stale
from mnemo_dagster.store.database import IndexStore, check_model
from mnemo_dagster.store.search import (
    LEXICAL_WEIGHTS,
    RANK_NORMALIZATION,
    ChunkHit,
    Filters,
    Lexical,
    WordStats,
    exact_chunks,
    lexical_chunks,
    nearest_chunks,
    or_query,
    query_words,
    selective_words,
    with_similarity,
    word_stats,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from mnemo_dagster.config.settings import Settings
    from mnemo_dagster.embedding import Embedder
    from mnemo_dagster.retrieval.onnx_query import Encode
    from mnemo_dagster.wiring import Wiring

QUERY_THREADS = 1
"""Torch CPU threads of the query model an :class:`Index` loads. One short text gains nothing from
more, and on a busy 2-core machine two threads waiting on each other took 470 ms a query, one 20 ms."""
ENCODE_SECONDS = 120.0
"""How long a search waits for its query's embedding (the first one loads the model) before it fails."""
STATS_SECONDS = 300.0
"""How long an :class:`Index` reuses the lexeme statistics before reading them again."""
EXACT_MATCH_BONUS = 2.0
"""Added to the score of a chunk the query names exactly, so it ranks above every other hit."""
EXACT_LEVEL_BONUS = 0.1
"""Added per level of exactness (:func:`mnemo_dagster.store.search.exact_chunks`): a whole
qualified name beats a symbol path, which beats a bare name, which beats a file path."""
SAME_CASE_BONUS = 0.2
"""Added to an exact match of a symbol query that defines the name in the query's own case: the
class ``Session`` beats the function ``session`` for ``Session``."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """How candidates are gathered, fused and ranked (``benchmarks/search_eval.py`` and
    ``benchmarks/semble_eval.py`` measure settings)."""

    lexical_weight: float = 0.2
    """Weight of the max-normalised lexical rank next to the cosine similarity; 0 is vector-only.
    0.15-0.2 scored best on the tuning packages of ``benchmarks/search_eval.py``; RRF scored lower."""
    fusion: str = "weighted"
    """``weighted`` (cosine + weight x lexical) or ``rrf`` (reciprocal rank fusion, k = :attr:`rrf_k`)."""
    rrf_k: int = 60
    exact: bool = True
    """Whether a query that reads as a name or path lifts the chunks it names exactly."""
    candidates: int = 50
    """Candidates per arm (at least; a larger ``limit`` takes more)."""
    lexical_weights: tuple[float, float, float, float] = LEXICAL_WEIGHTS
    """``ts_rank`` weights of lexemes from the content (D, C, B) and from the qualified name (A)."""
    normalization: int = RANK_NORMALIZATION
    """``ts_rank`` length normalisation flags."""
    rerank: bool = True
    """Whether the steps after fusion apply (priors, file weight, merged parts, per-file decay); without
    them a hit's score is its fused score (plus the exact bonus)."""
    secondary: float = 0.9
    """Factor of the score of a test, docs, example or declaration file (1: no prior)."""
    path_weight: float = 0.1
    """A text query's words naming a file or its directory add this share of the best score, times the
    share of the words that do."""
    name_weight: float = 0.1
    """A chunk that defines a code name written in a text query gains this share of the best score."""
    file_weight: float = 0.2
    """Every chunk gains this share of the best score, times its file's weight over the heaviest
    file's (see :func:`mnemo_dagster.retrieval.rerank.add_file_weight`)."""
    per_file: int = 1
    """Places of one file before the decay applies (0: no limit)."""
    file_decay: float = 0.9
    """Factor per further place of one file, for a description (a docstring, a sentence)."""
    broad_file_decay: float = 0.5
    """Factor per further place of one file, for a question or a symbol: they want the files that
    matter, and a file's further places mostly push the next file down."""


def _fused(candidates: dict[int, ChunkHit], ranking: Ranking) -> dict[int, float]:
    if ranking.fusion == "rrf":
        by_vector = sorted(candidates, key=lambda i: -candidates[i].similarity)
        by_lexical = sorted(
            (i for i in candidates if candidates[i].lexical > 0), key=lambda i: -candidates[i].lexical
        )
        scores = {i: 1 / (ranking.rrf_k + n + 1) for n, i in enumerate(by_vector)}
        for n, i in enumerate(by_lexical):
            scores[i] += ranking.lexical_weight / (ranking.rrf_k + n + 1)
        return scores
    top = max((hit.lexical for hit in candidates.values()), default=0.0) or 1.0
    return {i: hit.similarity + ranking.lexical_weight * hit.lexical / top for i, hit in candidates.items()}


def _lexical(conn: Any, query: str, ranking: Ranking, stats: WordStats | None) -> Lexical | None:
    words = query_words(conn, query) if ranking.lexical_weight > 0 else []
    if not words:
        return None
    match = selective_words(words, stats or word_stats(conn))
    return Lexical(
        or_query(words), or_query(match), ranking.lexical_weights, ranking.normalization, tuple(words)
    )


def rank(
    store: IndexStore,
    vector: Any,
    query: str,
    filters: Filters,
    limit: int,
    ranking: Ranking,
    stats: WordStats | None = None,
    *,
    stale: bool = False,
    pool: Executor | None = None,
) -> list[SearchHit]:
    """The ``limit`` best places for ``query``, best first.

    ``vector`` is the query's embedding, or a :class:`~concurrent.futures.Future` of it: the arms that
    do not need it (the query's words, the exact and the lexical arm) run while it is computed, and
    their candidates' similarity is read once it is there. ``stats`` (of the lexemes, see
    :func:`word_stats`) are read from the database when not given. With ``stale``, hits whose file
    changed on disk since it was indexed are marked (:func:`mark_stale`), in the same transaction.
    With a ``pool`` (the one computing a future ``vector``), the nearest arm runs there once the
    vector is ready, on a connection of its own, while this one runs the others."""
    n = max(ranking.candidates, limit * 3)
    name = name_like(query) if ranking.exact else None
    kind = query_kind(query)
    # The symbols a candidate defines tell which chunk defines a code name of a text query.
    symbols = ranking.rerank and ranking.name_weight > 0 and kind in ("text", "question")
    symbols = symbols and bool(code_names(query))
    known: Future[Lexical | None] = Future()
    nearby = None  # the nearest arm, beside the others (PostgreSQL gives each connection a process)
    if pool is not None and isinstance(vector, Future):
        nearby = pool.submit(_nearest, store, vector, known, filters, n, symbols)
    with _settled(known, nearby), store.begin() as conn:
        words = _lexical(conn, query, ranking, stats)
        known.set_result(words)
        # A bare name's exact arm also finds where it is assigned at the top level, when one of its
        # lexemes is rare enough (``words.match``) to bound the chunks whose text it reads.
        assigned = None
        if words is not None and words.match and kind == "symbol" and ranking.rerank:
            assigned = list(words.words)
        exact = exact_chunks(conn, None, words, name, filters, assigned) if name is not None else []
        # A name or path query has the exact arm; full-text matches of its parts add little but time.
        lexical: list[ChunkHit] = []
        if words is not None and words.match and kind not in ("path", "symbol"):
            lexical = lexical_chunks(conn, None, words, filters, n, symbols)
        if nearby is not None:
            vector.result(timeout=ENCODE_SECONDS)  # a model that never answers: the bounded wait's error
            embedding, nearest = nearby.result(timeout=ENCODE_SECONDS)
        else:
            embedding = vector.result(timeout=ENCODE_SECONDS) if isinstance(vector, Future) else vector
            nearest = nearest_chunks(conn, embedding, words, filters, n, symbols)
        found = {chunk.id: chunk for chunk in nearest}
        scored = iter(
            with_similarity(
                conn, embedding, [c for c, _ in exact] + [c for c in lexical if c.id not in found]
            )
        )
        exact = [(next(scored), level) for _, level in exact]
        lexical = [next(scored) if c.id not in found else c for c in lexical]
        levels = {chunk.id: level for chunk, level in exact}
        candidates = {chunk.id: chunk for chunk, _ in exact}
        if ranking.rerank and name is not None and (kind == "symbol" or "::" in name):
            # A name defined inside a chunk (a nested function, a method of a small class) is answered
            # with that definition's own lines, not the function or class around it.
            candidates = {i: rerank.own_definition(chunk, name) for i, chunk in candidates.items()}
        for chunk in (*nearest, *lexical):
            candidates.setdefault(chunk.id, chunk)
        hits = [hit_of(place, exact) for place, exact in choose(candidates, levels, query, limit, ranking)]
        if stale:
            files = [(hit.repository, hit.file_path) for hit in hits]
            hits = mark_stale(hits, store.files.indexed_states(files, conn))
    return hits


@contextmanager
def _settled(words: Future[Lexical | None], nearby: Future[Any] | None) -> Iterator[None]:
    """On the way out, settles ``words`` (None if they never came: the nearest arm waits for them)
    and cancels the nearest arm if it has not started."""
    try:
        yield
    finally:
        if not words.done():
            words.set_result(None)
        if nearby is not None:
            nearby.cancel()


def _nearest(
    store: IndexStore,
    vector: Future[Any],
    words: Future[Lexical | None],
    filters: Filters,
    n: int,
    symbols: bool,
) -> tuple[Any, list[ChunkHit]]:
    """The query's vector and the nearest arm's candidates, on a connection of its own."""
    embedding = vector.result(timeout=ENCODE_SECONDS)
    known = words.result(timeout=ENCODE_SECONDS)
    with store.begin() as conn:
        return embedding, nearest_chunks(conn, embedding, known, filters, n, symbols)


def choose(
    candidates: dict[int, ChunkHit], levels: dict[int, int], query: str, limit: int, ranking: Ranking
) -> list[tuple[rerank.Place, bool]]:
    """The ``limit`` best places among ``candidates`` (by id) for ``query``, best first, each with
    whether it is an exact match; ``levels`` says how exactly the query names each exact match."""
    kind = query_kind(query)
    scores = _fused(candidates, ranking)
    if ranking.rerank:
        _priors(scores, candidates, query, kind, ranking)
        rerank.add_file_weight(scores, candidates, ranking.file_weight)
    for i, level in levels.items():
        scores[i] += EXACT_MATCH_BONUS + EXACT_LEVEL_BONUS * level
        if ranking.rerank and kind == "symbol" and rerank.defines(candidates[i], query, same_case=True):
            scores[i] += SAME_CASE_BONUS
    if ranking.rerank:
        found = rerank.places(candidates.values(), lambda chunk: scores[chunk.id])
        decay = ranking.broad_file_decay if kind in ("question", "symbol") else ranking.file_decay
        pick = rerank.symbol_places if kind == "symbol" else rerank.text_places
        kept = pick(found, query, levels, limit, ranking.per_file, decay)
    else:
        found = [
            rerank.Place(c, scores[c.id], c.start_line, c.end_line, c.content, (c.id,))
            for c in candidates.values()
        ]
        kept = rerank.diverse(found, limit, 0, 1.0)
    return [(place, place.holds(levels)) for place in kept]


def _priors(
    scores: dict[int, float], candidates: dict[int, ChunkHit], query: str, kind: QueryKind, ranking: Ranking
) -> None:
    """Path and name priors on the fused ``scores`` (in place)."""
    if not scores:
        return
    for i, chunk in candidates.items():
        if rerank.is_secondary(chunk.file_path):
            scores[i] *= ranking.secondary
    if kind not in ("text", "question"):
        return
    best = max(scores.values())
    names = code_names(query) if ranking.name_weight else set()
    words = keywords(query) if ranking.path_weight else set()
    shares: dict[str, float] = {}
    for i, chunk in candidates.items():
        if names and any(rerank.defines(chunk, name) for name in names):
            scores[i] += ranking.name_weight * best
        if words:
            if chunk.file_path not in shares:
                shares[chunk.file_path] = rerank.path_share(words, chunk.file_path)
            scores[i] += ranking.path_weight * best * shares[chunk.file_path]


@dataclass
class Index:
    """A long-lived search client: it holds the query model and the database engine, so every search
    after the first costs a query embedding and a few SQL statements.

    ``Index()`` reads the settings from the environment (``MNEMO_HOME``, ``MNEMO_DATABASE_URL``,
    ``MNEMO_EMBEDDING_MODEL``). The query is embedded in float32 whatever dtype indexing uses: it is one
    short text, and bfloat16 costs ranking quality; the model it loads runs torch on
    :data:`QUERY_THREADS` thread(s), which applies to the whole process. Thread-safe; close it (or use
    ``with``) when done.
    """

    settings: Settings | None = None
    embedder: Embedder | None = None
    ranking: Ranking = field(default_factory=Ranking)
    store: IndexStore | None = None
    """The index database; by default the one the settings name (the Index then owns and closes it)."""
    _wiring: Wiring | None = field(default=None, init=False, repr=False)
    _checked: bool = field(default=False, init=False, repr=False)
    _stats: tuple[float, WordStats] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _encoder: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _encode: Encode | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        from mnemo_dagster.config.settings import Settings
        from mnemo_dagster.wiring import make_embedder, wire

        self.settings = self.settings or Settings.from_env()
        if self.store is None:
            self._wiring = wire(self.settings)
            self.store = self._wiring.store
        if self.embedder is None:
            self.embedder = make_embedder(self.settings.replace(embedding_dtype="float32"))
            self.embedder.threads = QUERY_THREADS

    def warm(self) -> Index:
        """Load the model and open a connection now (the first search would otherwise pay for it)."""
        assert self.embedder is not None and self.store is not None, "the Index is closed"
        self.encode(["warm up"])
        self.store.files.repository_names()
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors of ``texts``, by ONNX Runtime where it can (:mod:`.onnx_query`)."""
        from mnemo_dagster.retrieval.onnx_query import query_encoder

        with self._lock:  # searches that start meanwhile wait for the model rather than load it too
            if self._encode is None:
                s = self.settings
                self._encode = query_encoder(self.embedder, s.home, s.query_encoder, QUERY_THREADS)
        return self._encode(texts)

    def repositories(self) -> list[str]:
        """Names of the indexed repositories."""
        return self.store.files.repository_names()

    def check_repository(self, repository: str | None) -> None:
        """Raise :class:`QueryError` if nothing is indexed, or naming the known repositories unless
        ``repository`` is one."""
        known = self.repositories() if self.store is not None and self.store.has_schema() else []
        if not known:
            raise QueryError("nothing is indexed yet; run `mnemo index PATH` first")
        if repository is not None and repository not in known:
            raise QueryError(unknown_repository(repository, known))

    def search(
        self,
        query: str,
        repository: str | None = None,
        limit: int = 10,
        *,
        language: str | None = None,
        kind: str | None = None,
        path: str | None = None,
        check_repository: bool = False,
    ) -> list[SearchHit]:
        """The ``limit`` best places for ``query``, best first; none for a blank query or an empty index.

        ``path`` is a glob over file paths (see :func:`mnemo_dagster.retrieval.query.glob_regex`); a
        ``language`` or ``kind`` that no chunk can have is a :class:`QueryError` naming the valid ones.
        With ``check_repository``, a search without hits raises :class:`QueryError` if nothing is
        indexed or ``repository`` is not (an unknown repository only ever has no hits, so a search with
        hits never pays for the check).
        """
        assert self.embedder is not None and self.store is not None, "the Index is closed"
        check_filters(language, kind)
        text = bounded(query)
        if not text:
            return []
        with self._lock:
            if not self._checked:
                stored = self.store.stored_model()
                if stored is None:
                    if check_repository:
                        self.check_repository(repository)
                    return []
                check_model(stored, self.embedder.model_name, self.embedder.dimension)
                self._checked = True
            if self._encoder is None:
                self._encoder = ThreadPoolExecutor(1, thread_name_prefix="mnemo-query")
            # The query is embedded on the encoder's thread while the SQL that needs no vector runs.
            vector, pool = self._encoder.submit(lambda: self.encode([text])[0]), self._encoder
            if self._stats is None or time.monotonic() - self._stats[0] > STATS_SECONDS:
                with self.store.begin() as conn:
                    self._stats = (time.monotonic(), word_stats(conn))
            stats = self._stats[1]
        filters = Filters(repository, language, kind, glob_regex(path) if path else None)
        try:
            hits = rank(self.store, vector, text, filters, limit, self.ranking, stats, stale=True, pool=pool)
        except TimeoutError:
            raise QueryError(f"the query model gave no embedding in {ENCODE_SECONDS:g} s") from None
        finally:
            vector.cancel()  # the SQL failed first: the model need not finish (a no-op once it has)
        if not hits and check_repository:
            self.check_repository(repository)
        return hits

    def close(self) -> None:
        if self._encoder is not None:
            self._encoder.shutdown(wait=False, cancel_futures=True)
            self._encoder = None
        if self._wiring is not None:  # a store given by the caller stays the caller's to close
            self._wiring.close()
            self._wiring = None
            self.store = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
