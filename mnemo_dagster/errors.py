"""Every error mnemo raises on purpose, each carrying the context a user needs to act on it.

Hierarchy::

    MnemoError                 base of everything mnemo raises on purpose
    ├── FileError              one source file could not be indexed (path, detail)
    │   └── DecodeError        the file is not valid UTF-8
    ├── ConfigError            a setting is missing or invalid
    ├── ModelMismatchError     the index was built with another embedding model
    ├── PassBusyError          another pass over the same repository holds its lock
    ├── ServerInUseError       a pass is running against the embedded server asked to stop
    ├── StoreError             the database is unreachable or in an unexpected state
    ├── QueryError             a search that cannot be answered as asked
    └── GraphQueryError        a graph question the index cannot answer as asked
        ├── UnknownRepositoryError   no repository of that name (the known ones are listed)
        ├── SymbolNotFoundError      no symbol has that name (close names are suggested)
        └── AmbiguousNameError       several symbols have that name (the candidates are listed)

A ``FileError`` never fails a batch: the file is recorded as ``failed`` with ``str(error)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MnemoError(Exception):
    """Base class for every error mnemo raises on purpose."""


class FileError(MnemoError):
    """One source file could not be indexed; the message says why in plain words."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class DecodeError(FileError):
    """The file is not valid UTF-8 text."""


class ConfigError(MnemoError):
    """A setting is missing or has an invalid value."""


class ModelMismatchError(MnemoError):
    """The stored index was embedded with a different model or dimension."""


class PassBusyError(MnemoError):
    """Another pass (``mnemo index`` or the directory sensor) is running over the repository."""

    def __init__(self, repository: str) -> None:
        super().__init__(
            f"another pass over {repository!r} is running (mnemo index or the directory sensor); "
            "try again when it has finished"
        )
        self.repository = repository


class ServerInUseError(MnemoError):
    """``mnemo db stop`` was asked to stop the embedded server while a pass holds a repository's lock."""

    def __init__(self, repositories: Sequence[str | None]) -> None:
        names = sorted(repr(name) for name in repositories if name)
        unnamed = len(repositories) - len(names)
        if unnamed:
            names.append(f"{unnamed} repositor{'y' if unnamed == 1 else 'ies'} not recorded yet")
        one = len(repositories) == 1
        super().__init__(
            f"{'a pass' if one else f'{len(repositories)} passes'} over {', '.join(names)} "
            f"{'is' if one else 'are'} running against the embedded PostgreSQL and would break if it "
            f"stopped; wait for {'it' if one else 'them'} to finish, or use --force"
        )
        self.repositories = list(repositories)


def unknown_repository(name: str, known: list[str], none: str = "none") -> str:
    """The message for a repository ``name`` that is not among ``known`` (``none`` when empty)."""
    return f"no repository named {name!r}; known: {', '.join(known) or none}"


class StoreError(MnemoError):
    """The database is unreachable or not in the expected state."""


class QueryError(MnemoError):
    """A search that cannot be answered as asked (an unknown repository, a limit out of bounds)."""


class GraphQueryError(MnemoError):
    """A graph question the index cannot answer as asked; the message says what to do instead."""


class UnknownRepositoryError(GraphQueryError):
    """No repository has the given name."""


class SymbolNotFoundError(GraphQueryError):
    """No symbol of the graph has the given name."""


class AmbiguousNameError(GraphQueryError):
    """Several symbols have the given name; :attr:`candidates` (graph symbols) lists them."""

    def __init__(self, name: str, candidates: Sequence[Any], total: int) -> None:
        listed = "\n".join(f"  {c.label}" for c in candidates)
        more = f"\n  ... and {total - len(candidates)} more" if total > len(candidates) else ""
        super().__init__(
            f"{name!r} is ambiguous: {total} symbols match; "
            f"give a qualified name or a repository:\n{listed}{more}"
        )
        self.name = name
        self.candidates = tuple(candidates)
