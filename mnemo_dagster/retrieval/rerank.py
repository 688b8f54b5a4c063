"""What ranking knows beyond the fused score of a chunk: where it lives (its file's other strong
chunks, a path the query names, a test or a declaration file), whether it defines the name asked
for, which candidates are parts of one definition, how many hits one file may take, and in which
order a symbol query wants the definitions of its name, their bases and its namesakes.

Pure functions over the candidates of :func:`mnemo_dagster.retrieval.index.rank`: they read no
database and change nothing in it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, replace

from mnemo_dagster.models import qualified_name
from mnemo_dagster.retrieval.query import split_words
from mnemo_dagster.store.search import ChunkHit

PART_GAP_LINES = 3
"""Parts of one definition at most this many lines apart (the blank lines a window cut drops) are
consecutive."""
FILE_TOP_CHUNKS = 5
"""A file's weight is the sum of the scores of its best this many candidates."""

_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|__tests__|spec|testing)/|(?:^|/)test_[^/]*$|_test\.\w+$|\.(?:test|spec)\.[cm]?[jt]sx?$"
)
_DOCS_PATH = re.compile(r"(?:^|/)(?:docs?|docs_src|_?examples?|compat|_compat|legacy)/")
_DECLARATION_PATH = re.compile(r"\.d\.[cm]?ts$")
_WHOLE_FILE = ("module", "lines")
"""Chunk kinds that are a file's top-level code or windows of it, not one definition."""
HEAD_LINES = 8
"""A definition's head (its name, parameters, bases) is read from at most this many lines."""
_DEFINITION, _NAMED_FILE, _METHOD, _REST = range(4)
"""The tiers of :func:`by_name`, best first."""
_MOVED_WEIGHT = 0.01
_SCORE_STEP = 0.01


def is_secondary(path: str) -> bool:
    """Whether ``path`` is a test, documentation or example code, a compatibility shim or a TypeScript
    declaration file: files that a search rarely means when their source is also indexed."""
    return bool(_TEST_PATH.search(path) or _DOCS_PATH.search(path) or _DECLARATION_PATH.search(path))


def _similar(a: str, b: str) -> bool:
    """Words that are one another's inflection: equal, a prefix of four letters or more, or sharing
    all but their last two letters (``dependency``, ``dependencies``)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) < 4:
        return False
    common = len(list(itertools.takewhile(lambda pair: pair[0] == pair[1], zip(short, long, strict=False))))
    return common == len(short) or (common >= 5 and common >= len(short) - 2)


def path_share(words: set[str], path: str) -> float:
    """The share of the query's ``words`` that name the file (its stem) or its directory."""
    if not words:
        return 0.0
    parts = path.split("/")
    named = set(split_words(parts[-1].split(".")[0]))
    if len(parts) > 1:
        named |= set(split_words(parts[-2]))
    named = {word for word in named if len(word) > 2}
    return sum(1 for word in words if any(_similar(word, other) for other in named)) / len(words)


def _last(name: str) -> str:
    return re.split(r"\.|::", name)[-1]


def defines(chunk: ChunkHit, name: str, *, same_case: bool = False) -> bool:
    """Whether ``chunk`` defines ``name`` (the last part of a dotted name): its own name or a symbol
    inside it. Exactly as written with ``same_case``; else case-insensitively and whatever the leading
    ``_`` or ``$`` (``_parse`` for parse, zod's ``$ZodType`` for ZodType)."""
    last = _last(name)
    names = [chunk.name or "", *(chunk.symbols or [])]
    if same_case:
        return last in names
    bare = last.lower().lstrip("_$")
    return any(n.lower().lstrip("_$") == bare for n in names if n)


