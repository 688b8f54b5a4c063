"""A symbol as an agent asks about it: its definition (signature, docstring, body within a token
budget, container, children), the places that refer to it, and the code most like a given place."""

from __future__ import annotations

import re
from typing import Any

from mnemo_dagster.context.tokens import estimate_tokens, truncate_to_tokens
from mnemo_dagster.errors import GraphQueryError
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.symbols import LEADING_LINES, references, related_chunks, symbol_source

DEFAULT_BODY_TOKENS = 800
SIGNATURE_LINES = 20
_COMMENT = re.compile(r"^\s*(#|//|/\*|\*|--|;|%)")
_DOCSTRING_OPEN = re.compile(r'^\s*[rRbBuU]?("""|\'\'\')')
_SIGNATURE_END = re.compile(r"(:|\{|=>|\bthen|\bdo|=)\s*(#.*|//.*)?$")


def signature_head(lines: list[str]) -> str:
    """The definition's head: its lines up to the one that opens the body, once every bracket the
    head opened is closed (at most :data:`SIGNATURE_LINES`)."""
    head: list[str] = []
    depth = 0
    for line in lines[:SIGNATURE_LINES]:
        code = line.rstrip()
        head.append(code)
        depth += sum(code.count(c) for c in "([") - sum(code.count(c) for c in ")]")
        if depth <= 0 and _SIGNATURE_END.search(code):
            break
    return "\n".join(head).strip("\n")


def docstring_of(body: list[str], above: list[str]) -> str | None:
    """A Python docstring right after the signature, else the comment block right above it."""
    for index, line in enumerate(body):
        if not line.strip():
            continue
        opened = _DOCSTRING_OPEN.match(line)
        if opened is None:
            break
        quote = opened.group(1)
        text = line.strip()[len(opened.group(0).strip()) :]
        if quote in text:
            return text.split(quote)[0].strip() or None
        collected = [text]
        for more in body[index + 1 :]:
            if quote in more:
                collected.append(more.split(quote)[0])
                break
            collected.append(more)
        return "\n".join(part.strip() for part in collected).strip() or None
    comments: list[str] = []
    for line in reversed(above):
        if not _COMMENT.match(line):
            break
        comments.append(line.strip())
    return "\n".join(reversed(comments)) or None


def describe_symbol(
    store: IndexStore, name: str, repository: str | None = None, body_tokens: int = DEFAULT_BODY_TOKENS
) -> dict[str, Any]:
    """Where ``name`` is defined, its signature and docstring, its body cut to ``body_tokens``, the
    symbol that contains it and the ones it contains."""
    found = symbol_source(store, name, repository)
    symbol = found.symbol
    numbers = range(symbol.start_line, symbol.end_line + 1)
    own = [found.lines.get(n, "") for n in numbers]
    above = [found.lines.get(n, "") for n in range(symbol.start_line - LEADING_LINES, symbol.start_line)]
    signature = signature_head(own)
    head = signature.count("\n") + 1
    body = "\n".join(own)
    shown = truncate_to_tokens(body, body_tokens)
    return {
        **symbol.as_dict(),
        "signature": signature,
        "docstring": docstring_of(own[head:], above),
        "body": shown,
        "body_truncated": shown != body,
        "body_tokens": estimate_tokens(shown),
        "container": found.container.as_dict() if found.container else None,
        "children": [child.as_dict() for child in found.children],
    }


def find_references(
    store: IndexStore, name: str, repository: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The callers, importers and subclasses of ``name``, each with its referring line; at most
    ``limit`` of each kind, with the totals."""
    symbol, found = references(store, name, repository)
    groups: dict[str, list[dict[str, Any]]] = {"callers": [], "importers": [], "subclasses": []}
    totals = dict.fromkeys(groups, 0)
    group_of = {"calls": "callers", "imports": "importers", "inherits": "subclasses"}
    for reference in found:
        group = group_of[reference.kind]
        totals[group] += 1
        if len(groups[group]) < limit:
            groups[group].append(reference.as_dict())
    return {"symbol": symbol.as_dict(), **groups, "totals": totals}


def related(store: IndexStore, repository: str, file_path: str, line: int, limit: int = 10) -> dict[str, Any]:
    """The chunks whose code is most like the code at ``file_path:line`` (by their stored embeddings)."""
    found = related_chunks(store, repository, file_path, line, limit)
    if found is None:
        raise GraphQueryError(
            f"no indexed chunk of {repository!r} holds {file_path}:{line}; give a path relative to the "
            "repository root and a line inside an indexed file"
        )
    subject, near = found
    return {"at": subject.as_dict(), "related": [chunk.as_dict() for chunk in near]}
