"""What a search returns: :class:`SearchHit`, one place of the ranking."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mnemo_dagster.retrieval.query import signature
from mnemo_dagster.retrieval.rerank import Place


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result; lines are 1-based and inclusive. A hit is one place: a chunk, or the
    consecutive parts of one split definition merged (their lines and content, the best part's
    similarity and lexical rank)."""

    repository: str
    qualified_name: str
    file_path: str
    start_line: int
    end_line: int
    kind: str
    language: str
    score: float
    content: str
    name: str | None = None
    """The symbol's own name (None for module-level code)."""
    signature: str = ""
    """The line that introduces the chunk (``def ...``, ``class ...``), or its first line."""
    match: str = "ranked"
    """``exact`` when the query named this chunk (its name, qualified name or path), else ``ranked``."""
    similarity: float = 0.0
    """Cosine similarity of the query and the chunk."""
    lexical: float = 0.0
    """Full-text rank of the chunk for the query's words (0 when none matches)."""
    stale: bool = False
    """The file changed on disk (or went away) after the version these lines come from was indexed;
    ``mnemo index`` brings it up to date. False where the file cannot be seen from here."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hit_of(place: Place, exact: bool) -> SearchHit:
    """The hit of ``place``; ``exact`` when the query named it."""
    chunk = place.chunk
    return SearchHit(
        repository=chunk.repository,
        qualified_name=chunk.qualified_name,
        file_path=chunk.file_path,
        start_line=place.start_line,
        end_line=place.end_line,
        kind=chunk.kind,
        language=chunk.language,
        score=round(float(place.score), 4),
        content=place.content,
        name=chunk.name,
        signature=signature(place.content),
        match="exact" if exact else "ranked",
        similarity=round(float(chunk.similarity), 4),
        lexical=round(float(chunk.lexical), 4),
    )