def own_definition(chunk: ChunkHit, name: str) -> ChunkHit:
    """``chunk`` cut to the definition ``name`` names when the chunk does not own that name but
    defines it inside (a nested function, a method of a class kept in one chunk): that symbol's own
    lines, content, qualified name and kind. Else ``chunk`` itself."""
    symbol = name.rpartition("::")[2]
    last = _last(symbol)
    if not chunk.defined or (chunk.name or "").lower() == last.lower():
        return chunk
    inside = [s for s in chunk.defined if s.get("start_line", 0) > chunk.start_line]
    matches = [s for s in inside if s.get("path") == symbol] or [s for s in inside if s.get("name") == last]
    if not matches:
        return chunk
    own = min(matches, key=lambda s: (s["start_line"], -s.get("end_line", 0)))  # the outermost, first
    lines = chunk.content.split("\n")
    start = own["start_line"]
    end = min(own.get("end_line", chunk.end_line), chunk.end_line)
    content = "\n".join(lines[start - chunk.start_line : end - chunk.start_line + 1])
    return replace(
        chunk,
        qualified_name=qualified_name(chunk.file_path, own["path"]),
        name=own["name"],
        kind=own.get("kind", chunk.kind),
        start_line=start,
        end_line=end,
        content=content,
    )


def add_file_weight(scores: dict[int, float], chunks: dict[int, ChunkHit], weight: float) -> None:
    """Add to every candidate ``weight`` times the best score, times its file's weight (the summed
    scores of the file's :data:`FILE_TOP_CHUNKS` best candidates) over the heaviest file's: a file with
    several strong chunks rises, and its chunks keep their order within it (in place)."""
    if not scores or weight <= 0:
        return
    best = max(scores.values())
    files: dict[tuple[str, str], list[int]] = {}
    for i, chunk in chunks.items():
        files.setdefault((chunk.repository, chunk.file_path), []).append(i)
    sums = {
        key: sum(
            max(score, 0.0) for score in sorted((scores[i] for i in ids), reverse=True)[:FILE_TOP_CHUNKS]
        )
        for key, ids in files.items()
    }
    heaviest = max(sums.values()) or 1.0
    for key, ids in files.items():
        for i in ids:
            scores[i] += weight * best * sums[key] / heaviest


@dataclass(frozen=True, slots=True)
class Place:
    """A hit in the making: the chunks that make one place, its lines and content, and its score."""

    chunk: ChunkHit
    """The best-scored chunk of the place (its name, kind, similarity and lexical rank are the hit's)."""
    score: float
    start_line: int
    end_line: int
    content: str
    ids: tuple[int, ...]
    """The ids of every chunk merged into the place."""

    @property
    def file(self) -> tuple[str, str]:
        return self.chunk.repository, self.chunk.file_path

    def holds(self, ids: Container[int]) -> bool:
        """Whether one of the place's chunks is among ``ids``."""
        return any(i in ids for i in self.ids)

    def overlaps(self, other: Place) -> bool:
        return (
            self.file == other.file
            and self.start_line <= other.end_line
            and other.start_line <= self.end_line
        )


def places(chunks: Iterable[ChunkHit], score: Callable[[ChunkHit], float]) -> list[Place]:
    """The candidates as places: the parts of one definition (same file, qualified name and kind)
    that are consecutive merge into one place spanning them, and a definition whose parts are apart
    (a large class's header and the fields between its methods) is one place at its first part, so
    its head leads. A place scores as its best part. Module code keeps one place per run of parts."""
    groups: dict[tuple[str, str, str, str], list[ChunkHit]] = {}
    for chunk in chunks:
        groups.setdefault((chunk.repository, chunk.file_path, chunk.qualified_name, chunk.kind), []).append(
            chunk
        )
    found: list[Place] = []
    for (_, _, _, kind), parts in groups.items():
        parts.sort(key=lambda c: (c.start_line, c.end_line))
        runs: list[list[ChunkHit]] = [[parts[0]]]
        for chunk in parts[1:]:
            if chunk.start_line - runs[-1][-1].end_line > PART_GAP_LINES:
                runs.append([])
            runs[-1].append(chunk)
        joined = [_joined(run, score) for run in runs]
        if kind not in _WHOLE_FILE and len(joined) > 1:
            joined = [replace(joined[0], score=max(place.score for place in joined))]
        found.extend(joined)
    return found


