"""What a search query is, before it reaches the database: its bounded text, whether it names a
symbol or a path, what kind of question it is (:func:`query_kind`), its content words and the code
names inside it, a path glob as a regular expression, and the signature line of a chunk.

Pure functions; the splitting of identifiers into words happens in PostgreSQL
(``mnemo_code_words``, see :mod:`mnemo_dagster.store.schema`), so chunks and queries are split
by the same code.
"""

from __future__ import annotations

import re
from typing import Literal

from mnemo_dagster.errors import QueryError

MAX_QUERY_CHARS = 2000
"""Longer queries are cut here: the model reads at most 256 tokens, and a query is not a document."""
MAX_NAME_CHARS = 300
"""A query longer than this is never taken for an identifier or a path."""

QueryKind = Literal["symbol", "path", "question", "text"]

_STOPWORD_TEXT = """
a an and are as at be by can do does for from has have how i if in into is it its not of on or that
the their then there these this to use used uses using was what when where which who why will with
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""Words that say nothing about where code is (:func:`keywords` leaves them out)."""

_QUESTION = re.compile(r"(?i)(?:how|what|where|why|which|when|who)\b")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|::)[A-Za-z_$][A-Za-z0-9_$]*)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_WORD_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_CODE_NAME = re.compile(
    r"[a-z0-9][A-Z]"  # camelCase
    r"|[A-Z][a-z0-9]+[A-Z]|[A-Z]{2}[a-z]{2}"  # PascalCase, HTTPAdapter
    r"|[A-Za-z0-9]_[A-Za-z0-9]"  # snake_case
    r"|[A-Za-z0-9]\.[A-Za-z_$][A-Za-z0-9_$]"  # dotted.name
)
_NAME = re.compile(r"[A-Za-z0-9_$.:/\\-]+")
_HAS_WORD = re.compile(r"[A-Za-z0-9_]")
_SIGNATURE = re.compile(
    r"^\s*(?:@|(?:export\s+)?(?:pub(?:\(\w+\))?\s+)?(?:async\s+)?"
    r"(?:def|class|fn|func|function|interface|struct|enum|trait|impl|type|public|private|protected))"
)


def bounded(query: str) -> str:
    """``query`` without NUL characters (PostgreSQL text cannot hold them) or surrounding blanks, cut
    to :data:`MAX_QUERY_CHARS`."""
    return query.replace("\x00", " ").strip()[:MAX_QUERY_CHARS]


def name_like(query: str) -> str | None:
    """The query itself when it reads as one identifier, dotted or ``::`` qualified name, or path
    (``parse_price``, ``Checkout.place_order``, ``shop/retry.py``); otherwise None."""
    text = query.strip()
    if not text or len(text) > MAX_NAME_CHARS or not _NAME.fullmatch(text) or not _HAS_WORD.search(text):
        return None
    return text


def query_kind(query: str) -> QueryKind:
    """What ``query`` asks for: ``path`` (a file path: it has a ``/`` or ends in a source file
    extension), ``symbol`` (one identifier, dotted or ``::`` qualified), ``question`` (it starts with
    how, what, where, why, which, when or who, or ends with ``?``) or ``text`` (a description)."""
    text = query.strip()
    if _QUESTION.match(text) or text.endswith("?"):
        return "question"
    if name_like(text) is not None:
        if "/" in text or "\\" in text or _has_source_extension(text):
            return "path"
        if _IDENTIFIER.fullmatch(text):
            return "symbol"
    return "text"


def _has_source_extension(text: str) -> bool:
    from mnemo_dagster.extract.languages import LANGUAGES

    suffix = "." + text.rsplit(".", 1)[-1].lower() if "." in text else ""
    return bool(suffix) and any(suffix in spec.extensions for spec in LANGUAGES)


def split_words(text: str) -> list[str]:
    """The lower-case words of a text, an identifier or a path: ``HTTPAdapter`` is http and adapter,
    ``client_ws.py`` is client, ws and py."""
    return [part.lower() for word in _WORD.findall(text) for part in _WORD_PART.findall(word)]


def keywords(query: str) -> set[str]:
    """The content words of ``query``: lower case, three letters or more, no :data:`STOPWORDS`."""
    return {word for word in split_words(query) if len(word) > 2 and word not in STOPWORDS}


def code_names(query: str) -> set[str]:
    """The words of a text query written as code names: ``camelCase``, ``PascalCase`` with two capitals,
    ``snake_case``, ``dotted.names`` (``how does safeParse call ZodType._parse`` names ``safeParse``
    and ``ZodType._parse``)."""
    return {word for word in _IDENTIFIER.findall(query) if _CODE_NAME.search(word.strip("_$"))}


def glob_regex(glob: str) -> str:
    """A PostgreSQL regular expression matching the file paths that ``glob`` names.

    ``*`` and ``?`` stay within one path segment, ``**`` spans segments, and a glob without ``/``
    matches the file name in any directory (``*.py``, ``test_*``), as in ``.gitignore``.
    """
    text = glob.strip().lstrip("/")
    parts: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            parts.append("(.*/)?")
            i += 3
        elif text.startswith("**", i):
            parts.append(".*")
            i += 2
        elif text[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif text[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(text[i]))
            i += 1
    body = "".join(parts)
    if text.endswith("/"):
        body += ".*"  # a directory: everything under it
    prefix = "^(.*/)?" if "/" not in text.rstrip("/") else "^"
    return f"{prefix}{body}$"


def signature(content: str) -> str:
    """The line that introduces a chunk (its ``def``/``class``/``fn`` line, or else its first
    non-blank line), without trailing blanks, at most 200 characters."""
    lines = [line for line in content.splitlines() if line.strip()]
    if not lines:
        return ""
    chosen = next(
        (line for line in lines[:8] if _SIGNATURE.match(line) and not line.lstrip().startswith("@")), None
    )
    return (chosen or lines[0]).strip()[:200]


def check_filters(language: str | None, kind: str | None) -> None:
    """Raise :class:`QueryError` for a ``language`` or a chunk ``kind`` that no chunk can have."""
    from typing import get_args

    from mnemo_dagster.extract.languages import LANGUAGES
    from mnemo_dagster.models import ChunkKind

    for what, value, valid in (
        ("language", language, sorted({spec.name for spec in LANGUAGES})),
        ("kind", kind, list(get_args(ChunkKind))),
    ):
        if value is not None and value not in valid:
            raise QueryError(f"unknown {what} {value!r}; choose from {', '.join(valid)}")
