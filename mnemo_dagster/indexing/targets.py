"""What ``mnemo index`` may be pointed at, and the repository name it gets: checked before anything
heavy starts (the step server's imports, the database), so a typo is refused in well under a second.

Only the standard library and :mod:`~mnemo_dagster.indexing.batching` here: the command imports this first.
"""

from __future__ import annotations

import re
from pathlib import Path

from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.batching import valid_repository_name

URL_PATTERN = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
"""A git URL: ``scheme://...`` or scp-like ``user@host:path``."""


def is_git_source(target: str, *, ref: str | None = None) -> bool:
    """Whether ``target`` names a git source rather than a directory to index as it is."""
    if URL_PATTERN.match(target):
        return True
    path = Path(target).expanduser()
    if (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir():
        return True  # a bare repository
    return ref is not None and (path / ".git").exists()


def default_repository_name(root: Path) -> str:
    """A repository name derived from the directory name, made safe for partition keys (ASCII only,
    as :func:`~mnemo_dagster.indexing.batching.valid_repository_name` wants)."""
    cleaned = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "-" for ch in root.name)
    cleaned = cleaned.strip("-._")
    while "__" in cleaned or ".." in cleaned:
        cleaned = cleaned.replace("__", "_").replace("..", ".")
    return cleaned[:63] or "repo"


def source_name(url: str) -> str:
    """A repository name from a git URL or path: its last component, without ``.git``."""
    last = re.split(r"[/:]", url.rstrip("/"))[-1]
    return default_repository_name(Path(last.removesuffix(".git") or "repo"))


def check_repository_name(name: str) -> str:
    """``name``, or a :class:`ConfigError` that says what a name may hold."""
    if not valid_repository_name(name):
        raise ConfigError(
            f"invalid repository name {name!r}: use letters, digits, '-', '_' or '.', starting with "
            "a letter or digit, with no '__' or '..', at most 63 characters"
        )
    return name


def check_index_target(target: str, *, ref: str | None = None, name: str | None = None) -> str:
    """The repository name ``mnemo index TARGET [--ref] [--name]`` will use, once the target is known
    to be a directory or a git source; otherwise a :class:`ConfigError` that says what is wrong."""
    if is_git_source(target, ref=ref):
        return check_repository_name(name or source_name(target))
    if ref is not None:
        raise ConfigError(f"--ref needs a git URL or repository, and {target} is neither")
    path = Path(target).expanduser()
    if not path.exists():
        raise ConfigError(f"{target}: no such directory")
    if not path.is_dir():
        raise ConfigError(f"{target} is not a directory: mnemo index takes a directory or a git URL")
    return check_repository_name(name or default_repository_name(path.resolve()))