def _joined(run: list[ChunkHit], score: Callable[[ChunkHit], float]) -> Place:
    best = max(run, key=score)
    content = run[0].content
    for before, part in itertools.pairwise(run):
        if part.start_line == before.end_line:
            content += part.content  # slices of one long line
        else:
            content += "\n" * (part.start_line - before.end_line) + part.content
    end = max(chunk.end_line for chunk in run)
    return Place(best, score(best), run[0].start_line, end, content, tuple(chunk.id for chunk in run))


def diverse(found: list[Place], limit: int, per_file: int, decay: float) -> list[Place]:
    """The ``limit`` best places, best first: a place that overlaps a better one in the same file is
    left out (a method and its class are one place), and beyond the first ``per_file`` places of a
    file each further one scores ``decay`` times less than the one before (``per_file`` 0: no limit)."""
    ordered = sorted(found, key=lambda p: (-p.score, p.chunk.repository, p.chunk.file_path, p.start_line))
    kept: list[Place] = []
    by_file: dict[tuple[str, str], list[Place]] = {}
    floor = float("-inf")
    for place in ordered:
        if len(kept) >= limit and place.score <= floor:
            break  # scores only fall from here, and decay only lowers them
        same_file = by_file.setdefault(place.file, [])
        if any(place.overlaps(k) for k in same_file):
            continue
        n = len(same_file)
        same_file.append(place)
        if per_file and n >= per_file:
            place = replace(place, score=place.score * decay ** (n - per_file + 1))
        kept.append(place)
        if len(kept) >= limit:
            floor = sorted(k.score for k in kept)[-limit]
    kept.sort(key=lambda p: (-p.score, p.chunk.repository, p.chunk.file_path, p.start_line))
    return kept[:limit]


def _head(content: str) -> str:
    """The lines that introduce a definition: through the first that opens its body (``{`` or a
    trailing ``:``), at most :data:`HEAD_LINES`; where it names its base classes or interfaces."""
    lines = content.split("\n")[:HEAD_LINES]
    for n, line in enumerate(lines):
        if "{" in line or line.rstrip().endswith(":"):
            return "\n".join(lines[: n + 1])
    return "\n".join(lines)


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text) is not None


def _named_for(path: str, name: str) -> bool:
    """Whether the file is named for ``name``: its stem, without ``_``, is the name or its plural,
    whatever the case (``sessions.py`` for session)."""
    stem = path.rsplit("/", 1)[-1].split(".")[0].strip("_").lower()
    return stem in (name.lower(), name.lower() + "s", name.lower() + "es")


SYMBOL_SPARE = 5
"""Places beyond the limit that :func:`by_name` may lift into it."""


def symbol_places(
    found: list[Place], name: str, exact: Container[int], limit: int, per_file: int, decay: float
) -> list[Place]:
    """The places a symbol query shows: one per definition (:func:`one_per_definition`), diversified
    (:func:`diverse`) to :data:`SYMBOL_SPARE` more than ``limit``, reordered :func:`by_name`, then cut
    to ``limit``. ``exact`` holds the ids of the chunks that match the name exactly."""
    found = one_per_definition(found, name, exact)
    return by_name(diverse(found, limit + SYMBOL_SPARE, per_file, decay), name, exact)[:limit]


def text_places(
    found: list[Place], query: str, exact: Container[int], limit: int, per_file: int, decay: float
) -> list[Place]:
    """The places any other query shows: :func:`diverse` (``query`` and ``exact`` unused)."""
    return diverse(found, limit, per_file, decay)


def one_per_definition(found: list[Place], name: str, exact: Container[int]) -> list[Place]:
    """``found`` with one place per name an exact match (a place holding a chunk of ``exact``)
    defines in a file, the best-scored: a name one file declares several times (TypeScript's
    ``interface ZodType`` merged with ``export const ZodType = ...``, which defines the name asked
    for) is one definition. Names compare case included: ``Session`` and ``session`` are two."""
    last = _last(name)
    best: dict[tuple[str, str, str], Place] = {}
    for place in found:
        if place.holds(exact):
            key = (*place.file, place.chunk.name or last)
            if key not in best or place.score > best[key].score:
                best[key] = place
    chosen = {id(place) for place in best.values()}
    return [place for place in found if id(place) in chosen or not place.holds(exact)]


