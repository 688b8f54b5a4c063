"""Errors raised by mnemo's core, each carrying the context a user needs to act on it.

Hierarchy::

    MnemoError                 base of everything mnemo raises on purpose
    ├── FileError              one source file could not be indexed (path, detail)
    │   └── DecodeError        the file is not valid UTF-8
    ├── ConfigError            a setting is missing or invalid
    ├── ModelMismatchError     the index was built with another embedding model
    ├── PassBusyError          another pass over the same repository holds its lock
    └── StoreError             the database is unreachable or in an unexpected state

A ``FileError`` never fails a batch: the file is recorded as ``failed`` with ``str(error)``.
"""

from __future__ import annotations


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


def unknown_repository(name: str, known: list[str], none: str = "none") -> str:
    """The message for a repository ``name`` that is not among ``known`` (``none`` when empty)."""
    return f"no repository named {name!r}; known: {', '.join(known) or none}"


class StoreError(MnemoError):
    """The database is unreachable or not in the expected state."""
