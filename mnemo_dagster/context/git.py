"""Git for change impact: a subprocess with a timeout and a quiet environment, and the few questions
:mod:`mnemo_dagster.context.impact` asks (where the checkout is, which commits a range names, the
hashes of blobs)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mnemo_dagster.errors import ConfigError, GraphQueryError

GIT_TIMEOUT_SECONDS = 60.0
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C", "GIT_PAGER": "cat"}
_OBJECT_TYPES = frozenset({b"blob", b"tree", b"commit", b"tag"})


def git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, **GIT_ENV},
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError("git is not installed; give the change as diff text or as symbol names") from None
    except subprocess.TimeoutExpired:
        raise GraphQueryError(f"git {args[0]} did not finish within {GIT_TIMEOUT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("fatal:")), lines[-1] if lines else "")
        raise GraphQueryError(
            f"git {' '.join(args[:2])} failed: {reason.removeprefix('fatal: ') or f'exit {done.returncode}'}"
        )
    return done.stdout


def checkout_prefix(root: Path, repository: str) -> str:
    """The path of ``root`` inside its git work tree (``''`` at the top, else ``'sub/dir/'``); raises
    :class:`ConfigError` when ``root`` is gone or is not in a git checkout."""
    if not root.is_dir():
        raise ConfigError(f"the root of {repository!r} ({root}) is not a directory any more")
    try:
        return git(root, "rev-parse", "--show-prefix").decode().strip()
    except GraphQueryError as exc:
        reason = str(exc).partition("failed: ")[2]
        raise ConfigError(
            f"the root of {repository!r} ({root}) is not a git checkout ({reason}); "
            "give the change as diff text or as symbol names"
        ) from None


def commit_of(root: Path, rev: str) -> str:
    rev = rev.strip() or "HEAD"
    if rev.startswith("-") or "\n" in rev or "\x00" in rev:
        raise GraphQueryError(f"{rev!r} is not a revision")
    try:
        return git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    except GraphQueryError:
        raise GraphQueryError(f"unknown revision {rev!r}: no such commit in {root}") from None


def commit_range(root: Path, commits: str) -> tuple[str, str]:
    """The (old, new) commit ids a range names: ``A..B``, ``A...B`` (from their merge base) or a single
    commit (from its first parent; the empty tree for a root commit)."""
    text = commits.strip()
    if not text:
        raise GraphQueryError("an empty commit range names nothing; give A..B or one commit")
    if "..." in text:
        left, right = text.split("...", 1)
        new = commit_of(root, right)
        old = git(root, "merge-base", commit_of(root, left), new).decode().strip()
        return old, new
    if ".." in text:
        left, right = text.split("..", 1)
        return commit_of(root, left), commit_of(root, right)
    new = commit_of(root, text)
    try:
        old = git(root, "rev-parse", "--verify", "--quiet", f"{new}^1").decode().strip()
    except GraphQueryError:  # a root commit: its change is everything it holds
        old = git(root, "hash-object", "-t", "tree", "--stdin", stdin=b"").decode().strip()
    return old, new


def blob_hashes(root: Path, specs: Sequence[str]) -> dict[str, str]:
    """``rev:path`` -> the sha256 of that blob's content, for each of ``specs`` git has."""
    usable = [spec for spec in specs if "\n" not in spec]
    if not usable:
        return {}
    out = git(root, "cat-file", "--batch", stdin="".join(f"{spec}\n" for spec in usable).encode())
    found: dict[str, str] = {}
    at = 0
    for spec in usable:
        end = out.index(b"\n", at)
        header = out[at:end].split(b" ")
        at = end + 1
        # "<oid> <type> <size>" then the content; "<spec> missing" (or "ambiguous") alone.
        if len(header) == 3 and header[2].isdigit() and header[1] in _OBJECT_TYPES:
            size = int(header[2])
            if header[1] == b"blob":
                found[spec] = hashlib.sha256(out[at : at + size]).hexdigest()
            at += size + 1
    return found