def by_name(kept: list[Place], name: str, exact: Container[int]) -> list[Place]:
    """``kept`` (best first) reordered for a symbol query, by what asking for a name wants:

    1. its definitions (the exact matches), the first of them first; right after that first one, a
       base they are built on, named like them but for a sigil (``$ZodType``, which zod's
       ``interface ZodType ... extends core.$ZodType`` extends);
    2. for a bare name, the file named for it (``sessions.py`` for session), when no definition of
       the name is in that file;
    3. for a bare name, the methods of that name (``RequestContext.session``): a member is asked for
       through its class (``RequestContext.session``), a bare name means what the module level holds;
    4. the rest.

    Scores are kept where the order allows, and set between their neighbours' where it does not
    (:func:`_rescored`)."""
    last = _last(name)
    bare = last == name
    tiers: list[tuple[int, int]] = []
    defining = [place for place in kept if place.holds(exact) and not (bare and place.chunk.kind == "method")]
    heads = [_head(place.content) for place in defining if not is_secondary(place.file[1])]
    named = {place.file for place in kept if place.holds(exact)}
    for place in kept:
        chunk = place.chunk
        if place.holds(exact):
            tier = (_METHOD, 0) if bare and chunk.kind == "method" else (_DEFINITION, 0)
        elif (
            chunk.name
            and chunk.name != last
            and chunk.name.strip("$_") == last
            and not is_secondary(chunk.file_path)
            and any(_mentions(head, chunk.name) for head in heads)
        ):
            tier = (_DEFINITION, 1)
        elif bare and place.file not in named and _named_for(chunk.file_path, last):
            named.add(place.file)
            tier = (_NAMED_FILE, 0)
        else:
            tier = (_REST, 0)
        tiers.append(tier)
    first = next((n for n, tier in enumerate(tiers) if tier == (_DEFINITION, 0)), None)
    if first is not None:
        tiers = [
            (t, 0 if n == first else (1 if sub else 2)) if t == _DEFINITION else (t, sub)
            for n, (t, sub) in enumerate(tiers)
        ]
    order = sorted(range(len(kept)), key=lambda n: (tiers[n], n))
    moved = [tiers[n] not in ((_DEFINITION, 0), (_DEFINITION, 2), (_REST, 0)) for n in order]
    return _rescored([kept[n] for n in order], moved)


def _rescored(ordered: list[Place], moved: list[bool]) -> list[Place]:
    """``ordered`` with scores that fall: the longest run of places whose scores already fall keeps
    them, preferring places not ``moved``; each other place takes a score evenly between its kept
    neighbours'."""
    scores = [place.score for place in ordered]
    weights = [_MOVED_WEIGHT if m else 1.0 for m in moved]
    n = len(scores)
    best, back = list(weights), [-1] * n
    for k in range(n):
        for j in range(k):
            if scores[j] >= scores[k] and best[j] + weights[k] > best[k]:
                best[k], back[k] = best[j] + weights[k], j
    keep: set[int] = set()
    k = max(range(n), key=lambda k: best[k], default=-1)
    while k >= 0:
        keep.add(k)
        k = back[k]
    k = 0
    while k < n:
        if k in keep:
            k += 1
            continue
        end = next((m for m in range(k, n) if m in keep), n)
        high = scores[k - 1] if k else max(scores[k : end + 1]) + _SCORE_STEP
        low = scores[end] if end < n else min([*scores[k:end], high]) - _SCORE_STEP
        for m in range(k, end):
            scores[m] = high - (high - low) * (m - k + 1) / (end - k + 1)
        k = end
    return [replace(place, score=score) for place, score in zip(ordered, scores, strict=True)]
