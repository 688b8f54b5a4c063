"""Walk a repository root and describe every file in it.

Directories that never hold a project's own source (``.git``, ``node_modules``, virtualenvs, build
output) are pruned; ``.gitignore`` files are honoured at every level. A file is read (to hash it and
look for binary or minified content) only when its size or mtime differ from the stored state, so a
re-scan of an unchanged tree costs one ``stat`` per file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pathspec

from mnemo_dagster.config.defaults import DEFAULT_MAX_FILE_BYTES
from mnemo_dagster.extract.languages import language_for
from mnemo_dagster.models import KnownState, SourceFile

PRUNED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".mnemo",
        "node_modules",
        "bower_components",
        "vendor",
        "third_party",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        "target",
        "out",
        ".next",
        ".nuxt",
        ".gradle",
        ".idea",
        ".vscode",
        "site-packages",
        ".eggs",
        "coverage",
        "htmlcov",
    }
)
"""Directory names skipped wherever they appear."""

BINARY_SNIFF_BYTES = 8192
MINIFIED_LINE_CHARS = 4000
"""A file whose longest line is this long, with few lines, is treated as minified or generated."""


def content_hash(data: bytes) -> str:
    """Hash identifying a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def _gitignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    ignore_file = directory / ".gitignore"
    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


IgnoreSpecs = list[tuple[str, pathspec.GitIgnoreSpec]]
"""The ``.gitignore`` files in force in a directory: (directory relative to the root, spec), root first."""


def _ignored(specs: IgnoreSpecs, rel_path: str, is_dir: bool) -> bool:
    """Git's rule: of all the ``.gitignore`` files from the root down to the file's directory, the
    last pattern that matches decides, and a deeper file comes later (so its ``!keep.log`` re-includes
    what a parent's ``*.log`` ignored). A file inside an ignored directory is never reached."""
    ignored = False
    for base, spec in specs:
        candidate = rel_path[len(base) + 1 :] if base else rel_path
        if is_dir:
            candidate += "/"
        decision = spec.check_file(candidate).include
        if decision is not None:
            ignored = decision
    return ignored


@dataclass(frozen=True, slots=True)
class Directory:
    """A directory a scan enters (neither pruned nor ignored), and the regular files in it."""

    path: Path
    rel: str
    """Relative POSIX path from the root; ``""`` for the root itself."""
    files: list[os.DirEntry[str]]
    """Its regular files (not symlinks), sorted by name; some may still be ignored (:func:`ignored`)."""
    specs: IgnoreSpecs

    def rel_path(self, name: str) -> str:
        """The relative path of entry ``name`` of this directory."""
        return f"{self.rel}/{name}" if self.rel else name

    def ignored(self, name: str) -> bool:
        """Whether the ``.gitignore`` files in force ignore file ``name`` of this directory."""
        return _ignored(self.specs, self.rel_path(name), is_dir=False)


def directories(root: Path) -> Iterator[Directory]:
    """Every directory under ``root`` (itself first) that a scan enters, in a stable order: pruned
    directories (:data:`PRUNED_DIRS`), ignored ones and symlinks are never entered."""
    stack: list[tuple[Path, str, IgnoreSpecs]] = [(root, "", [])]
    while stack:
        directory, rel_dir, specs = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        if any(entry.name == ".gitignore" for entry in entries):  # read only where there is one
            spec = _gitignore(directory)
            specs = [*specs, (rel_dir, spec)] if spec else specs
        files = []
        for entry in entries:
            try:  # neither test follows a symlink: a link is neither a file nor a directory here
                if entry.is_file(follow_symlinks=False):
                    files.append(entry)
                elif entry.is_dir(follow_symlinks=False):
                    rel_path = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    if entry.name not in PRUNED_DIRS and not _ignored(specs, rel_path, is_dir=True):
                        stack.append((Path(entry.path), rel_path, specs))
            except OSError:
                continue
        yield Directory(directory, rel_dir, files, specs)


def walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(relative POSIX path, stat)`` for every regular file under ``root`` that is not ignored."""
    for directory in directories(root):
        for entry in directory.files:
            if directory.ignored(entry.name):
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield directory.rel_path(entry.name), stat


def sniff(data: bytes) -> str | None:
    """Return why ``data`` should not be indexed as source text, or None."""
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        return "binary file"
    if len(data) >= MINIFIED_LINE_CHARS:
        longest = max(len(line) for line in data.split(b"\n"))
        lines = data.count(b"\n") + 1
        if longest >= MINIFIED_LINE_CHARS and len(data) / lines > 500:
            return f"minified or generated (a line of {longest:,} characters)"
    return None


def too_large(size: int, limit: int) -> str:
    """The skip reason of a file over ``MNEMO_MAX_FILE_BYTES``."""
    return f"too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB)"


def content_skip_reason(data: bytes, max_file_bytes: int) -> str | None:
    """Why a file with these bytes should not be indexed (empty, too large, binary, minified), or None."""
    if not data.strip():
        return "empty file"
    if len(data) > max_file_bytes:
        return too_large(len(data), max_file_bytes)
    return sniff(data)


def describe(root: Path, rel_path: str, stat: os.stat_result, max_file_bytes: int) -> SourceFile:
    """Describe one file: language, size, hash, and why it is skipped (if it is)."""
    spec = language_for(rel_path)
    size = stat.st_size
    if spec is None:
        return SourceFile(rel_path, None, size, stat.st_mtime_ns, None, "not a recognised source file type")
    if size == 0:
        return SourceFile(rel_path, spec.name, size, stat.st_mtime_ns, None, "empty file")
    if size > max_file_bytes:  # decided on the stat alone: a huge file is never read
        return SourceFile(rel_path, spec.name, size, stat.st_mtime_ns, None, too_large(size, max_file_bytes))
    try:
        data = (root / rel_path).read_bytes()
    except FileNotFoundError:
        return SourceFile(rel_path, spec.name, size, stat.st_mtime_ns, None, "vanished during the scan")
    except OSError as exc:
        return SourceFile(rel_path, spec.name, size, stat.st_mtime_ns, None, f"unreadable: {exc.strerror}")
    reason = content_skip_reason(data, max_file_bytes)
    return SourceFile(rel_path, spec.name, len(data), stat.st_mtime_ns, content_hash(data), reason)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Files found by a scan, split by what happened to them since the stored state."""

    changed: list[SourceFile]
    """New files and files whose content differs from the stored state."""
    unchanged: list[str]
    """Paths whose size and mtime (or, failing that, content hash) match the stored state."""
    touched: list[SourceFile]
    """Files with a new mtime but the same content: only their stat needs updating."""
    deleted: list[str]
    """Stored paths no longer present (or now ignored)."""


def scan(
    root: Path,
    known: Mapping[str, KnownState],
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    candidates: Collection[str] | None = None,
) -> ScanResult:
    """Compare the tree under ``root`` with ``known`` (path -> stored state). With ``candidates`` (the
    paths a ``git diff`` names), a known file outside them is unchanged, whatever its stat says."""
    changed: list[SourceFile] = []
    unchanged: list[str] = []
    touched: list[SourceFile] = []
    seen: set[str] = set()
    for rel_path, stat in walk(root):
        seen.add(rel_path)
        state = known.get(rel_path)
        if state is not None and candidates is not None and rel_path not in candidates:
            unchanged.append(rel_path)
            continue
        if state is not None and state.size_bytes == stat.st_size and state.mtime_ns == stat.st_mtime_ns:
            unchanged.append(rel_path)
            continue
        described = describe(root, rel_path, stat, max_file_bytes)
        if (
            state is not None
            and described.content_hash is not None
            and described.content_hash == state.content_hash
            and described.skip_reason == state.skip_reason
        ):
            touched.append(described)
        else:
            changed.append(described)
    deleted = sorted(set(known) - seen)
    return ScanResult(changed=changed, unchanged=unchanged, touched=touched, deleted=deleted)
