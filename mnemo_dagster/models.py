"""Records passed between mnemo's stages. All are frozen and slotted; lines count from 1, inclusive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FileStatus = Literal["pending", "indexed", "failed", "skipped"]
ChunkKind = Literal["class", "function", "method", "interface", "module", "block", "lines"]
SymbolKind = Literal["class", "function", "method", "interface", "type", "enum", "lambda"]
ReferenceKind = Literal["calls", "imports", "inherits"]

QUALIFIED_NAME_SEPARATOR = "::"


def qualified_name(path: str, symbol_path: str | None = None) -> str:
    """``<path>::<Dotted.symbol.path>`` for a symbol, the bare path for a module (a storage contract)."""
    return f"{path}{QUALIFIED_NAME_SEPARATOR}{symbol_path}" if symbol_path else path


def split_qualified_name(name: str) -> tuple[str, str | None]:
    """Inverse of :func:`qualified_name`: ``(path, dotted symbol path or None)``."""
    path, separator, symbol_path = name.partition(QUALIFIED_NAME_SEPARATOR)
    return path, (symbol_path if separator else None)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file found under a repository root by a scan."""

    path: str
    """Path relative to the repository root, POSIX separators."""
    language: str | None
    """Language name from the registry, or None for files the scan skips."""
    size_bytes: int
    mtime_ns: int
    """Modification time in nanoseconds, as ``os.stat`` reports it."""
    content_hash: str | None
    """sha256 of the bytes, or None when the file was skipped before reading."""
    skip_reason: str | None = None
    """Why the file will not be indexed (binary, too large, minified...), or None."""


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition found in a file."""

    name: str
    """The bare name, e.g. ``validate``."""
    path: str
    """Dotted path inside the file, e.g. ``UserService.validate``."""
    kind: SymbolKind
    start_line: int
    """First line, 1-based."""
    end_line: int
    """Last line, 1-based, inclusive."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of another name: a call, an import or a base class."""

    kind: ReferenceKind
    name: str
    """The name as written: ``self.validate`` -> ``validate``; for imports the imported name."""
    source: str
    """Dotted path of the enclosing symbol, or ``""`` for module level."""
    line: int
    """1-based line of the reference."""
    module: str | None = None
    """For imports: the module as written (``os.path``, ``./user``, ``.models``); else None."""
    alias: str | None = None
    """For imports: the local name when it differs from ``name`` (``import numpy as np``)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a file that is embedded and searched as one unit."""

    kind: ChunkKind
    name: str | None
    """Bare name of the symbol the chunk covers, or None for module-level code and line windows."""
    symbol_path: str | None
    """Dotted path of that symbol inside the file, or None."""
    start_line: int
    """1-based."""
    end_line: int
    """1-based, inclusive."""
    content: str


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Everything extracted from one file: its chunks, definitions and references."""

    path: str
    language: str
    chunks: tuple[Chunk, ...]
    symbols: tuple[Symbol, ...] = ()
    references: tuple[Reference, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    """Problems that did not stop indexing, e.g. a syntax error tree-sitter recovered from."""
    flow: dict[str, Any] | None = None
    """Flow facts for the call graph (:mod:`mnemo_dagster.graph.facts`), taken from the same
    syntax tree; None for languages without a flow analysis."""


@dataclass(frozen=True, slots=True)
class KnownState:
    """What the store remembers of a file, enough to tell whether it changed."""

    size_bytes: int
    mtime_ns: int
    content_hash: str | None
    skip_reason: str | None = None
