"""What a search query is, before it reaches the database: its bounded text, whether it names a
symbol or a path, a path glob as a regular expression, and the signature line of a chunk.

Pure functions; the splitting of identifiers into words happens in PostgreSQL
(``mnemo_code_words``, see :mod:`mnemo_dagster.store.schema`), so chunks and queries are split
by the same code.
"""

from __future__ import annotations

import re

MAX_QUERY_CHARS = 2000
"""Longer queries are cut here: the model reads at most 256 tokens, and a query is not a document."""
MAX_NAME_CHARS = 300
"""A query longer than this is never taken for an identifier or a path."""

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
